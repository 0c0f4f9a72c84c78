"""cleanse gives a record the same cleansed state wherever the micro-batches begin and end:
a tombstone listed by an earlier batch keeps a later, older revision out (as it would in
one batch), a revision newer than the tombstone brings the record back, and a replayed
batch changes nothing. Raw rows go into the raw Delta table of a fresh namespace; cleanse
runs as the pipeline runs it, one micro-batch per run."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from heritage.change_tracking import cleanse_batch_metadata, table_position
from heritage.delta_tables import add_missing_columns, append_once, ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.cleanse import merge_cleansed, run_cleanse
from heritage.spark_apps.record_validation import select_cleansed_changes, validate_records
from heritage.table_schemas import RAW_RECORDS, RECORD_DELETES

pytestmark = pytest.mark.integration

# The tombstone carries no source time: its order key is its arrival, after the revision's.
ORIGINAL_AT = "2024-05-01T08:00:00.000Z"
STALE_REVISION_AT = "2025-03-01T09:30:00.000Z"
NEWER_REVISION_AT = "2026-06-01T00:00:00.000Z"
TOMBSTONE_ARRIVES = dt.datetime(2026, 1, 1, 12, 0, 0)


@dataclass(frozen=True)
class Change:
    """One message of a record: a version with its source time, or a tombstone."""

    updated: str | None
    deleted: bool = False


ORIGINAL = Change(ORIGINAL_AT)
TOMBSTONE = Change(None, deleted=True)
STALE = Change(STALE_REVISION_AT)
NEWER = Change(NEWER_REVISION_AT)
# Same source time as the tombstone's: the later arrival wins, as within one batch.
TOMBSTONE_AT_ORIGINAL = Change(ORIGINAL_AT, deleted=True)
SAME_TIME_REVISION = Change(ORIGINAL_AT)


class RawFeed:
    """Raw rows as raw ingest writes them, each arriving a second after the one before."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self.offsets = count()

    def rows(self, changes: list[tuple[str, Change]]) -> DataFrame:
        rows = []
        for record_id, change in changes:
            offset = next(self.offsets)
            arrived = TOMBSTONE_ARRIVES + dt.timedelta(seconds=offset)
            record: dict[str, object] = {"id": record_id.removeprefix("europeana:")}
            if change.updated:
                record["timestamp_update"] = change.updated
            if not change.deleted:
                record |= {
                    "type": "IMAGE",
                    "title": [f"as of {change.updated}"],
                    "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
                    "dataProvider": ["Rijksmuseum"],
                }
            text = json.dumps(record)
            rows.append(
                (record_id, text, "records", 0, offset, arrived, record_id, "europeana", 1,
                 f"h{offset}", arrived, "c", change.deleted, text, text)
            )  # fmt: skip
        return self.spark.createDataFrame(rows, RAW_RECORDS)


def _split(histories: dict[str, list[list[Change]]]) -> Iterator[list[tuple[str, Change]]]:
    """The micro-batches: batch i holds every record's i-th group of changes."""
    for index in range(max(len(batches) for batches in histories.values())):
        yield [
            (record_id, change)
            for record_id, batches in histories.items()
            if index < len(batches)
            for change in batches[index]
        ]


def _cleansed(spark: SparkSession, layout: LakehouseLayout) -> dict[str, tuple[object, ...]]:
    rows = spark.read.format("delta").load(layout.cleansed_records).collect()
    return {row["record_id"]: (row["title"], row["source_updated_at"]) for row in rows}


def _raw_tables(spark: SparkSession, layout: LakehouseLayout) -> None:
    for table in (layout.raw_records, layout.raw_annotations, layout.raw_dead_letters):
        ensure_delta_table(spark, table, RAW_RECORDS)


def test_a_tombstone_gives_the_same_result_in_one_batch_or_split_across_batches(
    spark: SparkSession, layout: LakehouseLayout
) -> None:
    stale = [ORIGINAL, TOMBSTONE, STALE]
    recreated = [ORIGINAL, TOMBSTONE, NEWER]
    tie = [ORIGINAL, TOMBSTONE_AT_ORIGINAL, SAME_TIME_REVISION]
    histories = {
        "europeana:/1/stale-one-batch": [stale],
        "europeana:/1/stale-two-batches": [stale[:2], stale[2:]],
        "europeana:/1/stale-three-batches": [[c] for c in stale],
        "europeana:/1/recreated-one-batch": [recreated],
        "europeana:/1/recreated-two-batches": [recreated[:2], recreated[2:]],
        "europeana:/1/tie-one-batch": [tie],
        "europeana:/1/tie-two-batches": [tie[:2], tie[2:]],
    }
    feed = RawFeed(spark)
    _raw_tables(spark, layout)
    for index, batch in enumerate(_split(histories)):
        append_once(feed.rows(batch), layout.raw_records, None)
        # One micro-batch of the records query per run (its ids come first): 0, 1, 2.
        assert run_cleanse(spark, layout).batch_ids[0] == index

    found = _cleansed(spark, layout)
    # The source deleted the record after the stale revision: it stays gone, however split.
    assert not {record_id for record_id in found if "/stale-" in record_id}
    # A revision newer than the tombstone brings it back, as does one of the same source
    # time that came later; the same row whether it came with the tombstone or after it.
    recreated_row = found["europeana:/1/recreated-one-batch"]
    assert recreated_row[0] == f"as of {NEWER_REVISION_AT}"
    assert found["europeana:/1/recreated-two-batches"] == recreated_row
    assert found["europeana:/1/tie-two-batches"] == found["europeana:/1/tie-one-batch"]
    assert set(found) == {
        "europeana:/1/recreated-one-batch",
        "europeana:/1/recreated-two-batches",
        "europeana:/1/tie-one-batch",
        "europeana:/1/tie-two-batches",
    }


def test_a_replayed_batch_after_a_tombstone_changes_nothing(
    spark: SparkSession, layout: LakehouseLayout
) -> None:
    feed = RawFeed(spark)
    _raw_tables(spark, layout)
    stale_id, newer_id, gone_id = "europeana:/2/stale", "europeana:/2/newer", "europeana:/2/gone"
    first = feed.rows(
        [(i, c) for i in (stale_id, newer_id) for c in (ORIGINAL, TOMBSTONE)]
        + [(gone_id, ORIGINAL)]
    )
    later = feed.rows([(stale_id, STALE), (newer_id, NEWER), (gone_id, TOMBSTONE)])
    batch_ids = []
    for rows in (first, later):
        append_once(rows, layout.raw_records, None)
        batch_ids += run_cleanse(spark, layout).batch_ids
    assert set(_cleansed(spark, layout)) == {newer_id}
    tables = (layout.cleansed_records, layout.cleansed_record_deletes)
    versions = [table_position(spark, path) for path in tables]

    # The later batch again, as foreachBatch replays it after a crash: same id, same rows.
    app = f"cleanse_records:{layout.cleansed_records}"
    changes = select_cleansed_changes(validate_records(later)).persist()
    try:
        merge_cleansed(
            spark,
            layout.cleansed_records,
            changes,
            (app, batch_ids[-1]),
            layout.cleansed_record_deletes,
        )
    finally:
        changes.unpersist()
    assert [table_position(spark, path) for path in tables] == versions
    assert set(_cleansed(spark, layout)) == {newer_id}


def test_tombstones_listed_before_their_order_key_was_kept_hold_nothing_back(
    spark: SparkSession, layout: LakehouseLayout
) -> None:
    """A list begun with only record_id and cleanse_batch gains the order key columns; its
    old rows (no order key) do not keep a record out, as they did not before."""
    old_schema = StructType(RECORD_DELETES.fields[:2])
    ensure_delta_table(spark, layout.cleansed_record_deletes, old_schema)
    old_row = spark.createDataFrame([("europeana:/3/a", 0)], old_schema)
    append_once(old_row, layout.cleansed_record_deletes, None, cleanse_batch_metadata(0))
    feed = RawFeed(spark)
    _raw_tables(spark, layout)
    append_once(feed.rows([("europeana:/3/a", STALE)]), layout.raw_records, None)
    run_cleanse(spark, layout)
    assert set(_cleansed(spark, layout)) == {"europeana:/3/a"}
    assert add_missing_columns(spark, layout.cleansed_record_deletes, RECORD_DELETES) == []
