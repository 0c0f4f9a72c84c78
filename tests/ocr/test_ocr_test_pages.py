"""Synthetic test pages: deterministic per seed, and their reference is what is on the page."""

from __future__ import annotations

import os

# One OpenMP thread before libtesseract loads: on few cores its threading is far slower.
os.environ["OMP_THREAD_LIMIT"] = "1"

import random

import numpy as np
import pytest
import tesserocr

from heritage.ocr.ocr_settings import OcrSettings
from heritage.ocr.synthetic_page_text import LANGUAGES, paragraph
from heritage.ocr.synthetic_pages import (
    CONDITIONS,
    FONT_CANDIDATES,
    PAGE_SIZE,
    TEST_SEED,
    TUNING_SEED,
    synthetic_page,
)
from heritage.ocr.text_error_rates import text_error_rates

# DejaVu only: it ships with Debian's fontconfig, so the pages are the same on every machine.
DEJAVU = tuple(path for path in FONT_CANDIDATES if path.name.startswith("DejaVu"))


@pytest.fixture(scope="module")
def fonts() -> tuple:
    present = tuple(path for path in DEJAVU if path.is_file())
    if not present:
        pytest.skip("DejaVu fonts are not installed (apt-get install fonts-dejavu-core)")
    return present


@pytest.mark.parametrize("condition", CONDITIONS)
def test_the_same_seed_gives_the_same_page(condition: str, fonts: tuple) -> None:
    first = synthetic_page(TEST_SEED, 5, condition, fonts)
    second = synthetic_page(TEST_SEED, 5, condition, fonts)
    assert first.image.mode == "L"
    assert first.text == second.text
    assert first.detail == second.detail
    assert np.array_equal(np.asarray(first.image), np.asarray(second.image))


def test_tuning_and_test_sets_differ_and_conditions_share_a_page_text(fonts: tuple) -> None:
    tuning = synthetic_page(TUNING_SEED, 0, "clean", fonts)
    test = synthetic_page(TEST_SEED, 0, "clean", fonts)
    assert tuning.text != test.text
    assert synthetic_page(TEST_SEED, 0, "degraded", fonts).text == test.text


def test_pages_are_a4_at_300_dpi_and_rotated_ones_turn_a_quarter(fonts: tuple) -> None:
    assert synthetic_page(TEST_SEED, 1, "skew", fonts).image.size == PAGE_SIZE
    turned = synthetic_page(TEST_SEED, 0, "rotated", fonts)
    assert turned.rotation == 90
    assert turned.image.size == PAGE_SIZE[::-1]
    assert synthetic_page(TEST_SEED, 1, "rotated", fonts).rotation == 180


def test_a_page_holds_a_few_thousand_characters_in_its_language(fonts: tuple) -> None:
    pages = [synthetic_page(TEST_SEED, index, "clean", fonts) for index in range(4)]
    assert {page.language for page in pages} == set(LANGUAGES)
    for page in pages:
        assert 2000 <= len(page.text) <= 6000, page.name


def test_paragraph_placeholders_are_all_filled() -> None:
    rng = random.Random(7)
    for language in LANGUAGES:
        for genre in ("letter", "finding_aid", "conservation"):
            text = paragraph(genre, language, rng)
            assert "{" not in text and "}" not in text, text


def test_unknown_condition_is_refused(fonts: tuple) -> None:
    with pytest.raises(ValueError, match="unknown page condition"):
        synthetic_page(TEST_SEED, 0, "smudged", fonts)


def test_tesseract_reads_back_the_reference_of_a_clean_page(fonts: tuple) -> None:
    page = synthetic_page(TEST_SEED, 3, "clean", fonts)
    with tesserocr.PyTessBaseAPI(path=OcrSettings().tessdata_dir(), lang=page.language) as api:
        api.SetImage(page.image)
        read = api.GetUTF8Text()
    assert text_error_rates(page.text, read).character_error_rate < 0.05
