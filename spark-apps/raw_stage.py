"""The ``raw`` stage's adapter: Kafka topics -> raw Delta tables (see raw_ingest)."""

from __future__ import annotations

from heritage.spark_apps.raw_ingest import run_raw_ingest
from heritage.stage_contract import StageContext, StageResult

NAME = "raw"


def run(context: StageContext) -> StageResult:
    rows = run_raw_ingest(
        context.spark, context.settings, context.layout, processing_time=context.processing_time
    )
    if context.processing_time is not None:
        return StageResult(NAME, 0, f"streaming every {context.processing_time}")
    if rows == 0:
        return StageResult.idle(NAME)
    return StageResult(NAME, rows, f"{rows:,} messages appended", figures={"appended": rows})
