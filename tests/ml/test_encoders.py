"""Encoders: configuration, the tiny CLIP, the offline trained fallback, combined vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from heritage.ml.encoders import (
    OFFLINE_ENCODER_NAME,
    TINY_ENCODER_NAME,
    EncoderUnavailableError,
    combined_vectors,
    encoder_loads,
    load_encoder,
    tiny_clip_encoder,
)
from heritage.ml_settings import EncoderConfig, load_encoder_config
from heritage.settings import Settings


def _settings(environment: dict[str, str]) -> Settings:
    return Settings(state_dir=Path("/nonexistent"), environment=environment)


skimage_data = pytest.importorskip("skimage.data")


def _photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(skimage_data, name)()).convert("RGB")


def test_config_defaults_and_environment() -> None:
    assert load_encoder_config(_settings({})) == EncoderConfig()
    config = load_encoder_config(
        _settings(
            {
                "HERITAGE_CLIP_MODEL": "ViT-B-16",
                "HERITAGE_CLIP_PRETRAINED": "openai",
                "HERITAGE_CLIP_WEIGHTS": "/models/clip.bin",
                "HERITAGE_MODEL_CACHE": "/cache",
                "HERITAGE_ML_THREADS": "4",
                "HERITAGE_ML_BATCH_SIZE": "8",
                "HERITAGE_ML_ENCODER": "Offline",
                "HF_HUB_OFFLINE": "1",
                "HF_ENDPOINT": "http://127.0.0.1:9",
            }
        )
    )
    assert config == EncoderConfig(
        clip_model="ViT-B-16",
        clip_pretrained="openai",
        clip_weights_path=Path("/models/clip.bin"),
        cache_dir=Path("/cache"),
        threads=4,
        batch_size=8,
        encoder="offline",
        hub_offline=True,
        hub_endpoint="http://127.0.0.1:9",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HERITAGE_ML_THREADS", "0"),
        ("HERITAGE_ML_BATCH_SIZE", "many"),
        ("HERITAGE_ML_ENCODER", "big"),
    ],
)
def test_config_refuses_bad_values_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        load_encoder_config(_settings({name: value}))


def test_tiny_clip_shapes_and_unit_rows() -> None:
    encoder = tiny_clip_encoder()
    assert encoder.name == TINY_ENCODER_NAME
    images = [_photo("astronaut"), _photo("coffee").convert("L"), Image.new("RGBA", (10, 30))]
    batch = encoder.prepare_images(images)
    assert tuple(batch.shape) == (3, 3, 32, 32)
    vectors = encoder.encode_prepared(batch)
    assert vectors.shape == (3, encoder.image_dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(encoder.encode_images(images), vectors)
    texts = encoder.encode_texts(["a portrait", "a steam locomotive", ""])
    assert texts.shape == (3, encoder.text_dim) and texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert encoder.encode_images([]).shape == (0, encoder.image_dim)


def test_tiny_clip_is_deterministic_per_seed() -> None:
    image = [_photo("rocket")]
    first = tiny_clip_encoder(seed=1).encode_images(image)
    np.testing.assert_array_equal(first, tiny_clip_encoder(seed=1).encode_images(image))
    assert not np.allclose(first, tiny_clip_encoder(seed=2).encode_images(image))


def test_the_setting_selects_the_tiny_encoder_and_each_load_is_counted() -> None:
    config = load_encoder_config(_settings({"HERITAGE_ML_ENCODER": "tiny"}))
    before = encoder_loads()
    assert load_encoder(config).name == TINY_ENCODER_NAME
    assert encoder_loads() == before + 1


def test_missing_weights_file_without_fallback_names_the_fix(tmp_path: Path) -> None:
    config = EncoderConfig(clip_weights_path=tmp_path / "absent.bin", allow_offline_fallback=False)
    with pytest.raises(EncoderUnavailableError, match="HERITAGE_CLIP_WEIGHTS"):
        load_encoder(config)


def test_offline_fallback_loads_without_network_and_gives_real_embeddings(
    tmp_path: Path,
) -> None:
    """No CLIP weights (empty cache, hub disabled): the trained offline pair takes over."""
    config = EncoderConfig(cache_dir=tmp_path / "empty-cache", hub_offline=True)
    encoder = load_encoder(config)
    assert encoder.name == OFFLINE_ENCODER_NAME
    astronaut, coffee = _photo("astronaut"), _photo("coffee")
    smaller = astronaut.resize((200, 200), Image.Resampling.BICUBIC)
    vectors = encoder.encode_images([astronaut, smaller, coffee])
    assert vectors.shape == (3, encoder.image_dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert same > 0.9 > unrelated + 0.2
    texts = encoder.encode_texts(
        ["a portrait of a woman in a red dress", "painting of a lady wearing red", "a locomotive"]
    )
    assert texts.shape == (3, encoder.text_dim)
    assert float(texts[0] @ texts[1]) > float(texts[0] @ texts[2]) + 0.3


def test_combined_vectors_weighting_and_missing_text() -> None:
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 5)).astype(np.float32) * 7
    texts = rng.normal(size=(3, 4)).astype(np.float32)
    texts[2] = 0.0
    combined = combined_vectors(images, texts, image_weight=0.7)
    assert combined.shape == (3, 9) and combined.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(combined, axis=1), 1.0, atol=1e-6)
    unit_images = images / np.linalg.norm(images, axis=1, keepdims=True)
    unit_texts = texts[:2] / np.linalg.norm(texts[:2], axis=1, keepdims=True)
    # Both parts present: the cosine is the weighted mean of the two cosines.
    expected = 0.7 * unit_images[0] @ unit_images[1] + 0.3 * unit_texts[0] @ unit_texts[1]
    assert float(combined[0] @ combined[1]) == pytest.approx(float(expected), abs=1e-5)
    # Missing text: a zero text part, the image part renormalised.
    np.testing.assert_array_equal(combined[2, 5:], 0.0)
    np.testing.assert_allclose(combined[2, :5], unit_images[2], atol=1e-6)
    with pytest.raises(ValueError, match="image_weight"):
        combined_vectors(images, texts, image_weight=1.5)
    with pytest.raises(ValueError, match="one row per record"):
        combined_vectors(images, texts[:2])
