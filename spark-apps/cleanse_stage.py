"""The ``cleanse`` stage's adapter: raw -> cleansed records, annotations and dead letters."""

from __future__ import annotations

from heritage.spark_apps.cleanse import run_cleanse
from heritage.stage_contract import StageContext, StageResult

NAME = "cleanse"


def run(context: StageContext) -> StageResult:
    counts = run_cleanse(context.spark, context.layout, processing_time=context.processing_time)
    if context.processing_time is not None:
        return StageResult(NAME, 0, f"streaming every {context.processing_time}")
    rows = counts.valid_in + counts.dead_lettered_in
    if rows == 0:
        return StageResult.idle(NAME)
    return StageResult(
        NAME,
        rows,
        f"{counts.valid_in:,} valid, {counts.dead_lettered_in:,} dead-lettered",
        figures={"valid": counts.valid_in, "dead_lettered": counts.dead_lettered_in},
    )
