"""export stage: curated Delta -> PostgreSQL ``heritage.objects``, incrementally.

Reads only what changed since the last exported table version (Delta's change data feed),
COPYs it into a staging table and applies it with ``INSERT ... ON CONFLICT``; the new
watermark is written in the same PostgreSQL transaction, so a crash anywhere leaves either
the old state or the new one, and a rerun with no new version does nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.spark_apps.delta_tables import table_version

EXPORT_COLUMNS = (
    "record_id",
    "source",
    "title",
    "titles_json",
    "creators_json",
    "description",
    "date_original",
    "date_start",
    "date_end",
    "object_type",
    "rights_uri",
    "image_url",
    "data_provider",
    "provider",
    "country",
    "languages_json",
    "content_hash",
    "source_updated_at",
    "ingested_at",
    "canonical_id",
    "tags_json",
    "comment_count",
    "annotation_count",
    "delta_version",
    "is_delete",
)

_UPSERT = """
INSERT INTO heritage.objects AS o (
    record_id, source, title, titles, creators, description, date_original, date_start,
    date_end, object_type, rights_uri, image_url, data_provider, provider, country, languages,
    content_hash, source_updated_at, ingested_at, canonical_id, tags, comment_count,
    annotation_count, delta_version, exported_at)
SELECT record_id, source, title, coalesce(titles_json::jsonb, '{}'::jsonb),
       ARRAY(SELECT jsonb_array_elements_text(coalesce(creators_json::jsonb, '[]'::jsonb))),
       description, date_original, date_start::date, date_end::date, object_type, rights_uri,
       image_url, data_provider, provider, country,
       ARRAY(SELECT jsonb_array_elements_text(coalesce(languages_json::jsonb, '[]'::jsonb))),
       content_hash, source_updated_at::timestamptz, ingested_at::timestamptz, canonical_id,
       ARRAY(SELECT jsonb_array_elements_text(coalesce(tags_json::jsonb, '[]'::jsonb))),
       comment_count, annotation_count, delta_version, now()
FROM export_staging WHERE NOT is_delete
ON CONFLICT (record_id) DO UPDATE SET
    source = EXCLUDED.source, title = EXCLUDED.title, titles = EXCLUDED.titles,
    creators = EXCLUDED.creators, description = EXCLUDED.description,
    date_original = EXCLUDED.date_original, date_start = EXCLUDED.date_start,
    date_end = EXCLUDED.date_end, object_type = EXCLUDED.object_type,
    rights_uri = EXCLUDED.rights_uri, image_url = EXCLUDED.image_url,
    data_provider = EXCLUDED.data_provider, provider = EXCLUDED.provider,
    country = EXCLUDED.country, languages = EXCLUDED.languages,
    content_hash = EXCLUDED.content_hash, source_updated_at = EXCLUDED.source_updated_at,
    ingested_at = EXCLUDED.ingested_at, canonical_id = EXCLUDED.canonical_id,
    tags = EXCLUDED.tags, comment_count = EXCLUDED.comment_count,
    annotation_count = EXCLUDED.annotation_count, delta_version = EXCLUDED.delta_version,
    exported_at = EXCLUDED.exported_at
WHERE o.content_hash IS DISTINCT FROM EXCLUDED.content_hash
   OR o.canonical_id IS DISTINCT FROM EXCLUDED.canonical_id
   OR o.tags IS DISTINCT FROM EXCLUDED.tags
   OR o.annotation_count IS DISTINCT FROM EXCLUDED.annotation_count
   OR o.comment_count IS DISTINCT FROM EXCLUDED.comment_count
"""


@dataclass(frozen=True)
class ExportResult:
    from_version: int
    to_version: int
    rows_staged: int

    @property
    def did_nothing(self) -> bool:
        return self.rows_staged == 0 and self.from_version >= self.to_version


def latest_changes(changes: DataFrame) -> DataFrame:
    """Change-feed rows -> the last change per record_id, in export column order."""
    relevant = changes.filter(F.col("_change_type").isin("insert", "update_postimage", "delete"))
    newest = Window.partitionBy("record_id").orderBy(
        F.col("_commit_version").desc(), (F.col("_change_type") == "delete").asc()
    )
    return (
        relevant.withColumn("_rank", F.row_number().over(newest))
        .filter(F.col("_rank") == 1)
        .select(
            "record_id",
            "source",
            "title",
            F.to_json("titles").alias("titles_json"),
            F.to_json("creators").alias("creators_json"),
            "description",
            "date_original",
            F.col("date_start").cast("string").alias("date_start"),
            F.col("date_end").cast("string").alias("date_end"),
            "object_type",
            "rights_uri",
            "image_url",
            "data_provider",
            "provider",
            "country",
            F.to_json("languages").alias("languages_json"),
            "content_hash",
            F.date_format("source_updated_at", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX").alias(
                "source_updated_at"
            ),
            F.date_format("ingested_at", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX").alias("ingested_at"),
            "canonical_id",
            F.to_json("tags").alias("tags_json"),
            "comment_count",
            "annotation_count",
            F.col("_commit_version").alias("delta_version"),
            (F.col("_change_type") == "delete").alias("is_delete"),
        )
    )


class _CsvStream(io.RawIOBase):
    """Rows as CSV bytes, produced lazily for ``COPY ... FROM STDIN``."""

    def __init__(self, rows: Iterable[tuple[object, ...]]) -> None:
        self._rows: Iterator[tuple[object, ...]] = iter(rows)
        self._buffer = b""
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while len(self._buffer) < len(target):
            chunk = io.StringIO()
            writer = csv.writer(chunk)
            for row in self._rows:
                writer.writerow(["\\N" if v is None else v for v in row])
                self.count += 1
                if chunk.tell() > 1 << 16:
                    break
            data = chunk.getvalue().encode("utf-8")
            if not data:
                break
            self._buffer += data
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def exported_version(settings: Settings, database: str, source_table: str) -> int:
    with connect(settings, database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT delta_version FROM heritage.export_watermarks WHERE source_table = %s",
            (source_table,),
        )
        row = cursor.fetchone()
    connection.close()
    return int(row[0]) if row else -1


def run_postgres_export(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout
) -> ExportResult:
    source = layout.curated_records
    done = exported_version(settings, layout.pg_database, source)
    current = table_version(spark, source)
    if current <= done:
        return ExportResult(done, current, 0)
    changes = latest_changes(
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", done + 1)
        .option("endingVersion", current)
        .load(source)
    )
    rows = (tuple(row) for row in changes.toLocalIterator(prefetchPartitions=True))
    stream = _CsvStream(rows)
    connection = connect(settings, layout.pg_database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE export_staging ("
                " record_id text, source text, title text, titles_json text,"
                " creators_json text, description text, date_original text, date_start text,"
                " date_end text, object_type text, rights_uri text, image_url text,"
                " data_provider text, provider text, country text, languages_json text,"
                " content_hash text, source_updated_at text, ingested_at text,"
                " canonical_id text, tags_json text, comment_count integer,"
                " annotation_count integer, delta_version bigint, is_delete boolean)"
                " ON COMMIT DROP"
            )
            cursor.copy_expert(
                f"COPY export_staging ({', '.join(EXPORT_COLUMNS)}) FROM STDIN "
                "WITH (FORMAT csv, NULL '\\N')",
                io.BufferedReader(stream, buffer_size=1 << 16),
            )
            cursor.execute(_UPSERT)
            cursor.execute(
                "DELETE FROM heritage.objects o USING export_staging s "
                "WHERE s.is_delete AND o.record_id = s.record_id"
            )
            cursor.execute(
                "INSERT INTO heritage.export_watermarks (source_table, delta_version, exported_at)"
                " VALUES (%s, %s, now()) ON CONFLICT (source_table) DO UPDATE"
                " SET delta_version = EXCLUDED.delta_version, exported_at = now()",
                (source, current),
            )
    finally:
        connection.close()
    return ExportResult(done, current, stream.count)
