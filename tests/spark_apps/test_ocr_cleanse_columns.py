"""The OCR columns of a cleansed record, on tiny inline DataFrames: read from the common
record, a value of the wrong shape dropped, and the verdict the same as without them
(and as heritage.record_contract gives)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pyspark.sql import DataFrame, Row, SparkSession

from heritage.curated_columns import CURATED_COLUMNS
from heritage.record_contract import classify_record
from heritage.spark_apps.objects_export import objects_upsert
from heritage.spark_apps.record_validation import (
    CLEANSED_COLUMNS,
    select_cleansed,
    validate_records,
)
from heritage.table_schemas import (
    CLEANSED_RECORD_FIELDS,
    CURATED_RECORDS,
    EMBARGO_FIELDS,
    RAW_RECORDS,
)

VALID: dict[str, Any] = {
    "id": "/1/a",
    "type": "TEXT",
    "title": ["Condition report"],
    "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
    "dataProvider": ["Rijksmuseum"],
}
PAGE = {"file": "data/letter.tif", "page": 1, "confidence": 54.1, "flagged": True, "reason": None}
FIELD = {"kind": "date", "value": "1994", "normalised": "1994", "box": [1, 2, 3, 4], "uri": None}
OCR_COLUMNS = ("ocr_text", "ocr_confidence", "ocr_pages", "ocr_fields")


def raw_rows(spark: SparkSession, records: list[Any]) -> DataFrame:
    """Raw rows of records a producer mapped (the envelope's ``record``), one per offset;
    a str is sent as it is (JSON text), anything else as its JSON."""
    rows = []
    for offset, record in enumerate(records):
        text = record if isinstance(record, str) else json.dumps(record)
        record_id = f"europeana:/1/r{offset}"
        moment = dt.datetime(2026, 1, 1, 0, 0, offset)
        rows.append(
            (record_id, text, "t", 0, offset, None, record_id, "europeana", 1, f"h{offset}",
             moment, "c", False, text, "{}")
        )  # fmt: skip
    return spark.createDataFrame(rows, RAW_RECORDS)


def validated(spark: SparkSession, records: list[Any]) -> list[Row]:
    frame = validate_records(raw_rows(spark, records))
    return sorted(frame.select("kafka_offset", "reasons", *OCR_COLUMNS).collect())


def test_well_formed_ocr_fields_are_kept(spark: SparkSession) -> None:
    record = VALID | {
        "ocr_text": "Craquelure across the sky.\n\nPage two: \u00e9t\u00e9.",
        "ocr_confidence": 88.25,
        "ocr_pages": [PAGE, PAGE | {"page": 2, "confidence": None}],
        "ocr_fields": [FIELD],
    }
    rows = validated(spark, [record, VALID | {"ocr_confidence": 70, "ocr_pages": []}, VALID])
    first, integral, none = rows
    assert first["reasons"] == []
    assert first["ocr_text"] == record["ocr_text"]
    assert first["ocr_confidence"] == 88.25
    assert json.loads(first["ocr_pages"]) == record["ocr_pages"]
    assert json.loads(first["ocr_fields"]) == [FIELD]
    assert (integral["ocr_confidence"], integral["ocr_pages"]) == (70.0, "[]")
    assert [none[c] for c in OCR_COLUMNS] == [None] * 4


@pytest.mark.parametrize(
    ("ocr", "kept"),
    [
        # A value of another JSON type than the field's is dropped.
        ({"ocr_text": 12, "ocr_pages": '[{"page": 1}]', "ocr_fields": {"kind": "date"}}, {}),
        ({"ocr_text": ["a"], "ocr_pages": [PAGE, None], "ocr_fields": [FIELD, "date"]}, {}),
        ({"ocr_text": {"a": 1}, "ocr_pages": [[PAGE]], "ocr_fields": [1]}, {}),
        # A confidence is a number within 0..100; a string holding one is read as one.
        ({"ocr_confidence": True}, {}),
        ({"ocr_confidence": "high"}, {}),
        ({"ocr_confidence": 100.5}, {}),
        ({"ocr_confidence": -1}, {}),
        ({"ocr_confidence": "NaN"}, {}),
        ({"ocr_confidence": " 54.5 "}, {"ocr_confidence": 54.5}),
        # What PostgreSQL cannot hold: a NUL character is removed from the text, and a list
        # holding one (or a lone surrogate) is dropped.
        ({"ocr_text": "a\u0000b"}, {"ocr_text": "ab"}),
        ({"ocr_pages": [{"reason": "a\u0000b"}], "ocr_fields": [{"value": "\ud800"}]}, {}),
    ],
)
def test_a_malformed_ocr_value_is_dropped_and_never_rejects(
    spark: SparkSession, ocr: dict[str, Any], kept: dict[str, Any]
) -> None:
    (row,) = validated(spark, [json.dumps(VALID | ocr)])
    assert row["reasons"] == []
    assert {c: row[c] for c in OCR_COLUMNS if row[c] is not None} == kept


def test_the_ocr_fields_leave_the_verdict_as_the_record_contract_gives_it(
    spark: SparkSession,
) -> None:
    malformed = {"ocr_text": 1, "ocr_confidence": [], "ocr_pages": {}, "ocr_fields": [None]}
    texts = [
        json.dumps(VALID | malformed),
        json.dumps({"id": "/1/x", "ocr_text": "text only", "ocr_pages": [PAGE]}),
        # Fields after OCR values Spark's readers find odd are still read.
        '{"ocr_pages": [{"a": 1, "a": 2}], "ocr_text": {"b": 1, "b": 2}, "title": ["t"]}',
        json.dumps({"ocr_fields": [{"reason": "\ud800"}], "ocr_text": "\udc00"} | VALID),
    ]
    rows = validated(spark, texts)
    for offset, (text, row) in enumerate(zip(texts, rows, strict=True)):
        verdict = classify_record(f"europeana:/1/r{offset}", json.loads(text))
        assert tuple(row["reasons"]) == verdict.reasons, text


def test_the_ocr_columns_are_cleansed_and_curated_columns(spark: SparkSession) -> None:
    # The OCR columns, then the embargo columns added after them.
    assert CLEANSED_COLUMNS[-9:-5] == OCR_COLUMNS
    assert tuple(f.name for f in CLEANSED_RECORD_FIELDS.fields[-9:-5]) == OCR_COLUMNS
    assert CLEANSED_COLUMNS[-5:] == tuple(f.name for f in EMBARGO_FIELDS)
    cleansed = select_cleansed(validate_records(raw_rows(spark, [VALID | {"ocr_text": "x"}])))
    assert [(f.name, f.dataType) for f in cleansed.schema.fields] == [
        (f.name, f.dataType) for f in CLEANSED_RECORD_FIELDS.fields
    ]
    assert {f.name for f in CURATED_RECORDS.fields} >= set(OCR_COLUMNS)


def test_the_ocr_lists_are_exported_as_jsonb_lists_never_null() -> None:
    columns = {c.name: c for c in CURATED_COLUMNS}
    assert columns["ocr_pages"].from_staging() == "coalesce(ocr_pages_json::jsonb, '[]'::jsonb)"
    assert columns["ocr_fields"].from_staging() == "coalesce(ocr_fields_json::jsonb, '[]'::jsonb)"
    assert (columns["ocr_text"].pg_type, columns["ocr_text"].staged_name) == ("text", "ocr_text")
    assert columns["ocr_confidence"].pg_type == "double precision"
    assert columns["titles"].from_staging() == "coalesce(titles_json::jsonb, '{}'::jsonb)"
    # A change of OCR alone updates the row.
    for name in OCR_COLUMNS:
        assert f"o.{name} IS DISTINCT FROM EXCLUDED.{name}" in objects_upsert()
