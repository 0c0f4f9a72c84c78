"""ORB keypoints of a picture, upright and mirrored: the local features that geometric
verification (``heritage.ml.keypoint_match``) compares. Pure (pixels in, keypoints out).

ORB (scikit-image) is oriented, so turns and rotations keep a keypoint's descriptor, and works
on a scale pyramid, so resized copies match. The keypoints are spread over the picture (a grid,
strongest first in each cell), and the mirrored picture's descriptors are extracted at the
mirrored keypoints, so a mirrored copy can be matched too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from skimage.feature import ORB

KEYPOINT_PX = 512  # keypoints are found on a copy at most this big (never enlarged)
MAX_KEYPOINTS = 400  # kept per picture, spread over the picture (``_spread``)
_DETECTED = 1200  # the strongest corners found first, to choose the spread ones from
DESCRIPTOR_BYTES = 32  # ORB's 256-bit descriptors, packed
_MIN_SIDE = 32  # ORB needs room for its 31-pixel patches
GRID = 8  # keypoints are spread over, and matches counted in, a GRID x GRID grid of cells


@dataclass(frozen=True)
class Keypoints:
    """ORB keypoints of one picture, upright and mirrored (left-right)."""

    points: np.ndarray  # float32 (k, 2), (row, column) at the keypoint working size
    descriptors: np.ndarray  # uint8 (k, DESCRIPTOR_BYTES), packed bits
    mirrored_points: np.ndarray  # the same for the mirrored picture
    mirrored_descriptors: np.ndarray
    height: int  # the keypoint working size
    width: int

    @property
    def count(self) -> int:
        return len(self.points)


def _empty(height: int, width: int) -> Keypoints:
    points, descriptors = np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_BYTES), np.uint8)
    return Keypoints(points, descriptors, points, descriptors, height, width)


def cells(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """The grid cell of each (row, column) point."""
    rows = np.clip((points[:, 0] * GRID / max(height, 1)).astype(np.int64), 0, GRID - 1)
    columns = np.clip((points[:, 1] * GRID / max(width, 1)).astype(np.int64), 0, GRID - 1)
    return rows * GRID + columns


def _spread(points: np.ndarray, responses: np.ndarray, height: int, width: int) -> np.ndarray:
    """Indices of at most ``MAX_KEYPOINTS`` keypoints taken cell by cell, strongest first
    in each: text laid over a picture (a watermark, a caption) has the strongest corners
    and would otherwise take every keypoint, leaving none on the picture."""
    cell = cells(points, height, width)
    by_strength = np.lexsort((-responses, cell))
    sorted_cells = cell[by_strength]
    first_of_cell = np.searchsorted(sorted_cells, sorted_cells, side="left")
    rank = np.empty(len(points), dtype=np.int64)
    rank[by_strength] = np.arange(len(points)) - first_of_cell
    return np.lexsort((-responses, rank))[:MAX_KEYPOINTS]


def _orb(pixels: np.ndarray) -> Keypoints:
    """Keypoints of the picture; the mirrored picture's descriptors are extracted at the
    mirrored keypoints (detection, the costly part, runs once)."""
    height, width = pixels.shape
    if min(pixels.shape) < _MIN_SIDE:
        return _empty(height, width)
    detector = ORB(n_keypoints=_DETECTED, fast_threshold=0.05)
    try:
        detector.detect_and_extract(pixels)
    except (RuntimeError, ValueError, IndexError):  # a flat picture: no corner to describe
        return _empty(height, width)
    found = np.asarray(detector.keypoints, dtype=np.float64).reshape(-1, 2)
    kept = _spread(found, np.asarray(detector.responses), height, width)
    points = found[kept]
    descriptors = np.packbits(np.asarray(detector.descriptors, dtype=bool)[kept], axis=1)
    # ``extract`` returns descriptors octave by octave: keypoints sorted by scale keep the
    # mask and the descriptors in one order. Mirrored left-right, a keypoint's orientation
    # (its intensity centroid's angle from the column axis) becomes pi minus itself.
    scales, orientations = detector.scales[kept], detector.orientations[kept]
    order = np.argsort(scales, kind="stable")
    mirrored = points[order].copy()
    mirrored[:, 1] = width - 1 - mirrored[:, 1]
    extractor = ORB(n_keypoints=MAX_KEYPOINTS)
    extractor.extract(
        np.ascontiguousarray(pixels[:, ::-1]), mirrored, scales[order], np.pi - orientations[order]
    )
    mirrored_descriptors = np.packbits(np.asarray(extractor.descriptors, dtype=bool), axis=1)
    return Keypoints(
        points.astype(np.float32),
        descriptors.reshape(-1, DESCRIPTOR_BYTES),
        mirrored[extractor.mask_].astype(np.float32),
        mirrored_descriptors.reshape(-1, DESCRIPTOR_BYTES),
        height,
        width,
    )


def image_keypoints(image: Image.Image) -> Keypoints:
    """Keypoints of the picture as decoded (upright, sRGB), reduced to ``KEYPOINT_PX``."""
    grey = image.convert("L")
    if max(grey.size) > KEYPOINT_PX:
        grey.thumbnail((KEYPOINT_PX, KEYPOINT_PX), Image.Resampling.BILINEAR)
    return _orb(np.asarray(grey, dtype=np.float64) / 255.0)
