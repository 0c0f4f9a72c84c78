"""The OCR fields of the common record: their JSON shapes, and that they never decide
cleanse's verdict (pure Python; the Spark side is tests/spark_apps/test_ocr_cleanse_columns.py)."""

from __future__ import annotations

from typing import Any

import pytest

from heritage.record_contract import FIELD_SHAPES, classify_record, record_shape_problems
from heritage.record_model import COMMON_RECORD_FIELDS, MAX_OCR_TEXT

VALID: dict[str, Any] = {
    "id": "/1/a",
    "type": "TEXT",
    "title": ["Condition report"],
    "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
    "dataProvider": ["Rijksmuseum"],
}
PAGE = {
    "file": "data/letter.tif",
    "page": 1,
    "confidence": 91.2,
    "language": "eng",
    "rotation": 0,
    "characters": 1234,
    "words": 210,
    "flagged": False,
    "reason": None,
    "text_key": "packages/blobs/sha256/ab/cd/x.ocr/d/page-0001.txt",
    "hocr_key": "packages/blobs/sha256/ab/cd/x.ocr/d/page-0001.hocr",
}
FIELD = {
    "kind": "date",
    "value": "12 March 1994",
    "normalised": "1994-03-12",
    "file": "data/letter.tif",
    "page": 1,
    "start": 10,
    "end": 23,
    "confidence": 0.9,
    "rule": "date:day month year (en)",
    "uri": None,
    "box": [1, 2, 3, 4],
    "flagged": False,
}


def test_the_ocr_fields_are_in_the_common_record_with_their_shapes() -> None:
    assert {
        name: FIELD_SHAPES[name] for name in COMMON_RECORD_FIELDS if name.startswith("ocr_")
    } == {
        "ocr_text": "string",
        "ocr_confidence": "number",
        "ocr_pages": "objects",
        "ocr_fields": "objects",
    }
    assert FIELD_SHAPES["title"] == "strings"
    assert FIELD_SHAPES["dcTitleLangAware"] == "strings by language"


def test_well_formed_ocr_fields_have_no_shape_problem() -> None:
    record = VALID | {
        "ocr_text": "Craquelure across the sky.\n\nPage two.",
        "ocr_confidence": 88,
        "ocr_pages": [PAGE, PAGE | {"page": 2, "confidence": None, "flagged": True}],
        "ocr_fields": [FIELD],
    }
    assert record_shape_problems(record) == []
    assert record_shape_problems(VALID | {"ocr_confidence": 91.25, "ocr_pages": []}) == []


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("ocr_text", ["text"], "field 'ocr_text' is a list, expected a string"),
        ("ocr_confidence", True, "field 'ocr_confidence' is a boolean, expected a number"),
        ("ocr_confidence", "91.2", "field 'ocr_confidence' is a string, expected a number"),
        ("ocr_pages", PAGE, "field 'ocr_pages' is an object, expected a list of objects"),
        (
            "ocr_pages",
            [PAGE, None],
            "field 'ocr_pages' holds null at position 1, expected a list of objects",
        ),
        (
            "ocr_fields",
            [FIELD, "date"],
            "field 'ocr_fields' holds a string at position 1, expected a list of objects",
        ),
    ],
)
def test_a_malformed_ocr_field_is_named(field: str, value: Any, problem: str) -> None:
    assert record_shape_problems(VALID | {field: value}) == [problem]


def test_ocr_text_longer_than_producers_cut_it_is_named() -> None:
    assert record_shape_problems(VALID | {"ocr_text": "x" * MAX_OCR_TEXT}) == []
    assert record_shape_problems(VALID | {"ocr_text": "x" * (MAX_OCR_TEXT + 1)}) == [
        "field 'ocr_text' holds 200,001 characters, at most 200,000 expected"
    ]


@pytest.mark.parametrize(
    "ocr",
    [
        {"ocr_text": 12, "ocr_confidence": "high", "ocr_pages": "page 1", "ocr_fields": {}},
        {"ocr_text": None, "ocr_confidence": None, "ocr_pages": [1], "ocr_fields": [None]},
        {"ocr_text": "x" * (MAX_OCR_TEXT + 1), "ocr_confidence": float("nan")},
    ],
)
def test_malformed_ocr_fields_never_decide_the_verdict(ocr: dict[str, Any]) -> None:
    assert classify_record("europeana:/1/a", VALID | ocr).valid
    assert (
        classify_record("europeana:/1/a", {"id": "/1/a"} | ocr).reasons
        == classify_record("europeana:/1/a", {"id": "/1/a"}).reasons
    )
