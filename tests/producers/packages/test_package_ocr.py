"""OCR in the package workflow, on the real stack: a deposit of scans (a two-page letter with
its second page sideways, a conservation report scanned upside down to PDF, a blank sheet
and a JPEG cut short) is stored; each page is an event, the texts and hOCR lie next to the
files' blobs, and the text is searchable in analytics.objects with its fields and spans."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.object_store import object_store_client
from heritage.pipeline import prepare, run_stages, stage_context
from heritage.postgres_db import connect
from heritage.producers.packages import sample_scans
from heritage.producers.packages.ingest_settings import load_examination_config
from heritage.producers.packages.package_workflow import IngestReport, ingest_packages
from heritage.producers.packages.scanner_signatures import write_test_signatures
from heritage.settings import Settings

pytestmark = pytest.mark.integration

PACKAGE = "registry-scans-0007"
LETTER = f"{PACKAGE}/data/letters/letter-1994-03-14.tif"
REPORT = f"{PACKAGE}/data/reports/condition-2001.12.3.pdf"
BLANK = f"{PACKAGE}/data/separator-sheet.png"
CUT = f"{PACKAGE}/data/letters/envelope.jpg"


@dataclass(frozen=True)
class Deposited:
    settings: Settings
    layout: LakehouseLayout
    report: IngestReport


@pytest.fixture(scope="module")
def deposited(
    live_settings: Settings, spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deposited]:
    tmp_path = tmp_path_factory.mktemp("scans")
    layout = LakehouseLayout.namespaced(live_settings, f"t{uuid.uuid4().hex[:10]}")
    prepare(live_settings, layout)
    write_test_signatures(tmp_path / "clamav")
    environment = {**live_settings.environment, "HERITAGE_CLAMAV_DB": str(tmp_path / "clamav")}
    settings = replace(live_settings, environment=environment)
    package = sample_scans.scanned_deposit(tmp_path / "deposit", PACKAGE)
    context = stage_context(settings, layout, spark=spark)
    report = ingest_packages(context, [package], load_examination_config(settings))
    run_stages(settings, layout, spark=spark, skip=("ml",))
    yield Deposited(settings, layout, report)
    drop_namespace(live_settings, layout)


def _query(deposited: Deposited, sql: str, *params: object) -> list[tuple]:
    connection = connect(deposited.settings, deposited.layout.pg_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        connection.close()


def test_the_deposit_is_stored_despite_its_unreadable_jpeg(deposited: Deposited) -> None:
    (outcome,) = deposited.report.outcomes
    assert outcome.status == "stored", outcome.detail


def test_each_page_is_an_event_and_the_cut_jpeg_gets_its_reason(
    deposited: Deposited, spark: SparkSession
) -> None:
    rows = (
        spark.read.format("delta")
        .load(deposited.layout.ingest_events)
        .filter("step = 'ocr'")
        .select("file_path", "outcome", "detail", "event_type", "tool")
        .collect()
    )
    events = {row["file_path"]: row for row in rows}
    assert set(events) == {
        f"{LETTER}#page=1",
        f"{LETTER}#page=2",
        f"{REPORT}#page=1",
        f"{BLANK}#page=1",
        CUT,
    }
    assert all(row["event_type"] == "transcription" and row["tool"] == "tesseract" for row in rows)
    assert "turned 90 degrees" in events[f"{LETTER}#page=2"]["detail"]
    assert "turned 180 degrees" in events[f"{REPORT}#page=1"]["detail"]
    assert events[f"{BLANK}#page=1"]["outcome"] == "success"
    assert events[f"{BLANK}#page=1"]["detail"] == "blank page: no text"
    assert events[CUT]["outcome"] == "warning" and "truncated" in events[CUT]["detail"]


def test_the_text_is_searchable_in_analytics_objects(deposited: Deposited) -> None:
    for word in (*sample_scans.LETTER_WORDS, *sample_scans.REPORT_WORDS):
        found = _query(
            deposited,
            "SELECT record_id FROM analytics.objects"
            " WHERE search_document @@ plainto_tsquery('simple', %s)",
            word,
        )
        assert found == [(f"package:{PACKAGE}",)], word
    ((confidence,),) = _query(
        deposited,
        "SELECT ocr_confidence FROM analytics.objects WHERE record_id = %s",
        f"package:{PACKAGE}",
    )
    assert confidence > 90


def test_fields_are_extracted_with_their_spans(deposited: Deposited) -> None:
    rows = _query(
        deposited,
        "SELECT kind, value, normalised, file, page, start_offset, end_offset, confidence"
        " FROM analytics.ocr_fields WHERE record_id = %s",
        f"package:{PACKAGE}",
    )
    found = {(kind, normalised, file, page) for kind, _, normalised, file, page, *_ in rows}
    assert ("date", "1994-03-14", LETTER, 1) in found
    assert ("accession_number", "1987.45.12", LETTER, 1) in found
    assert ("date", "2002-05-03", REPORT, 1) in found
    assert ("place", "Brussels", LETTER, 2) in found
    assert ("document_type", "conservation_report", REPORT, 1) in found
    pages = _page_texts(deposited)
    for kind, value, _, file, page, start, end, confidence in rows:
        assert pages[(file, page)][start:end] == value, (kind, value)
        assert 0 < confidence <= 1


def _page_texts(deposited: Deposited) -> dict[tuple[str, int], str]:
    """Each page's text as stored next to its file's blob, by (file, page)."""
    rows = _query(
        deposited,
        "SELECT file, page, text_key FROM analytics.ocr_pages"
        " WHERE record_id = %s AND text_key IS NOT NULL",
        f"package:{PACKAGE}",
    )
    client = object_store_client(deposited.settings)
    texts = {}
    for file, page, key in rows:
        response = client.get_object(deposited.settings.bucket, key)
        try:
            texts[(file, page)] = response.read().decode("utf-8")
        finally:
            response.close()
            response.release_conn()
    return texts


def test_pages_and_review_flags_reach_the_analyst_views(deposited: Deposited) -> None:
    pages = {
        (file, page): (rotation, reason, flagged, hocr_key)
        for file, page, rotation, reason, flagged, hocr_key in _query(
            deposited,
            "SELECT file, page, rotation, reason, flagged, hocr_key FROM analytics.ocr_pages"
            " WHERE record_id = %s",
            f"package:{PACKAGE}",
        )
    }
    assert pages[(LETTER, 2)][0] == 90 and pages[(REPORT, 1)][0] == 180
    assert pages[(BLANK, 1)][1] == "blank page" and not pages[(BLANK, 1)][2]
    assert pages[(CUT, 0)][2] and "truncated" in pages[(CUT, 0)][1]
    assert pages[(LETTER, 1)][3] and pages[(LETTER, 1)][3].endswith("/page-0001.hocr")
    review = _query(
        deposited, "SELECT file, page FROM analytics.ocr_review WHERE record_id = %s",
        f"package:{PACKAGE}",
    )  # fmt: skip
    assert review == [(CUT, 0)], "only the unreadable file waits for review"


def test_the_hocr_lies_next_to_the_blob(deposited: Deposited, spark: SparkSession) -> None:
    (manifest,) = [
        json.loads(row["manifest"])
        for row in spark.read.format("delta")
        .load(deposited.layout.ingest_events)
        .filter("step = 'store'")
        .collect()
    ]
    letter = next(item for item in manifest["files"] if item["path"] == LETTER)
    keys = [page["hocr_key"] for page in letter["ocr"]["pages"]]
    assert all(key.startswith(letter["blob_key"] + ".ocr/") for key in keys)
    client = object_store_client(deposited.settings)
    response = client.get_object(deposited.settings.bucket, keys[1])
    try:
        hocr = response.read().decode("utf-8")
    finally:
        response.close()
        response.release_conn()
    assert "ocr_page" in hocr and "Brussels" in hocr
