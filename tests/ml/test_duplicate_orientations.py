"""The detector groups copies in every orientation and keeps different pages of a book apart.

Each image goes the product's way: encoded bytes -> ``decode_image_bytes`` (EXIF orientation,
working size) -> ``image_features`` -> ``find_candidate_pairs`` with the project's hash-only
thresholds -> canonical ids.
"""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image

from heritage.ml.image_decode import decode_image_bytes
from heritage.ml.image_features import fine_hash_matrix, image_features, page_matrix
from heritage.ml.image_hashes import oriented_fine_hashes
from heritage.ml.near_duplicates import (
    assign_canonical_ids,
    find_candidate_pairs,
    load_thresholds,
)
from heritage.ocr.synthetic_pages import available_fonts, skew, typeset_page

skimage_data = pytest.importorskip("skimage.data")

# What a viewer does for each EXIF orientation, and its inverse (what the camera stored).
_EXIF_SHOWN = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_INVERSE = {Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
            Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270}  # fmt: skip


def _jpeg(image: Image.Image, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def _camera_file(photo: Image.Image, orientation: int) -> bytes:
    """A JPEG as a camera writes it: the sensor's pixels plus the tag that turns them."""
    if orientation == 1:
        return _jpeg(photo, 1)
    shown = _EXIF_SHOWN[orientation]
    return _jpeg(photo.transpose(_INVERSE.get(shown, shown)), orientation)


def _groups(files: dict[str, bytes]) -> dict[str, str]:
    names = sorted(files)
    features = [image_features(decode_image_bytes(files[name])) for name in names]
    thresholds = load_thresholds()
    pairs = find_candidate_pairs(
        names,
        np.array([f.hashes.phashes for f in features], dtype=np.uint64),
        np.array([f.hashes.dhashes for f in features], dtype=np.uint64),
        None,
        thresholds,
        method="hash",
        page_signatures=page_matrix([f.page_signature for f in features]),
        fine_hashes=fine_hash_matrix(features),
    )
    return assign_canonical_ids(names, pairs, [], thresholds)


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return {
        name: Image.fromarray(getattr(skimage_data, name)()).convert("RGB")
        for name in ("astronaut", "coffee", "chelsea", "rocket")
    }


@pytest.mark.parametrize("name", ["astronaut", "coffee", "rocket"])
def test_exif_orientations_1_to_8_group_with_the_original(
    photos: dict[str, Image.Image], name: str
) -> None:
    files = {"original": _jpeg(photos[name])}
    files |= {f"exif-{o}": _camera_file(photos[name], o) for o in range(1, 9)}
    files["other"] = _jpeg(photos["chelsea"])
    canonical = _groups(files)
    assert {canonical[f"exif-{o}"] for o in range(1, 9)} == {canonical["original"]}
    assert canonical["other"] == "other"


@pytest.mark.parametrize("name", ["astronaut", "coffee", "rocket"])
def test_quarter_turns_and_mirrors_group(photos: dict[str, Image.Image], name: str) -> None:
    photo = photos[name]
    files = {
        "original": _jpeg(photo),
        "turned-90": _jpeg(photo.transpose(Image.Transpose.ROTATE_90)),
        "turned-180": _jpeg(photo.transpose(Image.Transpose.ROTATE_180)),
        "turned-270": _jpeg(photo.transpose(Image.Transpose.ROTATE_270)),
        "mirrored": _jpeg(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        "other": _jpeg(photos["chelsea"]),
    }
    canonical = _groups(files)
    assert len({canonical[key] for key in files if key != "other"}) == 1
    assert canonical["other"] == "other"


def _bits(words: np.ndarray) -> int:
    return sum(int(word).bit_count() for word in words)


@pytest.mark.parametrize(
    ("move", "orientation"),
    [
        (Image.Transpose.ROTATE_90, 1),
        (Image.Transpose.ROTATE_180, 2),
        (Image.Transpose.ROTATE_270, 3),
        (Image.Transpose.FLIP_LEFT_RIGHT, 4),
    ],
)
def test_fine_hashes_of_a_turned_copy_are_the_originals_turned(
    photos: dict[str, Image.Image], move: Image.Transpose, orientation: int
) -> None:
    original = oriented_fine_hashes(photos["astronaut"])
    turned = oriented_fine_hashes(photos["astronaut"].transpose(move))
    assert original.shape == (8, 4)
    assert _bits(original[orientation] ^ turned[0]) <= 8
    assert _bits(original[0] ^ turned[0]) > 40
    other = oriented_fine_hashes(photos["chelsea"])
    assert min(_bits(other[k] ^ turned[0]) for k in range(8)) > 40


class _SameLayout(random.Random):
    """The book's type size and margins (the first draws ``typeset_page`` makes), then the
    page's own text."""

    def __init__(self, page: int, layout: tuple[int, ...]) -> None:
        super().__init__(page)
        self._layout = list(layout)

    def randint(self, a: int, b: int) -> int:
        return self._layout.pop(0) if self._layout else super().randint(a, b)


def _book_pages(count: int) -> list[Image.Image]:
    """Consecutive pages of one book: one font, one layout, different text."""
    fonts = available_fonts()
    if not fonts:
        pytest.skip("no TrueType font installed (Debian's fonts-dejavu-core provides one)")
    pages = []
    for index in range(count):
        page, _ = typeset_page("letter", "eng", fonts[0], _SameLayout(index, (44, 240, 260)))
        pages.append(page.resize((page.width // 3, page.height // 3), Image.Resampling.LANCZOS))
    return pages


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_pages_of_one_book_stay_apart_and_derivatives_of_one_page_group() -> None:
    first, second, third = _book_pages(3)
    scan = skew(first, 1.5)
    binarised = scan.point(lambda value: 255 if value > 150 else 0).convert("1")
    files = {
        "p1-scan": _jpeg(scan.convert("RGB")),
        "p1-binarised": _png(binarised),
        "p1-upright": _png(first),
        "p1-turned": _jpeg(first.convert("RGB").transpose(Image.Transpose.ROTATE_90)),
        "p2": _jpeg(skew(second, -1.0).convert("RGB")),
        "p3": _png(third),
    }
    canonical = _groups(files)
    page_one = {canonical[key] for key in files if key.startswith("p1-")}
    assert len(page_one) == 1
    assert canonical["p2"] == "p2"
    assert canonical["p3"] == "p3"
