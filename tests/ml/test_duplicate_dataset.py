"""Invariants of the near-duplicate evaluation set, on a small subset of it."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageOps

from bench.duplicate_dataset import (
    PAGE_TRANSFORMS,
    PHOTO_TRANSFORMS,
    SPLITS,
    BenchImage,
    Labels,
    build_dataset,
    counted_matrix,
    duplicate_matrix,
    photo_transforms_for,
    quadrant_similarity,
    split_families,
)
from bench.phash_baseline import BASELINE_MAX_DISTANCE, hamming_distance, imagededup_phash


@cache
def small_set() -> tuple[BenchImage, ...]:
    return tuple(build_dataset(seed=0, photos=("coffee", "camera"), books=2, pages_per_book=2))


def by_name() -> dict[str, BenchImage]:
    return {image.name: image for image in small_set()}


def opened(image: BenchImage) -> Image.Image:
    with Image.open(io.BytesIO(image.data)) as decoded:
        decoded.load()
        return decoded.copy()


def test_names_are_unique_and_say_group_and_transform() -> None:
    images = small_set()
    assert len({image.name for image in images}) == len(images)
    for image in images:
        assert image.name == f"{image.group}/{image.transform}"
        assert image.kind in ("photo", "page")
        allowed = PHOTO_TRANSFORMS if image.kind == "photo" else PAGE_TRANSFORMS
        assert image.transform == "original" or image.transform in allowed


def test_the_same_seed_gives_the_same_files_whatever_the_subset() -> None:
    again = build_dataset(seed=0, photos=("coffee",), books=1, pages_per_book=1)
    files = {image.name: image.data for image in small_set()}
    assert again
    assert all(files[image.name] == image.data for image in again)


def test_each_family_lies_in_one_split_and_each_kind_in_both() -> None:
    splits: dict[str, set[str]] = {}
    for image in small_set():
        splits.setdefault(image.family, set()).add(image.split)
    assert all(len(chosen) == 1 for chosen in splits.values())
    for kind in ("photo", "page"):
        assert {image.split for image in small_set() if image.kind == kind} == set(SPLITS)


def test_every_file_decodes_and_each_photo_base_has_about_twenty_copies() -> None:
    for image in small_set():
        assert opened(image).width > 0
    copies = [image for image in small_set() if image.group == "coffee"]
    assert 18 <= len(copies) - 1 <= 22
    assert len(photo_transforms_for(0)) == len(copies) - 1


def test_exif_copies_show_the_original_once_the_tag_is_applied() -> None:
    images = by_name()
    exif_copies = [image for image in small_set() if image.transform.startswith("exif")]
    assert exif_copies
    for copy in exif_copies:
        stored = opened(copy)
        assert stored.getexif()[0x0112] in range(2, 9)
        original = opened(images[f"{copy.group}/original"]).convert("RGB")
        shown = ImageOps.exif_transpose(stored).convert("RGB")
        assert shown.size == original.size
        difference = np.abs(np.asarray(shown, float) - np.asarray(original, float)).mean()
        assert difference < 6


def test_binarised_pages_are_one_bit_and_scantailor_output_is_group4() -> None:
    for image in small_set():
        if image.transform in ("binarised", "scantailor"):
            assert opened(image).mode == "1"
        if image.transform == "scantailor":
            assert opened(image).info["compression"] == "group4"


def test_labels_follow_groups_quadrants_books_and_splits() -> None:
    images = list(small_set())
    labels = Labels.of(images)
    assert np.array_equal(labels.duplicate, duplicate_matrix(images))
    assert np.array_equal(labels.counted, counted_matrix(images))
    index = {image.name: position for position, image in enumerate(images)}

    def pair(left: str, right: str) -> tuple[bool, bool]:
        i, j = sorted((index[left], index[right]))
        return bool(labels.duplicate[i, j]), bool(labels.counted[i, j])

    assert pair("coffee/original", "coffee/mirror") == (True, True)
    assert pair("camera/original", "camera#q0/original") == (False, False)  # ambiguous
    assert pair("camera#q0/original", "camera#q1/crop_5") == (False, True)
    assert pair("book00-p0/original", "book00-p1/original") == (False, True)
    split = {image.name: image.split for image in images}
    for left, right in (("coffee/original", "camera/original"),
                        ("book00-p0/original", "book01-p0/original")):  # fmt: skip
        assert pair(left, right)[1] == (split[left] == split[right])
    assert not np.tril(labels.counted).any()


@pytest.mark.parametrize("transform", ["to_jpeg", "resize_50"])
def test_imagededup_phash_matches_light_copies_and_not_other_photos(transform: str) -> None:
    images = by_name()
    original = imagededup_phash(opened(images["coffee/original"]))
    copy = imagededup_phash(opened(images[f"coffee/{transform}"]))
    other = imagededup_phash(opened(images["camera/original"]))
    assert 0 <= original < 2**64
    assert hamming_distance(original, copy) <= BASELINE_MAX_DISTANCE
    assert hamming_distance(original, other) > BASELINE_MAX_DISTANCE


def test_quadrant_similarity_finds_regions_that_are_turns_of_each_other() -> None:
    rng = np.random.default_rng(4)
    corner = Image.fromarray(rng.integers(0, 255, size=(64, 64), dtype=np.uint8)).convert("RGB")
    turned = [corner.rotate(90 * k) for k in range(4)]
    unrelated = [
        Image.fromarray(rng.integers(0, 255, size=(64, 64), dtype=np.uint8)).convert("RGB")
        for _ in range(4)
    ]
    assert quadrant_similarity(turned) == 0
    assert quadrant_similarity(unrelated) > 10


def test_tiled_photographs_are_split_two_by_two_by_hardness() -> None:
    families = {
        f"photo{index}": ("photo-tiled", 5, hardness)
        for index, hardness in enumerate((0, 24, 16, 20, 18, 22))
    }
    families |= {"single": ("photo", 1, 0), "book00": ("book", 4, 0), "book01": ("book", 4, 0)}
    split = split_families(families, seed=0)
    ranked = sorted(
        (name for name, value in families.items() if value[0] == "photo-tiled"),
        key=lambda name: families[name][2],
    )
    for first, second in zip(ranked[::2], ranked[1::2], strict=True):
        assert {split[first], split[second]} == set(SPLITS)
    assert {split["book00"], split["book01"]} == set(SPLITS)
    assert split_families(families, seed=0) == split
