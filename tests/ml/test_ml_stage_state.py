"""The ml stage's nothing-new decision and the pure parts of its steps (no services)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from heritage.ml.duplicate_stage import (
    changed_canonical_ids,
    decisions_fingerprint,
    inputs_fingerprint,
)
from heritage.ml.ml_stage import with_next_retry_at
from heritage.ml.ml_stage_state import (
    MlInputs,
    MlStageState,
    encoder_fingerprint,
    model_hint,
    nothing_new,
    parse_state,
    state_text,
)
from heritage.ml.near_duplicates import CuratorDecision
from heritage.ml_settings import (
    DuplicateThresholdsSource,
    EmbeddingJobConfig,
    EncoderConfig,
    load_duplicate_thresholds_source,
    load_embedding_job_config,
)
from heritage.settings import Settings
from heritage.table_schemas import ML_IMAGES

INPUTS = MlInputs(
    cleansed=3,
    images=5,
    embeddings=7,
    canonical_ids=2,
    decisions="d",
    thresholds="t",
    encoder=encoder_fingerprint(EncoderConfig(encoder="tiny")),
)


def test_nothing_new_only_when_every_input_is_unchanged_and_no_retry_is_due() -> None:
    last = MlStageState(INPUTS, model="m", next_retry_at=None)
    assert nothing_new(last, INPUTS, now_epoch_s=1e9)
    assert not nothing_new(None, INPUTS, now_epoch_s=1e9)
    for changed in (
        replace(INPUTS, cleansed=4),
        replace(INPUTS, images=6),
        replace(INPUTS, embeddings=8),
        replace(INPUTS, canonical_ids=3),
        replace(INPUTS, decisions="d2"),
        replace(INPUTS, thresholds="t2"),
        replace(INPUTS, encoder=encoder_fingerprint(EncoderConfig())),
    ):
        assert not nothing_new(last, changed, now_epoch_s=1e9)
    waiting = replace(last, next_retry_at=1000.0)
    assert nothing_new(waiting, INPUTS, now_epoch_s=999.0)
    assert not nothing_new(waiting, INPUTS, now_epoch_s=1000.0)


def test_the_model_hint_holds_while_the_encoder_configuration_does() -> None:
    last = MlStageState(INPUTS, model="open_clip:tiny-random", next_retry_at=None)
    assert model_hint(last, replace(INPUTS, cleansed=9)) == "open_clip:tiny-random"
    other = replace(INPUTS, encoder=encoder_fingerprint(EncoderConfig(clip_model="ViT-B-16")))
    assert model_hint(last, other) is None
    assert model_hint(replace(last, model=""), INPUTS) is None
    assert model_hint(None, INPUTS) is None
    # Threads and batch size do not change the vectors' model.
    assert encoder_fingerprint(EncoderConfig(threads=8, batch_size=4)) == encoder_fingerprint(
        EncoderConfig()
    )


def test_the_state_survives_its_text_and_bad_text_reads_as_none() -> None:
    state = MlStageState(INPUTS, model="m", next_retry_at=1234.5)
    assert parse_state(state_text(state)) == state
    assert parse_state(state_text(replace(state, next_retry_at=None))) == replace(
        state, next_retry_at=None
    )
    for text in (None, "", "not json", '{"inputs": {}}', '{"model": "m"}'):
        assert parse_state(text) is None


def test_decisions_fingerprint_follows_every_decision() -> None:
    decisions = [CuratorDecision("a", "b", "same", 1), CuratorDecision("a", "c", "different", 2)]
    assert decisions_fingerprint(decisions) == decisions_fingerprint(list(decisions))
    assert decisions_fingerprint(decisions) != decisions_fingerprint(decisions[:1])
    flipped = [decisions[0], replace(decisions[1], decision="same")]
    assert decisions_fingerprint(decisions) != decisions_fingerprint(flipped)
    assert inputs_fingerprint(1, "d", "t") != inputs_fingerprint(2, "d", "t")


def test_changed_canonical_ids_names_joins_and_leaves() -> None:
    previous = {"a": "x", "b": "x"}
    desired = {"a": "x", "c": "y"}
    assert changed_canonical_ids(desired, previous) == {"b": "b", "c": "y"}
    assert changed_canonical_ids(previous, previous) == {}


def test_the_ml_settings_read_their_variables() -> None:
    def settings(environment: dict[str, str]) -> Settings:
        return Settings(state_dir=Path("/nonexistent"), environment=environment)

    assert load_embedding_job_config(settings({})) == EmbeddingJobConfig()
    job = load_embedding_job_config(
        settings({"HERITAGE_ML_DECODE_THREADS": "0", "HERITAGE_ML_IMAGE_WEIGHT": "0.5"})
    )
    assert (job.decode_threads, job.image_weight) == (1, 0.5)
    assert load_duplicate_thresholds_source(settings({})) == DuplicateThresholdsSource(None)
    source = load_duplicate_thresholds_source(settings({"HERITAGE_ML_THRESHOLDS": "/t.toml"}))
    assert source.path == Path("/t.toml")


def test_next_retry_at_is_the_earliest_failed_image_after_its_backoff(
    spark: SparkSession,
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def image(record_id: str, status: str, attempts: int) -> tuple:
        return (record_id, "u", "h", status, None, None, None, None, None, None, attempts, at)

    images = spark.createDataFrame(
        [image("a", "stored", 1), image("b", "failed", 3), image("c", "failed", 1)], ML_IMAGES
    )
    # c: one attempt, waits 300 s; b: three attempts, waits 1200 s (capped at 1000).
    row = with_next_retry_at(images, retry_after_s=300.0, retry_cap_s=1000.0).first()
    assert row is not None and row[0] == at.timestamp() + 300.0
    only_b = images.filter("record_id != 'c'")
    row = with_next_retry_at(only_b, retry_after_s=300.0, retry_cap_s=1000.0).first()
    assert row is not None and row[0] == at.timestamp() + 1000.0
    none_failed = images.filter("status = 'stored'")
    row = with_next_retry_at(none_failed, retry_after_s=300.0, retry_cap_s=1000.0).first()
    assert row is not None and row[0] is None
