"""Records with OCR pages and fields for the OCR review page's tests, written to PostgreSQL
as the export writes them, with a page text stored in the object store where the OCR stage
keeps it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import object_store_client
from heritage.postgres_db import connect
from heritage.settings import Settings

LETTER = "csv:harbour:letter-1"
BRIEF = "csv:archief:brief-7"
BROKEN = "csv:harbour:broken-2"
LEDGER = "csv:archief:ledger-3"
LETTER_PAGE_2 = (
    "Rotterdam, 12 March 1894.\n"
    "Dear Sir, the harbour master J. Smyth reports ice in the Maas.\n"
    "Accession RP-T-1894-12 is enclosed."
)
LEDGER_PAGES = 25  # more low-confidence pages than one page of the queue shows


@dataclass(frozen=True)
class OcrSample:
    letter_text_key: str


def _page(
    file: str,
    page: int,
    confidence: float | None,
    language: str,
    reason: str | None,
    text_key: str | None = None,
    rotation: int = 0,
) -> dict[str, Any]:
    return {
        "file": file,
        "page": page,
        "confidence": confidence,
        "language": language,
        "rotation": rotation,
        "characters": 0 if text_key is None else 120,
        "words": 0 if confidence is None else 21,
        "flagged": reason is not None,
        "reason": reason,
        "text_key": text_key,
        "hocr_key": None if text_key is None else text_key.removesuffix(".txt") + ".hocr",
    }


def _field(kind: str, value: str, normalised: str, confidence: float, rule: str) -> dict[str, Any]:
    start = LETTER_PAGE_2.index(value)
    return {
        "kind": kind,
        "value": value,
        "normalised": normalised,
        "file": "data/letter.tif",
        "page": 2,
        "start": start,
        "end": start + len(value),
        "confidence": confidence,
        "rule": rule,
        "uri": None,
        "box": [10, 20, 300, 40],
        "flagged": confidence < 0.7,
    }


def store_text(settings: Settings, layout: LakehouseLayout, name: str, text: str) -> str:
    """The page text where the OCR stage keeps it: next to the file's blob."""
    key = f"{layout.package_prefix}/blobs/sha256/ab/ab/{'ab' * 32}.ocr/0a1b2c3d/{name}"
    data = text.encode("utf-8")
    object_store_client(settings).put_object(
        settings.bucket, key, io.BytesIO(data), len(data), "text/plain; charset=utf-8"
    )
    return key


def sample_records(letter_key: str) -> list[tuple[Any, ...]]:
    """(record_id, title, data_provider, ocr_text, ocr_confidence, ocr_pages, ocr_fields)."""
    letter_pages = [
        _page("data/letter.tif", 1, 91.2, "eng", None, letter_key.replace("0002", "0001")),
        _page("data/letter.tif", 2, 54.1, "eng", "low confidence 54.1 < 70", letter_key),
    ]
    letter_fields = [
        _field("date", "12 March 1894", "1894-03-12", 0.95, "date:day month year (en)"),
        _field("name", "J. Smyth", "Smith, John", 0.42, "name:gazetteer"),
    ]
    brief_pages = [
        _page("data/brief.pdf", 1, None, "nld", "blank page"),
        _page("data/brief.pdf", 2, 63.0, "nld", "low confidence 63.0 < 70", None, rotation=90),
    ]
    broken_pages = [_page("data/broken.tif", 0, None, "eng", "cannot identify image file")]
    ledger_pages = [
        _page("data/ledger.tif", n, round(60 + n / 10, 1), "deu", "low confidence < 70")
        for n in range(1, LEDGER_PAGES + 1)
    ]
    letter_text = "Page one of the letter.\n\n" + LETTER_PAGE_2
    return [
        (
            LETTER,
            "Letter on the ice",
            "Harbour Museum",
            letter_text,
            60.3,
            letter_pages,
            letter_fields,
        ),
        (BRIEF, "Brief", "Stadsarchief", "Geachte heer", 63.0, brief_pages, []),
        (BROKEN, "Damaged scan", "Harbour Museum", None, None, broken_pages, []),
        (LEDGER, "Ledger", "Stadsarchief", "Kasse Buch", 61.0, ledger_pages, []),
    ]


def insert_ocr_records(settings: Settings, layout: LakehouseLayout) -> OcrSample:
    """Records with OCR pages and fields as the export writes them to heritage.objects."""
    letter_key = store_text(settings, layout, "page-0002.txt", LETTER_PAGE_2)
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO heritage.objects (record_id, source, title, object_type, rights_uri, "
            "data_provider, content_hash, ingested_at, delta_version, ocr_text, ocr_confidence, "
            "ocr_pages, ocr_fields) VALUES (%s, 'csv', %s, 'TEXT', "
            "'http://rightsstatements.org/vocab/NoC-US/1.0/', %s, md5(%s), now(), 1, %s, %s, "
            "%s, %s)",
            [
                (
                    record,
                    title,
                    provider,
                    record,
                    text,
                    score,
                    json.dumps(pages),
                    json.dumps(fields),
                )
                for record, title, provider, text, score, pages, fields in sample_records(
                    letter_key
                )
            ],
        )
    connection.close()
    return OcrSample(letter_key)
