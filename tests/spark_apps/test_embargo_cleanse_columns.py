"""The embargo columns of a cleansed record, on tiny inline DataFrames: kept as the producer
converted them, an inconsistent embargo rejected with a reason, and the verdict the same as
heritage.record_contract gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from test_ocr_cleanse_columns import VALID, raw_rows

from heritage.record_contract import classify_record
from heritage.spark_apps.record_validation import validate_records

pytestmark = pytest.mark.zones

EMBARGO = {
    "embargo_until": "2030-12-31",
    "embargo_zone": "Europe/Amsterdam",
    "embargo_rule": "through_named_day",
    "embargo_end_utc": "2030-12-31T23:00:00Z",
    "creator_death_year": 1890,
}
RECORDS: list[dict[str, Any]] = [
    VALID | EMBARGO,
    VALID,
    VALID | EMBARGO | {"embargo_end_utc": None},
    VALID | EMBARGO | {"embargo_end_utc": "2030-12-31T23:00:00"},
    VALID | EMBARGO | {"embargo_rule": "someday"},
    VALID | EMBARGO | {"creator_death_year": "unknown"},
    VALID | EMBARGO | {"embargo_end_utc": "2030-02-30T00:00:00Z"},
    VALID | EMBARGO | {"embargo_until": "  ", "embargo_end_utc": " ", "embargo_rule": None},
]


def test_embargo_columns_are_kept_and_an_inconsistent_embargo_is_rejected(
    spark: SparkSession,
) -> None:
    validated = validate_records(raw_rows(spark, RECORDS)).select(
        "kafka_offset",
        "reasons",
        "embargo_until",
        "embargo_zone",
        "embargo_rule",
        F.unix_micros("embargo_end_utc").alias("end"),
        "creator_death_year",
    )
    rows = {row["kafka_offset"]: row for row in validated.collect()}
    end = datetime(2030, 12, 31, 23, 0, tzinfo=UTC)
    assert tuple(rows[0])[1:] == (
        [],
        "2030-12-31",
        "Europe/Amsterdam",
        "through_named_day",
        int(end.timestamp()) * 1_000_000,
        1890,
    )
    assert tuple(rows[1])[1:] == ([], None, None, None, None, None)
    assert "has no embargo_end_utc" in rows[2]["reasons"][0]
    assert "not an ISO 8601 instant with its offset" in rows[3]["reasons"][0]
    assert "embargo_rule 'someday' is not one of" in rows[4]["reasons"][0]
    assert rows[5]["reasons"] == [] and rows[5]["creator_death_year"] is None
    assert "not an ISO 8601 instant" in rows[6]["reasons"][0]
    assert rows[7]["reasons"] == []
    for offset, record in enumerate(RECORDS):
        verdict = classify_record(f"europeana:/1/r{offset}", json.loads(json.dumps(record)))
        assert tuple(rows[offset]["reasons"]) == verdict.reasons, record
