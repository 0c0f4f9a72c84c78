"""heritage.change_tracking on Delta tables in a temporary folder: table positions, what a
stage recorded in its commits, marker columns, change feeds and tombstones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StringType, StructField, StructType
from pyspark.testing import assertDataFrameEqual

from heritage.change_tracking import (
    CLEANSE_BATCH,
    changes_since,
    cleanse_batch_metadata,
    commit_metadata,
    consumed_positions,
    deleted_ids_since,
    filter_written_after,
    newest_cleanse_batch,
    positions_at,
    table_position,
    tombstone_rows,
    tombstones_since,
    with_cleanse_batch,
)
from heritage.delta_tables import append_once, ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.table_schemas import RECORD_DELETES

CHANGES = StructType(
    [StructField("record_id", StringType(), nullable=False), StructField("deleted", BooleanType())]
)


def _layout(root: Path) -> LakehouseLayout:
    return LakehouseLayout(
        records_topic="records",
        annotations_topic="annotations",
        dead_letter_topic="dead_letters",
        table_root=str(root),
        pg_database="unused",
        producer_state_dir=root / "state",
    )


def _changes(spark: SparkSession, rows: list[tuple[str, bool | None]]) -> DataFrame:
    return spark.createDataFrame(rows, CHANGES)


ARRIVED = dt.datetime(2026, 1, 1, 12, 0)


def _tombstone_changes(spark: SparkSession, rows: list[tuple[str, bool | None]]) -> DataFrame:
    """Changes with the order key a tombstone keeps (no source time; its arrival)."""
    return _changes(spark, rows).select(
        "*",
        F.lit(None).cast("timestamp").alias("source_updated_at"),
        F.lit(ARRIVED).alias("ingested_at"),
    )


def test_table_position_follows_the_commits(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    assert table_position(spark, path) == -1
    ensure_delta_table(spark, path, CHANGES)
    assert table_position(spark, path) == 0
    append_once(_changes(spark, [("a", False)]), path, None)
    assert table_position(spark, path) == 1


def test_a_stage_reads_back_what_it_recorded_in_its_newest_commit(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    ensure_delta_table(spark, path, CHANGES)
    assert consumed_positions(spark, path, "curate") is None
    rows = _changes(spark, [("a", False)])
    append_once(rows, path, None, commit_metadata("curate", {"run": 0, CLEANSE_BATCH: 3}))
    append_once(rows, path, None, commit_metadata("curate", {"run": 1, CLEANSE_BATCH: 5}))
    append_once(rows, path, None)  # another writer's commit, recording nothing
    append_once(rows, path, None, commit_metadata("other", {"run": 9}))

    assert consumed_positions(spark, path, "curate") == (2, {"run": 1, CLEANSE_BATCH: 5})
    assert positions_at(spark, path, 1, "curate") == {"run": 0, CLEANSE_BATCH: 3}
    assert positions_at(spark, path, 3, "curate") is None
    assert positions_at(spark, path, -1, "curate") is None


def test_marker_columns_select_the_rows_later_batches_wrote(spark: SparkSession) -> None:
    changes = _changes(spark, [("a", False), ("b", None)])
    stamped = with_cleanse_batch(changes, 4).unionByName(with_cleanse_batch(changes, 7))
    expected = with_cleanse_batch(changes, 7)
    assertDataFrameEqual(filter_written_after(stamped, CLEANSE_BATCH, 4), expected)
    assertDataFrameEqual(filter_written_after(stamped, CLEANSE_BATCH, 7), expected.limit(0))


def test_tombstones_name_the_deleted_ids_of_their_batch(spark: SparkSession) -> None:
    changes = _tombstone_changes(spark, [("a", True), ("b", False), ("c", None)])
    expected = spark.createDataFrame([("a", 2, None, ARRIVED)], RECORD_DELETES)
    assertDataFrameEqual(tombstone_rows(changes, 2), expected)


def test_deleted_ids_since_reads_the_tombstones_of_later_batches(
    spark: SparkSession, tmp_path: Path
) -> None:
    layout = _layout(tmp_path)
    deletes = layout.cleansed_record_deletes
    ensure_delta_table(spark, deletes, RECORD_DELETES)
    assert not tombstones_since(spark, layout, -1)
    assert deleted_ids_since(spark, layout, -1) is None
    for batch, ids in ((1, ["a", "b"]), (3, ["b", "c"])):
        rows = tombstone_rows(_tombstone_changes(spark, [(i, True) for i in ids]), batch)
        append_once(rows, deletes, None, cleanse_batch_metadata(batch))

    assert newest_cleanse_batch(spark, deletes) == 3
    assert tombstones_since(spark, layout, 2)
    assert not tombstones_since(spark, layout, 3)
    after_one = deleted_ids_since(spark, layout, 1)
    assert after_one is not None
    assert sorted(r[0] for r in after_one.collect()) == ["b", "c"]
    upto_one = deleted_ids_since(spark, layout, -1, upto_batch=1)
    assert upto_one is not None
    assert sorted(r[0] for r in upto_one.collect()) == ["a", "b"]


def test_changes_since_reads_the_change_feed_of_the_newer_commits(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "feed")
    ensure_delta_table(spark, path, CHANGES, change_data_feed=True)
    append_once(_changes(spark, [("a", False)]), path, None)
    append_once(_changes(spark, [("b", None)]), path, None)

    everything = changes_since(spark, path, 0)
    assert (everything.since, everything.upto, everything.nothing_new) == (0, 2, False)
    feed = everything.feed(spark).select("record_id", "_commit_version")
    assertDataFrameEqual(feed, [("a", 1), ("b", 2)])
    assert [r[0] for r in changes_since(spark, path, 1).feed(spark).collect()] == ["b"]
    assert changes_since(spark, path, 1, upto=1).nothing_new

    newest = changes_since(spark, path, 2)
    assert newest.nothing_new
    with pytest.raises(ValueError, match="no change"):
        newest.feed(spark)
    assert changes_since(spark, str(tmp_path / "absent"), -1).nothing_new
