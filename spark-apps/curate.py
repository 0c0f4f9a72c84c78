"""curate stage: cleansed records + annotations + canonical ids -> curated/records.

Incremental: only record ids touched since the last run are recomputed — records that
changed (found by the cleanse batch that wrote them and by cleanse's list of tombstones),
the canonical records of annotations that changed, and the members of duplicate groups that
changed (those two by their tables' change data feeds). What a run has consumed is stored
in the last Delta commit of its upsert (commit userMetadata), so a crash before that commit
leaves it unconsumed and the rerun completes the work; a run with no new input commits
nothing. Each row a run writes carries its run number (``curate_run``), which is how the
PostgreSQL export finds what changed.

Annotations on any member of a duplicate group attach to the group's canonical record; an
annotation whose record has not arrived yet waits in the cleansed table and is joined when
the record arrives (its arrival makes that id "touched").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.delta_tables import (
    ensure_delta_table,
    merge_then_append,
    newest_commit_metadata,
    read_version,
    table_version,
)
from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.cleanse import BATCH_METADATA
from heritage.spark_apps.record_validation import CLEANSED_COLUMNS
from heritage.table_schemas import (
    CANONICAL_IDS,
    CURATED_RECORDS,
)

# What a run consumes: the newest complete cleanse batch, and the table versions of the
# annotations and canonical ids; stored in the userMetadata of its last commit under
# METADATA_KEY, with the run number that stamps the rows it writes (``curate_run``).
SOURCES = ("cleanse_batch", "annotations", "canonical_ids")
METADATA_KEY = "curate"


@dataclass(frozen=True)
class CurateResult:
    consumed: dict[str, int]
    touched_ids: int
    committed: bool


def with_canonical_ids(frame: DataFrame, id_column: str, canonical: DataFrame) -> DataFrame:
    """Add ``canonical_id`` for ``id_column`` (itself when it is in no duplicate group)."""
    mapping = canonical.select(
        F.col("record_id").alias("_member"), F.col("canonical_id").alias("_canonical")
    )
    return (
        frame.join(mapping, F.col(id_column) == F.col("_member"), how="left")
        .withColumn("canonical_id", F.coalesce(F.col("_canonical"), F.col(id_column)))
        .drop("_member", "_canonical")
    )


def annotation_summaries(annotations: DataFrame, canonical: DataFrame) -> DataFrame:
    """Per canonical record: sorted distinct tags, comment and annotation counts."""
    attached = with_canonical_ids(annotations, "target_record_id", canonical)
    return attached.groupBy(F.col("canonical_id").alias("attached_to")).agg(
        F.array_sort(
            F.array_distinct(F.collect_list(F.when(F.col("kind") == "tag", F.lower(F.col("body")))))
        ).alias("tags"),
        F.sum(F.when(F.col("kind") == "comment", 1).otherwise(0))
        .cast("int")
        .alias("comment_count"),
        F.count(F.lit(1)).cast("int").alias("annotation_count"),
    )


def build_curated(records: DataFrame, annotations: DataFrame, canonical: DataFrame) -> DataFrame:
    """Curated rows for the given cleansed records (pure)."""
    summaries = annotation_summaries(annotations, canonical)
    joined = with_canonical_ids(records, "record_id", canonical).join(
        summaries, F.col("record_id") == F.col("attached_to"), how="left"
    )
    return joined.select(
        *CLEANSED_COLUMNS,
        "canonical_id",
        F.coalesce("tags", F.array().cast("array<string>")).alias("tags"),
        F.coalesce("comment_count", F.lit(0)).alias("comment_count"),
        F.coalesce("annotation_count", F.lit(0)).alias("annotation_count"),
    ).withColumn(
        "curated_hash",
        F.sha2(
            F.concat_ws(
                "|",
                "content_hash",
                "canonical_id",
                F.array_join("tags", ","),
                F.col("comment_count").cast("string"),
                F.col("annotation_count").cast("string"),
            ),
            256,
        ),
    )


_NO_RUN: dict[str, int] = {"run": -1, "cleanse_batch": -1, "annotations": -1, "canonical_ids": -1}


def consumed_positions(spark: SparkSession, curated: str) -> dict[str, int]:
    """What the newest curate commit consumed: its run number, the newest complete cleanse
    batch and the annotation and canonical-id table versions; all -1 before the first run."""
    found = newest_commit_metadata(spark, curated, METADATA_KEY)
    return dict(_NO_RUN) if found is None else {**_NO_RUN, **found[1]}


def _changes(spark: SparkSession, path: str, after: int, upto: int) -> DataFrame | None:
    if upto <= after:
        return None
    return (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", after + 1)
        .option("endingVersion", upto)
        .load(path)
    )


def tombstones_since(spark: SparkSession, layout: LakehouseLayout, after_batch: int) -> bool:
    """Whether a cleanse batch after ``after_batch`` listed tombstones (each list commit
    names its batch in its userMetadata: read from the Delta log, no Spark job)."""
    newest = newest_commit_metadata(spark, layout.cleansed_record_deletes, BATCH_METADATA)
    return newest is not None and int(newest[1]) > after_batch


def changed_records_since(
    spark: SparkSession, layout: LakehouseLayout, version: int, after_batch: int
) -> tuple[DataFrame, DataFrame | None]:
    """(rows, deleted ids) of what cleanse changed after batch ``after_batch``.

    rows: the cleansed rows at ``version`` that a later batch wrote, found by their
    ``cleanse_batch`` (Delta skips every file whose statistics say it is older), so the
    cost follows the change, not the table. deleted ids (column ``id``): every id a later
    tombstone named, None when there is none; whether it is gone is for the caller to look
    up (a tombstone older than the stored version does not delete).
    """
    rows = (
        read_version(spark, layout.cleansed_records, version)
        .filter(F.col("cleanse_batch") > after_batch)
        .select(*CLEANSED_COLUMNS)
    )
    if not tombstones_since(spark, layout, after_batch):
        return rows, None
    deleted = (
        spark.read.format("delta")
        .load(layout.cleansed_record_deletes)
        .filter(F.col("cleanse_batch") > after_batch)
        .select(F.col("record_id").alias("id"))
        .distinct()
    )
    return rows, deleted


def run_curate(spark: SparkSession, layout: LakehouseLayout) -> CurateResult:
    ensure_delta_table(spark, layout.curated_records, CURATED_RECORDS, deletion_vectors=True)
    ensure_delta_table(
        spark, layout.canonical_ids, CANONICAL_IDS, change_data_feed=True, deletion_vectors=True
    )
    consumed = consumed_positions(spark, layout.curated_records)
    batch = newest_commit_metadata(spark, layout.cleansed_records, BATCH_METADATA)
    current = {
        "run": consumed["run"] + 1,
        "cleanse_batch": int(batch[1]) if batch else -1,
        "annotations": table_version(spark, layout.cleansed_annotations),
        "canonical_ids": table_version(spark, layout.canonical_ids),
    }
    if all(current[name] <= consumed[name] for name in SOURCES):
        return CurateResult(consumed, 0, committed=False)

    canonical = spark.read.format("delta").load(layout.canonical_ids)
    annotations = spark.read.format("delta").load(layout.cleansed_annotations)
    cleansed_version = table_version(spark, layout.cleansed_records)
    touched_parts: list[DataFrame] = []
    changed_records = deleted = None
    if current["cleanse_batch"] > consumed["cleanse_batch"]:
        rows, deleted = changed_records_since(
            spark, layout, cleansed_version, consumed["cleanse_batch"]
        )
        changed_records = rows.persist()
        touched_parts.append(changed_records.select(F.col("record_id").alias("id")))
        if deleted is not None:
            touched_parts.append(deleted)
    annotation_changes = _changes(
        spark, layout.cleansed_annotations, consumed["annotations"], current["annotations"]
    )
    if annotation_changes is not None:
        targets = annotation_changes.select("target_record_id")
        touched_parts.append(
            with_canonical_ids(targets, "target_record_id", canonical).select(
                F.col("canonical_id").alias("id")
            )
        )
    canonical_changes = _changes(
        spark, layout.canonical_ids, consumed["canonical_ids"], current["canonical_ids"]
    )
    if canonical_changes is not None:
        touched_parts.append(canonical_changes.select(F.col("record_id").alias("id")))
        touched_parts.append(canonical_changes.select(F.col("canonical_id").alias("id")))
    touched = touched_parts[0]
    for part in touched_parts[1:]:
        touched = touched.unionByName(part)
    touched = touched.distinct().persist()

    records = _touched_records(
        spark,
        layout,
        cleansed_version,
        touched,
        changed_records,
        only_changed_records=annotation_changes is None
        and canonical_changes is None
        and deleted is None,
    )
    # Only annotations that count for a touched record: aggregating all of them would make
    # the cost grow with the table instead of with the change.
    relevant_annotations = (
        with_canonical_ids(annotations, "target_record_id", canonical)
        .join(touched.withColumnRenamed("id", "canonical_id"), "canonical_id", how="left_semi")
        .drop("canonical_id")
    )
    curated = build_curated(records, relevant_annotations, canonical).withColumn(
        "curate_run", F.lit(current["run"]).cast("long")
    )
    # Every touched id: its new curated row, or nulls when the record is gone (deleted).
    # ``was_deleted``: a tombstone named it in this run's range. Such a row is written even
    # when its curated_hash is unchanged (deleted, then back as it was), so that the export,
    # which reads tombstones as "delete unless written since", sees it present.
    source = touched.join(curated, F.col("id") == F.col("record_id"), how="left")
    if deleted is not None:
        source = source.join(
            deleted.select(F.col("id").alias("_deleted_id"), F.lit(True).alias("was_deleted")),
            F.col("id") == F.col("_deleted_id"),
            how="left",
        ).drop("_deleted_id")
    else:
        source = source.withColumn("was_deleted", F.lit(None).cast("boolean"))
    # Materialised once: the upsert reads its source several times (the keys to look up,
    # the files to change, the rows to write), and recomputing it would read the inputs again.
    source = source.persist()
    columns: dict[str, str | Column] = {f.name: f"s.{f.name}" for f in CURATED_RECORDS.fields}
    try:
        # The consumed positions go with the last commit: a crash before it leaves them
        # unconsumed, and the rerun (the same run number; rows compared by curated_hash)
        # completes the work.
        touched_count = merge_then_append(
            spark,
            layout.curated_records,
            source,
            ("record_id", "id"),
            lambda merge: merge.whenMatchedDelete(
                condition="s.record_id IS NULL"
            ).whenMatchedUpdate(
                condition="s.curated_hash <> t.curated_hash OR s.was_deleted", set=columns
            ),
            insert_when=F.col("record_id").isNotNull(),
            last_commit_metadata=json.dumps({METADATA_KEY: current}),
        )
    finally:
        source.unpersist()
        touched.unpersist()
        if changed_records is not None:
            changed_records.unpersist()
    return CurateResult(current, touched_count, committed=True)


def _touched_records(
    spark: SparkSession,
    layout: LakehouseLayout,
    version: int,
    touched: DataFrame,
    changed_records: DataFrame | None,
    only_changed_records: bool = False,
) -> DataFrame:
    """The cleansed rows (at ``version``) of the touched ids that still exist.

    A record that cleanse wrote since the last run is in ``changed_records`` already; only
    ids touched by a tombstone, an annotation or a duplicate group are looked up in the
    table. Scanning the whole cleansed table for a 1% change made the run cost grow with
    the table. ``only_changed_records``: the touched ids are exactly the changed records'
    (no tombstone, annotation or duplicate group), so there is nothing to look up.
    """
    unchanged = touched
    parts: list[DataFrame] = []
    if changed_records is not None:
        parts.append(changed_records)
        unchanged = touched.join(
            changed_records.select(F.col("record_id").alias("id")), "id", how="left_anti"
        )
    if not parts or (not only_changed_records and not unchanged.isEmpty()):
        parts.append(
            read_version(spark, layout.cleansed_records, version)
            .join(unchanged.withColumnRenamed("id", "record_id"), "record_id", how="left_semi")
            .select(*CLEANSED_COLUMNS)
        )
    records = parts[0]
    for part in parts[1:]:
        records = records.unionByName(part)
    return records
