"""imagededup's perceptual hash, reproduced as the baseline the near-duplicate detector must beat.

Follows idealo/imagededup exactly:

- ``imagededup/utils/image_utils.py`` (``load_image``, ``preprocess_image``): an image that is
  not RGB is converted to RGBA then RGB (alpha dropped, not flattened); it is resized to
  32 x 32 with ``Image.ANTIALIAS`` (Pillow's LANCZOS) *before* the conversion to greyscale
  ("L"), then read as a uint8 array. EXIF orientation is not applied: imagededup hashes the
  stored pixels.
- ``imagededup/methods/hashing.py`` (``PHash._hash_algo``): ``scipy.fftpack.dct`` along axis 0
  then axis 1 (type II, unnormalised), the top-left 8 x 8 coefficients kept, each compared with
  the median of those 64 coefficients *excluding* the DC term (``flatten()[1:]``), bit set when
  ``coefficient >= median``; ``Hashing._array_to_hash`` packs the 8 x 8 matrix row by row with
  ``np.packbits`` (first coefficient = most significant bit) into a 16-digit hex string.
- ``Hashing.find_duplicates``: duplicates are pairs whose Hamming distance is at most
  ``max_distance_threshold``, 10 by default.

Checked bit for bit against imagededup 0.3.3.post2 (``PHash().encode_image(image_file=...)``)
on 371 files of the evaluation set (bench/duplicate_dataset.py --write): all equal.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy.fftpack import dct

BASELINE_MAX_DISTANCE = 10  # imagededup's default max_distance_threshold
HASH_SIZE = (32, 32)
COEFFICIENTS = 8


def _preprocessed(image: Image.Image) -> np.ndarray:
    if image.mode != "RGB":
        image = image.convert("RGBA").convert("RGB")
    resized = image.resize(HASH_SIZE, Image.Resampling.LANCZOS)
    return np.array(resized.convert("L")).astype("uint8")


def imagededup_phash(image: Image.Image) -> int:
    """imagededup's 64-bit PHash of ``image`` (its stored pixels), as an unsigned integer."""
    coefficients = dct(dct(_preprocessed(image), axis=0), axis=1)
    reduced = coefficients[:COEFFICIENTS, :COEFFICIENTS]
    median = np.median(np.ndarray.flatten(reduced)[1:])
    bits = np.packbits(reduced >= median)
    return int.from_bytes(bits.tobytes(), "big")


def imagededup_phash_of_file(data: bytes) -> int:
    """The hash imagededup gives an encoded file: decoded as stored, no EXIF orientation."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        return imagededup_phash(opened)


def hamming_distance(left: int, right: int) -> int:
    return (left ^ right).bit_count()


def baseline_duplicates(left: int, right: int) -> bool:
    """imagededup's verdict at its default threshold."""
    return hamming_distance(left, right) <= BASELINE_MAX_DISTANCE
