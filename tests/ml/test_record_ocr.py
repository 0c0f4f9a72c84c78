"""Which records' images the ocr stage reads, and the rows it writes (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from heritage.ml.record_ocr import (
    FAILED,
    READ,
    images_to_read,
    record_ocr_row,
    records_to_read,
)

CLEANSED = (
    "record_id string, object_type string, data_provider string, image_url string,"
    " ocr_text string, ocr_pages string"
)
IMAGES = "record_id string, status string, sha256 string"
DONE = "record_id string, image_sha256 string, settings string"


def test_records_of_read_types_with_a_stored_image_and_no_text_are_read(
    spark: SparkSession,
) -> None:
    cleansed = spark.createDataFrame(
        [
            ("letter", "TEXT", "Archive", "https://a.example/1.jpg", None, None),
            ("painting", "IMAGE", "Archive", "https://a.example/2.jpg", None, None),
            ("thesis", "TEXT", "Archive", "https://a.example/3.jpg", "its own text layer", "[]"),
            ("failed", "TEXT", "Archive", "https://a.example/4.jpg", None, None),
            ("read", "TEXT", "Archive", "https://a.example/5.jpg", None, None),
            ("changed", "TEXT", "Archive", "https://a.example/6.jpg", None, None),
            ("dutch", "TEXT", "Rijksmuseum", "https://r.example/7.jpg", None, None),
            ("blank", "TEXT", "Archive", "https://a.example/8.jpg", None, '[{"page": 1}]'),
        ],
        CLEANSED,
    )
    images = spark.createDataFrame(
        [
            ("letter", "stored", "s1"),
            ("painting", "stored", "s2"),
            ("thesis", "stored", "s3"),
            ("failed", "failed", None),
            ("read", "stored", "s5"),
            ("changed", "stored", "s6-new"),
            ("dutch", "stored", "s7"),
            ("blank", "stored", "s8"),
        ],
        IMAGES,
    )
    done = spark.createDataFrame(
        [
            ("read", "s5", "eng00000"),
            ("changed", "s6-old", "eng00000"),
            ("dutch", "s7", "eng00000"),
        ],
        DONE,
    )
    eligible = images_to_read(cleansed, images, ("TEXT",))
    due = records_to_read(eligible, done, {"Rijksmuseum": "nld00000"}, "eng00000").collect()
    assert sorted((row["record_id"], row["sha256"], row["settings"]) for row in due) == [
        ("changed", "s6-new", "eng00000"),
        ("dutch", "s7", "nld00000"),
        ("letter", "s1", "eng00000"),
    ]


def test_a_reading_becomes_one_row_with_the_record_ocr_values() -> None:
    entry = {
        "settings": "eng00000",
        "failure": None,
        "pages": [
            {
                "page": 1,
                "text": "Dear Sir, inventory 1987.45.12",
                "confidence": 91.0,
                "language": "eng",
                "rotation": 90,
                "characters": 30,
                "words": 5,
                "flagged": False,
                "reason": None,
                "text_key": "images/original/s1.ocr/eng00000/page-0001.txt",
                "hocr_key": "images/original/s1.ocr/eng00000/page-0001.hocr",
                "fields": [],
            }
        ],
    }
    row = record_ocr_row(
        "letter", "s1", "https://a.example/1.jpg", entry, "eng00000", datetime.now(UTC)
    )
    assert row["status"] == READ and row["ocr_text"] == "Dear Sir, inventory 1987.45.12"
    assert row["ocr_confidence"] == 91.0
    (page,) = json.loads(row["ocr_pages"])
    assert page["file"] == "https://a.example/1.jpg" and page["rotation"] == 90
    again = record_ocr_row(
        "letter", "s1", "https://a.example/1.jpg", entry, "eng00000", datetime.now(UTC)
    )
    assert again["ocr_hash"] == row["ocr_hash"], "the same reading hashes the same"
    failed = record_ocr_row(
        "letter", "s1", "u", {"settings": "eng00000", "failure": "cut short", "pages": []},
        "eng00000", datetime.now(UTC),
    )  # fmt: skip
    assert failed["status"] == FAILED and failed["ocr_text"] is None
    assert json.loads(failed["ocr_pages"])[0]["reason"] == "cut short"
