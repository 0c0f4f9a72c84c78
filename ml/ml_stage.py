"""The pipeline's ``ml`` stage: fetch images -> embed -> duplicates, once over what is new.

Before any work the stage compares cheap positions (Delta versions from the log, the
curators' decisions, the thresholds, the encoder configuration) with what its last run
consumed (:mod:`heritage.ml.ml_stage_state`); with nothing new it returns without reading a
table, loading an encoder or opening the vector index.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.change_tracking import table_position
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.duplicate_stage import (
    DuplicateSummary,
    decisions_fingerprint,
    read_curator_decisions,
    read_thresholds_fingerprint,
    run_duplicate_stage,
)
from heritage.ml.image_retry import retry_due_at
from heritage.ml.ml_stage_state import (
    STATE_NAME,
    MlInputs,
    MlStageState,
    encoder_fingerprint,
    model_hint,
    nothing_new,
    parse_state,
    state_text,
)
from heritage.ml.ml_state_store import read_state, write_state
from heritage.ml_settings import (
    DuplicateThresholdsSource,
    EmbeddingJobConfig,
    EncoderConfig,
    load_duplicate_thresholds_source,
    load_embedding_job_config,
    load_encoder_config,
)
from heritage.settings import Settings
from heritage.source_settings import ImageFetchConfig, load_image_fetch_config
from heritage.stage_contract import StageContext, StageResult

if TYPE_CHECKING:
    from heritage.ml.embedding_job import EmbedSummary
    from heritage.ml.image_fetch import FetchSummary


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


@dataclass(frozen=True)
class MlConfig:
    """The typed configuration of one ml run."""

    job: EmbeddingJobConfig
    encoder: EncoderConfig
    thresholds: DuplicateThresholdsSource
    fetch: ImageFetchConfig


def load_ml_config(settings: Settings) -> MlConfig:
    return MlConfig(
        job=load_embedding_job_config(settings),
        encoder=load_encoder_config(settings),
        thresholds=load_duplicate_thresholds_source(settings),
        fetch=load_image_fetch_config(settings),
    )


def with_next_retry_at(images: DataFrame, retry_after_s: float, retry_cap_s: float) -> DataFrame:
    """One row, ``next_retry_at``: the Unix time the earliest failed image is due again
    (the fetch's backoff: ``retry_after_s * 2^(attempts-1)``, capped); null: no failure."""
    due_at = retry_due_at(F.col("attempts"), F.col("last_attempt_at"), retry_after_s, retry_cap_s)
    return images.filter(F.col("status") == "failed").agg(
        F.min(due_at).cast("double").alias("next_retry_at")
    )


# --- reading and writing ----------------------------------------------------------------


def read_ml_inputs(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout, config: MlConfig
) -> MlInputs:
    """The stage's inputs as positions and fingerprints: the Delta log and one small query."""
    decisions = read_curator_decisions(settings, layout.pg_database)
    return MlInputs(
        cleansed=table_position(spark, layout.cleansed_records),
        images=table_position(spark, layout.ml_images),
        embeddings=table_position(spark, layout.ml_embeddings),
        canonical_ids=table_position(spark, layout.canonical_ids),
        decisions=decisions_fingerprint(decisions),
        thresholds=read_thresholds_fingerprint(config.thresholds),
        encoder=encoder_fingerprint(config.encoder),
    )


def read_next_retry_at(
    spark: SparkSession, layout: LakehouseLayout, config: MlConfig
) -> float | None:
    images = spark.read.format("delta").load(layout.ml_images)
    row = with_next_retry_at(images, config.fetch.retry_after_s, config.fetch.retry_cap_s).first()
    return None if row is None or row[0] is None else float(row[0])


def read_state_after_run(
    spark: SparkSession,
    layout: LakehouseLayout,
    config: MlConfig,
    inputs: MlInputs,
    model: str,
) -> MlStageState:
    """What a completed run consumed: ``inputs`` as read before it, with the versions of
    the tables it wrote as it left them, and when a failed image is due again."""
    after = replace(
        inputs,
        images=table_position(spark, layout.ml_images),
        embeddings=table_position(spark, layout.ml_embeddings),
        canonical_ids=table_position(spark, layout.canonical_ids),
    )
    return MlStageState(after, model, read_next_retry_at(spark, layout, config))


def read_stage_state(settings: Settings, layout: LakehouseLayout) -> MlStageState | None:
    return parse_state(read_state(settings, layout, STATE_NAME))


def write_stage_state(settings: Settings, layout: LakehouseLayout, state: MlStageState) -> None:
    write_state(settings, layout, STATE_NAME, state_text(state))


# --- the stage ----------------------------------------------------------------------------


def run_ml_stage(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    progress: bool = False,
    config: MlConfig | None = None,
    model: str | None = None,
) -> MlStageResult:
    """Fetch, embed and find duplicates over what is new (each step checks for itself).
    ``model``: the model the configured encoder had last time (see ``run_embedding_job``)."""
    # torch, open_clip and qdrant_client take seconds to import: only for a run with work.
    from heritage.ml.embedding_job import run_embedding_job
    from heritage.ml.image_fetch import run_image_fetch

    config = config or load_ml_config(settings)
    fetched = run_image_fetch(spark, settings, layout, progress=progress, config=config.fetch)
    embedded = run_embedding_job(
        spark,
        settings,
        layout,
        config=config.job,
        progress=progress,
        encoder_config=config.encoder,
        model_hint=model,
    )
    duplicates = run_duplicate_stage(spark, settings, layout, thresholds_source=config.thresholds)
    return MlStageResult(fetched, embedded, duplicates)


def run(context: StageContext) -> StageResult:
    """The ``ml`` stage's adapter."""
    spark, settings, layout = context.spark, context.settings, context.layout
    config = context.config(load_ml_config)
    inputs = read_ml_inputs(spark, settings, layout, config)
    last = read_stage_state(settings, layout)
    if nothing_new(last, inputs, time.time()):
        return StageResult.idle("ml")
    hint = model_hint(last, inputs)
    result = run_ml_stage(spark, settings, layout, context.progress, config, hint)
    model = result.embed.model or hint or ""
    write_stage_state(settings, layout, read_state_after_run(spark, layout, config, inputs, model))
    if result.rows == 0 and not result.duplicates.canonical_changed:
        return StageResult.idle("ml")
    return StageResult("ml", result.rows, result.render(), figures=asdict(result))
