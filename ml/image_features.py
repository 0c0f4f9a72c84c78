"""What the near-duplicate detector knows of one image. Pure (pixels in, features out).

Every feature is computed on the image as a viewer shows it, at the working size
(:func:`heritage.ml.image_decode.normalise_image`): EXIF orientation applied, sRGB, alpha on
white. Hashes (64-bit pHash and dHash, and the 255-bit fine hash) cover the eight
orientations; a page of text also gets a page signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from heritage.ml.image_hashes import (
    OrientedHashes,
    oriented_fine_hashes,
    oriented_hashes,
    to_signed64,
)
from heritage.ml.page_signatures import page_signature


@dataclass(frozen=True)
class ImageFeatures:
    hashes: OrientedHashes
    page_signature: np.ndarray | None  # float32 unit vector when the image is a page of text
    fine_hashes: np.ndarray | None = None  # uint64 (8, 4): the fine hash per orientation

    def stored(self) -> tuple[list[int], list[int], list[float] | None]:
        """(pHashes, dHashes as signed 64-bit integers, page signature) as table values."""
        return (
            [to_signed64(value) for value in self.hashes.phashes],
            [to_signed64(value) for value in self.hashes.dhashes],
            None if self.page_signature is None else self.page_signature.tolist(),
        )


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
