"""ORB keypoints of a picture, upright and mirrored: the local features that geometric
verification (``heritage.ml.keypoint_match``) compares. Pure (pixels in, keypoints out).

ORB (OpenCV) is oriented, so turns and rotations keep a keypoint's descriptor, and works
on a scale pyramid, so resized copies match. The keypoints are spread over the picture (a grid,
strongest first in each cell), and the mirrored picture's descriptors are extracted at the
mirrored keypoints, so a mirrored copy can be matched too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

KEYPOINT_PX = 512  # keypoints are found on a copy at most this big (never enlarged)
MAX_KEYPOINTS = 400  # kept per picture, spread over the picture (``_spread``)
_DETECTED = 1200  # the strongest corners found first, to choose the spread ones from
DESCRIPTOR_BYTES = 32  # ORB's 256-bit descriptors, packed
_MIN_SIDE = 32  # ORB needs room for its 31-pixel patches
_FAST_THRESHOLD = 13  # FAST corner contrast, of 255
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


def _as_points(keypoints: Sequence[cv2.KeyPoint]) -> np.ndarray:
    """(row, column) of OpenCV keypoints (whose ``pt`` is (x, y))."""
    return np.array([(k.pt[1], k.pt[0]) for k in keypoints], dtype=np.float64).reshape(-1, 2)


def _mirrored(keypoint: cv2.KeyPoint, width: int) -> cv2.KeyPoint:
    """The keypoint in the picture mirrored left-right: its orientation (degrees from the
    x axis) becomes 180 minus itself."""
    x, y = keypoint.pt
    return cv2.KeyPoint(
        float(width - 1 - x),
        float(y),
        keypoint.size,
        (180.0 - keypoint.angle) % 360.0,
        keypoint.response,
        keypoint.octave,
        keypoint.class_id,
    )


def _orb(pixels: np.ndarray) -> Keypoints:
    """Keypoints of the picture (uint8 grey); the mirrored picture's descriptors are
    computed at the mirrored keypoints (detection runs once)."""
    height, width = pixels.shape
    if min(pixels.shape) < _MIN_SIDE:
        return _empty(height, width)
    orb = cv2.ORB.create(nfeatures=_DETECTED, fastThreshold=_FAST_THRESHOLD)
    found = orb.detect(pixels, None)
    if not found:  # a flat picture: no corner to describe
        return _empty(height, width)
    responses = np.array([k.response for k in found], dtype=np.float64)
    kept = _spread(_as_points(found), responses, height, width)
    chosen, descriptors = orb.compute(pixels, [found[i] for i in kept.tolist()])
    if descriptors is None or not len(chosen):
        return _empty(height, width)
    mirrored, mirrored_descriptors = orb.compute(
        np.ascontiguousarray(pixels[:, ::-1]), [_mirrored(k, width) for k in chosen]
    )
    if mirrored_descriptors is None:
        mirrored, mirrored_descriptors = (), np.zeros((0, DESCRIPTOR_BYTES), np.uint8)
    return Keypoints(
        _as_points(chosen).astype(np.float32),
        np.ascontiguousarray(descriptors, dtype=np.uint8).reshape(-1, DESCRIPTOR_BYTES),
        _as_points(mirrored).astype(np.float32),
        np.ascontiguousarray(mirrored_descriptors, dtype=np.uint8).reshape(-1, DESCRIPTOR_BYTES),
        height,
        width,
    )


def image_keypoints(image: Image.Image) -> Keypoints:
    """Keypoints of the picture as decoded (upright, sRGB), reduced to ``KEYPOINT_PX``."""
    grey = image.convert("L")
    if max(grey.size) > KEYPOINT_PX:
        grey.thumbnail((KEYPOINT_PX, KEYPOINT_PX), Image.Resampling.BILINEAR)
    return _orb(np.ascontiguousarray(np.asarray(grey, dtype=np.uint8)))
