"""Typed configuration of the ml stage (embedding job, encoder, near-duplicate thresholds).

Each loader reads the deployment's :class:`heritage.settings.Settings` (environment >
``.state/local.env`` > defaults); the ml code receives the objects and never reads the process
environment. The stage adapter gets them through ``StageContext.config(load_...)``, the
command line through ``load_...(load_settings())``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from heritage.env_values import env_number
from heritage.settings import Settings

ENCODER_KINDS = ("clip", "offline", "tiny")


@dataclass(frozen=True)
class EmbeddingJobConfig:
    """Batching and threads of the embedding job. Images per forward pass and torch threads
    are the encoder's (:class:`EncoderConfig`)."""

    # Records per committed batch (one Qdrant upsert and one Delta MERGE each); a restart
    # re-embeds at most the batches in flight (HERITAGE_ML_COMMIT_EVERY).
    commit_every: int = 256
    # Threads decoding and hashing images in the loader (HERITAGE_ML_DECODE_THREADS).
    decode_threads: int = 2
    # Weight of the image vector in the combined vector; text gets the rest
    # (HERITAGE_ML_IMAGE_WEIGHT).
    image_weight: float = 0.7


def load_embedding_job_config(settings: Settings) -> EmbeddingJobConfig:
    """The embedding job's batching from the settings, defaults where unset."""
    defaults = EmbeddingJobConfig()
    number = partial(env_number, settings.environment)
    return EmbeddingJobConfig(
        commit_every=max(1, int(number("HERITAGE_ML_COMMIT_EVERY", defaults.commit_every))),
        decode_threads=max(1, int(number("HERITAGE_ML_DECODE_THREADS", defaults.decode_threads))),
        image_weight=number("HERITAGE_ML_IMAGE_WEIGHT", defaults.image_weight),
    )


@dataclass(frozen=True)
class EncoderConfig:
    """Which model embeds images and texts, and how it runs."""

    # open_clip architecture name (HERITAGE_CLIP_MODEL).
    clip_model: str = "ViT-B-32"
    # open_clip pretrained tag, used when no local checkpoint is given (HERITAGE_CLIP_PRETRAINED).
    clip_pretrained: str = "laion2b_s34b_b79k"
    # A local open_clip checkpoint file; wins over the tag (HERITAGE_CLIP_WEIGHTS).
    clip_weights_path: Path | None = None
    # open_clip / Hugging Face cache; compose's ml image pre-caches the weights there
    # (HERITAGE_MODEL_CACHE; None: the Hugging Face default, HF_HOME).
    cache_dir: Path | None = None
    # torch CPU threads (HERITAGE_ML_THREADS).
    threads: int = 2
    # Images per forward pass (HERITAGE_ML_BATCH_SIZE).
    batch_size: int = 32
    # Use the offline trained encoder when CLIP weights cannot be had, instead of failing.
    allow_offline_fallback: bool = True
    # 'clip' (with the fallback above), 'offline', or 'tiny' (tests only) (HERITAGE_ML_ENCODER).
    encoder: str = "clip"
    # The hub is not asked for weights at all (HF_HUB_OFFLINE=1/true/yes).
    hub_offline: bool = False
    # Where CLIP weights are downloaded from when not cached (HF_ENDPOINT).
    hub_endpoint: str = "https://huggingface.co"


def _positive_int(settings: Settings, name: str, default: int) -> int:
    raw = settings.value(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"{name}={raw!r} (ml encoder settings): expected a positive integer; "
            f"unset it to use {default}"
        )
    return value


def load_encoder_config(settings: Settings) -> EncoderConfig:
    """Encoder settings, defaults where unset; a bad value raises naming the variable."""
    defaults = EncoderConfig()
    encoder = settings.value("HERITAGE_ML_ENCODER").strip().lower() or defaults.encoder
    if encoder not in ENCODER_KINDS:
        raise ValueError(
            f"HERITAGE_ML_ENCODER={encoder!r} (ml encoder settings): expected one of "
            f"{', '.join(ENCODER_KINDS)}; unset it for CLIP with the offline fallback"
        )
    weights = settings.value("HERITAGE_CLIP_WEIGHTS")
    cache = settings.value("HERITAGE_MODEL_CACHE")
    return EncoderConfig(
        clip_model=settings.value("HERITAGE_CLIP_MODEL", defaults.clip_model),
        clip_pretrained=settings.value("HERITAGE_CLIP_PRETRAINED", defaults.clip_pretrained),
        clip_weights_path=Path(weights).expanduser() if weights else None,
        cache_dir=Path(cache).expanduser() if cache else None,
        threads=_positive_int(settings, "HERITAGE_ML_THREADS", defaults.threads),
        batch_size=_positive_int(settings, "HERITAGE_ML_BATCH_SIZE", defaults.batch_size),
        encoder=encoder,
        hub_offline=settings.value("HF_HUB_OFFLINE").lower() in ("1", "true", "yes"),
        hub_endpoint=settings.value("HF_ENDPOINT", defaults.hub_endpoint),
    )


@dataclass(frozen=True)
class DuplicateThresholdsSource:
    """Where the near-duplicate thresholds come from."""

    # A TOML file of thresholds (HERITAGE_ML_THRESHOLDS); None: config/near_duplicates.toml.
    path: Path | None = None


def load_duplicate_thresholds_source(settings: Settings) -> DuplicateThresholdsSource:
    configured = settings.value("HERITAGE_ML_THRESHOLDS")
    return DuplicateThresholdsSource(Path(configured) if configured else None)
