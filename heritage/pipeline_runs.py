"""`heritage.pipeline_runs`: one row per stage run, for the operators' dashboard page.

Each row carries the stage's own end time (its start is that end minus its seconds): the
runner writes the rows of a run together after its last stage, so the table's default, the
time of writing, would give every stage of a run the same end.

The raw stage also records how far it has read each Kafka topic partition (the next offset
to ingest), so the dashboard computes consumer lag without Spark: the streaming queries keep
their offsets in checkpoints, not in Kafka consumer groups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings

# topic -> partition (as text, JSON keys) -> next offset to ingest
KafkaOffsets = dict[str, dict[str, int]]

# A stage without an end time of its own ends when its row is written.
_INSERT_RUN = (
    "INSERT INTO heritage.pipeline_runs (stage, rows, seconds, kafka_offsets, finished_at) "
    "VALUES (%s, %s, %s, %s::jsonb, COALESCE(%s, now()))"
)


class StageTiming(NamedTuple):
    """What the runner knows of one stage run."""

    stage: str
    # Input rows processed (0: nothing new).
    rows: int
    seconds: float
    # When the stage finished, seconds since the epoch (time.time()); None: unknown.
    finished_at: float | None = None


RunRow = tuple[str, int, float, str | None, datetime | None]


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


def pipeline_run_rows(
    timings: Sequence[StageTiming], raw_offsets: Mapping[str, Mapping[str, int]] | None
) -> list[RunRow]:
    """Rows for heritage.pipeline_runs with each stage's own end time (UTC)."""
    rows = stage_run_rows([(t.stage, t.rows, t.seconds) for t in timings], raw_offsets)
    return [
        (
            *row,
            None
            if timing.finished_at is None
            else datetime.fromtimestamp(timing.finished_at, tz=UTC),
        )
        for row, timing in zip(rows, timings, strict=True)
    ]


def record_stage_runs(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    timings: Sequence[tuple[str, int, float] | tuple[str, int, float, float]],
) -> None:
    """One row per stage run; a timing of (stage, rows, seconds, finished_at) keeps the
    stage's end, one without it ends when the rows are written."""
    if not timings:
        return
    stages = [StageTiming(*timing) for timing in timings]
    ran_raw = any(timing.stage == "raw" for timing in stages)
    offsets = ingested_kafka_offsets(spark, layout) if ran_raw else None
    write_stage_runs(settings, layout.pg_database, pipeline_run_rows(stages, offsets))


def write_stage_runs(settings: Settings, database: str, rows: Sequence[RunRow]) -> None:
    """Insert ``pipeline_run_rows`` into heritage.pipeline_runs of ``database``."""
    connection = connect(settings, database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.executemany(_INSERT_RUN, rows)
    finally:
        connection.close()
