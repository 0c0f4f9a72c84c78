"""Every hop real: sample -> Kafka -> raw -> cleansed + dead letters -> curated -> PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_reconcile import reconcile_lakehouse
from heritage.lakehouse_summary import count_tables
from heritage.pipeline import produce_sample, run_stages
from heritage.postgres_db import connect
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.record_model import SourceRecord
from heritage.settings import Settings

pytestmark = pytest.mark.integration

RECORDS, SEED = 400, 5


def publish(
    settings: Settings, layout: LakehouseLayout, topic: str, source: str, items: list[SourceRecord]
) -> None:
    producer = create_producer(settings)
    ledger = PublishLedger(layout.producer_state_dir / f"{source}.sqlite")
    try:
        publish_envelopes(producer, ledger, topic, envelopes_from(source, items), progress=False)
    finally:
        producer.close()
        ledger.close()


def annotation(annotation_id: str, target: str, kind: str, body: str) -> SourceRecord:
    payload = {
        "annotation_id": annotation_id,
        "target_record_id": target,
        "kind": kind,
        "body": body,
        "user": "curator-1",
        "created": "2026-11-01T10:00:00Z",
    }
    return SourceRecord(annotation_id, payload)


def pg_objects(settings: Settings, layout: LakehouseLayout) -> dict[str, dict[str, Any]]:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT record_id, description, tags, annotation_count, canonical_id "
            "FROM analytics.objects"
        )
        rows = {
            r[0]: {"description": r[1], "tags": r[2], "annotations": r[3], "canonical": r[4]}
            for r in cursor.fetchall()
        }
    connection.close()
    return rows


def test_sample_travels_every_hop_exactly_once(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout
) -> None:
    collection = generate_sample_collection(RECORDS, SEED)
    manifest = collection.manifest
    valid = sorted(manifest.valid_record_ids)
    late_payload = dict(collection.messages[0].payload, id="/9/late_arrival")
    produce_sample(live_settings, layout, RECORDS, SEED, progress=False)
    publish(
        live_settings,
        layout,
        layout.annotations_topic,
        "annotations",
        [
            annotation("annotation:1", valid[0], "tag", "Portrait"),
            annotation("annotation:2", valid[0], "tag", "oil on canvas"),
            annotation("annotation:3", valid[0], "comment", "Compare with the Louvre copy."),
            annotation("annotation:4", "europeana:/9/late_arrival", "tag", "winter"),
            annotation("annotation:5", valid[1], "like", "+1"),  # not a kind we know
        ],
    )
    publish(
        live_settings,
        layout,
        layout.dead_letter_topic,
        "lido",
        [SourceRecord("lido:museum:broken-1", {"xml": "<lido/>", "reasons": ["no lidoRecID"]})],
    )
    run_stages(live_settings, layout, spark=spark)

    counts = count_tables(spark, live_settings, layout)
    assert counts.raw_rows == manifest.message_count
    assert counts.cleansed_rows == len(manifest.valid_record_ids)
    assert counts.curated_rows == len(manifest.valid_record_ids)
    assert counts.rows["cleansed_annotations"] == 4
    assert counts.dead_letter_rows == len(manifest.malformed) + 2
    assert counts.postgres_objects == len(manifest.valid_record_ids)

    cleansed_ids = {
        r[0]
        for r in spark.read.format("delta")
        .load(layout.cleansed_records)
        .select("record_id")
        .collect()
    }
    assert cleansed_ids == manifest.valid_record_ids
    dead = spark.read.format("delta").load(layout.dead_letters)
    assert {
        r[0] for r in dead.filter(F.col("stage") == "cleanse").select("record_id").collect()
    } == set(manifest.malformed)
    assert dead.filter(F.size("reasons") == 0).count() == 0
    assert dead.filter(F.col("kafka_value").isNull()).count() == 0
    assert dead.filter(F.col("stage") == "cleanse_annotations").first()["reasons"] == [  # type: ignore[index]
        "kind 'like' is not one of tag, comment"
    ]

    exported = pg_objects(live_settings, layout)
    assert set(exported) == manifest.valid_record_ids
    for record_id in manifest.updated_record_ids:
        assert exported[record_id]["description"].endswith("Provenance revised."), record_id
    assert exported[valid[0]]["tags"] == ["oil on canvas", "portrait"]
    assert exported[valid[0]]["annotations"] == 3
    assert exported[valid[1]]["tags"] == []
    with connect(live_settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT stage, count(*) FROM analytics.rejections GROUP BY stage")
        assert dict(cursor.fetchall()) == {
            "cleanse": len(manifest.malformed),
            "cleanse_annotations": 1,
            "produce:lido": 1,
        }
        cursor.execute("SELECT count(*), count(attached_to) FROM analytics.annotations")
        assert cursor.fetchone() == (4, 3)  # the late record's annotation waits
        cursor.execute(
            "SELECT count(*) FROM analytics.objects WHERE search_document @@ "
            "websearch_to_tsquery('simple', %s)",
            (exported[valid[0]]["description"].split()[0],),
        )
        assert cursor.fetchone()[0] >= 1  # type: ignore[index]
    connection.close()

    # The record an annotation was waiting for arrives; another record is deleted.
    publish(
        live_settings,
        layout,
        layout.records_topic,
        "europeana",
        [
            SourceRecord("europeana:/9/late_arrival", late_payload),
            SourceRecord(valid[2], {"id": valid[2].removeprefix("europeana:")}, deleted=True),
        ],
    )
    run_stages(live_settings, layout, spark=spark)
    exported = pg_objects(live_settings, layout)
    assert exported["europeana:/9/late_arrival"]["tags"] == ["winter"]
    assert valid[2] not in exported
    report = reconcile_lakehouse(live_settings, layout, spark)
    assert report.balanced, report.render()
    europeana = next(s for s in report.sources if s.source == "europeana")
    assert europeana.deleted == 1
    assert europeana.cleansed == len(manifest.valid_record_ids)  # one deleted, one arrived

    # A second run with nothing new: nothing published, no new Delta version, no change.
    settled = count_tables(spark, live_settings, layout)
    again = produce_sample(live_settings, layout, RECORDS, SEED, progress=False)
    assert again.published == 0
    run_stages(live_settings, layout, spark=spark)
    assert count_tables(spark, live_settings, layout) == settled


def test_read_only_role_reads_views_and_cannot_write(live_settings: Settings) -> None:
    import psycopg2

    connection = psycopg2.connect(
        host=live_settings.pg_host,
        port=live_settings.pg_port,
        dbname=live_settings.pg_database,
        user=live_settings.pg_reader_user,
        password=live_settings.pg_reader_password.reveal(),
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM analytics.objects")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute("DELETE FROM heritage.objects")
    finally:
        connection.close()
