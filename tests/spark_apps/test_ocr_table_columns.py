"""Delta tables created before the OCR and embargo columns gain them, in their place, rows
kept; a version of a table that predates a column reads as if it held nulls."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from heritage.delta_tables import (
    add_missing_columns,
    ensure_delta_table,
    missing_columns,
    table_version,
)
from heritage.table_schemas import (
    CLEANSED_RECORDS,
    EMBARGO_FIELDS,
    OCR_FIELDS,
    with_absent_columns,
)

OCR_NAMES = [f.name for f in OCR_FIELDS]
# The columns added after the first release, in the order a new table has them.
ADDED_NAMES = OCR_NAMES + [f.name for f in EMBARGO_FIELDS]
EARLIER = StructType([f for f in CLEANSED_RECORDS.fields if f.name not in ADDED_NAMES])


def earlier_row() -> tuple[object, ...]:
    moment = dt.datetime(2026, 1, 1)
    values = {
        "record_id": "europeana:/1/a", "source": "europeana", "title": "Old", "titles": None,
        "creators": None, "description": None, "date_original": None, "date_start": None,
        "date_end": None, "object_type": "TEXT", "rights_original": None,
        "rights_uri": "http://creativecommons.org/publicdomain/mark/1.0/", "image_url": None,
        "data_provider": "P", "provider": None, "country": None, "languages": None,
        "content_hash": "h", "source_updated_at": None, "ingested_at": moment,
        "kafka_partition": 0, "kafka_offset": 1, "cleanse_batch": 0,
    }  # fmt: skip
    return tuple(values[f.name] for f in EARLIER.fields)


def test_a_table_of_the_earlier_schema_gains_the_ocr_columns_and_keeps_its_rows(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "cleansed_records")
    ensure_delta_table(spark, path, EARLIER, deletion_vectors=True)
    spark.createDataFrame([earlier_row()], EARLIER).write.format("delta").mode("append").save(path)
    before = table_version(spark, path)

    assert add_missing_columns(spark, path, CLEANSED_RECORDS) == ADDED_NAMES
    table = spark.read.format("delta").load(path)
    # In the place a new table has them: the schemas agree column by column.
    assert [(f.name, f.dataType) for f in table.schema.fields] == [
        (f.name, f.dataType) for f in CLEANSED_RECORDS.fields
    ]
    (row,) = table.collect()
    assert (row["record_id"], row["title"], row["cleanse_batch"]) == ("europeana:/1/a", "Old", 0)
    assert [row[name] for name in ADDED_NAMES] == [None] * len(ADDED_NAMES)
    assert table_version(spark, path) == before + 1

    # Up to date: nothing to add, no commit.
    assert add_missing_columns(spark, path, CLEANSED_RECORDS) == []
    assert table_version(spark, path) == before + 1

    # The stages write by name into the table as it now is.
    update = table.withColumns({"ocr_text": F.lit("craquelure"), "ocr_confidence": F.lit(91.5)})
    update.write.format("delta").mode("append").save(path)
    texts = {r["ocr_text"] for r in spark.read.format("delta").load(path).collect()}
    assert texts == {None, "craquelure"}


def test_a_missing_column_that_may_not_be_null_is_not_added(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    ensure_delta_table(spark, path, StructType([StructField("a", StringType())]))
    wanted = StructType(
        [StructField("a", StringType()), StructField("b", LongType(), nullable=False)]
    )
    with pytest.raises(ValueError, match="may not hold null: b"):
        add_missing_columns(spark, path, wanted)


def test_missing_columns_go_after_the_column_before_them() -> None:
    wanted = StructType([StructField(name, StringType()) for name in ("a", "b", "c", "d", "e")])
    current = StructType([StructField(name, StringType()) for name in ("b", "d")])
    assert [(f.name, after) for f, after in missing_columns(current, wanted)] == [
        ("a", None),
        ("c", "b"),
        ("e", "d"),
    ]
    assert missing_columns(wanted, wanted) == []


def test_a_version_without_a_column_reads_it_as_null(spark: SparkSession) -> None:
    earlier = spark.createDataFrame([earlier_row()], EARLIER)
    filled = with_absent_columns(earlier, CLEANSED_RECORDS)
    assert filled.columns == [*EARLIER.fieldNames(), *ADDED_NAMES]
    assert dict(filled.dtypes)["ocr_confidence"] == "double"
    (row,) = filled.collect()
    assert [row[name] for name in ADDED_NAMES] == [None] * len(ADDED_NAMES)
    assert with_absent_columns(filled, CLEANSED_RECORDS) is filled
