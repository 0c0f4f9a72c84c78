"""The ``export`` stage's adapter: curated tables -> PostgreSQL (see postgres_export)."""

from __future__ import annotations

from heritage.spark_apps.postgres_export import run_postgres_export
from heritage.stage_contract import StageContext, StageResult

NAME = "export"


def run(context: StageContext) -> StageResult:
    result = run_postgres_export(context.spark, context.settings, context.layout)
    if result.did_nothing:
        return StageResult.idle(NAME)
    return StageResult(
        NAME,
        result.rows_staged,
        f"{result.rows_staged:,} rows to PostgreSQL",
        figures={"rows_staged": result.rows_staged},
    )
