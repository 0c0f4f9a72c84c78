"""export stage: curated Delta -> PostgreSQL ``heritage.objects``, incrementally.

Reads only what changed since the last exported table version (the rows curate stamped
since, and cleanse's tombstones; Delta's change data feed for annotations and rejections),
COPYs it into a staging table and applies it with ``INSERT ... ON CONFLICT``; the new
watermark is written in the same PostgreSQL transaction, so a crash anywhere leaves either
the old state or the new one, and a rerun with no new version does nothing.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import psycopg2.extensions
from delta.tables import DeltaTable
from psycopg2 import sql
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from heritage.change_tracking import changes_since
from heritage.curated_columns import TIMESTAMP_TEXT
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect, transaction
from heritage.settings import Settings
from heritage.spark_apps.export_spec import ExportSpec
from heritage.spark_apps.governance_export import governance_export_specs
from heritage.spark_apps.ml_export import ml_export_specs
from heritage.spark_apps.objects_export import objects_spec
from heritage.spark_apps.package_export import package_events_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    from_version: int
    to_version: int
    rows_staged: int

    @property
    def did_nothing(self) -> bool:
        return self.rows_staged == 0 and self.from_version >= self.to_version


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
    connection = connect(settings, database)
    try:
        with transaction(connection), connection.cursor() as cursor:
            cursor.execute(
                "SELECT delta_version FROM heritage.export_watermarks WHERE source_table = %s",
                (source_table,),
            )
            row = cursor.fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else -1


ROWS_PER_PARTITION = 20_000


def export_table(
    spark: SparkSession, settings: Settings, database: str, spec: ExportSpec
) -> ExportResult:
    """Export what changed in ``spec.source`` since the last export, in one transaction."""
    if spec.optional and not DeltaTable.isDeltaTable(spark, spec.source):
        return ExportResult(-1, -1, 0)
    done = exported_version(settings, database, spec.source)
    found = staged_changes(spark, spec, done)
    if found is None:
        return ExportResult(done, done, 0)
    changes, current = found
    changes = changes.persist()
    try:
        staged = copy_and_apply(settings, database, spec, changes, current)
    finally:
        changes.unpersist()
    return ExportResult(done, current, staged)


def staged_changes(
    spark: SparkSession, spec: ExportSpec, done: int
) -> tuple[DataFrame, int] | None:
    """(staged rows, the source version they bring PostgreSQL to) of what changed in
    ``spec.source`` after version ``done``; None when nothing did."""
    if spec.changes is not None:
        return spec.changes(spark, done)
    feed = changes_since(spark, spec.source, done)
    return None if feed.nothing_new else (spec.to_rows(feed.feed(spark)), feed.upto)


def copy_and_apply(
    settings: Settings, database: str, spec: ExportSpec, changes: DataFrame, current: int
) -> int:
    """COPY ``changes`` (persisted) into a staging table, apply them and advance the
    watermark to ``current``, in one transaction; returns the rows staged."""
    # toLocalIterator brings one partition at a time to the driver: keep each one small.
    partitions = max(1, changes.count() // ROWS_PER_PARTITION + 1)
    rows = (
        tuple(row)
        for row in changes.repartition(partitions).toLocalIterator(prefetchPartitions=True)
    )
    stream = _CsvStream(rows)
    staging = ", ".join(f"{name} {kind}" for name, kind in spec.staging)
    connection = connect(settings, database)
    try:
        with transaction(connection), connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE export_staging ({staging}) ON COMMIT DROP")
            cursor.copy_expert(
                f"COPY export_staging ({', '.join(n for n, _ in spec.staging)}) FROM STDIN "
                "WITH (FORMAT csv, NULL '\\N')",
                io.BufferedReader(stream, buffer_size=1 << 16),
            )
            for statement in spec.apply:
                cursor.execute(statement)
            cursor.execute(
                "INSERT INTO heritage.export_watermarks (source_table, delta_version, exported_at)"
                " VALUES (%s, %s, now()) ON CONFLICT (source_table) DO UPDATE"
                " SET delta_version = EXCLUDED.delta_version, exported_at = now()",
                (spec.source, current),
            )
        vacuum_if_bulk(connection, spec.table, stream.count)
    finally:
        connection.close()
    return stream.count


def needs_vacuum(rows_staged: int, rows_before: float) -> bool:
    """Whether an export was a bulk load that autovacuum would follow up on: as many rows
    as its default insert trigger (1,000 + 20% of the rows the table had; ``rows_before``
    is PostgreSQL's estimate, -1 or 0 when it has none)."""
    return rows_staged >= 1_000 + 0.2 * max(rows_before, 0.0)


def vacuum_if_bulk(
    connection: psycopg2.extensions.connection, table: str, rows_staged: int
) -> None:
    """``vacuum_analyze`` ``table`` when ``needs_vacuum`` says the export just committed was
    a bulk one. PostgreSQL's row estimate (``reltuples``) changes only with VACUUM, ANALYZE
    and index builds, so read after the commit it is still the one from before."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,))
        estimate = cursor.fetchone()
    connection.rollback()  # end the transaction the query opened: VACUUM runs outside one
    if needs_vacuum(rows_staged, float(estimate[0]) if estimate else 0.0):
        vacuum_analyze(connection, table)


def vacuum_analyze(connection: psycopg2.extensions.connection, table: str) -> None:
    """VACUUM (ANALYZE) ``table`` now, after a bulk export, as PostgreSQL advises after
    loading data: fresh statistics for the dashboard's queries, the visibility map set and
    the full-text index's pending list merged. Left to autovacuum, the same work after a 1M
    row load ran throttled for 30 s in the background of the next runs, dirtying every page
    of the table (900 MB to write back), and slowed them; done here it takes 1.5 s, the
    pages still in memory (docs/benchmarks.md)."""
    connection.autocommit = True  # VACUUM cannot run inside a transaction block
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(*table.split("."))))
    except psycopg2.Error as error:
        # The rows and the watermark are committed: the export did its job, and autovacuum
        # will do this later. Failing the stage here would only make it look lost.
        log.warning(
            "export: VACUUM (ANALYZE) after a bulk export failed; autovacuum will do it",
            extra={"table": table, "error": str(error).strip()},
        )


def latest_annotations(changes: DataFrame) -> DataFrame:
    newest = Window.partitionBy("annotation_id").orderBy(F.col("_commit_version").desc())
    return (
        changes.filter(F.col("_change_type").isin("insert", "update_postimage"))
        .withColumn("_rank", F.row_number().over(newest))
        .filter(F.col("_rank") == 1)
        .select(
            "annotation_id",
            "target_record_id",
            "kind",
            "body",
            "user",
            F.date_format("created_at", TIMESTAMP_TEXT).alias("created_at"),
            F.date_format("ingested_at", TIMESTAMP_TEXT).alias("ingested_at"),
        )
    )


def new_dead_letters(changes: DataFrame) -> DataFrame:
    return changes.filter(F.col("_change_type") == "insert").select(
        "dead_letter_id",
        "record_id",
        "stage",
        F.to_json("reasons").alias("reasons_json"),
        "kafka_value",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        F.date_format("kafka_timestamp", TIMESTAMP_TEXT).alias("kafka_timestamp"),
    )


def export_specs(layout: LakehouseLayout) -> tuple[ExportSpec, ...]:
    objects = objects_spec(layout)
    annotations = ExportSpec(
        source=layout.cleansed_annotations,
        table="heritage.annotations",
        to_rows=latest_annotations,
        staging=(
            ("annotation_id", "text"),
            ("target_record_id", "text"),
            ("kind", "text"),
            ("body", "text"),
            ("user_name", "text"),
            ("created_at", "text"),
            ("ingested_at", "text"),
        ),
        apply=(
            "INSERT INTO heritage.annotations AS a (annotation_id, target_record_id, kind, body,"
            " user_name, created_at, ingested_at) SELECT annotation_id, target_record_id, kind,"
            " body, user_name, created_at::timestamptz, ingested_at::timestamptz"
            " FROM export_staging ON CONFLICT (annotation_id) DO UPDATE SET"
            " target_record_id = EXCLUDED.target_record_id, kind = EXCLUDED.kind,"
            " body = EXCLUDED.body, user_name = EXCLUDED.user_name,"
            " created_at = EXCLUDED.created_at, ingested_at = EXCLUDED.ingested_at",
        ),
    )
    rejections = ExportSpec(
        source=layout.dead_letters,
        table="heritage.rejections",
        to_rows=new_dead_letters,
        staging=(
            ("dead_letter_id", "text"),
            ("record_id", "text"),
            ("stage", "text"),
            ("reasons_json", "text"),
            ("payload", "text"),
            ("kafka_topic", "text"),
            ("kafka_partition", "integer"),
            ("kafka_offset", "bigint"),
            ("kafka_timestamp", "text"),
        ),
        apply=(
            "INSERT INTO heritage.rejections (dead_letter_id, record_id, stage, reasons,"
            " payload, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp)"
            " SELECT dead_letter_id, record_id, stage,"
            " ARRAY(SELECT jsonb_array_elements_text(reasons_json::jsonb)), payload,"
            " kafka_topic, kafka_partition, kafka_offset, kafka_timestamp::timestamptz"
            " FROM export_staging ON CONFLICT (dead_letter_id) DO NOTHING",
        ),
    )
    return (
        objects,
        annotations,
        rejections,
        *ml_export_specs(layout),
        package_events_spec(layout),
        *governance_export_specs(layout),
    )


def run_postgres_export(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout
) -> ExportResult:
    """Export curated records, annotations, rejections, the ML tables and the ingest
    events; returns the records' export."""
    results = [
        export_table(spark, settings, layout.pg_database, spec) for spec in export_specs(layout)
    ]
    return results[0]
