"""Cleansed records written straight into a namespace's Delta table, for the ML stage tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.table_schemas import CLEANSED_RECORDS


@dataclass(frozen=True)
class MlRecord:
    record_id: str
    image_url: str | None
    title: str = "Winter Landscape"
    description: str | None = "A frozen river with skaters."
    provider: str = "Rijksmuseum"

    @property
    def content_hash(self) -> str:
        text = f"{self.record_id}|{self.image_url}|{self.title}|{self.description}"
        return hashlib.sha256(text.encode()).hexdigest()


def write_cleansed(
    spark: SparkSession, layout: LakehouseLayout, records: Sequence[MlRecord]
) -> None:
    """Replace the namespace's cleansed table with exactly ``records``."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        (
            r.record_id,
            "europeana",
            r.title,
            None,
            ["Hendrick Avercamp"],
            r.description,
            "1620",
            None,
            None,
            "IMAGE",
            None,
            "http://creativecommons.org/publicdomain/mark/1.0/",
            r.image_url,
            r.provider,
            "Europeana Foundation",
            "Netherlands",
            ["nl"],
            r.content_hash,
            None,
            now,
            0,
            i,
            None,  # ocr_text
            None,  # ocr_confidence
            None,  # ocr_pages
            None,  # ocr_fields
            None,  # embargo_until
            None,  # embargo_zone
            None,  # embargo_rule
            None,  # embargo_end_utc
            None,  # creator_death_year
            0,  # cleanse_batch
        )
        for i, r in enumerate(records)
    ]
    frame = spark.createDataFrame(rows, CLEANSED_RECORDS)
    frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(
        layout.cleansed_records
    )
