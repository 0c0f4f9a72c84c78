"""Synthetic scanned pages whose text is known: for measuring OCR accuracy and speed.

A page is archival prose (``synthetic_page_text``) in one of four languages, typeset with a
real TrueType font at 300 dpi on A4 (2480 x 3508 pixels, greyscale), then degraded the way a
scan can be. The reference text is exactly the lines drawn, one per line, heading first.

Conditions (``CONDITIONS``):

- ``clean``: the rendered page;
- ``noise``: additive Gaussian noise, sigma 20 to 30 grey levels;
- ``skew``: turned 1.5 to 3 degrees either way;
- ``blur``: Gaussian blur, radius 1.1 to 1.3 pixels;
- ``jpeg``: saved as JPEG at quality 15 to 25;
- ``degraded``: all of the above together, moderately (skew 0.8 to 1.8 degrees, blur 0.9,
  noise sigma 12 to 18, JPEG quality 30 to 40), in scanning order;
- ``rotated``: a clean page turned a quarter, half or three-quarter turn (cycling with the
  page index), as a page fed sideways or upside down.

Everything is a function of the seed, the page index and the condition: the same arguments
give the same pixels. Page ``i`` has the same text and font under every condition, so the
conditions differ only in their degradation.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from heritage.ocr.synthetic_page_text import GENRES, LANGUAGES, page_heading, paragraph

PAGE_SIZE = (2480, 3508)  # A4 at 300 dpi
DPI = 300
CONDITIONS = ("clean", "noise", "skew", "blur", "jpeg", "degraded", "rotated")
# Tuning and test sets: tune on the first, report figures on the second only.
TUNING_SEED = 1
TEST_SEED = 2
QUARTER_TURNS = (90, 180, 270)
# Fonts tried in this order; the ones present are used. DejaVu ships with Debian's
# fontconfig; Liberation and FreeFont come from fonts-liberation2 and fonts-freefont-ttf.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"),
    Path("/usr/share/fonts/truetype/freefont/FreeSerif.ttf"),
)
_INK = 25
_PAPER = 250


@dataclass(frozen=True)
class SyntheticPage:
    """One test page: its image, the text on it and how it was made."""

    name: str  # "<condition>-<seed>-<index>", e.g. "clean-2-0003"
    condition: str
    language: str  # tesseract language of the text: eng, deu, fra or nld
    genre: str  # letter, finding_aid or conservation
    font: str  # font file name
    rotation: int  # clockwise degrees the page was turned (rotated pages; 0 otherwise)
    detail: str  # the degradation's parameters, e.g. "skew -2.31 deg"
    text: str  # the reference: the lines drawn, joined by newlines
    image: Image.Image  # greyscale ("L"), 300 dpi


def available_fonts() -> tuple[Path, ...]:
    """The candidate fonts present on this machine (DejaVu at least, on Debian)."""
    return tuple(path for path in FONT_CANDIDATES if path.is_file())


def synthetic_page(seed: int, index: int, condition: str, fonts: Sequence[Path]) -> SyntheticPage:
    """Page ``index`` of the set ``seed`` under ``condition``, typeset with one of ``fonts``."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown page condition {condition!r}; choose from {CONDITIONS}")
    if not fonts:
        raise ValueError("no font to typeset the page: install fonts-dejavu-core")
    layout = random.Random(_seed_bytes(seed, index, "layout"))
    language = LANGUAGES[(index + seed) % len(LANGUAGES)]
    genre = layout.choice(GENRES)
    font = fonts[layout.randrange(len(fonts))]
    image, lines = typeset_page(genre, language, font, layout)
    degradation = random.Random(_seed_bytes(seed, index, condition))
    rotation = QUARTER_TURNS[index % len(QUARTER_TURNS)] if condition == "rotated" else 0
    degraded, detail = DEGRADATIONS[condition](image, degradation, rotation)
    return SyntheticPage(
        name=f"{condition}-{seed}-{index:04d}",
        condition=condition,
        language=language,
        genre=genre,
        font=font.name,
        rotation=rotation,
        detail=detail,
        text="\n".join(lines),
        image=degraded,
    )


def synthetic_pages(
    seed: int, count: int, conditions: Sequence[str], fonts: Sequence[Path]
) -> Iterator[SyntheticPage]:
    """``count`` pages per condition, condition by condition."""
    for condition in conditions:
        for index in range(count):
            yield synthetic_page(seed, index, condition, fonts)


def typeset_page(
    genre: str, language: str, font_path: Path, rng: random.Random
) -> tuple[Image.Image, list[str]]:
    """A clean page filled with paragraphs of ``genre``, and the lines drawn on it."""
    size = rng.randint(40, 48)  # 9.5 to 11.5 pt at 300 dpi
    body = ImageFont.truetype(str(font_path), size)
    heading = ImageFont.truetype(str(font_path), round(size * 1.35))
    margin_x, margin_y = rng.randint(200, 280), rng.randint(220, 300)
    width, height = PAGE_SIZE
    image = Image.new("L", PAGE_SIZE, _PAPER)
    draw = ImageDraw.Draw(image)
    title = page_heading(genre, language, rng)
    draw.text((margin_x, margin_y), title, font=heading, fill=_INK)
    lines, y = [title], margin_y + round(size * 1.35 * 2.2)
    leading, bottom = round(size * 1.4), height - margin_y - size
    while y < bottom:
        for line in wrap_words(paragraph(genre, language, rng), body, width - 2 * margin_x):
            if y >= bottom:
                break
            draw.text((margin_x, y), line, font=body, fill=_INK)
            lines.append(line)
            y += leading
        y += round(leading * 0.6)  # paragraph spacing
    return image, lines


def wrap_words(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """``text`` broken into lines at spaces, each no wider than ``width`` pixels if it can be."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            lines.append(current)
            candidate = word
        current = candidate
    if current:
        lines.append(current)
    return lines


def add_gaussian_noise(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    generator = np.random.default_rng(rng.getrandbits(64))
    pixels = np.asarray(image, dtype=np.float32)
    noisy = pixels + generator.normal(0.0, sigma, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), mode="L")


def skew(image: Image.Image, degrees: float) -> Image.Image:
    """Turned ``degrees`` counter-clockwise about the centre, paper colour in the corners."""
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=_PAPER)


def blur(image: Image.Image, radius: float) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def jpeg_artefacts(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def quarter_turn(image: Image.Image, clockwise_degrees: int) -> Image.Image:
    # PIL's transposes turn counter-clockwise: a clockwise quarter turn is ROTATE_270.
    transposes = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }
    return image.transpose(transposes[clockwise_degrees])


def _signed(rng: random.Random, low: float, high: float) -> float:
    return rng.choice((-1.0, 1.0)) * rng.uniform(low, high)


def _clean(image: Image.Image, rng: random.Random, rotation: int) -> tuple[Image.Image, str]:
    return image, "none"


def _noise(image: Image.Image, rng: random.Random, rotation: int) -> tuple[Image.Image, str]:
    sigma = rng.uniform(20, 30)
    return add_gaussian_noise(image, sigma, rng), f"gaussian noise sigma {sigma:.1f}"


def _skew(image: Image.Image, rng: random.Random, rotation: int) -> tuple[Image.Image, str]:
    degrees = _signed(rng, 1.5, 3.0)
    return skew(image, degrees), f"skew {degrees:+.2f} deg"


def _blur(image: Image.Image, rng: random.Random, rotation: int) -> tuple[Image.Image, str]:
    radius = rng.uniform(1.1, 1.3)
    return blur(image, radius), f"gaussian blur radius {radius:.2f}"


def _jpeg(image: Image.Image, rng: random.Random, rotation: int) -> tuple[Image.Image, str]:
    quality = rng.randint(15, 25)
    return jpeg_artefacts(image, quality), f"jpeg quality {quality}"


def _degraded(image: Image.Image, rng: random.Random, rotation: int) -> tuple[Image.Image, str]:
    degrees, sigma, quality = _signed(rng, 0.8, 1.8), rng.uniform(12, 18), rng.randint(30, 40)
    # Scanning order: the page lies askew, the optics blur, the sensor adds noise, the file
    # is compressed.
    result = jpeg_artefacts(
        add_gaussian_noise(blur(skew(image, degrees), 0.9), sigma, rng), quality
    )
    return result, f"skew {degrees:+.2f} deg, blur 0.9, noise sigma {sigma:.1f}, jpeg {quality}"


def _rotated(image: Image.Image, rng: random.Random, rotation: int) -> tuple[Image.Image, str]:
    return quarter_turn(image, rotation), f"turned {rotation} deg clockwise"


Degradation = Callable[[Image.Image, random.Random, int], tuple[Image.Image, str]]
DEGRADATIONS: dict[str, Degradation] = {
    "clean": _clean,
    "noise": _noise,
    "skew": _skew,
    "blur": _blur,
    "jpeg": _jpeg,
    "degraded": _degraded,
    "rotated": _rotated,
}


def _seed_bytes(seed: int, index: int, purpose: str) -> bytes:
    # random.Random seeds from bytes through SHA-512: stable across processes and Python
    # builds, unlike hash() of a str.
    return hashlib.sha256(f"{seed}:{index}:{purpose}".encode()).digest()
