"""The skew of a page from the projection profile of its ink (pure)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from heritage.ocr.page_skew import leveled, skew_angle

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def _page() -> Image.Image:
    page = Image.new("L", (1748, 2480), 250)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 40)
    for row in range(24):
        draw.text(
            (150, 150 + row * 80),
            f"Inventory of the estate archive, folio {row}",
            font=font,
            fill=25,
        )
    return page


@pytest.mark.parametrize("degrees", [-3.0, -2.2, -1.0, 0.6, 2.75, 4.5])
def test_the_angle_a_page_was_turned_by_is_found(degrees: float) -> None:
    turned = _page().rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=250)
    assert skew_angle(turned) == pytest.approx(degrees, abs=0.1)


def test_a_level_page_a_blank_page_and_a_quarter_turn_are_left_alone() -> None:
    assert skew_angle(_page()) == 0.0
    assert skew_angle(Image.new("L", (1748, 2480), 250)) == 0.0
    assert skew_angle(_page().transpose(Image.Transpose.ROTATE_90)) == 0.0


def test_levelling_turns_the_page_back() -> None:
    turned = _page().rotate(-2.5, resample=Image.Resampling.BICUBIC, fillcolor=250)
    assert abs(skew_angle(leveled(turned, skew_angle(turned)))) < 0.15
