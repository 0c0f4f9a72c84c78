"""The dashboard's database access: one pool per database, results cached for a few seconds.

The pool lives in ``st.cache_resource`` (one per server process); a connection that fails
with a connection-level error is discarded instead of returned, and the query is retried on
another, so the pages recover by themselves after a database restart. Query results are
cached with ``st.cache_data(ttl=RESULT_TTL_S)`` so new exports appear without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.pool
import streamlit as st
from psycopg2 import sql

from heritage.settings import Settings, load_settings

log = logging.getLogger(__name__)

RESULT_TTL_S = 10
# Read-only sessions; JIT off: it adds 15-20 ms of compilation to the explorer's short queries.
# work_mem 32 MB: a search's bitmap of 100,000s of matches stays exact (at the default 4 MB it
# turns lossy and every row of those pages is checked again), and the counted matches stay in
# memory (at most a few MB per query; the pool holds MAX_CONNECTIONS sessions).
READER_OPTIONS = (
    "-c default_transaction_read_only=on -c statement_timeout=15000 -c jit=off -c work_mem=32MB"
)
MAX_CONNECTIONS = 4
IDLE_CONNECTIONS = 2
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class DatabaseAddress:
    """Where the reader connects; keys the pool and the result cache per database."""

    host: str
    port: int
    database: str
    user: str

    @classmethod
    def reader(cls, settings: Settings) -> DatabaseAddress:
        return cls(
            settings.pg_host, settings.pg_port, settings.pg_database, settings.pg_reader_user
        )


class DatabaseUnavailable(Exception):
    """The collection database could not answer; the message is for the page, not a trace."""


def unavailable_message(error: BaseException) -> str:
    """One line for the page: what failed and what to do, never a traceback."""
    text = str(error).strip()
    first_line = text.splitlines()[0] if text else type(error).__name__
    return (
        f"The collection database cannot be reached right now ({first_line}). "
        "Check `heritage services status`; this page retries on reload."
    )


@st.cache_resource(show_spinner=False)
def _reader_pool(address: DatabaseAddress) -> psycopg2.pool.ThreadedConnectionPool:
    settings = load_settings()
    # psycopg2 keeps at most minconn connections idle between queries and closes the rest.
    return psycopg2.pool.ThreadedConnectionPool(
        IDLE_CONNECTIONS,
        MAX_CONNECTIONS,
        host=address.host,
        port=address.port,
        user=address.user,
        password=settings.pg_reader_password.reveal(),
        dbname=address.database,
        connect_timeout=3,
        application_name="heritage-dashboard",
        options=READER_OPTIONS,
    )


def _is_connection_failure(error: psycopg2.Error, connection: Any) -> bool:
    return bool(connection.closed) or isinstance(
        error, psycopg2.OperationalError | psycopg2.InterfaceError
    )


def run_query(
    address: DatabaseAddress, query: str | sql.Composable, params: Sequence[Any] = ()
) -> Rows:
    """Rows as dicts. A broken pooled connection is discarded and the query retried on a
    fresh one (as many times as the pool may hold connections, plus one)."""
    last_error: psycopg2.Error | None = None
    for _attempt in range(MAX_CONNECTIONS + 1):
        try:
            pool = _reader_pool(address)  # opens IDLE_CONNECTIONS; not cached if that fails
            connection = pool.getconn()
        except psycopg2.Error as error:
            raise DatabaseUnavailable(unavailable_message(error)) from error
        discard = False
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(query, tuple(params))
                columns = [column.name for column in cursor.description or ()]
                return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except psycopg2.Error as error:
            if not _is_connection_failure(error, connection):
                raise
            discard, last_error = True, error
            log.warning(
                "dashboard connection lost; retrying on a fresh one",
                extra={"database": address.database, "error": str(error).strip()[:200]},
            )
        finally:
            pool.putconn(connection, close=discard or bool(connection.closed))
    assert last_error is not None
    raise DatabaseUnavailable(unavailable_message(last_error)) from last_error


@st.cache_data(ttl=RESULT_TTL_S, show_spinner=False, hash_funcs={sql.Composed: repr})
def cached_rows(
    address: DatabaseAddress, query: str | sql.Composable, params: tuple[Any, ...] = ()
) -> Rows:
    """``run_query`` with results cached for RESULT_TTL_S seconds per (database, sql, params)."""
    return run_query(address, query, params)


def current_address() -> DatabaseAddress:
    return DatabaseAddress.reader(load_settings())
