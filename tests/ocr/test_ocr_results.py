"""What a record carries of its files' readings, within the bounds of one Kafka message, and
which object keys count as page texts (pure)."""

from __future__ import annotations

import json
from typing import Any

from heritage.ocr.ocr_results import (
    MAX_LIST_BYTES,
    MAX_RECORD_TEXT_BYTES,
    is_page_text_key,
    page_keys,
    record_ocr,
)

SHA = "0f" * 32


def _page(number: int, text: str, confidence: float | None, flagged: bool) -> dict[str, Any]:
    return {
        "page": number,
        "text": text,
        "confidence": confidence,
        "language": "eng",
        "rotation": 0,
        "deskew": 0.0,
        "characters": len(text),
        "words": len(text.split()),
        "flagged": flagged,
        "reason": "low confidence 40.0 < 70" if flagged else None,
        "text_key": None,
        "hocr_key": None,
        "fields": [],
    }


def test_pages_text_and_confidence_come_together_in_file_and_page_order() -> None:
    letter = {
        "settings": "0a1b2c3d",
        "failure": None,
        "pages": [_page(1, "Dear Sir", 90.0, False), _page(2, "", None, False)],
    }
    report = {
        "settings": "0a1b2c3d",
        "failure": "cannot decode page 2: truncated",
        "pages": [_page(1, "Condition good", 60.0, True)],
    }
    cut = {"settings": "0a1b2c3d", "failure": "cannot decode the image", "pages": []}
    result = record_ocr([("letter.tif", letter), ("report.pdf", report), ("cut.jpg", cut)])
    assert result["ocr_text"] == "Dear Sir\n\nCondition good"
    assert result["ocr_confidence"] == round((90.0 * 2 + 60.0 * 2) / 4, 2)
    assert [(p["file"], p["page"]) for p in result["ocr_pages"]] == [
        ("letter.tif", 1), ("letter.tif", 2), ("report.pdf", 1), ("report.pdf", 0), ("cut.jpg", 0),
    ]  # fmt: skip
    assert result["ocr_pages"][-1]["flagged"] and "text" not in result["ocr_pages"][0]
    assert record_ocr([]) == {}


def test_a_huge_document_stays_within_one_message_keeping_its_flagged_pages() -> None:
    pages = [_page(n, "Inventory entry " * 400, 95.0, False) for n in range(1, 3001)]
    pages[2999] = _page(3000, "smudged", 20.0, True)
    result = record_ocr(
        [("finding-aid.pdf", {"settings": "0a1b2c3d", "failure": None, "pages": pages})]
    )
    assert len(result["ocr_text"].encode("utf-8")) <= MAX_RECORD_TEXT_BYTES
    assert len(json.dumps(result["ocr_pages"]).encode("utf-8")) <= MAX_LIST_BYTES
    assert result["ocr_pages"][-1]["page"] == 3000, "the flagged page is kept"
    kept = [page["page"] for page in result["ocr_pages"]]
    assert kept == sorted(kept)


def test_multibyte_text_is_cut_between_characters() -> None:
    pages = [_page(1, "Éé€" * 100_000, 90.0, False)]
    text = record_ocr([("a.tif", {"settings": "0a1b2c3d", "failure": None, "pages": pages})])[
        "ocr_text"
    ]
    assert len(text.encode("utf-8")) <= MAX_RECORD_TEXT_BYTES and text.startswith("Éé€")


def test_only_keys_of_page_texts_are_page_text_keys() -> None:
    blob = f"ns/t1/packages/blobs/sha256/0f/0f/{SHA}"
    original = f"images/original/{SHA}"
    for base in (blob, original):
        text_key, hocr_key = page_keys(base, "0a1b2c3d", 7)
        assert is_page_text_key(text_key) and not is_page_text_key(hocr_key)
    for key in (".state/local.env", f"{blob}", f"../{page_keys(blob, '0a1b2c3d', 1)[0]}", "x.txt"):
        assert not is_page_text_key(key), key
