"""The ocr stage on the real stack: a TEXT record whose image the ml stage stored (its row in
ml/images and its original in the object store, as image acquisition leaves them) is read
by OCR; curate fills the record's OCR columns from ml/record_ocr, and PostgreSQL's search
finds it. A painting's image is not read, a second run reads nothing, and a record no longer
of a read type loses its reading."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from pyspark.sql import SparkSession

from heritage.delta_tables import ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.image_fetch import original_key
from heritage.object_store import object_store_client
from heritage.pipeline import run_stages
from heritage.postgres_db import connect
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.packages.sample_scans import LETTER_PAGES, printed_page
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import SourceRecord
from heritage.settings import Settings
from heritage.table_schemas import ML_IMAGES

pytestmark = pytest.mark.integration

RIGHTS = "http://creativecommons.org/publicdomain/mark/1.0/"


def _record(local_id: str, kind: str) -> SourceRecord:
    item = {
        "id": local_id,
        "type": kind,
        "title": [f"Item {local_id}"],
        "rights": [RIGHTS],
        "dataProvider": ["Municipal Archive of Haarlem"],
        "edmIsShownBy": [f"https://images.example.org/{local_id.strip('/')}.png"],
    }
    return SourceRecord(f"europeana:{local_id}", item)


def _publish(settings: Settings, layout: LakehouseLayout, items: list[SourceRecord]) -> None:
    producer = create_producer(settings)
    ledger = PublishLedger(layout.ledger_path)
    try:
        envelopes = envelopes_from("europeana", items)
        publish_envelopes(producer, ledger, layout.records_topic, envelopes, progress=False)
    finally:
        producer.close()
        ledger.close()


def _store_image(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout, record: SourceRecord
) -> None:
    """What image acquisition leaves for one record: the original and its ml/images row."""
    out = io.BytesIO()
    # The letter's first page, fed into the scanner upside down.
    printed_page(LETTER_PAGES[0]).rotate(180).save(out, "PNG")
    data = out.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    client = object_store_client(settings)
    client.put_object(settings.bucket, original_key(layout, sha256), io.BytesIO(data), len(data))
    row: dict[str, Any] = {
        "record_id": record.record_id,
        "image_url": record.payload["edmIsShownBy"][0],
        "content_hash": "c" * 64,
        "status": "stored",
        "sha256": sha256,
        "thumbnail_key": None,
        "content_type": "image/png",
        "width": 1748,
        "height": 2480,
        "failure_reason": None,
        "attempts": 1,
        "last_attempt_at": datetime.now(UTC),
    }
    ensure_delta_table(spark, layout.ml_images, ML_IMAGES, change_data_feed=True)
    frame = spark.createDataFrame([row], ML_IMAGES)
    frame.write.format("delta").mode("append").save(layout.ml_images)


def _query(settings: Settings, layout: LakehouseLayout, sql: str, *args: object) -> list[Any]:
    connection = connect(settings, layout.pg_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())
    finally:
        connection.close()


def test_a_text_records_image_is_read_and_searchable(
    live_settings: Settings, layout: LakehouseLayout, spark: SparkSession
) -> None:
    letter, painting = _record("/5/letter", "TEXT"), _record("/5/painting", "IMAGE")
    _publish(live_settings, layout, [letter, painting])
    run_stages(live_settings, layout, spark=spark, skip=("ml", "ocr"))
    _store_image(spark, live_settings, layout, letter)
    _store_image(spark, live_settings, layout, painting)

    results = run_stages(live_settings, layout, spark=spark, skip=("ml",))
    ocr = next(run.result for run in results.runs if run.stage == "ocr")
    assert ocr.rows == 1, ocr.summary

    found = _query(
        live_settings, layout,
        "SELECT record_id, ocr_confidence FROM analytics.objects"
        " WHERE search_document @@ plainto_tsquery('simple', 'craquelure')",
    )  # fmt: skip
    assert [row[0] for row in found] == [letter.record_id] and found[0][1] > 90
    pages = _query(
        live_settings, layout,
        "SELECT rotation, text_key FROM analytics.ocr_pages WHERE record_id = %s",
        letter.record_id,
    )  # fmt: skip
    assert len(pages) == 1 and pages[0][0] == 180 and pages[0][1].endswith("page-0001.txt")
    fields = _query(
        live_settings, layout,
        "SELECT kind, normalised FROM analytics.ocr_fields WHERE record_id = %s",
        letter.record_id,
    )  # fmt: skip
    assert ("date", "1994-03-14") in fields and ("place", "The Hague") in fields

    again = run_stages(live_settings, layout, spark=spark, skip=("ml",))
    assert next(run.result for run in again.runs if run.stage == "ocr").nothing_new

    # A reading rewritten as it was (new settings, the same text): curate looks once, finds
    # nothing to change, and records that it looked; the run after it has nothing new.
    spark.sql(f"UPDATE delta.`{layout.ml_record_ocr}` SET settings = 'ffffffff'")
    first = run_stages(live_settings, layout, stage="curate", spark=spark)
    assert first.runs[0].result.rows == 1
    second = run_stages(live_settings, layout, stage="curate", spark=spark)
    assert second.runs[0].result.nothing_new

    # Recatalogued as a picture: its image is no longer read, and its reading is forgotten.
    _publish(live_settings, layout, [_record("/5/letter", "IMAGE")])
    later = run_stages(live_settings, layout, spark=spark, skip=("ml",))
    assert "1 readings of records no longer read removed" in next(
        run.result.summary for run in later.runs if run.stage == "ocr"
    )
    ((text, pages),) = _query(
        live_settings, layout,
        "SELECT ocr_text, ocr_pages FROM heritage.objects WHERE record_id = %s",
        letter.record_id,
    )  # fmt: skip
    assert text is None and pages == []
