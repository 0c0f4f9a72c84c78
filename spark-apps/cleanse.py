"""cleanse stage: raw Delta -> cleansed Delta (MERGE on record_id) + dead-letter Delta.

Reads the raw table as a stream (availableNow, one checkpoint) and handles each micro-batch
with ``foreachBatch``: validate, then MERGE the dead letters and the latest valid version of
each record, each MERGE guarded by txnAppId/txnVersion so a replayed batch changes nothing.
A change is applied only when content_hash differs and the incoming version is not older.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.delta_tables import ensure_delta_table, run_idempotent
from heritage.spark_apps.record_validation import (
    CLEANSED_COLUMNS,
    select_cleansed_changes,
    select_dead_letters,
    validate_records,
)
from heritage.spark_apps.table_schemas import CLEANSED_RECORDS, DEAD_LETTERS

STAGE = "cleanse"

# Newer = later source update time; equal update times fall back to arrival time.
_INCOMING_IS_NEWER = (
    "coalesce(s.source_updated_at, s.ingested_at) > coalesce(t.source_updated_at, t.ingested_at)"
    " OR (coalesce(s.source_updated_at, s.ingested_at)"
    " = coalesce(t.source_updated_at, t.ingested_at) AND s.ingested_at >= t.ingested_at)"
)


@dataclass
class CleanseCounts:
    batches: int = 0
    rows_in: int = 0
    valid_in: int = 0
    dead_lettered_in: int = 0
    batch_ids: list[int] = field(default_factory=list)


def merge_cleansed(spark: SparkSession, path: str, changes: DataFrame) -> None:
    """Apply the latest change per record_id: tombstones delete, other rows upsert; neither
    applies when the incoming version is older than the stored one."""
    target = DeltaTable.forPath(spark, path)
    columns: dict[str, str | Column] = {name: f"s.{name}" for name in CLEANSED_COLUMNS}
    (
        target.alias("t")
        .merge(changes.alias("s"), "t.record_id = s.record_id")
        .whenMatchedDelete(condition=f"s.deleted AND ({_INCOMING_IS_NEWER})")
        .whenMatchedUpdate(
            condition=f"NOT s.deleted AND s.content_hash <> t.content_hash"
            f" AND ({_INCOMING_IS_NEWER})",
            set=columns,
        )
        .whenNotMatchedInsert(condition="NOT s.deleted", values=columns)
        .execute()
    )


def merge_dead_letters(spark: SparkSession, path: str, dead_letters: DataFrame) -> None:
    target = DeltaTable.forPath(spark, path)
    (
        target.alias("t")
        .merge(dead_letters.alias("s"), "t.dead_letter_id = s.dead_letter_id")
        .whenNotMatchedInsertAll()
        .execute()
    )


def run_cleanse(spark: SparkSession, layout: LakehouseLayout) -> CleanseCounts:
    """Cleanse every raw row not yet cleansed; returns what the batches saw."""
    ensure_delta_table(spark, layout.cleansed_records, CLEANSED_RECORDS, change_data_feed=True)
    ensure_delta_table(spark, layout.dead_letters, DEAD_LETTERS)
    counts = CleanseCounts()
    cleansed_app = f"{STAGE}:{layout.cleansed_records}"
    dead_letter_app = f"{STAGE}:{layout.dead_letters}"

    def cleanse_batch(batch: DataFrame, batch_id: int) -> None:
        validated = validate_records(batch).persist()
        try:
            dead_letters = select_dead_letters(validated, STAGE).persist()
            cleansed = select_cleansed_changes(validated).persist()
            dead_count, valid_count = dead_letters.count(), cleansed.count()
            if dead_count:
                run_idempotent(
                    spark,
                    dead_letter_app,
                    batch_id,
                    lambda: merge_dead_letters(spark, layout.dead_letters, dead_letters),
                )
            if valid_count:
                run_idempotent(
                    spark,
                    cleansed_app,
                    batch_id,
                    lambda: merge_cleansed(spark, layout.cleansed_records, cleansed),
                )
            counts.batches += 1
            counts.batch_ids.append(batch_id)
            counts.rows_in += validated.count()
            counts.valid_in += valid_count
            counts.dead_lettered_in += dead_count
            dead_letters.unpersist()
            cleansed.unpersist()
        finally:
            validated.unpersist()

    query = (
        spark.readStream.format("delta")
        .load(layout.raw_records)
        .writeStream.foreachBatch(cleanse_batch)
        .option("checkpointLocation", layout.checkpoint("cleanse_records"))
        .queryName("cleanse_records")
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    return counts


def count_rows(spark: SparkSession, path: str) -> int:
    return int(spark.read.format("delta").load(path).select(F.count(F.lit(1))).first()[0])  # type: ignore[index]
