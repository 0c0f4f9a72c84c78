"""schema.sql brings a database of an earlier release to full-text search over the OCR text:
search_document (a generated column, whose expression cannot be altered) is dropped and added
again once, rows kept; applying it again when up to date rewrites nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from heritage.postgres_db import apply_schema, connect
from heritage.settings import Settings

pytestmark = pytest.mark.integration

EARLIER_SEARCH = """
DROP VIEW analytics.objects;
ALTER TABLE heritage.objects DROP COLUMN search_document;
CREATE FUNCTION heritage.search_text(title text, titles jsonb, description text, creators text[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT concat_ws(' ', title, description, array_to_string(creators, ' '))
$$;
ALTER TABLE heritage.objects ADD COLUMN search_document tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', heritage.search_text(title, titles, description,
                                                                  creators))) STORED;
CREATE INDEX objects_search_document_idx ON heritage.objects USING gin (search_document);
CREATE VIEW analytics.objects AS SELECT record_id, title, search_document FROM heritage.objects;
INSERT INTO heritage.objects (record_id, source, title, object_type, rights_uri, data_provider,
                              content_hash, ingested_at, delta_version, ocr_text)
VALUES ('europeana:/1/a', 'europeana', 'Winter', 'TEXT', 'http://x/', 'P', 'h', now(), 1,
        'craquelure');
"""
STATE = """
SELECT pg_get_expr(d.adbin, d.adrelid), c.relfilenode,
       (SELECT count(*) FROM pg_proc WHERE proname = 'search_text'),
       (SELECT count(*) FROM pg_indexes WHERE indexname = 'objects_search_document_idx')
FROM pg_attribute a
JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attrelid = 'heritage.objects'::regclass AND a.attname = 'search_document'
"""
FOUND = (
    "SELECT record_id, title FROM analytics.objects"
    " WHERE search_document @@ plainto_tsquery('simple', 'craquelure')"
)


@pytest.fixture
def database(live_settings: Settings) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}_search"
    yield name
    connection = connect(live_settings, "postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def fetch(settings: Settings, database: str, sql: str) -> list[tuple[object, ...]]:
    with connect(settings, database) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    connection.close()
    return rows


def test_search_document_of_an_earlier_release_comes_to_cover_the_ocr_text(
    live_settings: Settings, database: str
) -> None:
    apply_schema(live_settings, database)
    with connect(live_settings, database) as connection, connection.cursor() as cursor:
        cursor.execute(EARLIER_SEARCH)
    connection.close()
    assert fetch(live_settings, database, FOUND) == []

    apply_schema(live_settings, database)
    ((expression, relfilenode, functions, indexes),) = fetch(live_settings, database, STATE)
    assert "ocr_text" in expression
    assert (functions, indexes) == (1, 1)  # the earlier search_text is gone, the index back
    assert fetch(live_settings, database, FOUND) == [("europeana:/1/a", "Winter")]
    columns = fetch(
        live_settings,
        database,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'analytics' AND table_name = 'objects' ORDER BY ordinal_position",
    )
    names = [c for (c,) in columns]
    assert names[names.index("search_document") :][:3] == [
        "search_document",
        "ocr_text",
        "ocr_confidence",
    ]

    # Up to date: applied again, the table is not rewritten.
    apply_schema(live_settings, database)
    assert fetch(live_settings, database, STATE) == [(expression, relfilenode, 1, 1)]


def test_a_view_built_on_analytics_objects_stops_the_migration_by_name(
    live_settings: Settings, database: str
) -> None:
    apply_schema(live_settings, database)
    with connect(live_settings, database) as connection, connection.cursor() as cursor:
        cursor.execute(EARLIER_SEARCH)
        cursor.execute("CREATE VIEW public.winter_titles AS SELECT title FROM analytics.objects")
    connection.close()
    with pytest.raises(psycopg2.Error, match=r"winter_titles") as raised:
        apply_schema(live_settings, database)
    assert "run the export once" in str(raised.value.diag.message_hint)
