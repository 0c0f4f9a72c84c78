"""The skew of a scanned page, by the projection profile of its ink. Pure.

A page fed into a scanner a degree or three askew is common, and Tesseract 5 loses whole
lines of such a page while still reporting high confidence for what it kept (a page turned
2 to 3 degrees clockwise lost most of its text on the OCR benchmark). Levelling it first is
cheap: the ink of a page reduced to about 800 pixels across is projected onto rows for each
candidate angle; the angle whose rows are sharpest (text lines in few rows, gaps between
them empty) is the page's skew.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

# Pages are measured at about this width (pixels): enough for lines of 10 pt type at 300 dpi.
_WIDTH = 800
# Ink points used at most (a random but fixed subset; more adds time, not precision).
_MAX_POINTS = 60_000
# Fewer ink points than this: a blank or nearly blank page, nothing to level.
_MIN_POINTS = 400


def skew_angle(image: Image.Image, max_degrees: float = 5.0) -> float:
    """Degrees counter-clockwise (PIL's sense) the page's lines are turned; 0.0 when the
    page has too little ink or no angle within ``max_degrees`` is clearly sharper than 0."""
    points = _ink_points(image)
    if points is None:
        return 0.0
    xs, ys = points
    coarse = np.arange(-max_degrees, max_degrees + 0.01, 0.25)
    best = _sharpest(xs, ys, coarse)
    fine = np.arange(best - 0.25, best + 0.251, 0.05)
    best = _sharpest(xs, ys, fine)
    level = _sharpness(xs, ys, 0.0)
    # Lines already level, or no lines (a photograph, a page turned a quarter): keep it.
    if _sharpness(xs, ys, best) < level * 1.05:
        return 0.0
    return round(float(best), 2)


def leveled(image: Image.Image, degrees: float) -> Image.Image:
    """The page turned back by ``degrees`` (white corners, the page grown to fit)."""
    background = 255 if image.mode in ("L", "1") else (255, 255, 255)
    source = image.convert("L") if image.mode == "1" else image
    return source.rotate(
        -degrees, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=background
    )


def _ink_points(image: Image.Image) -> tuple[np.ndarray, np.ndarray] | None:
    grey = image.convert("L")
    scale = min(1.0, _WIDTH / max(1, grey.width))
    small = grey.resize(
        (max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
        Image.Resampling.BOX,
    )
    pixels = np.asarray(small, dtype=np.uint8)
    threshold = min(128, int(pixels.mean()) - 40)
    ys, xs = np.nonzero(pixels < threshold)
    if len(xs) < _MIN_POINTS:
        return None
    if len(xs) > _MAX_POINTS:
        chosen = np.random.default_rng(0).choice(len(xs), _MAX_POINTS, replace=False)
        xs, ys = xs[chosen], ys[chosen]
    return xs.astype(np.float64), ys.astype(np.float64)


def _sharpest(xs: np.ndarray, ys: np.ndarray, angles: np.ndarray) -> float:
    scores = [_sharpness(xs, ys, float(angle)) for angle in angles]
    return float(angles[int(np.argmax(scores))])


def _sharpness(xs: np.ndarray, ys: np.ndarray, degrees: float) -> float:
    """Sum of squared row counts once the ink is turned back by ``degrees``: high when the
    ink gathers in few rows."""
    # A line turned counter-clockwise by t rises to the right: y + x tan(t) is constant on it.
    rows = ys + xs * math.tan(math.radians(degrees))
    counts = np.bincount((rows - rows.min()).astype(np.int64))
    return float(np.dot(counts, counts))
