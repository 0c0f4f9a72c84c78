"""PostgreSQL: connections, the analytics schema and the read-only role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import resources

import psycopg2
from psycopg2 import sql

from heritage.settings import Settings

# The read-only role's default statement_timeout (a session may still SET its own).
READER_STATEMENT_TIMEOUT = "30s"


def connect(settings: Settings, database: str | None = None) -> psycopg2.extensions.connection:
    """A connection as the schema owner (the pipeline's writer)."""
    return psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password.reveal(),
        dbname=database or settings.pg_database,
        connect_timeout=5,
        application_name="heritage",
    )


@contextmanager
def transaction(
    connection: psycopg2.extensions.connection,
) -> Iterator[psycopg2.extensions.connection]:
    """``with connection:`` (commit after the block, roll back on an error), except that the
    error that broke a connection is the one raised: psycopg2's own context manager rolls
    back a connection the server already closed, and its "connection already closed" would
    replace "server closed the connection unexpectedly"."""
    try:
        yield connection
    except BaseException:
        # A failed rollback changes nothing the server has not already undone.
        with suppress(psycopg2.InterfaceError, psycopg2.OperationalError):
            connection.rollback()
        raise
    connection.commit()


def ensure_database(settings: Settings, database: str) -> None:
    connection = connect(settings, "postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        connection.close()


def apply_schema(settings: Settings, database: str) -> None:
    """Create or update tables, views, the read-only and the curator roles; safe to run any
    number of times."""
    ensure_database(settings, database)
    ddl = resources.files("heritage").joinpath("sql/schema.sql").read_text(encoding="utf-8")
    reader = sql.Identifier(settings.pg_reader_user)
    connection = connect(settings, database)
    try:
        with transaction(connection), connection.cursor() as cursor:
            # Serialise concurrent inits (tests, compose's init) on one advisory lock.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('heritage-schema'))")
            cursor.execute(ddl)
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (settings.pg_reader_user,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(reader))
            cursor.execute(
                sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD %s").format(reader),
                (settings.pg_reader_password.reveal(),),
            )
            cursor.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(database), reader
                )
            )
            cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA analytics TO {}").format(reader))
            cursor.execute(
                sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO {}").format(reader)
            )
            cursor.execute(sql.SQL("REVOKE ALL ON SCHEMA heritage FROM {}").format(reader))
            # An analyst's runaway query stops instead of holding a backend (docs/analysts.md).
            cursor.execute(
                sql.SQL("ALTER ROLE {} SET statement_timeout = %s").format(reader),
                (READER_STATEMENT_TIMEOUT,),
            )
            _grant_curator(cursor, settings, database)
    finally:
        connection.close()


def _grant_curator(cursor: psycopg2.extensions.cursor, settings: Settings, database: str) -> None:
    """The curators' role: reads the analytics views and may only add duplicate and
    publication decisions."""
    curator = sql.Identifier(settings.pg_curator_user)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (settings.pg_curator_user,))
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(curator))
    cursor.execute(
        sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD %s").format(curator),
        (settings.pg_curator_password.reveal(),),
    )
    for statement in (
        "GRANT CONNECT ON DATABASE {database} TO {curator}",
        "GRANT USAGE ON SCHEMA analytics TO {curator}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO {curator}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA heritage FROM {curator}",
        "GRANT USAGE ON SCHEMA heritage TO {curator}",
        "GRANT INSERT ON heritage.duplicate_decisions TO {curator}",
        "GRANT USAGE ON SEQUENCE heritage.duplicate_decisions_decision_id_seq TO {curator}",
        # Its own columns only: decision_id and decided_at come from the sequence and the
        # clock, so a curator cannot place a decision before or after others.
        "GRANT INSERT (object_id, decision, embargo_until, embargo_zone, seen_version,"
        " decided_by, note) ON heritage.publication_decisions TO {curator}",
        "GRANT USAGE ON SEQUENCE heritage.publication_decisions_decision_id_seq TO {curator}",
    ):
        cursor.execute(
            sql.SQL(statement).format(database=sql.Identifier(database), curator=curator)
        )
