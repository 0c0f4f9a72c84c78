"""Perceptual hashes of images: pHash (DCT) and dHash (gradient), 64 bits each.

Pure functions of the pixels (numpy + Pillow). Bits are packed row-major, the first bit the
most significant, so a hash is an unsigned 64-bit integer that fits PostgreSQL's BIGINT once
reinterpreted as signed (see ``to_signed64``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

HASH_BITS = 64
_PHASH_SIZE = 32  # the image is reduced to 32x32 before the DCT
_PHASH_BLOCK = 8  # the 8x8 lowest frequencies make the hash
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class ImageHashes:
    """Perceptual hashes of one image, unsigned 64-bit integers."""

    phash: int
    dhash: int


@cache
def _dct_matrix(size: int) -> np.ndarray:
    """The (unnormalised) DCT-II basis: ``M @ x`` is the DCT of the column vector ``x``."""
    k = np.arange(size)[:, None]
    n = np.arange(size)[None, :]
    return np.cos(np.pi * k * (2 * n + 1) / (2 * size))


def flatten_to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as RGB; transparent pixels count as white, whatever colour they store."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


_TRIM_PROBE_PX = 512  # the border is found on a copy at most this big
_TRIM_TOLERANCE = 24  # per channel, of 255: JPEG ringing along a frame stays "border"
_TRIM_CONTENT_SHARE = 0.02  # a row or column is content when this share of it differs
_TRIM_MIN_KEEP = 0.5  # never trim away more than half of either side


def trim_uniform_border(image: Image.Image) -> Image.Image:
    """The picture without a uniform frame (a mount, a scanner margin, a padding).

    A frame is a band of the colour all four corners share; the content is every row and
    column where more than 2% of the pixels differ from it. Duplicates that differ only by a
    frame then hash and embed alike. Returns the image unchanged (RGB) when the corners
    disagree or when trimming would keep less than half of the width or height.
    """
    rgb = flatten_to_rgb(image)
    probe = rgb.copy()
    probe.thumbnail((_TRIM_PROBE_PX, _TRIM_PROBE_PX), Image.Resampling.BILINEAR)
    pixels = np.asarray(probe, dtype=np.int16)
    corners = pixels[[0, 0, -1, -1], [0, -1, 0, -1]]
    if int(np.ptp(corners, axis=0).max()) > _TRIM_TOLERANCE:
        return rgb
    differs = np.abs(pixels - np.median(corners, axis=0)).max(axis=2) > _TRIM_TOLERANCE
    rows = np.flatnonzero(differs.mean(axis=1) > _TRIM_CONTENT_SHARE)
    columns = np.flatnonzero(differs.mean(axis=0) > _TRIM_CONTENT_SHARE)
    height, width = differs.shape
    if rows.size == 0 or columns.size == 0:
        return rgb
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    if (top, bottom, left, right) == (0, height, 0, width):
        return rgb
    if bottom - top < _TRIM_MIN_KEEP * height or right - left < _TRIM_MIN_KEEP * width:
        return rgb
    scale_x, scale_y = rgb.width / width, rgb.height / height
    box = (
        round(left * scale_x),
        round(top * scale_y),
        round(right * scale_x),
        round(bottom * scale_y),
    )
    return rgb.crop(box)


def _grayscale(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Luminance reduced to ``size`` (width, height) with an antialiasing filter."""
    gray = flatten_to_rgb(image).convert("L").resize(size, Image.Resampling.LANCZOS)
    return np.asarray(gray, dtype=np.float64)


def _pack_bits(bits: np.ndarray) -> int:
    """64 booleans, row-major, to an unsigned integer (first bit most significant)."""
    packed = np.packbits(bits.astype(np.uint8).ravel())
    return int.from_bytes(packed.tobytes(), "big")


def phash(image: Image.Image) -> int:
    """Classic pHash: 32x32 grayscale, 2-D DCT, 8x8 low frequencies compared with their median."""
    return _phash_bits(_grayscale(image, (_PHASH_SIZE, _PHASH_SIZE)))


def dhash(image: Image.Image) -> int:
    """Horizontal-gradient hash: 9x8 grayscale, each bit says the right neighbour is brighter."""
    pixels = _grayscale(image, (9, 8))
    return _pack_bits(pixels[:, 1:] > pixels[:, :-1])


def perceptual_hashes(image: Image.Image) -> ImageHashes:
    """pHash and dHash of an image without its uniform frame (any mode; transparency = white).

    The frame is trimmed first (``trim_uniform_border``), as the encoders do, so a copy with
    a mount or padding still matches; ``phash``/``dhash`` alone hash the pixels as given.
    """
    content = trim_uniform_border(image)
    return ImageHashes(phash=phash(content), dhash=dhash(content))


ORIENTATIONS = 8  # the dihedral group: four quarter turns, each with or without a mirror


@dataclass(frozen=True)
class OrientedHashes:
    """pHash and dHash of an image in each of its eight orientations.

    Index ``k`` is the picture mirrored left to right when ``k >= 4``, then turned
    ``k % 4`` quarter turns counter-clockwise; index 0 is the image as given, so
    ``phashes[0]``/``dhashes[0]`` equal :func:`perceptual_hashes`. A copy turned or mirrored
    by any of these moves has, in one of its orientations, the hashes of the original.
    """

    phashes: tuple[int, ...]
    dhashes: tuple[int, ...]

    @property
    def upright(self) -> ImageHashes:
        return ImageHashes(phash=self.phashes[0], dhash=self.dhashes[0])


def _orient(pixels: np.ndarray, index: int) -> np.ndarray:
    """``pixels`` (rows, columns) in orientation ``index`` (see :class:`OrientedHashes`)."""
    mirrored = pixels[:, ::-1] if index >= 4 else pixels
    return np.rot90(mirrored, index % 4)


def _phash_bits(pixels: np.ndarray) -> int:
    basis = _dct_matrix(_PHASH_SIZE)
    low = (basis @ pixels @ basis.T)[:_PHASH_BLOCK, :_PHASH_BLOCK]
    return _pack_bits(low > np.median(low))


def oriented_hashes(image: Image.Image) -> OrientedHashes:
    """The eight orientations' hashes of an image without its uniform frame.

    Derived from three small reductions of the picture (32x32 for pHash, 9x8 and 8x9 for
    dHash): turning a reduced picture is turning the picture, so this costs little more
    than one pair of hashes.
    """
    content = flatten_to_rgb(trim_uniform_border(image)).convert("L")
    square = np.asarray(
        content.resize((_PHASH_SIZE, _PHASH_SIZE), Image.Resampling.LANCZOS), dtype=np.float64
    )
    wide = np.asarray(content.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.float64)
    tall = np.asarray(content.resize((8, 9), Image.Resampling.LANCZOS), dtype=np.float64)
    phashes, dhashes = [], []
    for index in range(ORIENTATIONS):
        phashes.append(_phash_bits(_orient(square, index)))
        # A quarter turn swaps width and height: the 8x9 reduction turns into a 9x8 one.
        gradient = _orient(tall if index % 2 else wide, index)
        dhashes.append(_pack_bits(gradient[:, 1:] > gradient[:, :-1]))
    return OrientedHashes(phashes=tuple(phashes), dhashes=tuple(dhashes))


# The fine hash: a 64x64 reduction, its 16x16 lowest DCT frequencies less the DC term, each
# compared with their median: 255 bits, packed into four 64-bit words (the last bit is 0).
# Four times the pHash's resolution in each direction, so two regions of one photograph that
# agree in their coarse layout (sky, a backdrop, a near-symmetric subject) still differ.
FINE_SIZE = 64
FINE_BLOCK = 16
FINE_BITS = FINE_BLOCK * FINE_BLOCK - 1
FINE_WORDS = 4


def _fine_bits(pixels: np.ndarray) -> np.ndarray:
    basis = _dct_matrix(FINE_SIZE)
    low = (basis @ pixels @ basis.T)[:FINE_BLOCK, :FINE_BLOCK].ravel()[1:]
    bits = np.zeros(FINE_WORDS * 64, dtype=np.uint8)
    bits[:FINE_BITS] = low > np.median(low)
    return np.packbits(bits).view(">u8").astype(np.uint64)


def oriented_fine_hashes(image: Image.Image) -> np.ndarray:
    """uint64 (8, 4): the fine hash of the image without its uniform frame, in each of the
    eight orientations (index as in :class:`OrientedHashes`)."""
    content = flatten_to_rgb(trim_uniform_border(image)).convert("L")
    square = np.asarray(
        content.resize((FINE_SIZE, FINE_SIZE), Image.Resampling.LANCZOS), dtype=np.float64
    )
    return np.stack([_fine_bits(_orient(square, index)) for index in range(ORIENTATIONS)])


def hamming_distance(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return ((a ^ b) & _MASK64).bit_count()


def to_signed64(value: int) -> int:
    """An unsigned 64-bit hash as the signed integer PostgreSQL's BIGINT can store."""
    return value - (1 << 64) if value >= 1 << 63 else value


def from_signed64(value: int) -> int:
    """The unsigned 64-bit hash back from a signed BIGINT."""
    return value & _MASK64
