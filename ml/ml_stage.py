"""The pipeline's ``ml`` stage: fetch images -> embed -> duplicates, once over what is new."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.duplicate_stage import DuplicateSummary, run_duplicate_stage
from heritage.ml.embedding_job import EmbedSummary, run_embedding_job
from heritage.ml.image_fetch import FetchSummary, run_image_fetch
from heritage.settings import Settings
from heritage.stage_contract import StageContext, StageResult


@dataclass(frozen=True)
class MlStageResult:
    fetch: FetchSummary
    embed: EmbedSummary
    duplicates: DuplicateSummary

    @property
    def rows(self) -> int:
        """Images attempted plus records encoded: the stage's work in this run."""
        return self.fetch.attempted + self.embed.encoded

    def render(self) -> str:
        return (
            f"images: {self.fetch.stored} stored, {self.fetch.failed} failed "
            f"({self.fetch.attempted} attempted, {self.fetch.removed} removed); "
            f"embeddings: {self.embed.encoded} encoded with {self.embed.model or '-'}, "
            f"{self.embed.removed} removed; duplicates: {self.duplicates.pairs} pairs in "
            f"{self.duplicates.groups} groups over {self.duplicates.records} records"
        )


def run_ml_stage(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout, progress: bool = False
) -> MlStageResult:
    fetched = run_image_fetch(spark, settings, layout, progress=progress)
    embedded = run_embedding_job(spark, settings, layout, progress=progress)
    duplicates = run_duplicate_stage(spark, settings, layout)
    return MlStageResult(fetched, embedded, duplicates)


def run(context: StageContext) -> StageResult:
    """The ``ml`` stage's adapter."""
    result = run_ml_stage(context.spark, context.settings, context.layout, context.progress)
    idle = result.rows == 0 and not result.duplicates.canonical_changed
    if idle:
        return StageResult.idle("ml")
    return StageResult("ml", result.rows, result.render(), figures=asdict(result))
