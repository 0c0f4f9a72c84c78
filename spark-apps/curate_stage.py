"""The ``curate`` stage's adapter: cleansed records + annotations + canonical ids -> curated."""

from __future__ import annotations

from heritage.spark_apps.curate import run_curate
from heritage.stage_contract import StageContext, StageResult

NAME = "curate"


def run(context: StageContext) -> StageResult:
    result = run_curate(context.spark, context.layout)
    if not result.committed:
        return StageResult.idle(NAME)
    return StageResult(
        NAME,
        result.touched_ids,
        f"{result.touched_ids:,} records recomputed",
        figures={"touched_ids": result.touched_ids},
    )
