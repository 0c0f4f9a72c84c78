"""What changed in a lakehouse table since a stage last read it.

The one place that knows how the stages record what they consumed and what they wrote:

- commit metadata: the last commit of a stage's write carries, in its Delta userMetadata,
  what the stage consumed (``commit_metadata``; read back by ``consumed_positions``). A
  crash before that commit leaves the input unconsumed, so the rerun completes the work.
  cleanse names its micro-batch there (``cleanse_batch_metadata``) once the batch is whole.
- marker columns: each row cleanse writes carries its micro-batch (``CLEANSE_BATCH``), each
  row curate writes its run (``CURATE_RUN``); a reader filters on them and Delta skips every
  file whose statistics say it is older, so the cost follows the change, not the table.
  cleansed/records and curated/records keep no change data feed for that reason (a MERGE
  with one costs 1 to 2 s more at 1M rows, docs/benchmarks.md).
- tombstones: a deleted row leaves nothing to find it by, so cleanse appends the ids its
  tombstones name to cleansed/record_deletes (``tombstone_rows``), with their batch.

Tables that do keep a change data feed (annotations, canonical ids, dead letters, the ML
tables) are read through ``changes_since``. Stages ask this module; never one another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.delta_tables import commit_info, read_version, table_version
from heritage.lakehouse_layout import LakehouseLayout

# Marker column of cleansed/records and cleansed/record_deletes: the cleanse micro-batch that
# wrote the row; also the userMetadata key of the last commit of each cleanse micro-batch.
CLEANSE_BATCH = "cleanse_batch"
# Marker column of curated/records: the curate run that last wrote the row.
CURATE_RUN = "curate_run"
# userMetadata key of curate's commits: {"run", "cleanse_batch", "annotations",
# "canonical_ids"}, what the run consumed.
CURATE_STAGE = "curate"

Positions = dict[str, int]


def table_position(spark: SparkSession, path: str) -> int:
    """The newest committed version of the Delta table at ``path``, -1 when there is none.

    Read from the Delta log on the driver, no Spark job: cheap enough for a nothing-new check.
    """
    return table_version(spark, path)


# --- change data feed -------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """The commits of ``table`` after version ``since`` up to ``upto`` (inclusive)."""

    table: str
    since: int
    upto: int

    @property
    def nothing_new(self) -> bool:
        return self.upto <= self.since

    def feed(self, spark: SparkSession) -> DataFrame:
        """Delta's change data feed of those commits (``_change_type``, ``_commit_version``
        beside the table's columns); the table must keep one."""
        if self.nothing_new:
            raise ValueError(f"no change in {self.table} after version {self.since}")
        return (
            spark.read.format("delta")
            .option("readChangeFeed", "true")
            .option("startingVersion", self.since + 1)
            .option("endingVersion", self.upto)
            .load(self.table)
        )


def changes_since(
    spark: SparkSession, table: str, position: int, upto: int | None = None
) -> Changes:
    """What was committed to ``table`` after version ``position``, up to ``upto`` (default:
    the newest version, read from the Delta log)."""
    newest = table_position(spark, table) if upto is None else upto
    return Changes(table=table, since=position, upto=newest)


# --- commit metadata --------------------------------------------------------------------


def commit_metadata(stage: str, positions: Mapping[str, int]) -> str:
    """The userMetadata that records what ``stage`` consumed (``positions``), for the last
    commit of its write."""
    return json.dumps({stage: dict(positions)})


def cleanse_batch_metadata(batch_id: int) -> str:
    """The userMetadata of the commits of cleanse micro-batch ``batch_id``."""
    return json.dumps({CLEANSE_BATCH: batch_id})


def consumed_positions(spark: SparkSession, table: str, stage: str) -> tuple[int, Positions] | None:
    """(version, positions) of the newest commit of ``table`` in which ``stage`` recorded
    what it consumed; None before its first."""
    found = _newest_commit_metadata(spark, table, stage)
    return None if found is None else (found[0], dict(found[1]))


def positions_at(spark: SparkSession, table: str, version: int, stage: str) -> Positions | None:
    """What commit ``version`` of ``table`` records that ``stage`` consumed; None when it
    records nothing or its log file is gone (removed by log cleanup)."""
    if version < 0:
        return None
    info = commit_info(spark, table, version)
    found = None if info is None else _metadata_value(info.get("userMetadata"), stage)
    return None if found is None else dict(found)


def newest_cleanse_batch(spark: SparkSession, table: str) -> int:
    """The newest cleanse micro-batch that completed its commits on ``table``; -1 if none."""
    found = _newest_commit_metadata(spark, table, CLEANSE_BATCH)
    return -1 if found is None else int(found[1])


_RECENT_COMMITS = 10


def _newest_commit_metadata(spark: SparkSession, path: str, key: str) -> tuple[int, Any] | None:
    """(version, value) of the newest commit of the table at ``path`` whose userMetadata is
    a JSON object with ``key``; None if none.

    That commit is nearly always among the newest few (only maintenance commits or another
    writer's come between), so their log files are read first, newest first, on the driver
    (no Spark job); the whole history, which grows with every commit, only if none is one."""
    newest = table_version(spark, path)
    for version in range(newest, max(newest - _RECENT_COMMITS, -1), -1):
        info = commit_info(spark, path, version)
        if info is None:
            break
        found = _metadata_value(info.get("userMetadata"), key)
        if found is not None:
            return version, found
    if newest < _RECENT_COMMITS:  # every commit read (or none to read)
        return None
    history = (
        DeltaTable.forPath(spark, path)
        .history()
        .filter(F.col("userMetadata").startswith(f'{{"{key}"'))
        .orderBy(F.col("version").desc())
        .select("version", "userMetadata")
        .first()
    )
    if history is None:
        return None
    return int(history[0]), _metadata_value(history[1], key)


def _metadata_value(metadata: object, key: str) -> Any:
    if not isinstance(metadata, str) or not metadata.startswith(f'{{"{key}"'):
        return None
    return json.loads(metadata).get(key)


# --- marker columns ---------------------------------------------------------------------


def with_cleanse_batch(frame: DataFrame, batch_id: int) -> DataFrame:
    """Stamp rows cleanse writes with its micro-batch."""
    return frame.withColumn(CLEANSE_BATCH, F.lit(batch_id).cast("long"))


def with_curate_run(frame: DataFrame, run: int) -> DataFrame:
    """Stamp rows curate writes with its run."""
    return frame.withColumn(CURATE_RUN, F.lit(run).cast("long"))


def filter_written_after(frame: DataFrame, marker: str, after: int) -> DataFrame:
    """The rows whose ``marker`` column says a later batch or run than ``after`` wrote them."""
    return frame.filter(F.col(marker) > after)


# --- tombstones -------------------------------------------------------------------------


def tombstone_rows(changes: DataFrame, batch_id: int) -> DataFrame:
    """The rows of cleansed/record_deletes for the tombstones (``deleted``) in ``changes``,
    with their order key (``source_updated_at``, ``ingested_at``)."""
    return changes.filter(F.col("deleted")).select(
        "record_id",
        F.lit(batch_id).cast("long").alias(CLEANSE_BATCH),
        "source_updated_at",
        "ingested_at",
    )


def tombstones_since(spark: SparkSession, layout: LakehouseLayout, after_batch: int) -> bool:
    """Whether a cleanse batch after ``after_batch`` listed tombstones (each list commit
    names its batch in its userMetadata: read from the Delta log, no Spark job)."""
    return newest_cleanse_batch(spark, layout.cleansed_record_deletes) > after_batch


def deleted_ids_since(
    spark: SparkSession, layout: LakehouseLayout, after_batch: int, upto_batch: int | None = None
) -> DataFrame | None:
    """The distinct ids (column ``record_id``) that tombstones of cleanse batches after
    ``after_batch`` (up to ``upto_batch``) named; None when no later batch listed any.

    A listed id may be back, or may never have gone (a tombstone older than the stored
    version does not delete): whether it is gone is for the reader to look up."""
    if not tombstones_since(spark, layout, after_batch):
        return None
    batch = F.col(CLEANSE_BATCH)
    in_range: Column = batch > after_batch
    if upto_batch is not None:
        in_range = in_range & (batch <= upto_batch)
    return (
        spark.read.format("delta")
        .load(layout.cleansed_record_deletes)
        .filter(in_range)
        .select("record_id")
        .distinct()
    )


# --- what each reader consumes ----------------------------------------------------------


def cleansed_changes_since(
    spark: SparkSession, layout: LakehouseLayout, version: int, after_batch: int
) -> tuple[DataFrame, DataFrame | None]:
    """(rows, deleted ids) of what cleanse changed after batch ``after_batch``.

    rows: the cleansed rows at ``version`` that a later batch wrote (all columns, the
    marker included). deleted ids (column ``record_id``): every id a later tombstone named,
    None when there is none (see ``deleted_ids_since``).
    """
    rows = filter_written_after(
        read_version(spark, layout.cleansed_records, version), CLEANSE_BATCH, after_batch
    )
    return rows, deleted_ids_since(spark, layout, after_batch)


@dataclass(frozen=True)
class CuratedChanges:
    """What curate changed after a curated version a reader has consumed."""

    # The newest curate commit: the version the reader is brought to.
    version: int
    # The curated rows (at ``version``) that a run after the consumed one wrote.
    written: DataFrame
    # Ids tombstoned in the cleanse batches those runs consumed and not written since
    # (column ``record_id``); None when there is none.
    gone: DataFrame | None


def curated_changes_since(
    spark: SparkSession, layout: LakehouseLayout, done: int
) -> CuratedChanges | None:
    """What curate changed after curated version ``done`` (the newest one a reader has
    consumed; -1 for none); None when there is no newer curate commit.

    Rows written since are found by their ``curate_run``; deletions are the ids cleanse's
    tombstones named in the cleanse batches those runs consumed, less the ids written since
    (curate writes a named id that is present, even unchanged). Both ranges come from the
    userMetadata of the two curate commits.
    """
    newest = consumed_positions(spark, layout.curated_records, CURATE_STAGE)
    if newest is None or newest[0] <= done:
        return None
    version, upto = newest
    # {} when nothing was read yet, or the commit's log file is gone: everything is new.
    after = positions_at(spark, layout.curated_records, done, CURATE_STAGE) or {}
    written = filter_written_after(
        read_version(spark, layout.curated_records, version), CURATE_RUN, after.get("run", -1)
    )
    named = deleted_ids_since(
        spark, layout, after.get(CLEANSE_BATCH, -1), upto.get(CLEANSE_BATCH, -1)
    )
    gone = (
        None
        if named is None
        else named.join(written.select("record_id"), "record_id", how="left_anti")
    )
    return CuratedChanges(version=version, written=written, gone=gone)
