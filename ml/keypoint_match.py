"""Geometric verification of a candidate pair: do the two pictures share many local features
in one consistent geometric arrangement, over most of both? Pure (keypoints in, a support
count out).

Image vectors and 64-bit hashes summarise a whole picture, so two regions of one star field,
sky or backdrop can agree on them without showing the same thing. A copy (a frame, a caption
band, a crop, a small rotation, a quarter turn, a rescale) keeps the picture's local features
where a similarity transform of the original puts them; two different regions do not. This
is the standard copy-detection step on ORB keypoints (``heritage.ml.image_keypoints``):
mutual nearest neighbours by Hamming distance with a ratio test, RANSAC of a similarity
transform, and the share of both pictures that its inliers cover. A mirrored copy is matched
through the keypoints of the mirrored picture. A detail of a picture (one quarter of a
photograph, published as a record of its own) matches its whole as well as a copy does, but
the transform maps it onto a small part of the whole: a pair counts only when the transform
lays each picture over at least ``MIN_SHARED`` of the other. And a watermark (one line of
text laid over two different pictures) matches itself in one thin band: inliers along a line
(``along_a_line``) are no evidence.
"""

from __future__ import annotations

import cv2
import numpy as np

from heritage.ml.image_keypoints import GRID, Keypoints, cells

_RATIO = 0.85  # a match's Hamming distance below this share of the second-best one
_MAX_HAMMING = 80  # of 256 bits: farther matches are noise
_RESIDUAL_PX = 4.0  # an inlier lands within this many pixels (at KEYPOINT_PX) of its match
_RANSAC_TRIALS = 300  # hypotheses (two matches each) when there are more pairs of matches
_SCALE_RANGE = (0.15, 6.0)  # a copy is at most this much smaller or larger
MIN_SHARED = 0.5  # a copy shows at least this share of each picture (a detail is no copy)
# Inliers along a line: their spread across their narrowest direction (standard deviation)
# under MIN_SPREAD of the picture's shorter side and under LINE_ASPECT of their spread along
# it. A line of text laid over two pictures (a watermark) matches itself along a band a
# twentieth as deep as the picture (0.03) and many times as long; a copy's inliers spread over
# the picture (0.2 to 0.3), or, where only one patch is textured, over a patch as deep as long.
MIN_SPREAD = 0.07
LINE_ASPECT = 0.3
FULL_SUPPORT = GRID * GRID


def mutual_matches(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(m, 2) indices of descriptor pairs that are each other's nearest neighbour by Hamming
    distance, within ``_MAX_HAMMING`` bits, and clearly nearer than the runner-up (a repeated
    texture such as stars or letters gives many near-equal candidates: no evidence). Of equally
    near neighbours the first counts (OpenCV's brute-force distances, as ``argmin`` would)."""
    if len(first) < 2 or len(second) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    first, second = np.ascontiguousarray(first), np.ascontiguousarray(second)
    forward, nearest_two = cv2.batchDistance(
        first, second, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2
    )
    _, backward = cv2.batchDistance(second, first, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=1)
    rows = np.arange(len(first))
    nearest = nearest_two[:, 0].astype(np.int64)
    best, runner_up = forward[:, 0], forward[:, 1]
    mutual = backward[nearest, 0] == rows
    keep = mutual & (best <= _MAX_HAMMING) & (best < _RATIO * runner_up)
    return np.column_stack([rows[keep], nearest[keep]])


def similarity_inliers(source: np.ndarray, target: np.ndarray, seed: int = 0) -> np.ndarray:
    """RANSAC of a similarity transform (rotation, uniform scale, shift; two matches fix
    one): which matches the best model puts within ``_RESIDUAL_PX`` of their partner.

    Points as complex numbers, ``target = a * source + b``; every pair of matches is a
    hypothesis when there are few, else ``_RANSAC_TRIALS`` seeded ones, all scored at once.
    Models that shrink or enlarge beyond ``_SCALE_RANGE`` are no copy and are skipped.
    """
    count = len(source)
    none = np.zeros(count, dtype=bool)
    if count < 2:
        return none
    z = source[:, 1] + 1j * source[:, 0]  # (column, row) as x + iy
    w = target[:, 1] + 1j * target[:, 0]
    first, second = np.triu_indices(count, k=1)
    if len(first) > _RANSAC_TRIALS:
        chosen = np.random.default_rng(seed).choice(len(first), _RANSAC_TRIALS, replace=False)
        first, second = first[chosen], second[chosen]
    span = z[second] - z[first]
    usable = np.abs(span) > 1.0
    first, second, span = first[usable], second[usable], span[usable]
    if not len(first):
        return none
    a = (w[second] - w[first]) / span
    b = w[first] - a * z[first]
    plausible = (np.abs(a) >= _SCALE_RANGE[0]) & (np.abs(a) <= _SCALE_RANGE[1])
    if not plausible.any():
        return none
    a, b = a[plausible], b[plausible]
    within = np.abs(a[:, None] * z[None, :] + b[:, None] - w[None, :]) <= _RESIDUAL_PX
    return within[int(within.sum(axis=1).argmax())]


def fitted_similarity(source: np.ndarray, target: np.ndarray) -> tuple[complex, complex]:
    """The least-squares similarity ``target = a * source + b`` through (row, column) points,
    as complex numbers (column + i row): (a, b)."""
    z = source[:, 1] + 1j * source[:, 0]
    w = target[:, 1] + 1j * target[:, 0]
    z_centred, w_centred = z - z.mean(), w - w.mean()
    spread = float(np.sum(np.abs(z_centred) ** 2))
    if spread == 0.0:
        return 0j, complex(w.mean())
    a = complex(np.sum(np.conj(z_centred) * w_centred)) / spread
    return a, complex(w.mean() - a * z.mean())


def _clipped(polygon: list[complex], width: float, height: float) -> list[complex]:
    """The convex ``polygon`` cut to the rectangle [0, width] x [0, height] (Sutherland and
    Hodgman, one edge of the rectangle at a time)."""
    edges = (
        lambda p: p.real,  # inside where >= 0
        lambda p: width - p.real,
        lambda p: p.imag,
        lambda p: height - p.imag,
    )
    for inside in edges:
        if not polygon:
            break
        kept: list[complex] = []
        for index, current in enumerate(polygon):
            previous = polygon[index - 1]
            here, there = inside(current), inside(previous)
            if (here >= 0) != (there >= 0):
                kept.append(previous + (current - previous) * (there / (there - here)))
            if here >= 0:
                kept.append(current)
        polygon = kept
    return polygon


def _area(polygon: list[complex]) -> float:
    """Shoelace area of a simple polygon."""
    return (
        abs(
            sum(
                (p.conjugate() * q).imag
                for p, q in zip(polygon, polygon[1:] + polygon[:1], strict=True)
            )
        )
        / 2.0
    )


def shared_fraction(a: complex, b: complex, first: Keypoints, second: Keypoints) -> float:
    """The smaller of the two shares: of ``first`` that ``z -> a z + b`` lays inside
    ``second``, and of ``second`` that it covers. 1 for a copy of the whole picture, about
    0.8 for a crop to nine tenths of each side, 0.25 for a quarter of it against the whole."""
    scale = abs(a) ** 2
    if scale == 0.0 or not first.height * first.width or not second.height * second.width:
        return 0.0
    corners = [0j, complex(first.width, 0), complex(first.width, first.height), 1j * first.height]
    overlap = _area(_clipped([a * corner + b for corner in corners], second.width, second.height))
    return min(
        overlap / (scale * first.width * first.height), overlap / (second.width * second.height)
    )


def spreads(points: np.ndarray, keypoints: Keypoints) -> tuple[float, float]:
    """The standard deviations of (row, column) ``points`` across and along their principal
    direction, as shares of the picture's shorter side."""
    side = min(keypoints.height, keypoints.width)
    if len(points) < 3 or not side:
        return 0.0, 0.0
    smallest, largest = np.linalg.eigvalsh(np.cov(points.astype(np.float64).T))
    return float(np.sqrt(max(smallest, 0.0))) / side, float(np.sqrt(max(largest, 0.0))) / side


def along_a_line(points: np.ndarray, keypoints: Keypoints) -> bool:
    """Whether the points lie in one thin band (a line of text), not over an area."""
    across, along = spreads(points, keypoints)
    return across < MIN_SPREAD and across < LINE_ASPECT * along


def _support(
    first_points: np.ndarray,
    first_descriptors: np.ndarray,
    first: Keypoints,
    second_points: np.ndarray,
    second_descriptors: np.ndarray,
    second: Keypoints,
) -> int:
    matches = mutual_matches(first_descriptors, second_descriptors)
    if len(matches) < 3:
        return 0
    source = first_points[matches[:, 0]].astype(np.float64)
    target = second_points[matches[:, 1]].astype(np.float64)
    inliers = similarity_inliers(source, target)
    if inliers.sum() < 3:
        return 0
    scale, shift = fitted_similarity(source[inliers], target[inliers])
    if shared_fraction(scale, shift, first, second) < MIN_SHARED:
        return 0
    if along_a_line(source[inliers], first) or along_a_line(target[inliers], second):
        return 0
    in_first = np.unique(cells(source[inliers], first.height, first.width)).size
    in_second = np.unique(cells(target[inliers], second.height, second.width)).size
    return int(min(in_first, in_second))


def geometric_support(first: Keypoints, second: Keypoints) -> int:
    """How much of both pictures one similarity transform maps onto the other: the cells of
    a ``GRID`` x ``GRID`` grid, in the picture where they are fewer, that hold a keypoint
    match the transform explains (RANSAC inliers). A copy covers most cells; two regions of
    one picture, two pages of one book or two pictures under one watermark cover a few (by
    chance, or where the same text lies). Upright, or the first picture mirrored, whichever
    supports more; symmetric in its arguments; 0 to ``FULL_SUPPORT``."""
    a, b = (first, second) if _order_key(first) <= _order_key(second) else (second, first)
    upright = _support(a.points, a.descriptors, a, b.points, b.descriptors, b)
    mirrored = _support(a.mirrored_points, a.mirrored_descriptors, a, b.points, b.descriptors, b)
    return max(upright, mirrored)


def _order_key(keypoints: Keypoints) -> tuple[int, bytes]:
    """A fixed order of two pictures, so a pair's support does not depend on which comes
    first (RANSAC samples at random, from a fixed seed)."""
    return keypoints.count, keypoints.descriptors.tobytes()[:256]
