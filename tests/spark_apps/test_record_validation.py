"""The cleanse stage's pure transforms on tiny inline DataFrames (always with a null row)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.rights import canonical_rights_uri
from heritage.spark_apps.record_validation import (
    canonical_rights,
    date_bounds,
    filter_latest_versions,
    select_cleansed,
    select_cleansed_changes,
    select_dead_letters,
    validate_records,
    with_producer_rejections,
)
from heritage.table_schemas import RAW_RECORDS

GOOD: dict[str, Any] = {
    "id": "/1/a",
    "type": "IMAGE",
    "title": ["  Winter Landscape "],
    "dcTitleLangAware": {"en": ["Winter Landscape"], "nl": ["Winterlandschap"]},
    "dcCreator": ["Hendrick Avercamp"],
    "dcDate": ["c. 1608"],
    "rights": ["https://creativecommons.org/publicdomain/mark/1.0/"],
    "edmIsShownBy": ["https://example.org/a.jpg"],
    "dataProvider": ["Rijksmuseum"],
    "language": ["NL"],
    "timestamp_update": "2024-01-01T00:00:00Z",
}


def raw_rows(spark: SparkSession, payloads: list[tuple[str | None, Any]]) -> DataFrame:
    rows = []
    for offset, (record_id, payload) in enumerate(payloads):
        text = payload if isinstance(payload, str) or payload is None else json.dumps(payload)
        rows.append(
            (
                record_id,
                text,
                "t",
                0,
                offset,
                None,
                record_id,
                "europeana",
                1,
                f"h{offset}",
                dt.datetime(2026, 1, 1, 0, 0, offset),
                "c",
                False,
                None,
                text,
            )
        )
    return spark.createDataFrame(rows, RAW_RECORDS)


def reasons_by_id(
    spark: SparkSession, payloads: list[tuple[str | None, Any]]
) -> dict[Any, list[str]]:
    validated = validate_records(raw_rows(spark, payloads))
    return {row["kafka_offset"]: row["reasons"] for row in validated.collect()}


def test_valid_record_is_normalised(spark: SparkSession) -> None:
    row = select_cleansed(validate_records(raw_rows(spark, [("europeana:/1/a", GOOD)]))).first()
    assert row is not None
    assert row["title"] == "Winter Landscape"
    assert row["rights_uri"] == "http://creativecommons.org/publicdomain/mark/1.0/"
    assert row["date_original"] == "c. 1608"
    assert row["date_start"] == dt.date(1608, 1, 1)
    assert row["date_end"] == dt.date(1608, 12, 31)
    assert row["languages"] == ["nl"]
    assert row["titles"]["nl"] == ["Winterlandschap"]


def test_every_reason_is_recorded_not_only_the_first(spark: SparkSession) -> None:
    broken = dict(
        GOOD,
        type="PAINTING",
        rights=["all rights reserved"],
        dcDate=["31/02/1665"],
        edmIsShownBy=["javascript:alert(1)"],
        language=["Dutch"],
    )
    broken.pop("title")
    broken.pop("dcTitleLangAware")
    reasons = reasons_by_id(spark, [("europeana:/1/a", broken)])[0]
    assert len(reasons) == 6
    assert any("no title" in r for r in reasons)
    assert any("'PAINTING'" in r for r in reasons)
    assert any("'all rights reserved'" in r for r in reasons)
    assert any("'31/02/1665'" in r for r in reasons)
    assert any("javascript:alert(1)" in r for r in reasons)
    assert any("'dutch'" in r for r in reasons)


def test_transport_faults_have_their_own_reason(spark: SparkSession) -> None:
    reasons = reasons_by_id(
        spark,
        [
            (None, None),  # not an envelope at all
            ("europeana:unidentified:ab", '{"id": "/1/a", "tit'),  # truncated payload
            ("europeana:unidentified:cd", dict(GOOD, id=None)),
        ],
    )
    assert reasons[0] == ["message is not a heritage envelope (JSON with record_id, payload)"]
    assert reasons[1] == ["payload is not a JSON object (truncated, or not JSON)"]
    assert any("record has no id" in r for r in reasons[2])


def test_dead_letters_keep_payload_and_a_deterministic_id(spark: SparkSession) -> None:
    validated = validate_records(
        raw_rows(spark, [("europeana:/1/a", dict(GOOD, type="X")), (None, None)])
    )
    first = sorted(r["dead_letter_id"] for r in select_dead_letters(validated, "cleanse").collect())
    again = sorted(r["dead_letter_id"] for r in select_dead_letters(validated, "cleanse").collect())
    assert first == again and len(set(first)) == 2
    letters = (
        select_dead_letters(validated, "cleanse").filter(F.col("record_id").isNotNull()).first()
    )
    assert letters is not None and json.loads(letters["kafka_value"])["type"] == "X"


@pytest.mark.parametrize(
    ("original", "start", "end"),
    [
        ("1665", dt.date(1665, 1, 1), dt.date(1665, 12, 31)),
        ("ca 1890", dt.date(1890, 1, 1), dt.date(1890, 12, 31)),
        ("1660-1670", dt.date(1660, 1, 1), dt.date(1670, 12, 31)),
        ("1665-03-01", dt.date(1665, 3, 1), dt.date(1665, 3, 1)),
        ("01/03/1665", dt.date(1665, 3, 1), dt.date(1665, 3, 1)),
        ("1890-03-01T00:30:00+01:00", dt.date(1890, 2, 28), dt.date(1890, 2, 28)),
        ("31/02/1665", None, None),
        ("sometime", None, None),
        (None, None, None),
    ],
)
def test_date_bounds(spark: SparkSession, original: str | None, start: Any, end: Any) -> None:
    frame = spark.createDataFrame([(original,)], "d string")
    lower, upper = date_bounds(F.col("d"))
    row = frame.select(lower.alias("s"), upper.alias("e")).first()
    assert row is not None and (row["s"], row["e"]) == (start, end)


def test_spark_rights_match_the_python_rules(spark: SparkSession) -> None:
    samples = [
        "https://creativecommons.org/licenses/by/4.0/",
        "http://www.europeana.eu/rights/rr-f/",
        "https://rightsstatements.org/page/InC-EDU/1.0/?language=en",
        "all rights reserved",
        "http://creativecommons.org/licenses/by-sa/4.0/deed.en",
        None,
    ]
    frame = spark.createDataFrame([(s,) for s in samples], "u string")
    got = [r[0] for r in frame.select(canonical_rights(F.col("u"))).collect()]
    assert got == [canonical_rights_uri(s) if s else None for s in samples]


def test_latest_version_wins_whatever_the_arrival_order(spark: SparkSession) -> None:
    older = dict(GOOD, timestamp_update="2024-01-01T00:00:00Z", dcDescription=["old"])
    newer = dict(GOOD, timestamp_update="2025-01-01T00:00:00Z", dcDescription=["new"])
    for payloads in ([older, newer], [newer, older]):
        validated = validate_records(raw_rows(spark, [("europeana:/1/a", p) for p in payloads]))
        rows = filter_latest_versions(validated.filter(F.size("reasons") == 0)).collect()
        assert [r["description"] for r in rows] == ["new"]


def test_a_mapped_record_is_validated_instead_of_the_raw_payload(spark: SparkSession) -> None:
    frame = raw_rows(spark, [("oai:repo:1", "<lido:lido>...</lido:lido>")])
    frame = frame.withColumn("record", F.lit(json.dumps(GOOD)))
    row = select_cleansed(validate_records(frame)).first()
    assert row is not None and row["title"] == "Winter Landscape"


def test_a_tombstone_is_valid_and_wins_when_newest(spark: SparkSession) -> None:
    frame = raw_rows(spark, [("europeana:/1/a", GOOD), ("europeana:/1/a", "<header/>")])
    frame = frame.withColumn("deleted", F.col("kafka_offset") == 1)
    changes = select_cleansed_changes(validate_records(frame)).collect()
    assert [(r["record_id"], r["deleted"]) for r in changes] == [("europeana:/1/a", True)]
    assert select_cleansed(validate_records(frame)).count() == 1


def test_producer_rejections_keep_their_reasons_and_name_the_producer(spark: SparkSession) -> None:
    frame = raw_rows(
        spark,
        [
            ("lido:x:1", {"xml": "<lido/>", "reasons": ["no title", "no rights"]}),
            ("oai:unidentified:ab", {"reason": "page is not XML", "raw_payload": "<html"}),
            ("csv:unidentified:cd", "not json"),
        ],
    ).withColumn("source", F.when(F.col("kafka_offset") == 0, "lido").otherwise("oai"))
    letters = select_dead_letters(with_producer_rejections(frame), F.col("stage")).collect()
    by_offset = {r["kafka_offset"]: (r["stage"], r["reasons"]) for r in letters}
    assert by_offset == {
        0: ("produce:lido", ["no title", "no rights"]),
        1: ("produce:oai", ["page is not XML"]),
        2: ("produce:oai", ["rejected by the producer; no reason given"]),
    }
