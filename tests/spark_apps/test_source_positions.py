"""Batch runs skip the streaming queries whose source has not moved, and only those."""

from __future__ import annotations

import time
import uuid

import pytest
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQueryListener

from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import produce_sample, publish_records
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.record_model import SourceRecord
from heritage.settings import Settings
from heritage.source_positions import run_unless_unmoved, stored_position
from heritage.spark_apps.cleanse import run_cleanse
from heritage.spark_apps.raw_ingest import run_raw_ingest

pytestmark = pytest.mark.integration


def test_a_run_is_skipped_only_at_the_position_of_the_last_complete_run(
    spark: SparkSession, live_settings: Settings
) -> None:
    checkpoint = f"s3a://{live_settings.bucket}/tests/positions-{uuid.uuid4().hex[:8]}"
    runs: list[str] = []
    assert stored_position(spark, checkpoint) is None
    assert run_unless_unmoved(spark, checkpoint, "5", lambda: runs.append("5"))
    assert not run_unless_unmoved(spark, checkpoint, "5", lambda: runs.append("5 again"))
    assert run_unless_unmoved(spark, checkpoint, "6", lambda: runs.append("6"))

    def crash() -> None:
        raise RuntimeError("killed mid-run")

    with pytest.raises(RuntimeError):
        run_unless_unmoved(spark, checkpoint, "7", crash)
    assert stored_position(spark, checkpoint) == "6"  # a run that did not finish stores nothing
    assert run_unless_unmoved(spark, checkpoint, "7", lambda: runs.append("7"))
    assert runs == ["5", "6", "7"]


class _StartedQueries(StreamingQueryListener):
    def __init__(self) -> None:
        self.names: list[str | None] = []

    def onQueryStarted(self, event) -> None:  # type: ignore[no-untyped-def]
        self.names.append(event.name)

    def onQueryProgress(self, event) -> None:  # type: ignore[no-untyped-def]
        pass

    def onQueryIdle(self, event) -> None:  # type: ignore[no-untyped-def]
        pass

    def onQueryTerminated(self, event) -> None:  # type: ignore[no-untyped-def]
        pass


def test_only_queries_whose_source_moved_are_started(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout
) -> None:
    collection = generate_sample_collection(40, 3)
    produce_sample(live_settings, layout, 40, 3, progress=False)
    run_raw_ingest(spark, live_settings, layout)
    run_cleanse(spark, layout)
    cleansed = spark.read.format("delta").load(layout.cleansed_records).count()

    listener = _StartedQueries()
    spark.streams.addListener(listener)
    try:
        assert run_raw_ingest(spark, live_settings, layout) == 0
        run_cleanse(spark, layout)
        assert listener.names == []  # nothing new anywhere: no query started

        valid = next(
            m for m in collection.messages if m.record_id in collection.manifest.valid_record_ids
        )
        publish_records(
            live_settings,
            layout,
            [SourceRecord("europeana:/9/new", dict(valid.payload, id="/9/new"))],
            progress=False,
        )
        assert run_raw_ingest(spark, live_settings, layout) == 1
        run_cleanse(spark, layout)
        deadline = time.monotonic() + 30
        while len(listener.names) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # listener events arrive asynchronously
        time.sleep(1)
    finally:
        spark.streams.removeListener(listener)
    # One raw query (the records topic) and one cleanse query (the raw records table).
    assert listener.names == [None, "cleanse_records"]
    assert spark.read.format("delta").load(layout.cleansed_records).count() == cleansed + 1
