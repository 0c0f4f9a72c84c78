"""Whether an object is published, and which stored image it has, read from PostgreSQL on
every call (never cached: a withdrawn object must stop being served at once).

It reads the analytics views (``analytics.embargoes``, ``analytics.object_images``) as the
read-only role when its password is set, else as the schema owner. Connections are kept
open between calls; one that broke (a database restart) is dropped and the query retried.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from typing import Any

import psycopg2

from heritage.postgres_db import connect
from heritage.settings import Settings

log = logging.getLogger(__name__)

PUBLISHED = "published"
_IDLE_CONNECTIONS = 4
_STATE_QUERY = "SELECT state FROM analytics.embargoes WHERE object_id = %s"
_IMAGE_QUERY = (
    "SELECT e.state, i.sha256, i.content_type FROM analytics.embargoes e"
    " LEFT JOIN analytics.object_images i ON i.record_id = e.object_id AND i.status = 'stored'"
    " WHERE e.object_id = %s"
)

# The descriptive fields of a published object, for its manifest's seeAlso.
_RECORD_COLUMNS = (
    "record_id", "title", "titles", "creators", "description", "date_original",
    "object_type", "rights_uri", "data_provider", "provider", "country", "languages",
)  # fmt: skip
_RECORD_QUERY = (
    f"SELECT {', '.join('o.' + c for c in _RECORD_COLUMNS)} FROM analytics.objects o"
    " JOIN analytics.embargoes e ON e.object_id = o.record_id AND e.state = 'published'"
    " WHERE o.record_id = %s"
)


@dataclass(frozen=True)
class PublishedImage:
    """A published object's stored original."""

    sha256: str
    content_type: str | None


def reader_settings(settings: Settings) -> Settings:
    """The settings to read as: the read-only role when it has a password, else the owner."""
    if not settings.pg_reader_password.reveal():
        return settings
    return replace(
        settings, pg_user=settings.pg_reader_user, pg_password=settings.pg_reader_password
    )


class PublicationLookup:
    """Publication state and stored image of an object, from one deployment's database."""

    def __init__(self, settings: Settings, database: str) -> None:
        self._settings = reader_settings(settings)
        self._database = database
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def is_published(self, object_id: str) -> bool:
        rows = self._query(_STATE_QUERY, object_id)
        return bool(rows) and rows[0][0] == PUBLISHED

    def published_image(self, object_id: str) -> tuple[bool, PublishedImage | None]:
        """(published, its stored image or None when it has none)."""
        rows = self._query(_IMAGE_QUERY, object_id)
        if not rows or rows[0][0] != PUBLISHED:
            return False, None
        sha256, content_type = rows[0][1], rows[0][2]
        return True, PublishedImage(sha256, content_type) if sha256 else None

    def published_record(self, object_id: str) -> dict[str, Any] | None:
        """The descriptive fields of a published object; None when it is not published
        (or not exported yet)."""
        rows = self._query(_RECORD_QUERY, object_id)
        return dict(zip(_RECORD_COLUMNS, rows[0], strict=True)) if rows else None

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _query(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        for attempt in range(2):
            connection = self._take()
            try:
                with connection.cursor() as cursor:
                    cursor.execute(query, params)
                    rows = list(cursor.fetchall())
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                connection.close()
                if attempt:
                    raise
                log.warning("database connection lost; retrying", extra={"error": str(error)})
                continue
            except Exception:
                connection.close()
                raise
            self._give_back(connection)
            return rows
        raise AssertionError("unreachable")

    def _take(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        connection = connect(self._settings, self._database)
        # Each query sees what was committed before it, with no transaction held open.
        connection.autocommit = True
        return connection

    def _give_back(self, connection: Any) -> None:
        with self._lock:
            if not connection.closed and len(self._idle) < _IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()
