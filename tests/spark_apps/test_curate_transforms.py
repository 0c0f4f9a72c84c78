"""curate's pure transforms on tiny inline DataFrames: which ids a run recomputes, and what
it writes for each of them."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual

from heritage.spark_apps.curate import CurateChanges, touched_ids, with_upsert_actions


def _frame(spark: SparkSession, schema: str, rows: list[tuple[object, ...]]) -> DataFrame:
    return spark.createDataFrame(rows, schema)


def test_touched_ids_gather_records_tombstones_annotations_and_duplicate_groups(
    spark: SparkSession,
) -> None:
    canonical = _frame(spark, "record_id string, canonical_id string", [("m", "c")])
    changes = CurateChanges(
        records=_frame(spark, "record_id string", [("r1",), ("r2",)]),
        deleted=_frame(spark, "id string", [("d",), ("r1",)]),
        # An annotation on a duplicate group's member touches its canonical record.
        annotations=_frame(spark, "target_record_id string", [("m",), ("a",), (None,)]),
        canonical_ids=_frame(spark, "record_id string, canonical_id string", [("g", "h")]),
    )
    expected = _frame(
        spark, "id string", [("r1",), ("r2",), ("d",), ("c",), ("a",), (None,), ("g",), ("h",)]
    )
    assertDataFrameEqual(touched_ids(changes, canonical), expected)
    assert not changes.only_records


def test_only_changed_records_touch_only_their_ids(spark: SparkSession) -> None:
    canonical = _frame(spark, "record_id string, canonical_id string", [])
    records = _frame(spark, "record_id string", [("r1",), ("r1",)])
    changes = CurateChanges(records=records, deleted=None, annotations=None, canonical_ids=None)
    assert changes.only_records
    assertDataFrameEqual(touched_ids(changes, canonical), _frame(spark, "id string", [("r1",)]))


def test_upsert_actions_mark_gone_and_tombstoned_ids(spark: SparkSession) -> None:
    touched = _frame(spark, "id string", [("kept",), ("gone",), ("back",)])
    curated = _frame(spark, "record_id string, title string", [("kept", "K"), ("back", None)])
    deleted = _frame(spark, "id string", [("gone",), ("back",)])
    expected = _frame(
        spark,
        "id string, record_id string, title string, was_deleted boolean",
        [("kept", "kept", "K", None), ("gone", None, None, True), ("back", "back", None, True)],
    )
    assertDataFrameEqual(with_upsert_actions(touched, curated, deleted), expected)

    no_tombstones = with_upsert_actions(touched, curated, None)
    assert no_tombstones.filter("was_deleted IS NOT NULL").isEmpty()
    assert no_tombstones.filter("record_id IS NULL").count() == 1
