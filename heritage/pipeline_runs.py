"""`heritage.pipeline_runs`: one row per stage run, for the operators' dashboard page.

The raw stage also records how far it has read each Kafka topic partition (the next offset
to ingest), so the dashboard computes consumer lag without Spark: the streaming queries keep
their offsets in checkpoints, not in Kafka consumer groups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

# topic -> partition (as text, JSON keys) -> next offset to ingest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings

KafkaOffsets = dict[str, dict[str, int]]

_INSERT_RUN = (
    "INSERT INTO heritage.pipeline_runs (stage, rows, seconds, kafka_offsets) "
    "VALUES (%s, %s, %s, %s::jsonb)"
)


def ingested_kafka_offsets(spark: SparkSession, layout: LakehouseLayout) -> KafkaOffsets:
    """Next offset per topic partition over the raw tables (max offset seen + 1)."""

    offsets: KafkaOffsets = {}
    for table in (layout.raw_records, layout.raw_annotations, layout.raw_dead_letters):
        if not DeltaTable.isDeltaTable(spark, table):
            continue
        rows = (
            spark.read.format("delta")
            .load(table)
            .groupBy("kafka_topic", "kafka_partition")
            .agg(F.max("kafka_offset").alias("last_offset"))
            .collect()
        )
        for row in rows:
            topic = offsets.setdefault(row["kafka_topic"], {})
            topic[str(row["kafka_partition"])] = int(row["last_offset"]) + 1
    return offsets


def stage_run_rows(
    timings: Iterable[tuple[str, int, float]], raw_offsets: Mapping[str, Mapping[str, int]] | None
) -> list[tuple[str, int, float, str | None]]:
    """Rows for heritage.pipeline_runs; only the raw stage carries offsets."""
    return [
        (
            stage,
            rows,
            round(seconds, 3),
            json.dumps(raw_offsets, sort_keys=True)
            if stage == "raw" and raw_offsets is not None
            else None,
        )
        for stage, rows, seconds in timings
    ]


def record_stage_runs(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    timings: list[tuple[str, int, float]],
) -> None:
    if not timings:
        return
    ran_raw = any(stage == "raw" for stage, _, _ in timings)
    offsets = ingested_kafka_offsets(spark, layout) if ran_raw else None
    connection = connect(settings, layout.pg_database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.executemany(_INSERT_RUN, stage_run_rows(timings, offsets))
    finally:
        connection.close()
