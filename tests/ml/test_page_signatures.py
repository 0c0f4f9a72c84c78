"""Page signatures: copies of one page match, other pages of the same book do not, and
photographs, blank sheets and scraps get no signature."""

from __future__ import annotations

import os
import random
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from heritage.ml.page_signatures import (
    PAGE_SIGNATURE_DIM,
    SAME_PAGE_MIN_SIMILARITY,
    page_signature,
    page_similarities,
)
from heritage.ocr import synthetic_pages as pages

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WORKING_PX = 1024


class _BookLayout(random.Random):
    """Text drawn at random, but the type size and margins (typeset_page's first three
    draws) fixed: pages of one book."""

    def __init__(self, seed: str, layout: tuple[int, int, int]) -> None:
        super().__init__(seed)
        self._layout = list(layout)

    def randint(self, a: int, b: int) -> int:
        return self._layout.pop(0) if self._layout else super().randint(a, b)


@cache
def _book_page(index: int) -> Image.Image:
    font = pages.available_fonts()[0]
    image, _ = pages.typeset_page(
        "letter", "eng", font, _BookLayout(f"book:{index}", (44, 240, 260))
    )
    return image


def _working(image: Image.Image) -> Image.Image:
    scale = WORKING_PX / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    return image.resize(size, Image.Resampling.LANCZOS).convert("RGB")


def _otsu_binarised(image: Image.Image) -> Image.Image:
    grey = np.asarray(image)
    return Image.fromarray(np.where(grey > 140, 255, 0).astype(np.uint8)).convert("1")


def _scan(index: int) -> Image.Image:
    """The page askew on tinted paper, noisy, compressed, on a dark scanner bed."""
    tinted = pages.skew(_book_page(index), 1.7).point(lambda value: round(value * 0.9))
    noisy = pages.add_gaussian_noise(tinted, 10, random.Random(index))
    bed = Image.new("L", (noisy.width + 240, noisy.height + 240), 30)
    bed.paste(noisy, (120, 120))
    return pages.jpeg_artefacts(bed, 60)


def _text_block(image: Image.Image) -> Image.Image:
    ys, xs = np.nonzero(np.asarray(image) < 128)
    return image.crop((xs.min() - 10, ys.min() - 10, xs.max() + 10, ys.max() + 10))


@cache
def _signatures(index: int) -> dict[str, np.ndarray | None]:
    scan = _scan(index)
    clean = pages.skew(_book_page(index), 1.7)
    derivatives = {
        "scan": scan,
        "binarised": _otsu_binarised(scan),
        "cropped binarised": _otsu_binarised(_text_block(clean)),
        "turned 90": pages.quarter_turn(scan, 90),
        "turned 180": pages.quarter_turn(scan, 180),
        "turned 270": pages.quarter_turn(scan, 270),
    }
    working = {name: _working(image) for name, image in derivatives.items()}
    half = working["scan"].resize((working["scan"].width // 2, working["scan"].height // 2))
    working["rescaled 50%"] = half
    return {name: page_signature(image) for name, image in working.items()}


def _stack(signatures: dict[str, np.ndarray | None]) -> np.ndarray:
    assert all(signature is not None for signature in signatures.values()), signatures
    return np.stack([s for s in signatures.values() if s is not None])


def test_a_signature_is_a_unit_vector_with_zero_mean() -> None:
    signature = _signatures(0)["scan"]
    assert signature is not None
    assert signature.shape == (PAGE_SIGNATURE_DIM,)
    assert signature.dtype == np.float32
    assert abs(float(signature.mean())) < 1e-5
    assert np.linalg.norm(signature) == pytest.approx(1.0, abs=1e-5)


def test_copies_of_one_page_match_whatever_was_done_to_them() -> None:
    copies = _signatures(0)
    similarities = page_similarities(_stack(copies), _stack(copies))
    worst = float(similarities.min())
    assert worst > SAME_PAGE_MIN_SIMILARITY, dict(
        zip(copies, similarities.min(axis=1), strict=True)
    )


def test_other_pages_of_the_same_book_do_not_match() -> None:
    similarities = page_similarities(_stack(_signatures(0)), _stack(_signatures(1)))
    assert float(similarities.max()) < SAME_PAGE_MIN_SIMILARITY


def test_similarities_are_a_matrix_of_the_best_orientation() -> None:
    signature = _signatures(0)["scan"]
    assert signature is not None
    turned = signature.reshape(64, 32)[::-1, ::-1].ravel()
    mirrored = signature.reshape(64, 32)[:, ::-1].ravel()
    similarities = page_similarities(signature[None, :], np.stack([turned, mirrored, signature]))
    assert similarities.shape == (1, 3)
    assert similarities == pytest.approx(np.ones((1, 3)))


@pytest.mark.parametrize("name", ["astronaut", "camera", "coffee", "chelsea", "rocket", "moon"])
def test_photographs_get_no_signature(name: str) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    photograph = Image.fromarray(getattr(skimage_data, name)()).convert("RGB")
    assert page_signature(photograph) is None


def test_a_scan_lit_unevenly_is_a_page() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    assert page_signature(Image.fromarray(skimage_data.page()).convert("RGB")) is not None


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (700, 1000), "white"),
        Image.new("RGB", (700, 1000), (40, 40, 40)),
        Image.new("RGB", (8, 5), "white"),
        Image.new("RGB", (1, 1), "black"),
        pages.add_gaussian_noise(Image.new("L", (700, 1000), 235), 25, random.Random(0)),
    ],
    ids=["white", "dark", "tiny", "one pixel", "noise"],
)
def test_blank_sheets_and_scraps_get_no_signature(image: Image.Image) -> None:
    assert page_signature(image) is None


@pytest.mark.fuzz
@FUZZ
@given(
    width=st.integers(1, 96),
    height=st.integers(1, 96),
    data=st.data(),
)
def test_any_small_image_gives_a_signature_or_none(
    width: int, height: int, data: st.DataObject
) -> None:
    pixels = data.draw(st.binary(min_size=width * height * 3, max_size=width * height * 3))
    image = Image.frombytes("RGB", (width, height), pixels).resize((width * 4, height * 4))
    signature = page_signature(image)
    assert signature is None or signature.shape == (PAGE_SIGNATURE_DIM,)
