"""Counts across the pipeline's tables, compared with what the sample collection expects."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.spark_apps.delta_tables import table_version


@dataclass(frozen=True)
class TableCounts:
    raw_rows: int
    cleansed_rows: int
    dead_letter_rows: int
    postgres_objects: int
    raw_version: int
    cleansed_version: int
    dead_letter_version: int

    @property
    def versions(self) -> tuple[int, int, int]:
        return (self.raw_version, self.cleansed_version, self.dead_letter_version)


def _count(spark: SparkSession, path: str) -> int:
    row = spark.read.format("delta").load(path).select(F.count(F.lit(1))).first()
    return int(row[0]) if row else 0


def count_tables(spark: SparkSession, settings: Settings, layout: LakehouseLayout) -> TableCounts:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics.objects")
        row = cursor.fetchone()
    connection.close()
    return TableCounts(
        raw_rows=_count(spark, layout.raw_records),
        cleansed_rows=_count(spark, layout.cleansed_records),
        dead_letter_rows=_count(spark, layout.dead_letters),
        postgres_objects=int(row[0]) if row else 0,
        raw_version=table_version(spark, layout.raw_records),
        cleansed_version=table_version(spark, layout.cleansed_records),
        dead_letter_version=table_version(spark, layout.dead_letters),
    )
