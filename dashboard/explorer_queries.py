"""Queries of the explorer, run as the read-only role against the analytics views.

Pure query builders plus thin fetch functions; parameterized SQL only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg2

from heritage.settings import Settings

PAGE_COLUMNS = (
    "record_id",
    "title",
    "creators",
    "date_original",
    "object_type",
    "data_provider",
    "rights_uri",
)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    has_next: bool

    @property
    def last_record_id(self) -> str | None:
        return self.rows[-1]["record_id"] if self.rows else None


def page_query(after_record_id: str | None, page_size: int) -> tuple[str, tuple[Any, ...]]:
    """Keyset pagination on record_id: cost independent of how deep the page is."""
    columns = ", ".join(PAGE_COLUMNS)
    if after_record_id is None:
        return (
            f"SELECT {columns} FROM analytics.objects ORDER BY record_id LIMIT %s",
            (page_size + 1,),
        )
    return (
        f"SELECT {columns} FROM analytics.objects WHERE record_id > %s ORDER BY record_id LIMIT %s",
        (after_record_id, page_size + 1),
    )


def reader_connection(settings: Settings) -> psycopg2.extensions.connection:
    connection = psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_reader_user,
        password=settings.pg_reader_password.reveal(),
        dbname=settings.pg_database,
        connect_timeout=3,
        application_name="heritage-dashboard",
    )
    connection.set_session(readonly=True, autocommit=True)
    return connection


def fetch_page(
    connection: psycopg2.extensions.connection, after_record_id: str | None, page_size: int
) -> Page:
    sql, params = page_query(after_record_id, page_size)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(PAGE_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    return Page(rows[:page_size], has_next=len(rows) > page_size)


def fetch_total(connection: psycopg2.extensions.connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics.objects")
        row = cursor.fetchone()
    return int(row[0]) if row else 0
