"""Counts across the pipeline's tables, compared with what the sample collection expects."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.delta_tables import table_version
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings


@dataclass(frozen=True)
class TableCounts:
    # Rows per table, by the short names of LakehouseLayout.tables().
    rows: dict[str, int]
    # Latest Delta version per table (a rerun with no new input must leave them unchanged).
    versions: dict[str, int]
    postgres_objects: int

    @property
    def raw_rows(self) -> int:
        return self.rows["raw"]

    @property
    def cleansed_rows(self) -> int:
        return self.rows["cleansed"]

    @property
    def curated_rows(self) -> int:
        return self.rows["curated"]

    @property
    def dead_letter_rows(self) -> int:
        return self.rows["dlq"]


def _count(spark: SparkSession, path: str) -> int:
    row = spark.read.format("delta").load(path).select(F.count(F.lit(1))).first()
    return int(row[0]) if row else 0


def count_tables(spark: SparkSession, settings: Settings, layout: LakehouseLayout) -> TableCounts:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics.objects")
        row = cursor.fetchone()
    connection.close()
    tables = layout.tables()
    return TableCounts(
        rows={name: _count(spark, path) for name, path in tables.items()},
        versions={name: table_version(spark, path) for name, path in tables.items()},
        postgres_objects=int(row[0]) if row else 0,
    )
