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

from dataclasses import dataclass, replace

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.change_tracking import (
    CLEANSE_BATCH,
    CURATE_STAGE,
    Positions,
    changes_since,
    cleansed_changes_since,
    commit_metadata,
    consumed_positions,
    newest_cleanse_batch,
    table_position,
    with_curate_run,
)
from heritage.delta_tables import (
    add_missing_columns,
    commit_marker,
    ensure_delta_table,
    merge_then_append,
    read_version,
)
from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.record_validation import CLEANSED_COLUMNS
from heritage.table_schemas import (
    CANONICAL_IDS,
    CLEANSED_RECORD_FIELDS,
    CURATED_RECORDS,
    with_absent_columns,
)

# What a run consumes: the newest complete cleanse batch, and the table versions of the
# annotations, canonical ids and record OCR; recorded in its last commit
# (heritage.change_tracking), with the run number that stamps the rows it writes.
SOURCES = (CLEANSE_BATCH, "annotations", "canonical_ids", "record_ocr")
# The OCR columns: the record's own (its source read it), else what the ocr stage read
# from its image (ml/record_ocr).
OCR_COLUMNS = ("ocr_text", "ocr_confidence", "ocr_pages", "ocr_fields")


@dataclass(frozen=True)
class CurateResult:
    consumed: Positions
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


def with_record_ocr(records: DataFrame, record_ocr: DataFrame | None) -> DataFrame:
    """The records with the ocr stage's reading in the OCR columns where the source sent no
    OCR of its own, and ``ocr_read_hash`` (that reading's hash, else null)."""
    if record_ocr is None:
        return records.withColumn("ocr_read_hash", F.lit(None).cast("string"))
    read = record_ocr.select(
        F.col("record_id").alias("_read_id"),
        F.col("ocr_hash").alias("_read_hash"),
        *[F.col(name).alias(f"_read_{name}") for name in OCR_COLUMNS],
    )
    joined = records.join(read, F.col("record_id") == F.col("_read_id"), how="left")
    own = F.col("ocr_text").isNotNull() | F.col("ocr_pages").isNotNull()
    return joined.withColumns(
        {
            **{
                name: F.when(own, F.col(name)).otherwise(F.col(f"_read_{name}"))
                for name in OCR_COLUMNS
            },
            "ocr_read_hash": F.when(~own, F.col("_read_hash")),
        }
    ).drop("_read_id", "_read_hash", *[f"_read_{name}" for name in OCR_COLUMNS])


def build_curated(
    records: DataFrame,
    annotations: DataFrame,
    canonical: DataFrame,
    record_ocr: DataFrame | None = None,
) -> DataFrame:
    """Curated rows for the given cleansed records (pure); ``record_ocr``: the ocr stage's
    readings of record images (ml/record_ocr), None when there are none."""
    summaries = annotation_summaries(annotations, canonical)
    joined = with_canonical_ids(with_record_ocr(records, record_ocr), "record_id", canonical).join(
        summaries, F.col("record_id") == F.col("attached_to"), how="left"
    )
    return (
        joined.select(
            *CLEANSED_COLUMNS,
            "canonical_id",
            F.coalesce("tags", F.array().cast("array<string>")).alias("tags"),
            F.coalesce("comment_count", F.lit(0)).alias("comment_count"),
            F.coalesce("annotation_count", F.lit(0)).alias("annotation_count"),
            "ocr_read_hash",
        )
        .withColumn(
            "curated_hash",
            F.sha2(
                F.concat_ws(
                    "|",
                    "content_hash",
                    "canonical_id",
                    F.array_join("tags", ","),
                    F.col("comment_count").cast("string"),
                    F.col("annotation_count").cast("string"),
                    F.coalesce("ocr_read_hash", F.lit("")),
                ),
                256,
            ),
        )
        .drop("ocr_read_hash")
    )


def cleansed_columns(cleansed: DataFrame) -> DataFrame:
    """Rows of cleansed/records in CLEANSED_COLUMNS; a column the table does not have yet
    (cleanse adds new ones on its next run) reads as null."""
    return with_absent_columns(cleansed, CLEANSED_RECORD_FIELDS).select(*CLEANSED_COLUMNS)


_NO_RUN: Positions = {
    "run": -1,
    CLEANSE_BATCH: -1,
    "annotations": -1,
    "canonical_ids": -1,
    "record_ocr": -1,
}


@dataclass(frozen=True)
class CurateChanges:
    """What changed in curate's inputs since its last run (None: nothing of that kind)."""

    # cleansed rows a later cleanse batch wrote (CLEANSED_COLUMNS).
    records: DataFrame | None
    # Ids a later tombstone named (column ``id``); gone or not is looked up.
    deleted: DataFrame | None
    # Change data feed rows of cleansed/annotations.
    annotations: DataFrame | None
    # Change data feed rows of curated/canonical_ids.
    canonical_ids: DataFrame | None
    # Change data feed rows of ml/record_ocr.
    record_ocr: DataFrame | None = None

    @property
    def only_records(self) -> bool:
        """Nothing but cleansed rows changed: no tombstone, annotation, duplicate group or
        record OCR."""
        return (
            self.annotations is None
            and self.canonical_ids is None
            and self.deleted is None
            and self.record_ocr is None
        )


def touched_ids(changes: CurateChanges, canonical: DataFrame) -> DataFrame:
    """The distinct record ids (column ``id``) a run must recompute: changed and deleted
    records, the canonical records of changed annotations, the members and canonicals of
    changed duplicate groups."""
    parts: list[DataFrame] = []
    if changes.records is not None:
        parts.append(changes.records.select(F.col("record_id").alias("id")))
    if changes.deleted is not None:
        parts.append(changes.deleted)
    if changes.annotations is not None:
        targets = changes.annotations.select("target_record_id")
        parts.append(
            with_canonical_ids(targets, "target_record_id", canonical).select(
                F.col("canonical_id").alias("id")
            )
        )
    if changes.canonical_ids is not None:
        parts.append(changes.canonical_ids.select(F.col("record_id").alias("id")))
        parts.append(changes.canonical_ids.select(F.col("canonical_id").alias("id")))
    if changes.record_ocr is not None:
        parts.append(changes.record_ocr.select(F.col("record_id").alias("id")))
    touched = parts[0]
    for part in parts[1:]:
        touched = touched.unionByName(part)
    return touched.distinct()


def annotations_of(touched: DataFrame, annotations: DataFrame, canonical: DataFrame) -> DataFrame:
    """The annotations that count for a touched record (attached to it as canonical).
    Aggregating all of them would make the cost grow with the table, not with the change."""
    return (
        with_canonical_ids(annotations, "target_record_id", canonical)
        .join(touched.withColumnRenamed("id", "canonical_id"), "canonical_id", how="left_semi")
        .drop("canonical_id")
    )


def with_upsert_actions(
    touched: DataFrame, curated: DataFrame, deleted: DataFrame | None
) -> DataFrame:
    """Every touched id (``id``) with its new curated row, or nulls when the record is gone.

    ``was_deleted``: a tombstone named it in this run's range. Such a row is written even
    when its curated_hash is unchanged (deleted, then back as it was), so that the export,
    which reads tombstones as "delete unless written since", sees it present."""
    source = touched.join(curated, F.col("id") == F.col("record_id"), how="left")
    if deleted is None:
        return source.withColumn("was_deleted", F.lit(None).cast("boolean"))
    return source.join(
        deleted.select(F.col("id").alias("_deleted_id"), F.lit(True).alias("was_deleted")),
        F.col("id") == F.col("_deleted_id"),
        how="left",
    ).drop("_deleted_id")


def positions_consumed(spark: SparkSession, layout: LakehouseLayout) -> Positions:
    """What the newest curate commit consumed: its run number, the newest complete cleanse
    batch and the annotation and canonical-id table versions; all -1 before the first run."""
    found = consumed_positions(spark, layout.curated_records, CURATE_STAGE)
    return dict(_NO_RUN) if found is None else {**_NO_RUN, **found[1]}


def positions_available(spark: SparkSession, layout: LakehouseLayout, run: int) -> Positions:
    """The positions a run numbered ``run`` would consume now (Delta logs only, no job)."""
    return {
        "run": run,
        CLEANSE_BATCH: newest_cleanse_batch(spark, layout.cleansed_records),
        "annotations": table_position(spark, layout.cleansed_annotations),
        "canonical_ids": table_position(spark, layout.canonical_ids),
        "record_ocr": table_position(spark, layout.ml_record_ocr),
    }


def read_changes(
    spark: SparkSession,
    layout: LakehouseLayout,
    cleansed_version: int,
    consumed: Positions,
    current: Positions,
) -> CurateChanges:
    """The changes of curate's inputs between ``consumed`` and ``current``."""
    records = deleted = None
    if current[CLEANSE_BATCH] > consumed[CLEANSE_BATCH]:
        rows, named = cleansed_changes_since(
            spark, layout, cleansed_version, consumed[CLEANSE_BATCH]
        )
        records = cleansed_columns(rows)
        deleted = None if named is None else named.select(F.col("record_id").alias("id"))
    annotations = changes_since(
        spark, layout.cleansed_annotations, consumed["annotations"], current["annotations"]
    )
    canonical_ids = changes_since(
        spark, layout.canonical_ids, consumed["canonical_ids"], current["canonical_ids"]
    )
    record_ocr = changes_since(
        spark, layout.ml_record_ocr, consumed["record_ocr"], current["record_ocr"]
    )
    return CurateChanges(
        records=records,
        deleted=deleted,
        annotations=None if annotations.nothing_new else annotations.feed(spark),
        canonical_ids=None if canonical_ids.nothing_new else canonical_ids.feed(spark),
        record_ocr=None if record_ocr.nothing_new else record_ocr.feed(spark),
    )


def run_curate(spark: SparkSession, layout: LakehouseLayout) -> CurateResult:
    """Recompute the curated rows of every record touched since the last run."""
    ensure_delta_table(spark, layout.curated_records, CURATED_RECORDS, deletion_vectors=True)
    # A table created before the OCR columns gains them (a log read when it has them).
    add_missing_columns(spark, layout.curated_records, CURATED_RECORDS)
    ensure_delta_table(
        spark, layout.canonical_ids, CANONICAL_IDS, change_data_feed=True, deletion_vectors=True
    )
    consumed = positions_consumed(spark, layout)
    current = positions_available(spark, layout, consumed["run"] + 1)
    if all(current[name] <= consumed[name] for name in SOURCES):
        return CurateResult(consumed, 0, committed=False)
    cleansed_version = table_position(spark, layout.cleansed_records)
    found = read_changes(spark, layout, cleansed_version, consumed, current)
    changes = replace(found, records=found.records.persist() if found.records else None)
    canonical = spark.read.format("delta").load(layout.canonical_ids)
    annotations = spark.read.format("delta").load(layout.cleansed_annotations)
    touched = touched_ids(changes, canonical).persist()
    try:
        records = _touched_records(spark, layout, cleansed_version, touched, changes)
        curated = with_curate_run(
            build_curated(
                records,
                annotations_of(touched, annotations, canonical),
                canonical,
                _record_ocr_of(spark, layout, touched, current["record_ocr"]),
            ),
            current["run"],
        )
        source = with_upsert_actions(touched, curated, changes.deleted)
        before = table_position(spark, layout.curated_records)
        touched_count = _upsert_curated(spark, layout, source, current)
        if table_position(spark, layout.curated_records) == before:
            # Nothing changed (an input moved, its rows hashed as before): the positions
            # still go on record, or every later run would recompute the same rows.
            commit_marker(
                spark,
                layout.curated_records,
                commit_metadata(CURATE_STAGE, current),
                f"curate run {current['run']}",
            )
    finally:
        touched.unpersist()
        if changes.records is not None:
            changes.records.unpersist()
    return CurateResult(current, touched_count, committed=True)


def _record_ocr_of(
    spark: SparkSession, layout: LakehouseLayout, touched: DataFrame, version: int
) -> DataFrame | None:
    """The ocr stage's rows (at ``version``) of the touched ids; None before its first."""
    if version < 0:
        return None
    rows = read_version(spark, layout.ml_record_ocr, version)
    return rows.join(touched.withColumnRenamed("id", "record_id"), "record_id", how="left_semi")


def _upsert_curated(
    spark: SparkSession, layout: LakehouseLayout, source: DataFrame, current: Positions
) -> int:
    """MERGE the upsert actions into curated/records; returns the touched ids' count.

    The consumed positions go with the last commit: a crash before it leaves them
    unconsumed, and the rerun (the same run number; rows compared by curated_hash)
    completes the work."""
    # Materialised once: the upsert reads its source several times (the keys to look up,
    # the files to change, the rows to write), and recomputing it would read the inputs again.
    source = source.persist()
    columns: dict[str, str | Column] = {f.name: f"s.{f.name}" for f in CURATED_RECORDS.fields}
    try:
        return merge_then_append(
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
            last_commit_metadata=commit_metadata(CURATE_STAGE, current),
        )
    finally:
        source.unpersist()


def _touched_records(
    spark: SparkSession,
    layout: LakehouseLayout,
    version: int,
    touched: DataFrame,
    changes: CurateChanges,
) -> DataFrame:
    """The cleansed rows (at ``version``) of the touched ids that still exist.

    A record that cleanse wrote since the last run is in ``changed_records`` already; only
    ids touched by a tombstone, an annotation or a duplicate group are looked up in the
    table. Scanning the whole cleansed table for a 1% change made the run cost grow with
    the table. When only records changed, the touched ids are exactly theirs: nothing to
    look up.
    """
    changed_records = changes.records
    unchanged = touched
    parts: list[DataFrame] = []
    if changed_records is not None:
        parts.append(changed_records)
        unchanged = touched.join(
            changed_records.select(F.col("record_id").alias("id")), "id", how="left_anti"
        )
    if not parts or (not changes.only_records and not unchanged.isEmpty()):
        parts.append(
            read_version(spark, layout.cleansed_records, version)
            .join(unchanged.withColumnRenamed("id", "record_id"), "record_id", how="left_semi")
            .transform(cleansed_columns)
        )
    records = parts[0]
    for part in parts[1:]:
        records = records.unionByName(part)
    return records
