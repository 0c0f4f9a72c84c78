"""Geometric verification: copies keep many consistent keypoint matches, other regions and
other pages do not."""

from __future__ import annotations

import random
from functools import cache

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFont, ImageOps

from heritage.ml.image_keypoints import Keypoints, image_keypoints
from heritage.ml.keypoint_match import (
    along_a_line,
    fitted_similarity,
    geometric_support,
    shared_fraction,
    similarity_inliers,
)
from heritage.ocr import synthetic_pages as pages

# Far from both (of 64 cells): the copies below cover 18 or more, distinct pictures none or
# a few by chance.
COPY_SUPPORT = 12
DISTINCT_SUPPORT = 4


@cache
def _photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def _quadrants(image: Image.Image) -> list[Image.Image]:
    w, h = image.width // 2, image.height // 2
    return [image.crop((x, y, x + w, y + h)) for y in (0, h) for x in (0, w)]


@cache
def _keypoints_of(name: str, quadrant: int) -> Keypoints:
    return image_keypoints(_quadrants(_photo(name))[quadrant])


def _framed(image: Image.Image) -> Image.Image:
    smaller = image.resize((image.width * 4 // 5, image.height * 4 // 5))
    return ImageOps.expand(smaller, border=40, fill=(236, 230, 214))


def _rotated(image: Image.Image) -> Image.Image:
    return image.rotate(5, expand=True, fillcolor=(255, 255, 255))


def _cropped(image: Image.Image) -> Image.Image:
    return image.crop((image.width // 10, image.height // 10, image.width, image.height))


@pytest.mark.parametrize(
    "copy",
    [_framed, _rotated, _cropped, ImageOps.mirror, lambda image: image.rotate(90, expand=True)],
    ids=["framed", "rotated 5 degrees", "cropped 10%", "mirrored", "turned 90"],
)
@pytest.mark.parametrize("name", ["astronaut", "hubble_deep_field"])
def test_a_copy_verifies(name: str, copy: object) -> None:
    original = _quadrants(_photo(name))[0]
    transformed = copy(original)  # type: ignore[operator]
    assert geometric_support(_keypoints_of(name, 0), image_keypoints(transformed)) >= COPY_SUPPORT


@pytest.mark.parametrize("name", ["astronaut", "hubble_deep_field", "rocket", "coffee"])
def test_two_quadrants_of_one_picture_do_not_verify(name: str) -> None:
    for first, second in [(0, 1), (0, 2), (0, 3), (1, 3)]:
        support = geometric_support(_keypoints_of(name, first), _keypoints_of(name, second))
        assert support < DISTINCT_SUPPORT, (name, first, second, support)


def test_one_watermark_on_two_regions_does_not_verify() -> None:
    """The same text laid over two different regions matches itself, in one band only."""
    quadrants = _quadrants(_photo("coffee"))
    marked = [_watermarked(quadrants[0]), _watermarked(quadrants[1])]
    support = geometric_support(image_keypoints(marked[0]), image_keypoints(marked[1]))
    assert support < COPY_SUPPORT
    assert geometric_support(_keypoints_of("coffee", 0), image_keypoints(marked[0])) >= COPY_SUPPORT


def _watermarked(image: Image.Image) -> Image.Image:
    copy = image.copy()
    draw = ImageDraw.Draw(copy)
    font = ImageFont.load_default(size=copy.height // 9)
    draw.text((copy.width // 20, copy.height // 12), "SAMPLE  2024", fill=(255, 255, 255),
              font=font, stroke_width=2, stroke_fill=(0, 0, 0))  # fmt: skip
    return copy


def test_a_framed_quadrant_does_not_verify_against_another_quadrant() -> None:
    framed = image_keypoints(_framed(_quadrants(_photo("hubble_deep_field"))[1]))
    assert geometric_support(_keypoints_of("hubble_deep_field", 0), framed) < DISTINCT_SUPPORT


class _BookLayout(random.Random):
    """Text drawn at random, type size and margins fixed: pages of one book."""

    def __init__(self, seed: str) -> None:
        super().__init__(seed)
        self._layout = [44, 240, 260]

    def randint(self, a: int, b: int) -> int:
        return self._layout.pop(0) if self._layout else super().randint(a, b)


@cache
def _page(index: int) -> Image.Image:
    image, _ = pages.typeset_page(
        "letter", "eng", pages.available_fonts()[0], _BookLayout(f"book:{index}")
    )
    return image.convert("RGB")


def test_two_pages_of_one_book_do_not_verify_and_a_rescan_does() -> None:
    first, second = image_keypoints(_page(0)), image_keypoints(_page(1))
    assert geometric_support(first, second) < DISTINCT_SUPPORT
    rescan = pages.skew(_page(0).convert("L"), 1.5).convert("RGB")
    assert geometric_support(first, image_keypoints(rescan)) >= COPY_SUPPORT


def test_verification_is_symmetric() -> None:
    framed = image_keypoints(_framed(_quadrants(_photo("coffee"))[0]))
    original = _keypoints_of("coffee", 0)
    assert geometric_support(original, framed) == geometric_support(framed, original)


def test_a_flat_picture_has_no_keypoints_and_verifies_nothing() -> None:
    blank = image_keypoints(Image.new("RGB", (300, 200), (200, 180, 160)))
    assert blank.count == 0
    assert geometric_support(blank, _keypoints_of("coffee", 0)) == 0


def test_inliers_of_a_known_similarity() -> None:
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 400, size=(50, 2))
    angle, scale = 0.3, 0.7
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = source @ rotation.T + [12.0, -30.0]
    target[:10] = rng.uniform(0, 400, size=(10, 2))  # ten wrong matches
    inliers = similarity_inliers(source, target)
    assert inliers.sum() == 40
    assert not inliers[:10].any()
    assert not similarity_inliers(source, source * 20).any()  # a scale no copy has


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_a_detail_of_a_picture_does_not_verify_against_the_whole(name: str) -> None:
    """A quarter of a photograph, published as a record of its own, matches its whole as
    well as a copy does, but covers a quarter of it: no copy. A crop to nine tenths is."""
    whole = _photo(name)
    support = geometric_support(image_keypoints(whole), _keypoints_of(name, 3))
    assert support < DISTINCT_SUPPORT
    assert geometric_support(image_keypoints(whole), image_keypoints(_cropped(whole))) >= (
        COPY_SUPPORT
    )


def _frame(height: int, width: int) -> Keypoints:
    none = np.zeros((0, 2), np.float32)
    return Keypoints(none, np.zeros((0, 32), np.uint8), none, none, height, width)


def test_shared_fraction_of_known_transforms() -> None:
    whole, quarter = _frame(400, 600), _frame(200, 300)
    assert shared_fraction(1 + 0j, 0j, whole, whole) == pytest.approx(1.0)
    # The quarter laid over the whole's lower right corner, at the whole's scale.
    assert shared_fraction(1 + 0j, 300 + 200j, quarter, whole) == pytest.approx(0.25)
    # A crop to nine tenths of each side, shown at half size.
    crop = _frame(180, 270)
    assert shared_fraction(2 + 0j, 60 + 40j, crop, whole) == pytest.approx(0.81)
    # A quarter turn about the centre of a square maps it onto itself.
    square = _frame(300, 300)
    assert shared_fraction(1j, 300 + 0j, square, square) == pytest.approx(1.0)
    # Laid beside the other picture: nothing shared.
    assert shared_fraction(1 + 0j, 700 + 0j, whole, whole) == 0.0


def test_fitted_similarity_recovers_the_transform() -> None:
    rng = np.random.default_rng(1)
    source = rng.uniform(0, 400, size=(20, 2))
    a, b = 0.6 * np.exp(0.4j), 15 - 7j
    z = source[:, 1] + 1j * source[:, 0]
    w = a * z + b
    target = np.column_stack([w.imag, w.real])
    fitted_a, fitted_b = fitted_similarity(source, target)
    assert fitted_a == pytest.approx(a) and fitted_b == pytest.approx(b)


def test_a_line_of_points_and_a_patch_of_them() -> None:
    picture = _frame(400, 600)
    rng = np.random.default_rng(2)
    line = np.column_stack([rng.uniform(40, 52, 30), rng.uniform(30, 560, 30)])
    scatter = np.column_stack([rng.uniform(0, 400, 30), rng.uniform(0, 600, 30)])
    patch = np.column_stack([rng.uniform(100, 150, 30), rng.uniform(200, 250, 30)])
    assert along_a_line(line, picture)
    assert not along_a_line(scatter, picture)
    assert not along_a_line(patch, picture)  # one textured patch of a copy: small, not thin


@pytest.mark.parametrize("name", ["hubble_deep_field", "coffee"])
def test_one_watermark_on_two_quadrants_does_not_verify(name: str) -> None:
    quadrants = _quadrants(_photo(name))
    first, second = (image_keypoints(_watermarked(quadrant)) for quadrant in quadrants[:2])
    assert geometric_support(first, second) < DISTINCT_SUPPORT
