"""A record with OCR fields travels every hop: Kafka -> raw -> cleansed -> curated ->
PostgreSQL, where full-text search finds it by its OCR text and the OCR views list its pages,
fields and the pages to review; a new version with other OCR updates the row."""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import run_stages
from heritage.postgres_db import connect
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import SourceRecord
from heritage.settings import Settings

pytestmark = pytest.mark.integration

RECORD_ID = "europeana:/9/condition_report"
PAGES = [
    {
        "file": "data/report.tif", "page": 1, "confidence": 91.2, "language": "eng",
        "rotation": 0, "characters": 52, "words": 8, "flagged": False, "reason": None,
        "text_key": "packages/blobs/sha256/ab/cd/r.ocr/d/page-0001.txt",
        "hocr_key": "packages/blobs/sha256/ab/cd/r.ocr/d/page-0001.hocr",
    },
    {
        "file": "data/report.tif", "page": 2, "confidence": 41.5, "language": "eng",
        "rotation": 90, "characters": 12, "words": 3, "flagged": True,
        "reason": "low confidence 41.5 < 70", "text_key": None, "hocr_key": None,
    },
    {
        "file": "data/broken.pdf", "page": 0, "confidence": None, "language": "eng",
        "rotation": 0, "characters": 0, "words": 0, "flagged": True,
        "reason": "not a PDF", "text_key": None, "hocr_key": None,
    },
]  # fmt: skip
FIELD = {
    "kind": "date", "value": "12 March 1994", "normalised": "1994-03-12",
    "file": "data/report.tif", "page": 1, "start": 30, "end": 43, "confidence": 0.9,
    "rule": "date:day month year (en)", "uri": None, "box": [10, 20, 300, 40], "flagged": False,
}  # fmt: skip


def item(ocr_text: str, confidence: float, updated: str) -> dict[str, Any]:
    return {
        "id": "/9/condition_report",
        "type": "TEXT",
        "title": ["Condition report"],
        "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
        "dataProvider": ["Rijksmuseum"],
        "timestamp_update": updated,
        "ocr_text": ocr_text,
        "ocr_confidence": confidence,
        "ocr_pages": PAGES,
        "ocr_fields": [FIELD],
    }


def publish(settings: Settings, layout: LakehouseLayout, items: list[SourceRecord]) -> None:
    producer = create_producer(settings)
    ledger = PublishLedger(layout.producer_state_dir / "europeana.sqlite")
    try:
        envelopes = envelopes_from("europeana", items)
        publish_envelopes(producer, ledger, layout.records_topic, envelopes, progress=False)
    finally:
        producer.close()
        ledger.close()


def query(settings: Settings, layout: LakehouseLayout, sql: str, *args: object) -> list[Any]:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        rows = cursor.fetchall()
    connection.close()
    return rows


def test_ocr_fields_reach_the_analytics_views(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout
) -> None:
    text = "Condition report.\n\nFine craquelure across the sky, 12 March 1994."
    publish(
        live_settings,
        layout,
        [SourceRecord(RECORD_ID, item(text, 66.4, "2026-01-01T00:00:00Z"))],
    )
    run_stages(live_settings, layout, spark=spark, skip=("ml",))

    def search(word: str) -> list[Any]:
        return query(
            live_settings,
            layout,
            "SELECT record_id, ocr_text, ocr_confidence FROM analytics.objects"
            " WHERE search_document @@ plainto_tsquery('simple', %s)",
            word,
        )

    assert search("craquelure") == [(RECORD_ID, text, 66.4)]
    fields = query(
        live_settings,
        layout,
        "SELECT record_id, title, data_provider, file, page, kind, value, normalised,"
        " start_offset, end_offset, confidence, rule, uri, box, flagged"
        " FROM analytics.ocr_fields",
    )
    assert fields == [
        (RECORD_ID, "Condition report", "Rijksmuseum", "data/report.tif", 1, "date",
         "12 March 1994", "1994-03-12", 30, 43, 0.9, "date:day month year (en)", None,
         [10, 20, 300, 40], False)
    ]  # fmt: skip
    pages = query(
        live_settings, layout, "SELECT file, page, rotation, flagged FROM analytics.ocr_pages"
    )
    assert sorted(pages) == [
        ("data/broken.pdf", 0, 0, True),
        ("data/report.tif", 1, 0, False),
        ("data/report.tif", 2, 90, True),
    ]
    review = query(
        live_settings,
        layout,
        "SELECT record_id, source, file, page, confidence, reason, text_key"
        " FROM analytics.ocr_review",
    )
    assert review == [
        (RECORD_ID, "europeana", "data/broken.pdf", 0, None, "not a PDF", None),
        (RECORD_ID, "europeana", "data/report.tif", 2, 41.5, "low confidence 41.5 < 70", None),
    ]

    # A new version read again: the row follows its OCR.
    publish(
        live_settings,
        layout,
        [SourceRecord(RECORD_ID, item("Varnish yellowed.", 93.0, "2026-02-01T00:00:00Z"))],
    )
    run_stages(live_settings, layout, spark=spark, skip=("ml",))
    assert search("craquelure") == []
    assert search("varnish") == [(RECORD_ID, "Varnish yellowed.", 93.0)]
