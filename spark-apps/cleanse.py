"""cleanse stage: raw Delta -> cleansed Delta (MERGE on record_id) + dead-letter Delta.

Reads the raw table as a stream (availableNow, one checkpoint; not started when the raw
table has not moved since the last run) and handles each micro-batch with ``foreachBatch``:
validate, then MERGE the dead letters and upsert the latest valid version of each record
(``merge_then_append``: a MERGE of the ids that exist, then an append of the new ones), each
commit guarded by txnAppId/txnVersion so a replayed batch changes nothing. A change is
applied only when content_hash differs and the incoming version is not older, neither than
the stored row nor than a tombstone listed before (so where batches begin and end does not
change the result: a stale revision arriving after a newer tombstone stays out).

cleansed/records keeps no change data feed: each row it writes carries its micro-batch,
each tombstone's id goes to the append-only cleansed/record_deletes, and the last commit of
a batch says in its userMetadata that the batch is complete (heritage.change_tracking).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.change_tracking import (
    CLEANSE_BATCH,
    cleanse_batch_metadata,
    newest_cleanse_batch,
    table_position,
    tombstone_rows,
    with_cleanse_batch,
)
from heritage.delta_tables import (
    add_missing_columns,
    append_once,
    ensure_delta_table,
    merge_then_append,
    run_idempotent,
)
from heritage.lakehouse_layout import LakehouseLayout
from heritage.source_positions import run_unless_unmoved
from heritage.spark_apps.annotation_validation import (
    select_cleansed_annotations,
    validate_annotations,
)
from heritage.spark_apps.record_validation import (
    CLEANSED_COLUMNS,
    select_cleansed_changes,
    select_dead_letters,
    validate_records,
    with_producer_rejections,
)
from heritage.table_schemas import (
    CLEANSED_ANNOTATIONS,
    CLEANSED_RECORDS,
    DEAD_LETTERS,
    RECORD_DELETES,
)

STAGE = "cleanse"
ANNOTATION_STAGE = "cleanse_annotations"

# Newer = later source update time; equal update times fall back to arrival time.
_INCOMING_IS_NEWER = (
    "coalesce(s.source_updated_at, s.ingested_at) > coalesce(t.source_updated_at, t.ingested_at)"
    " OR (coalesce(s.source_updated_at, s.ingested_at)"
    " = coalesce(t.source_updated_at, t.ingested_at) AND s.ingested_at >= t.ingested_at)"
)
# An incoming row a listed tombstone (t, in cleansed/record_deletes) is newer than. A row
# listed before the order key was kept has none (null): its order is unknown, it holds
# nothing back (as before it was kept).
_TOMBSTONE_IS_NEWER = (
    f"s.record_id = t.record_id AND t.ingested_at IS NOT NULL AND NOT ({_INCOMING_IS_NEWER})"
)


@dataclass
class CleanseCounts:
    batches: int = 0
    valid_in: int = 0
    dead_lettered_in: int = 0
    batch_ids: list[int] = field(default_factory=list)


def merge_cleansed(
    spark: SparkSession,
    path: str,
    changes: DataFrame,
    guard: tuple[str, int],
    deletes_path: str,
) -> None:
    """Apply the latest change per record_id of micro-batch ``guard[1]``: tombstones delete,
    other rows upsert; neither applies when the incoming version is older than the stored
    one, or than a tombstone listed in ``deletes_path`` by an earlier batch (the same
    outcome as when both had come in one batch). Written rows carry the batch id in
    ``cleanse_batch``; the tombstones' ids and order keys are appended to ``deletes_path``
    first (each commit once per batch, by ``guard``)."""
    app, batch_id = guard
    metadata = cleanse_batch_metadata(batch_id)
    stamped = with_cleanse_batch(changes, batch_id)
    held_back = ids_older_than_tombstones(spark, deletes_path, changes)
    if held_back is not None:
        stamped = stamped.join(F.broadcast(held_back), "record_id", "left_anti")
    tombstones = tombstone_rows(changes, batch_id)
    if not tombstones.isEmpty():
        # Before the MERGE: a crash in between leaves ids listed that may not be deleted
        # yet; readers treat a listed id as "look again", which is harmless.
        append_once(
            tombstones,
            deletes_path,
            (f"{app}:deletes", batch_id),
            metadata,
        )
    columns: dict[str, str | Column] = {
        name: f"s.{name}" for name in (*CLEANSED_COLUMNS, CLEANSE_BATCH)
    }
    merge_then_append(
        spark,
        path,
        stamped,
        ("record_id", "record_id"),
        lambda merge: merge.whenMatchedDelete(
            condition=f"s.deleted AND ({_INCOMING_IS_NEWER})"
        ).whenMatchedUpdate(
            condition=f"NOT s.deleted AND s.content_hash <> t.content_hash"
            f" AND ({_INCOMING_IS_NEWER})",
            set=columns,
        ),
        insert_when=~F.col("deleted"),
        guard=guard,
        last_commit_metadata=metadata,
    )


def ids_older_than_tombstones(
    spark: SparkSession, deletes_path: str, changes: DataFrame
) -> DataFrame | None:
    """The record_ids (checkpointed, usually none) of the upserts in ``changes`` that a
    tombstone listed in ``deletes_path`` is newer than, by the order of ``_INCOMING_IS_NEWER``;
    None, with no Spark job, when no batch has listed a tombstone yet.

    A replayed batch decides as it did the first time: no later batch has listed anything
    then, and its own tombstones, listed or not, name none of its upserts (one change per
    record_id). The list is append-only and small beside the records, so it is broadcast to
    the batch's upserts (a hash lookup per row, no shuffle of the batch); checkpointed
    because the MERGE reads its source several times and the list need be read once."""
    if newest_cleanse_batch(spark, deletes_path) < 0:  # from the Delta log
        return None
    upserts = changes.filter(~F.col("deleted")).select(
        "record_id", "source_updated_at", "ingested_at"
    )
    tombstones = (
        spark.read.format("delta")
        .load(deletes_path)
        .select("record_id", "source_updated_at", "ingested_at")
    )
    return (
        upserts.alias("s")
        .join(F.broadcast(tombstones).alias("t"), F.expr(_TOMBSTONE_IS_NEWER), "left_semi")
        .select("record_id")
        .localCheckpoint(eager=True)
    )


def merge_dead_letters(spark: SparkSession, path: str, dead_letters: DataFrame) -> None:
    target = DeltaTable.forPath(spark, path)
    (
        target.alias("t")
        .merge(dead_letters.alias("s"), "t.dead_letter_id = s.dead_letter_id")
        .whenNotMatchedInsertAll()
        .execute()
    )


def merge_cleansed_annotations(
    spark: SparkSession, path: str, annotations: DataFrame, guard: tuple[str, int] | None = None
) -> None:
    merge_then_append(
        spark,
        path,
        annotations,
        ("annotation_id", "annotation_id"),
        lambda merge: merge.whenMatchedUpdateAll(
            condition="s.content_hash <> t.content_hash AND s.ingested_at >= t.ingested_at"
        ),
        insert_when=F.lit(True),
        guard=guard,
    )


# A micro-batch -> the same rows with their validation outcome.
Validate = Callable[[DataFrame], DataFrame]
# Validated rows -> (rows for the stage's own table, or None when it has none; dead letters).
BatchSplitter = Callable[[DataFrame], tuple[DataFrame | None, DataFrame]]
# (session, table path, valid rows, (txn app id, batch id)): applies them, each commit once.
Merge = Callable[[SparkSession, str, DataFrame, tuple[str, int]], None]


def _cleanse_stream(
    spark: SparkSession,
    layout: LakehouseLayout,
    source: str,
    target: str,
    query: str,
    validate: Validate,
    split: BatchSplitter,
    merge: Merge,
    processing_time: str | None = None,
) -> CleanseCounts:
    """Stream ``source`` (availableNow) and, per micro-batch, MERGE the valid part into
    ``target`` and the rest into the dead-letter table, each guarded by txnAppId/txnVersion."""
    counts = CleanseCounts()
    target_app = f"{query}:{target}"
    dead_letter_app = f"{query}:{layout.dead_letters}"

    def cleanse_batch(batch: DataFrame, batch_id: int) -> None:
        # Validated once: the valid rows and the dead letters are both read from it.
        validated = validate(batch).persist()
        valid, rejected = split(validated)
        cleansed = (valid if valid is not None else batch.limit(0)).persist()
        dead_letters = rejected.persist()
        try:
            dead_count, valid_count = _count_outcomes(
                dead_letters, cleansed if valid is not None else None
            )
            if dead_count:
                run_idempotent(
                    spark,
                    dead_letter_app,
                    batch_id,
                    lambda: merge_dead_letters(spark, layout.dead_letters, dead_letters),
                )
            if valid_count:
                merge(spark, target, cleansed, (target_app, batch_id))
            counts.batches += 1
            counts.batch_ids.append(batch_id)
            counts.valid_in += valid_count
            counts.dead_lettered_in += dead_count
        finally:
            cleansed.unpersist()
            dead_letters.unpersist()
            validated.unpersist()

    _start_stream(spark, layout, source, query, cleanse_batch, processing_time)
    return counts


def _start_stream(
    spark: SparkSession,
    layout: LakehouseLayout,
    source: str,
    query: str,
    handle_batch: Callable[[DataFrame, int], None],
    processing_time: str | None,
) -> None:
    """Stream ``source`` into ``handle_batch``: a query that keeps running every
    ``processing_time``, or one availableNow run, not started when ``source`` has not moved
    since the last complete one."""
    checkpoint = layout.checkpoint(query)
    writer = (
        spark.readStream.format("delta")
        .load(source)
        .writeStream.foreachBatch(handle_batch)
        .option("checkpointLocation", checkpoint)
        .queryName(query)
    )
    if processing_time:
        writer.trigger(processingTime=processing_time).start()
        return
    run_unless_unmoved(
        spark,
        checkpoint,
        str(table_position(spark, source)),
        lambda: writer.trigger(availableNow=True).start().awaitTermination(),
    )


def _count_outcomes(dead_letters: DataFrame, valid: DataFrame | None) -> tuple[int, int]:
    """(dead letters, valid rows) of a micro-batch, counted in one Spark job."""
    outcomes = dead_letters.select(F.lit(False).alias("valid"))
    if valid is not None:
        outcomes = outcomes.unionByName(valid.select(F.lit(True).alias("valid")))
    counts = outcomes.agg(
        F.count(F.when(~F.col("valid"), 1)).alias("dead"),
        F.count(F.when(F.col("valid"), 1)).alias("valid"),
    ).first()
    return (int(counts["dead"]), int(counts["valid"])) if counts else (0, 0)


def _split_records(validated: DataFrame) -> tuple[DataFrame, DataFrame]:
    return select_cleansed_changes(validated), select_dead_letters(validated, STAGE)


def _split_annotations(validated: DataFrame) -> tuple[DataFrame, DataFrame]:
    return (
        select_cleansed_annotations(validated),
        select_dead_letters(validated, ANNOTATION_STAGE),
    )


def _split_producer_rejections(validated: DataFrame) -> tuple[DataFrame | None, DataFrame]:
    return None, select_dead_letters(validated, F.col("stage"))


def _never_called(spark: SparkSession, path: str, rows: DataFrame, guard: tuple[str, int]) -> None:
    raise AssertionError("producer rejections have no valid rows to merge")


def run_cleanse(
    spark: SparkSession, layout: LakehouseLayout, processing_time: str | None = None
) -> CleanseCounts:
    """Cleanse every raw record and annotation not yet cleansed; returns what batches saw."""
    ensure_delta_table(spark, layout.cleansed_records, CLEANSED_RECORDS, deletion_vectors=True)
    # A table created before the OCR columns gains them (a log read when it has them).
    add_missing_columns(spark, layout.cleansed_records, CLEANSED_RECORDS)
    ensure_delta_table(spark, layout.cleansed_record_deletes, RECORD_DELETES)
    # A list begun before the tombstones' order keys were kept gains their columns.
    add_missing_columns(spark, layout.cleansed_record_deletes, RECORD_DELETES)
    ensure_delta_table(
        spark,
        layout.cleansed_annotations,
        CLEANSED_ANNOTATIONS,
        change_data_feed=True,
        deletion_vectors=True,
    )
    ensure_delta_table(spark, layout.dead_letters, DEAD_LETTERS, change_data_feed=True)
    records = _cleanse_stream(
        spark,
        layout,
        layout.raw_records,
        layout.cleansed_records,
        "cleanse_records",
        validate_records,
        _split_records,
        lambda spark, path, changes, guard: merge_cleansed(
            spark, path, changes, guard, layout.cleansed_record_deletes
        ),
        processing_time,
    )
    annotations = _cleanse_stream(
        spark,
        layout,
        layout.raw_annotations,
        layout.cleansed_annotations,
        "cleanse_annotations",
        validate_annotations,
        _split_annotations,
        merge_cleansed_annotations,
        processing_time,
    )
    rejections = _cleanse_stream(
        spark,
        layout,
        layout.raw_dead_letters,
        layout.dead_letters,
        "dead_letters_from_producers",  # its own query name: own checkpoint and txn ids
        with_producer_rejections,
        _split_producer_rejections,
        _never_called,
        processing_time,
    )
    return CleanseCounts(
        batches=records.batches + annotations.batches + rejections.batches,
        valid_in=records.valid_in + annotations.valid_in,
        dead_lettered_in=records.dead_lettered_in
        + annotations.dead_lettered_in
        + rejections.dead_lettered_in,
        batch_ids=records.batch_ids + annotations.batch_ids,
    )
