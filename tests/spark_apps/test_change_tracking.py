"""curate and the PostgreSQL export find what changed without a change data feed: cleanse
stamps the rows it writes with its micro-batch and lists the ids its tombstones name, curate
stamps its rows with its run. These are the cases where a stamp alone would be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import produce_sample, run_stages
from heritage.postgres_db import connect
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.producers.simulators.sample_collection import SOURCE, generate_sample_collection
from heritage.record_model import SourceRecord
from heritage.settings import Settings

pytestmark = pytest.mark.integration

RECORDS, SEED = 60, 11


def publish(settings: Settings, ledger: Path, topic: str, items: list[SourceRecord]) -> None:
    """Publish through a ledger of its own, so a payload sent before is sent again."""
    producer = create_producer(settings)
    store = PublishLedger(ledger)
    try:
        publish_envelopes(producer, store, topic, envelopes_from(SOURCE, items), progress=False)
    finally:
        producer.close()
        store.close()


def tombstone(record_id: str, updated: str | None = None) -> SourceRecord:
    payload = {"id": record_id.removeprefix("europeana:")}
    if updated:
        payload["timestamp_update"] = updated
    return SourceRecord(record_id, payload, deleted=True)


def ids_in(spark: SparkSession, path: str) -> set[str]:
    return {r[0] for r in spark.read.format("delta").load(path).select("record_id").collect()}


def exported_ids(settings: Settings, layout: LakehouseLayout) -> set[str]:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT record_id FROM heritage.objects")
        found = {r[0] for r in cursor.fetchall()}
    connection.close()
    return found


def test_deletes_restores_and_stale_tombstones_reach_curated_and_postgres(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout, tmp_path: Path
) -> None:
    collection = generate_sample_collection(RECORDS, SEED)
    manifest = collection.manifest
    produce_sample(live_settings, layout, RECORDS, SEED, progress=False)
    run_stages(live_settings, layout, spark=spark, skip=("ml",))
    valid = sorted(manifest.valid_record_ids - set(manifest.updated_record_ids))
    restored, deleted, kept = valid[0], valid[1], valid[2]
    assert exported_ids(live_settings, layout) == manifest.valid_record_ids

    # Two tombstones reach cleanse; curate does not run before one record comes back as it
    # was (same content hash, so the same curated hash): curated never saw it go. Its
    # tombstone has the source time of that version, so the version sent again after it is
    # not older (equal times go to the later arrival) and comes back.
    original = next(m for m in collection.messages if m.record_id == restored)
    publish(
        live_settings,
        tmp_path / "tombstones.sqlite",
        layout.records_topic,
        [
            tombstone(restored, original.payload["timestamp_update"]),
            tombstone(deleted),
            tombstone(kept, "1990-01-01T00:00:00Z"),
        ],
    )
    run_stages(live_settings, layout, "raw", spark=spark)
    run_stages(live_settings, layout, "cleanse", spark=spark)
    assert restored not in ids_in(spark, layout.cleansed_records)
    assert kept in ids_in(spark, layout.cleansed_records)  # the tombstone is older
    publish(
        live_settings,
        tmp_path / "restore.sqlite",
        layout.records_topic,
        [SourceRecord(restored, original.payload)],
    )
    run_stages(live_settings, layout, spark=spark, skip=("ml",))

    expected = manifest.valid_record_ids - {deleted}
    assert ids_in(spark, layout.cleansed_records) == expected
    assert ids_in(spark, layout.curated_records) == expected
    assert exported_ids(live_settings, layout) == expected

    # A later run with nothing new changes nothing, and a plain delete goes all the way.
    publish(live_settings, tmp_path / "later.sqlite", layout.records_topic, [tombstone(kept)])
    run_stages(live_settings, layout, spark=spark, skip=("ml",))
    assert ids_in(spark, layout.curated_records) == expected - {kept}
    assert exported_ids(live_settings, layout) == expected - {kept}
