"""Signatures of printed pages that survive binarising, deskewing and cropping. Pure.

Perceptual hashes see a page of text as grey texture: a scan and its binarised, deskewed or
cropped copy drift apart, while two different pages of one book (same font, same margins,
same line spacing) look alike. A page signature instead describes where the ink lies inside
the text block once the page is binarised, its lines are turned horizontal and levelled, and
the margins and any dark scanner border are cut away: the ink density on a 64 x 32 grid.
Every cell then loses the mean of the cells beside it in its row. The lines and gaps that
all pages of a book share are level along a row, so they drop out, and what stays is each
page's own pattern: where words, lines and paragraphs end. (On synthetic books this local
difference parted copies of a page from other pages three times as widely as the density
itself, or as taking away each whole row's mean.)

Images that are not pages (photographs, drawings, blank sheets) get no signature.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

PAGE_GRID = (64, 32)  # rows, columns of the signature grid
PAGE_SIGNATURE_DIM = PAGE_GRID[0] * PAGE_GRID[1]
# Copies of one page (scan, binarised, deskewed, cropped, turned, rescaled) score above this;
# different pages of one book below it. On synthetic books (three of eight pages, ten copies
# of each page) copies scored >= 0.63 (most above 0.78) and other pages of a book <= 0.28.
SAME_PAGE_MIN_SIMILARITY = 0.45

# Smaller images than this (pixels, shorter side) are too small to read lines from.
_MIN_SIDE = 48
# Paper and ink must differ at least this much (grey levels) to be told apart; light type
# reduced to a few pixels can be this faint.
_MIN_CONTRAST = 30.0
# Share of the paper that is ink on a page of text (dark scanner borders excluded).
_MIN_INK_SHARE = 0.01
_MAX_INK_SHARE = 0.35
# Fewer ink pixels than this: nothing to sign.
_MIN_INK_POINTS = 300
# A page has at least this many text lines (runs of inked rows between empty ones).
_MIN_LINES = 5
# Most lines are at most this much taller than the typical one (a heading, two lines run
# together); a typical line is at most this share of the block's height; most line pitches
# are at most this much larger than the typical one (paragraph breaks, headings).
_MAX_LINE_HEIGHT_SPREAD = 1.6
_MAX_LINE_HEIGHT_SHARE = 0.1
_MAX_LINE_PITCH_SPREAD = 2.5
# Ink points used to find the orientation and skew (a fixed random subset).
_SKEW_POINTS = 12_000
_MAX_SKEW_DEGREES = 5.0
# A text block's rows and columns hold at least this share of its typical row's ink.
_BLOCK_SHARE = 0.03
# Rows holding less than this share of a typical line's ink are gaps between lines.
_GAP_SHARE = 0.1
# Cells of a row whose mean each cell loses: what stays is where lines and words end.
_ROW_WINDOW = 5
# Weight of each neighbouring cell in the blur (0.25 would be the [1, 2, 1] / 4 kernel).
_BLUR = 0.2


def page_signature(image: Image.Image) -> np.ndarray | None:
    """The page's signature (float32, PAGE_SIGNATURE_DIM long, zero mean, unit norm), or
    None when ``image`` does not look like a page of text."""
    grey = np.asarray(image.convert("L"), dtype=np.uint8)
    if min(grey.shape) < _MIN_SIDE:
        return None
    found = _paper_and_ink(grey)
    if found is None:
        return None
    ink, paper_area, ink_tone, paper_tone = found
    ink = _without_specks(ink)
    ink_count = int(ink.sum())
    if ink_count < _MIN_INK_POINTS:
        return None
    if not _MIN_INK_SHARE <= ink_count / paper_area <= _MAX_INK_SHARE:
        return None
    ys, xs = np.nonzero(ink)
    turn, angle = _orientation(xs.astype(np.float64), ys.astype(np.float64), ink.shape[0])
    rows, columns = _levelled(xs, ys, ink.shape[0], turn, angle)
    box = _text_block(rows, columns)
    if box is None:
        return None
    # The grid weighs each pixel by how much of it is ink, so a grey scan, its binarised
    # copy and a reduced copy (type anti-aliased to grey) give the same densities.
    coverage = np.clip((paper_tone - grey) / max(paper_tone - ink_tone, 1.0), 0.0, 1.0)
    coverage[~_near(ink)] = 0.0
    ys, xs = np.nonzero(coverage)
    rows, columns = _levelled(xs, ys, ink.shape[0], turn, angle)
    return _grid_signature(rows, columns, coverage[ys, xs], box)


def page_similarities(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(n, m) similarities of ``left`` (n, dim) to ``right`` (m, dim) signatures: the best
    over the orientations a page arrives in (as is, turned 180 degrees, mirrored either way)."""
    left = np.asarray(left, dtype=np.float64).reshape(-1, PAGE_SIGNATURE_DIM)
    grids = np.asarray(right, dtype=np.float64).reshape(-1, *PAGE_GRID)
    variants = (grids, grids[:, ::-1, ::-1], grids[:, :, ::-1], grids[:, ::-1, :])
    best = np.full((left.shape[0], grids.shape[0]), -1.0)
    for variant in variants:
        best = np.maximum(best, left @ variant.reshape(-1, PAGE_SIGNATURE_DIM).T)
    return np.clip(best, -1.0, 1.0)


def paired_page_similarities(left: np.ndarray, right: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Similarity of ``left[i]`` to ``right[i]`` for each i (the best orientation, as in
    :func:`page_similarities`), in chunks, without the all-against-all matrix."""
    left = np.asarray(left, dtype=np.float64).reshape(-1, PAGE_SIGNATURE_DIM)
    right = np.asarray(right, dtype=np.float64).reshape(-1, PAGE_SIGNATURE_DIM)
    best = np.full(left.shape[0], -1.0)
    for start in range(0, left.shape[0], chunk):
        first = left[start : start + chunk]
        grids = right[start : start + chunk].reshape(-1, *PAGE_GRID)
        variants = (grids, grids[:, ::-1, ::-1], grids[:, :, ::-1], grids[:, ::-1, :])
        for variant in variants:
            products = np.einsum("ij,ij->i", first, variant.reshape(-1, PAGE_SIGNATURE_DIM))
            best[start : start + chunk] = np.maximum(best[start : start + chunk], products)
    return np.clip(best, -1.0, 1.0)


def _paper_and_ink(grey: np.ndarray) -> tuple[np.ndarray, int, float, float] | None:
    """The ink on the paper, and the paper's area (pixels). A first threshold finds the
    dark bands of scanner background along the edges; a second, on the rest alone, the ink
    (on a small scan, light grey type would otherwise count as paper beside a black border).
    None when the paper shows no clear dark ink."""
    first = _otsu(grey.ravel())
    if first is None:
        return None
    bands = _edge_bands(grey <= first[0])
    paper = grey[~bands]
    second = _otsu(paper) if paper.size else None
    if second is None or second[1] < _MIN_CONTRAST:
        return None
    dark = grey <= second[0]
    bands = _edge_bands(dark | bands)
    return dark & ~bands, int(bands.size - bands.sum()), second[2], second[3]


def _otsu(values: np.ndarray) -> tuple[int, float, float, float] | None:
    """Otsu's threshold of grey ``values`` (ink is at or below it) and the difference of
    the two classes' mean tones; None when all values are one tone."""
    counts = np.bincount(values, minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight = np.cumsum(counts)
    mass = np.cumsum(counts * levels)
    total, total_mass = weight[-1], mass[-1]
    dark, light = weight[:-1], total - weight[:-1]
    valid = (dark > 0) & (light > 0)
    if not valid.any():
        return None
    dark_mean = mass[:-1] / np.maximum(dark, 1)
    light_mean = (total_mass - mass[:-1]) / np.maximum(light, 1)
    between = np.where(valid, dark * light * (light_mean - dark_mean) ** 2, -1.0)
    threshold = int(np.argmax(between))
    ink, paper = float(dark_mean[threshold]), float(light_mean[threshold])
    return threshold, paper - ink, ink, paper


def _edge_bands(ink: np.ndarray) -> np.ndarray:
    """Dark pixels joined to an image edge along their row or column: scanner background
    around the paper (a few strokes of a letter touching a tight crop go too, harmlessly)."""
    height, width = ink.shape
    bands = np.zeros_like(ink)
    along_rows = np.arange(width)[None, :]
    along_columns = np.arange(height)[:, None]
    for flipped in (False, True):
        view = ink[:, ::-1] if flipped else ink
        runs = np.where(view.all(axis=1), width, np.argmin(view, axis=1))
        band = along_rows < runs[:, None]
        bands |= band[:, ::-1] if flipped else band
        view = ink[::-1, :] if flipped else ink
        runs = np.where(view.all(axis=0), height, np.argmin(view, axis=0))
        band = along_columns < runs[None, :]
        bands |= band[::-1, :] if flipped else band
    return bands


def _without_specks(ink: np.ndarray) -> np.ndarray:
    """Ink pixels with at least two inked neighbours: lone noise pixels go."""
    padded = np.pad(ink, 1).astype(np.uint8)
    height, width = ink.shape
    neighbours = sum(
        padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    return ink & (np.asarray(neighbours) >= 2)


def _orientation(xs: np.ndarray, ys: np.ndarray, height: int) -> tuple[bool, float]:
    """Whether the text lines run down the image (the columns show them more sharply than
    the rows) and so need a quarter turn, and the skew angle (radians) whose rows are
    sharpest after it."""
    subset = np.random.default_rng(0).permutation(len(xs))[:_SKEW_POINTS]
    xs, ys = xs[subset], ys[subset]
    coarse = np.arange(-_MAX_SKEW_DEGREES, _MAX_SKEW_DEGREES + 0.01, 0.5)
    upright = _sharpest(xs, ys, coarse)
    # A quarter turn clockwise: an ink pixel's column becomes its row.
    turned = _sharpest((height - 1) - ys, xs, coarse)
    turn = turned[1] > upright[1]
    if turn:
        xs, ys = (height - 1) - ys, xs
    best = turned[0] if turn else upright[0]
    fine = np.arange(best - 0.5, best + 0.51, 0.1)
    return turn, math.radians(_sharpest(xs, ys, fine)[0])


def _levelled(
    xs: np.ndarray, ys: np.ndarray, height: int, turn: bool, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (rows, columns) with the text lines turned horizontal and level."""
    xs, ys = xs.astype(np.float64), ys.astype(np.float64)
    if turn:
        xs, ys = (height - 1) - ys, xs
    rows = ys * math.cos(angle) + xs * math.sin(angle)
    columns = xs * math.cos(angle) - ys * math.sin(angle)
    return rows, columns


def _near(ink: np.ndarray) -> np.ndarray:
    """Pixels within one of an ink pixel: the grey rim of the type, not the paper's noise."""
    padded = np.pad(ink, 1)
    height, width = ink.shape
    near = np.zeros_like(ink)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            near |= padded[dy : dy + height, dx : dx + width]
    return near


def _sharpest(xs: np.ndarray, ys: np.ndarray, angles: np.ndarray) -> tuple[float, float]:
    """The angle (degrees) whose row projection is sharpest, and that sharpness."""
    scores = [_sharpness(xs, ys, math.radians(float(angle))) for angle in angles]
    best = int(np.argmax(scores))
    return float(angles[best]), scores[best]


def _sharpness(xs: np.ndarray, ys: np.ndarray, radians: float) -> float:
    """Mean squared row count once the ink is turned back by ``radians``: high when the ink
    gathers in few rows (lines of text), low for ink spread evenly."""
    rows = ys + xs * math.tan(radians)
    counts = np.bincount((rows - rows.min()).astype(np.int64)).astype(np.float64)
    return float(np.dot(counts, counts)) / max(1, len(xs))


def _text_block(rows: np.ndarray, columns: np.ndarray) -> tuple[float, float, float, float] | None:
    """(top, bottom, left, right) of the text block in levelled coordinates: the span of
    rows and columns holding a fair share of ink, so stray specks in the margins, the
    margins themselves and what is left of a scanner border fall outside. None when the
    rows show no lines of text."""
    top, row_counts = rows.min(), _profile(rows)
    left, column_counts = columns.min(), _profile(columns)
    row_span, column_span = _block_span(row_counts), _block_span(column_counts)
    if row_span is None or column_span is None:
        return None
    if not _has_text_lines(row_counts[row_span[0] : row_span[1]]):
        return None
    return (
        top + row_span[0],
        top + row_span[1],
        left + column_span[0],
        left + column_span[1],
    )


def _profile(values: np.ndarray) -> np.ndarray:
    return np.bincount((values - values.min()).astype(np.int64)).astype(np.float64)


def _block_span(counts: np.ndarray) -> tuple[int, int] | None:
    """First and one past the last position where the smoothed profile holds at least
    _BLOCK_SHARE of a typical inked position's ink."""
    width = max(1, len(counts) // 100)
    smoothed = np.convolve(counts, np.ones(width) / width, mode="same")
    inked = smoothed[smoothed > 0]
    if len(inked) == 0:
        return None
    kept = np.nonzero(smoothed >= _BLOCK_SHARE * np.percentile(inked, 90))[0]
    if len(kept) < 2:
        return None
    return int(kept[0]), int(kept[-1]) + 1


def _has_text_lines(counts: np.ndarray) -> bool:
    """Whether the row profile of a block shows lines of text: enough runs of inked rows
    between (nearly) empty ones, runs of much the same height, short beside the block,
    and spaced evenly. Photographs binarise to a few tall blobs or uneven stripes."""
    if len(counts) < 2:
        return False
    inked = (counts > _GAP_SHARE * np.percentile(counts, 90)).astype(np.int8)
    steps = np.diff(np.concatenate(([0], inked, [0])))
    starts, ends = np.nonzero(steps == 1)[0], np.nonzero(steps == -1)[0]
    if len(starts) < _MIN_LINES:
        return False
    heights = ends - starts
    pitches = np.diff(starts)
    typical_height, typical_pitch = np.median(heights), max(1.0, float(np.median(pitches)))
    return bool(
        np.percentile(heights, 90) <= _MAX_LINE_HEIGHT_SPREAD * typical_height
        and typical_height <= _MAX_LINE_HEIGHT_SHARE * len(counts)
        and np.percentile(pitches, 90) <= _MAX_LINE_PITCH_SPREAD * typical_pitch
    )


def _grid_signature(
    rows: np.ndarray,
    columns: np.ndarray,
    weights: np.ndarray,
    box: tuple[float, float, float, float],
) -> np.ndarray | None:
    """Ink density of the text block on the PAGE_GRID less its mean along the row nearby,
    lightly blurred, zero mean and unit norm."""
    top, bottom, left, right = box
    grid_rows, grid_columns = PAGE_GRID
    row = np.floor((rows - top) / max(bottom - top, 1.0) * grid_rows).astype(np.int64)
    column = np.floor((columns - left) / max(right - left, 1.0) * grid_columns).astype(np.int64)
    inside = (row >= 0) & (row < grid_rows) & (column >= 0) & (column < grid_columns)
    cells = np.bincount(
        row[inside] * grid_columns + column[inside],
        weights=weights[inside],
        minlength=PAGE_SIGNATURE_DIM,
    )
    grid = cells.reshape(PAGE_GRID) / max(cells.mean(), 1e-12)
    grid = _blurred(grid - _along_rows_mean(grid))
    grid -= grid.mean()
    norm = float(np.linalg.norm(grid))
    if norm < 1e-9:
        return None
    return (grid / norm).ravel().astype(np.float32)


def _along_rows_mean(grid: np.ndarray) -> np.ndarray:
    """Each cell's mean over _ROW_WINDOW cells of its row (edges repeated)."""
    half = _ROW_WINDOW // 2
    padded = np.pad(grid, ((0, 0), (half, half)), mode="edge")
    sums = np.cumsum(np.pad(padded, ((0, 0), (1, 0))), axis=1)
    return (sums[:, _ROW_WINDOW:] - sums[:, :-_ROW_WINDOW]) / _ROW_WINDOW


def _blurred(grid: np.ndarray) -> np.ndarray:
    """A three-cell blur (neighbours weigh _BLUR) along both axes, edges repeated: a text
    block found a fraction of a cell off still matches."""
    kernel = np.array([_BLUR, 1.0 - 2 * _BLUR, _BLUR])
    padded = np.pad(grid, 1, mode="edge")
    across = kernel[0] * padded[:, :-2] + kernel[1] * padded[:, 1:-1] + kernel[2] * padded[:, 2:]
    return kernel[0] * across[:-2] + kernel[1] * across[1:-1] + kernel[2] * across[2:]
