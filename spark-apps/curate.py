"""curate stage: cleansed records + annotations + canonical ids -> curated/records.

Incremental: only record ids touched since the last run are recomputed — records that
changed, the canonical records of annotations that changed, and the members of duplicate
groups that changed. The source table versions a run has consumed are stored in the last
Delta commit of its upsert (commit userMetadata), so a crash before that commit leaves them
unconsumed and the rerun completes the work; a run with no new input commits nothing.

Annotations on any member of a duplicate group attach to the group's canonical record; an
annotation whose record has not arrived yet waits in the cleansed table and is joined when
the record arrives (its arrival makes that id "touched").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.delta_tables import (
    commit_info,
    ensure_delta_table,
    merge_then_append,
    table_version,
)
from heritage.spark_apps.record_validation import CLEANSED_COLUMNS
from heritage.spark_apps.table_schemas import CANONICAL_IDS, CURATED_RECORDS

SOURCES = ("records", "annotations", "canonical_ids")


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


def latest_record_states(changes: DataFrame) -> DataFrame:
    """Change-feed rows of the cleansed records -> one row per record_id: its state after
    its newest change, with ``present`` false when that change deleted it (pure)."""
    newest = Window.partitionBy("record_id").orderBy(F.col("_commit_version").desc())
    return (
        changes.filter(F.col("_change_type").isin("insert", "update_postimage", "delete"))
        .withColumn("_rank", F.row_number().over(newest))
        .filter(F.col("_rank") == 1)
        .select(*CLEANSED_COLUMNS, (F.col("_change_type") != "delete").alias("present"))
    )


_RECENT_COMMITS = 10


def _consumed_versions(spark: SparkSession, curated: str) -> dict[str, int]:
    """The source versions the newest curate commit consumed (-1 each before the first).

    That commit is nearly always among the newest few (only maintenance commits come
    between), so their log files are read first, newest first, on the driver (no Spark
    job); the whole history, which grows with every run, only if none of them is one."""
    newest = table_version(spark, curated)
    for version in range(newest, max(newest - _RECENT_COMMITS, -1), -1):
        info = commit_info(spark, curated, version)
        if info is None:
            break
        metadata = info.get("userMetadata")
        if isinstance(metadata, str) and metadata.startswith('{"curate"'):
            return dict(json.loads(metadata)["curate"])
    found = (
        DeltaTable.forPath(spark, curated)
        .history()
        .filter(F.col("userMetadata").startswith('{"curate"'))
        .orderBy(F.col("version").desc())
        .select("userMetadata")
        .first()
    )
    if found is not None:
        return dict(json.loads(found[0])["curate"])
    return dict.fromkeys(SOURCES, -1)


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


def run_curate(spark: SparkSession, layout: LakehouseLayout) -> CurateResult:
    ensure_delta_table(
        spark, layout.curated_records, CURATED_RECORDS, change_data_feed=True, deletion_vectors=True
    )
    ensure_delta_table(
        spark, layout.canonical_ids, CANONICAL_IDS, change_data_feed=True, deletion_vectors=True
    )
    paths = {
        "records": layout.cleansed_records,
        "annotations": layout.cleansed_annotations,
        "canonical_ids": layout.canonical_ids,
    }
    consumed = _consumed_versions(spark, layout.curated_records)
    current = {name: table_version(spark, path) for name, path in paths.items()}
    if all(current[name] <= consumed.get(name, -1) for name in SOURCES):
        return CurateResult(consumed, 0, committed=False)

    canonical = spark.read.format("delta").load(layout.canonical_ids)
    annotations = spark.read.format("delta").load(layout.cleansed_annotations)
    touched_parts: list[DataFrame] = []
    record_changes = _changes(spark, paths["records"], consumed["records"], current["records"])
    changed_records = None
    if record_changes is not None:
        changed_records = latest_record_states(record_changes).persist()
        touched_parts.append(changed_records.select(F.col("record_id").alias("id")))
    annotation_changes = _changes(
        spark, paths["annotations"], consumed["annotations"], current["annotations"]
    )
    if annotation_changes is not None:
        targets = annotation_changes.select("target_record_id")
        touched_parts.append(
            with_canonical_ids(targets, "target_record_id", canonical).select(
                F.col("canonical_id").alias("id")
            )
        )
    canonical_changes = _changes(
        spark, paths["canonical_ids"], consumed["canonical_ids"], current["canonical_ids"]
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
        current["records"],
        touched,
        changed_records,
        only_changed_records=annotation_changes is None and canonical_changes is None,
    )
    # Only annotations that count for a touched record: aggregating all of them would make
    # the cost grow with the table instead of with the change.
    relevant_annotations = (
        with_canonical_ids(annotations, "target_record_id", canonical)
        .join(touched.withColumnRenamed("id", "canonical_id"), "canonical_id", how="left_semi")
        .drop("canonical_id")
    )
    curated = build_curated(records, relevant_annotations, canonical)
    # Every touched id: its new curated row, or nulls when the record is gone (deleted).
    # Materialised once: the upsert reads its source several times (the keys to look up,
    # the files to change, the rows to write), and recomputing it would read the inputs again.
    source = touched.join(curated, F.col("id") == F.col("record_id"), how="left").persist()
    columns: dict[str, str | Column] = {f.name: f"s.{f.name}" for f in CURATED_RECORDS.fields}
    try:
        # The consumed versions go with the last commit: a crash before it leaves them
        # unconsumed, and the rerun (idempotent: the same rows, compared by curated_hash)
        # completes the work.
        touched_count = merge_then_append(
            spark,
            layout.curated_records,
            source,
            ("record_id", "id"),
            lambda merge: merge.whenMatchedDelete(
                condition="s.record_id IS NULL"
            ).whenMatchedUpdate(condition="s.curated_hash <> t.curated_hash", set=columns),
            insert_when=F.col("record_id").isNotNull(),
            last_commit_metadata=json.dumps({"curate": current}),
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

    A record that changed has its current row in the change feed already; only ids touched
    by an annotation or a duplicate group are looked up in the table. Scanning the whole
    cleansed table for a 1% change made the run cost grow with the table.
    ``only_changed_records``: the touched ids are exactly the changed records' (no
    annotation or duplicate group changed), so there is nothing to look up.
    """
    unchanged = touched
    parts: list[DataFrame] = []
    if changed_records is not None:
        parts.append(changed_records.filter(F.col("present")).select(*CLEANSED_COLUMNS))
        unchanged = touched.join(
            changed_records.select(F.col("record_id").alias("id")), "id", how="left_anti"
        )
    if not parts or (not only_changed_records and not unchanged.isEmpty()):
        parts.append(
            spark.read.format("delta")
            .option("versionAsOf", version)
            .load(layout.cleansed_records)
            .join(unchanged.withColumnRenamed("id", "record_id"), "record_id", how="left_semi")
            .select(*CLEANSED_COLUMNS)
        )
    records = parts[0]
    for part in parts[1:]:
        records = records.unionByName(part)
    return records
