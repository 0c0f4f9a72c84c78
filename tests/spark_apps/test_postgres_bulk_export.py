"""A bulk export leaves its PostgreSQL table vacuumed and analysed; a small one does not
pay for that (autovacuum would otherwise do it in the background, during the next runs)."""

from __future__ import annotations

import logging

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.delta_tables import ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.spark_apps.postgres_export import (
    export_specs,
    export_table,
    needs_vacuum,
    vacuum_analyze,
)
from heritage.table_schemas import DEAD_LETTERS


@pytest.mark.parametrize(
    ("rows_staged", "rows_before", "expected"),
    [
        (1_000, -1.0, True),  # a first load: PostgreSQL has no estimate yet
        (999, 0.0, False),
        (200_999, 1_000_000.0, False),  # 1% changed of a large table
        (201_000, 1_000_000.0, True),
    ],
)
def test_a_bulk_export_is_one_that_autovacuum_would_follow(
    rows_staged: int, rows_before: float, expected: bool
) -> None:
    assert needs_vacuum(rows_staged, rows_before) is expected


def _append_dead_letters(spark: SparkSession, path: str, first: int, count: int) -> None:
    rows = spark.range(first, first + count).select(
        F.concat(F.lit("dl-"), F.col("id").cast("string")).alias("dead_letter_id"),
        F.concat(F.lit("europeana:/1/r"), F.col("id").cast("string")).alias("record_id"),
        F.lit("cleanse").alias("stage"),
        F.array(F.lit("title is missing")).alias("reasons"),
        F.lit("{}").alias("kafka_value"),
        F.lit("heritage.records").alias("kafka_topic"),
        F.lit(0).alias("kafka_partition"),
        F.col("id").alias("kafka_offset"),
        F.current_timestamp().alias("kafka_timestamp"),
        F.lit(None).cast("string").alias("content_hash"),
    )
    columns = [F.col(f.name).cast(f.dataType).alias(f.name) for f in DEAD_LETTERS.fields]
    rows.select(*columns).write.format("delta").mode("append").save(path)


def _statistics(settings: Settings, layout: LakehouseLayout) -> tuple[float, int]:
    """(rows PostgreSQL believes heritage.rejections has, pages marked all-visible)."""
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, relallvisible FROM pg_class "
            "WHERE oid = 'heritage.rejections'::regclass"
        )
        row = cursor.fetchone()
    connection.close()
    assert row is not None
    return float(row[0]), int(row[1])


@pytest.mark.integration
def test_a_bulk_export_vacuums_and_analyses_its_table_and_a_small_one_does_not(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout
) -> None:
    ensure_delta_table(spark, layout.dead_letters, DEAD_LETTERS, change_data_feed=True)
    rejections = next(s for s in export_specs(layout) if s.table == "heritage.rejections")
    assert _statistics(live_settings, layout) == (-1.0, 0)  # never vacuumed nor analysed

    _append_dead_letters(spark, layout.dead_letters, 0, 1_500)
    bulk = export_table(spark, live_settings, layout.pg_database, rejections)
    assert bulk.rows_staged == 1_500
    rows, all_visible = _statistics(live_settings, layout)
    assert rows == 1_500  # analysed
    assert all_visible > 0  # vacuumed: only VACUUM sets the visibility map

    _append_dead_letters(spark, layout.dead_letters, 1_500, 100)
    small = export_table(spark, live_settings, layout.pg_database, rejections)
    assert small.rows_staged == 100
    assert _statistics(live_settings, layout)[0] == 1_500  # left to autovacuum


@pytest.mark.integration
def test_a_failed_vacuum_is_a_warning_not_a_failed_export(
    live_settings: Settings, layout: LakehouseLayout, caplog: pytest.LogCaptureFixture
) -> None:
    connection = connect(live_settings, layout.pg_database)
    try:
        with caplog.at_level(logging.WARNING):
            vacuum_analyze(connection, "heritage.no_such_table")
    finally:
        connection.close()
    warning = next(r for r in caplog.records if "VACUUM" in r.getMessage())
    assert warning.table == "heritage.no_such_table"  # type: ignore[attr-defined]
    assert "does not exist" in warning.error  # type: ignore[attr-defined]
