"""What the ml stage consumed in its last run, and the decision, from cheap positions alone,
that a run has nothing to do.

The stage's outputs depend on the cleansed records, its own tables (images, embeddings,
canonical ids: written by the stage, but also by the ``heritage ml`` commands), the
curators' decisions, the thresholds and the encoder configuration, and on time: a failed
image becomes due again after its backoff. Before any work the stage reads the Delta
versions of those tables (from the Delta log), fingerprints the decisions and the thresholds,
and compares them with what its last completed run recorded (:class:`MlStageState`); when
all are equal and no failed image is due, nothing can have changed and the run stops there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from heritage.ml_settings import EncoderConfig

STATE_NAME = "ml_stage"


@dataclass(frozen=True)
class MlInputs:
    """The inputs of the ml stage as positions and fingerprints (cheap to read)."""

    # Delta versions (-1: no table yet).
    cleansed: int
    images: int
    embeddings: int
    canonical_ids: int
    # sha256 of the curators' decisions.
    decisions: str
    # sha256 of the thresholds' source and file text.
    thresholds: str
    # The encoder configuration as text: a change may change the model, so re-embed.
    encoder: str


@dataclass(frozen=True)
class MlStageState:
    """What the last completed run left."""

    # Its inputs, with the versions of the stage's own tables as it left them.
    inputs: MlInputs
    # The model the configured encoder turned out to be ('' when none was loaded).
    model: str
    # Unix time at which the earliest failed image is due for a retry; None: no failure.
    next_retry_at: float | None


def encoder_fingerprint(config: EncoderConfig) -> str:
    """The parts of the encoder configuration that can change the model."""
    return json.dumps(
        [
            config.encoder,
            config.clip_model,
            config.clip_pretrained,
            str(config.clip_weights_path or ""),
            str(config.cache_dir or ""),
            config.allow_offline_fallback,
        ]
    )


def nothing_new(last: MlStageState | None, inputs: MlInputs, now_epoch_s: float) -> bool:
    """Whether a run with ``inputs`` at ``now_epoch_s`` would do nothing after ``last``."""
    if last is None or last.inputs != inputs:
        return False
    return last.next_retry_at is None or now_epoch_s < last.next_retry_at


def model_hint(last: MlStageState | None, inputs: MlInputs) -> str | None:
    """The model of the last run when the encoder configuration is unchanged."""
    if last is None or not last.model or last.inputs.encoder != inputs.encoder:
        return None
    return last.model


def state_text(state: MlStageState) -> str:
    return json.dumps(asdict(state), sort_keys=True)


def parse_state(text: str | None) -> MlStageState | None:
    """The stored state; None when absent or unreadable (written by another version)."""
    if not text:
        return None
    try:
        document = json.loads(text)
        return MlStageState(
            inputs=MlInputs(**document["inputs"]),
            model=str(document["model"]),
            next_retry_at=(
                None if document["next_retry_at"] is None else float(document["next_retry_at"])
            ),
        )
    except (ValueError, KeyError, TypeError):
        return None
