"""What the near-duplicate detector knows of one image. Pure (pixels in, features out).

Every feature is computed on the image as a viewer shows it, at the working size
(:func:`heritage.ml.image_decode.normalise_image`): EXIF orientation applied, sRGB, alpha on
white. Hashes (64-bit pHash and dHash, and the 255-bit fine hash) cover the eight
orientations; a page of text also gets a page signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image

from heritage.ml.image_hashes import (
    FINE_WORDS,
    ORIENTATIONS,
    OrientedHashes,
    from_signed64,
    oriented_fine_hashes,
    oriented_hashes,
    to_signed64,
)
from heritage.ml.page_signatures import page_signature


class StoredFeatures(NamedTuple):
    """:class:`ImageFeatures` as the columns of ``ml/embeddings`` hold them."""

    phashes: list[int]  # signed, one per orientation
    dhashes: list[int]
    page_signature: list[float] | None
    fine_hashes: list[int] | None  # signed, ORIENTATIONS x FINE_WORDS, orientation-major


@dataclass(frozen=True)
class ImageFeatures:
    hashes: OrientedHashes
    page_signature: np.ndarray | None  # float32 unit vector when the image is a page of text
    fine_hashes: np.ndarray | None = None  # uint64 (8, 4): the fine hash per orientation

    def stored(self) -> StoredFeatures:
        """The features as table values (64-bit hashes as signed integers)."""
        return StoredFeatures(
            phashes=[to_signed64(value) for value in self.hashes.phashes],
            dhashes=[to_signed64(value) for value in self.hashes.dhashes],
            page_signature=None if self.page_signature is None else self.page_signature.tolist(),
            fine_hashes=stored_fine_hashes(self.fine_hashes),
        )


def stored_fine_hashes(fine: np.ndarray | None) -> list[int] | None:
    """uint64 (8, 4) fine hashes -> 32 signed 64-bit integers, orientation-major."""
    if fine is None:
        return None
    words = np.asarray(fine, dtype=np.uint64)
    if words.shape != (ORIENTATIONS, FINE_WORDS):
        raise ValueError(
            f"stored_fine_hashes: shape {words.shape}; expected ({ORIENTATIONS}, {FINE_WORDS})"
        )
    return [to_signed64(int(value)) for value in words.ravel()]


def fine_hashes_from_stored(values: Sequence[int] | None) -> np.ndarray | None:
    """32 stored signed integers -> uint64 (8, 4); None when absent or not 32 values."""
    if not values or len(values) != ORIENTATIONS * FINE_WORDS:
        return None
    words = [from_signed64(int(value)) for value in values]
    return np.array(words, dtype=np.uint64).reshape(ORIENTATIONS, FINE_WORDS)


def image_features(image: Image.Image) -> ImageFeatures:
    """Oriented hashes, fine hashes and, for a page of text, its page signature."""
    return ImageFeatures(
        hashes=oriented_hashes(image),
        page_signature=page_signature(image),
        fine_hashes=oriented_fine_hashes(image),
    )


def fine_hash_matrix(features: Sequence[ImageFeatures]) -> np.ndarray | None:
    """uint64 (n, 8, 4) fine hashes of the images, or None when one of them has none."""
    if not features or any(feature.fine_hashes is None for feature in features):
        return None
    return np.stack([np.asarray(feature.fine_hashes, dtype=np.uint64) for feature in features])


def page_matrix(signatures: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """Page signatures as one (n, dim) array, zero rows for images that are not pages;
    None when none is a page."""
    present = [signature for signature in signatures if signature is not None]
    if not present:
        return None
    matrix = np.zeros((len(signatures), len(present[0])), dtype=np.float32)
    for index, signature in enumerate(signatures):
        if signature is not None:
            matrix[index] = signature
    return matrix
