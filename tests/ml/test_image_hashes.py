"""Perceptual hashes on real photographs (scikit-image's bundled sample images)."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image, ImageOps

from heritage.ml.image_hashes import (
    ImageHashes,
    dhash,
    from_signed64,
    hamming_distance,
    perceptual_hashes,
    phash,
    to_signed64,
    trim_uniform_border,
)

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    names = ("astronaut", "coffee", "chelsea", "rocket", "camera")
    return {name: Image.fromarray(getattr(skimage_data, name)()).convert("RGB") for name in names}


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_hashes_are_unsigned_64_bit_and_stable(photos: dict[str, Image.Image]) -> None:
    hashes = perceptual_hashes(photos["astronaut"])
    assert isinstance(hashes, ImageHashes)
    for value in (hashes.phash, hashes.dhash):
        assert 0 <= value < 1 << 64
    assert perceptual_hashes(photos["astronaut"].copy()) == hashes


def test_identical_image_has_distance_zero(photos: dict[str, Image.Image]) -> None:
    image = photos["coffee"]
    assert hamming_distance(phash(image), phash(image.copy())) == 0
    assert hamming_distance(dhash(image), dhash(image.copy())) == 0


def test_resized_and_recompressed_copies_stay_close(photos: dict[str, Image.Image]) -> None:
    for image in photos.values():
        smaller = image.resize((image.width // 2, image.height // 2), Image.Resampling.BICUBIC)
        recompressed = _jpeg(image, quality=40)
        for copy in (smaller, recompressed):
            assert hamming_distance(phash(image), phash(copy)) <= 6
            assert hamming_distance(dhash(image), dhash(copy)) <= 8


def test_unrelated_photos_are_far_apart(photos: dict[str, Image.Image]) -> None:
    for first, second in itertools.combinations(photos.values(), 2):
        assert hamming_distance(phash(first), phash(second)) >= 20


def test_grayscale_copy_keeps_its_hash(photos: dict[str, Image.Image]) -> None:
    image = photos["chelsea"]
    assert hamming_distance(phash(image), phash(ImageOps.grayscale(image))) <= 2


def test_transparent_pixels_hash_as_white() -> None:
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((200, 10, 10, 255), (0, 0, 32, 64))
    white = Image.new("RGB", (64, 64), (255, 255, 255))
    white.paste((200, 10, 10), (0, 0, 32, 64))
    assert perceptual_hashes(rgba) == perceptual_hashes(white)


def test_hamming_distance_counts_bits() -> None:
    assert hamming_distance(0, 0) == 0
    assert hamming_distance(0, (1 << 64) - 1) == 64
    assert hamming_distance(0b1011, 0b0001) == 2


@pytest.mark.parametrize("value", [0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1])
def test_signed_round_trip_for_bigint_columns(value: int) -> None:
    signed = to_signed64(value)
    assert -(1 << 63) <= signed < 1 << 63
    assert from_signed64(signed) == value


@pytest.mark.parametrize("fill", [(255, 255, 255), (0, 0, 0), (128, 96, 64)])
def test_a_framed_copy_hashes_like_the_original(
    photos: dict[str, Image.Image], fill: tuple[int, int, int]
) -> None:
    image = photos["astronaut"]
    framed = _jpeg(ImageOps.expand(image, border=30, fill=fill), quality=80)
    trimmed = trim_uniform_border(framed)
    assert abs(trimmed.width - image.width) <= 4 and abs(trimmed.height - image.height) <= 4
    original, copy = perceptual_hashes(image), perceptual_hashes(framed)
    assert hamming_distance(original.phash, copy.phash) <= 4
    assert hamming_distance(original.dhash, copy.dhash) <= 6


def test_trimming_leaves_unframed_and_mostly_empty_pictures_alone(
    photos: dict[str, Image.Image],
) -> None:
    for image in photos.values():
        assert trim_uniform_border(image).size == image.size
    small_object = Image.new("RGB", (400, 300), (255, 255, 255))
    small_object.paste((20, 40, 160), (180, 130, 230, 170))
    assert trim_uniform_border(small_object).size == (400, 300)
