"""Reconciliation across the lakehouse and PostgreSQL: reads the tables, classifies, reports."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.spark_apps.reconciliation import SourceReconciliation, reconcile, summarise


@dataclass(frozen=True)
class ReconciliationReport:
    sources: list[SourceReconciliation]
    cleansed_rows: int
    postgres_rows: int

    @property
    def balanced(self) -> bool:
        return all(s.balanced for s in self.sources) and self.cleansed_rows == self.postgres_rows

    def render(self) -> str:
        lines = [
            f"{'source':<12} {'input ids':>10} = {'cleansed':>9} + {'dead-lettered':>13} + "
            f"{'deleted':>8}   unaccounted"
        ]
        for s in self.sources:
            mark = (
                "ok" if s.balanced else f"{s.unaccounted} e.g. {', '.join(s.unaccounted_examples)}"
            )
            lines.append(
                f"{s.source:<12} {s.input_ids:>10} = {s.cleansed:>9} + {s.dead_lettered:>13} + "
                f"{s.deleted:>8}   {mark}"
            )
        pg_mark = "ok" if self.cleansed_rows == self.postgres_rows else "MISMATCH"
        lines.append(
            f"PostgreSQL analytics.objects {self.postgres_rows} rows; cleansed table "
            f"{self.cleansed_rows} rows: {pg_mark}"
        )
        lines.append("reconciled" if self.balanced else "NOT RECONCILED")
        return "\n".join(lines)


def reconcile_lakehouse(
    settings: Settings, layout: LakehouseLayout, spark: SparkSession | None = None
) -> ReconciliationReport:
    from heritage.pipeline import lakehouse_session

    spark = spark or lakehouse_session(settings)
    raw = spark.read.format("delta").load(layout.raw_records)
    cleansed = spark.read.format("delta").load(layout.cleansed_records)
    dead = spark.read.format("delta").load(layout.dead_letters)
    sources = summarise(reconcile(raw, cleansed, dead))
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM heritage.objects")
        row = cursor.fetchone()
    connection.close()
    return ReconciliationReport(sources, cleansed.count(), int(row[0]) if row else 0)
