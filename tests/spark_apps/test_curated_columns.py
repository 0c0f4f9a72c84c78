"""The curated record's columns are written down once: the Delta schema, the export's
staging table, its COPY column list and upsert, and the PostgreSQL table all agree."""

from __future__ import annotations

import re
from pathlib import Path

from pyspark.sql import SparkSession

from heritage.curated_columns import (
    CURATED_COLUMNS,
    EXPORTED_COLUMNS,
    OBJECTS_EXPORT_COLUMNS,
    curated_schema,
)
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings
from heritage.spark_apps.objects_export import (
    OBJECTS_STAGING,
    object_rows,
    objects_spec,
    objects_upsert,
)
from heritage.table_schemas import CLEANSED_RECORD_FIELDS, CURATED_RECORDS

SCHEMA_SQL = Path(__file__).resolve().parents[2] / "heritage" / "sql" / "schema.sql"


def _objects_table_columns(text: str) -> dict[str, tuple[str, bool]]:
    """heritage.objects' columns in schema.sql (its CREATE TABLE and the ADD COLUMNs after
    it), as name -> (type, NOT NULL); generated columns left out (nothing exports them)."""
    body = re.search(r"CREATE TABLE IF NOT EXISTS heritage\.objects \((.*?)\n\);", text, re.S)
    assert body is not None, "no CREATE TABLE heritage.objects in schema.sql"
    lines = (line.split("--")[0].strip().rstrip(",") for line in body.group(1).splitlines())
    declarations = [line for line in lines if line]
    declarations += re.findall(
        r"ALTER TABLE heritage\.objects ADD COLUMN IF NOT EXISTS ([^;]*);", text, re.S
    )
    columns = {}
    for declaration in declarations:
        name, rest = declaration.split(None, 1)
        if "GENERATED" in rest:
            continue
        kind = re.split(r"\s+(?:NOT NULL|PRIMARY KEY|DEFAULT)\b", rest)[0].strip()
        not_null = "NOT NULL" in rest or "PRIMARY KEY" in rest
        columns[name] = (kind, not_null)
    return columns


def test_the_curated_delta_schema_is_the_specification() -> None:
    assert curated_schema() == CURATED_RECORDS
    assert [f.name for f in CURATED_RECORDS.fields] == [c.name for c in CURATED_COLUMNS]
    # curate selects the cleansed columns first, by these names and types.
    cleansed = CLEANSED_RECORD_FIELDS.fields
    assert CURATED_RECORDS.fields[: len(cleansed)] == cleansed


def test_the_staging_table_the_copy_and_the_upsert_come_from_the_specification(
    spark: SparkSession, offline_settings: Settings
) -> None:
    spec = objects_spec(LakehouseLayout.default(offline_settings))
    assert spec.staging == OBJECTS_STAGING
    staged = [name for name, _ in OBJECTS_STAGING]
    assert staged == [*(c.staged_name for c in EXPORTED_COLUMNS), "delta_version", "is_delete"]
    for column, (_, staging_type) in zip(EXPORTED_COLUMNS, OBJECTS_STAGING, strict=False):
        assert staging_type in (column.pg_type, "text")

    # The rows COPY sends are in the staging table's column order.
    empty = spark.createDataFrame([], CURATED_RECORDS)
    assert object_rows(empty, 0, is_delete=False).columns == staged

    upsert = objects_upsert()
    inserted = re.search(r"INSERT INTO heritage\.objects AS o \(([^)]*)\)", upsert)
    assert inserted is not None
    assert [n.strip() for n in inserted.group(1).split(",")] == [
        *(c.name for c in EXPORTED_COLUMNS),
        *(name for name, _, _ in OBJECTS_EXPORT_COLUMNS),
    ]
    for column in EXPORTED_COLUMNS:
        assert column.staged_name in upsert
        assert f"{column.name} = EXCLUDED.{column.name}" in upsert or column.name == "record_id"


# Columns of heritage.objects that PostgreSQL derives itself (schema.sql's triggers), never
# exported.
DERIVED_IN_POSTGRES = {"published": ("boolean", True), "has_duplicates": ("boolean", True)}


def test_schema_sql_declares_the_exported_columns() -> None:
    text = SCHEMA_SQL.read_text(encoding="utf-8")
    expected = {c.name: (c.pg_type, c.pg_not_null) for c in EXPORTED_COLUMNS}
    expected |= {name: (kind, not_null) for name, kind, not_null in OBJECTS_EXPORT_COLUMNS}
    expected |= DERIVED_IN_POSTGRES
    assert _objects_table_columns(text) == expected

    view = re.search(r"CREATE OR REPLACE VIEW analytics\.objects AS\s+SELECT(.*?)FROM", text, re.S)
    assert view is not None, "no analytics.objects view in schema.sql"
    shown = {name.strip() for name in view.group(1).split(",")}
    assert shown <= set(expected) | {"search_document"}


def test_a_json_staged_column_becomes_an_empty_value_when_null() -> None:
    titles = next(c for c in CURATED_COLUMNS if c.name == "titles")
    creators = next(c for c in CURATED_COLUMNS if c.name == "creators")
    assert titles.from_staging() == "coalesce(titles_json::jsonb, '{}'::jsonb)"
    assert creators.from_staging() == (
        "ARRAY(SELECT jsonb_array_elements_text(coalesce(creators_json::jsonb, '[]'::jsonb)))"
    )
