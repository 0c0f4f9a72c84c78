"""Near-duplicate quality on photographs and page scans: tuned on one part, reported on another.

    python bench/ml_quality.py [--encoder auto|offline|tiny] [--tune] [--tuning-only] [--json]
        [--cache FILE]

The evaluation set is ``bench/duplicate_dataset.py``: real photographs shipped in PyPI packages
and typeset book pages, each base with the copies institutions make of it (format conversions,
EXIF orientations, mirrored and turned copies, small rotations with fill, crops, captions,
recompression, colour shifts; binarised, deskewed and cropped page derivatives), split by
photograph and by book into a tuning part and a test part. Every image goes through the
product's path: ``decode_image_bytes`` (orientation, colour profile, working size), oriented
hashes, page signature, the encoder, ORB keypoints (``image_keypoints``); the candidate pairs
whose verdict depends on it are verified geometrically (``geometric_support``) as
``find_candidate_pairs`` verifies them, and ``--cache`` keeps every verified pair's support.

- ``--tune`` fits the score's logistic calibration on the **tuning part only**, then searches
  the detector's and the grouping's thresholds there: the highest grouped recall at grouped
  precision >= 0.995, with precision still >= 0.99 when every threshold is one grid step
  looser (a margin from the nearest distinct pairs). Groups are joined as the product joins
  them (``join_groups``: by descending score, two groups only on enough support). It prints
  the TOML table to put in config/near_duplicates.toml. Without ``--tune`` the thresholds of
  that file are used. ``--tuning-only``: figures and false pairs of the tuning part alone,
  the test part left unseen (for work on the detector).
- The figures are on the **test part**: pair precision and recall of the detector and of the
  groups it implies, recall and precision per transform, every false pair, the calibration's
  reliability, and a plain pHash baseline (imagededup's PHash, Hamming distance <= 10, on the
  images as decoded without orientation) on the same pairs.

Pairs across the two parts are never counted; a whole photograph and one of its own quadrants
are ambiguous and left out.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parent))

from duplicate_dataset import BenchImage, build_dataset
from phash_baseline import BASELINE_MAX_DISTANCE, imagededup_phash

from heritage.ml.encoders import load_encoder
from heritage.ml.image_decode import decode_image_bytes
from heritage.ml.image_features import image_features, page_matrix
from heritage.ml.image_hashes import FINE_BITS, ORIENTATIONS
from heritage.ml.image_keypoints import DESCRIPTOR_BYTES, Keypoints, image_keypoints
from heritage.ml.keypoint_match import FULL_SUPPORT
from heritage.ml.near_duplicates import (
    CALIBRATION_FEATURES,
    DuplicateThresholds,
    PairFeatures,
    calibrated_scores,
    image_evidence,
    join_groups,
    judge,
    load_thresholds,
    needs_verification,
    pair_features,
    pair_support,
    with_verification,
)
from heritage.ml_settings import load_encoder_config
from heritage.settings import load_settings

PRECISION_TARGET = 0.99
TUNING_PRECISION = 0.995  # a margin over the target, searched on the tuning part only
MARGIN_PRECISION = PRECISION_TARGET  # ... and the target still met one step looser
RELIABILITY_BINS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001)


@dataclass
class Computed:
    """What the product computes for each image, in dataset order."""

    phashes: np.ndarray  # uint64 (n, 8)
    dhashes: np.ndarray
    fine: np.ndarray  # uint64 (n, 8, 4)
    pages: np.ndarray | None
    vectors: np.ndarray
    baseline: np.ndarray  # uint64 (n,), imagededup's PHash
    seconds: dict[str, float]
    keypoints: list[Keypoints]
    # Geometric verification of the pairs verified so far: (i, j) dataset indices, i < j.
    inliers: dict[tuple[int, int], int]


def compute_features(images: Sequence[BenchImage]) -> dict[str, Any]:
    """Decode and hash every image: the arrays of ``Computed`` but the vectors."""
    decode = hashing = 0.0
    phashes, dhashes, fine, pages, baseline = [], [], [], [], []
    for item in images:
        started = time.perf_counter()
        image = decode_image_bytes(item.data)
        decoded_at = time.perf_counter()
        features = image_features(image)
        decode += decoded_at - started
        hashing += time.perf_counter() - decoded_at
        phashes.append(features.hashes.phashes)
        dhashes.append(features.hashes.dhashes)
        fine.append(features.fine_hashes)
        pages.append(features.page_signature)
        with Image.open(io.BytesIO(item.data)) as raw:  # as imagededup reads a file
            baseline.append(imagededup_phash(raw.convert("RGB")))
    page_rows = page_matrix(pages)
    return {
        "phashes": np.array(phashes, dtype=np.uint64).reshape(-1, ORIENTATIONS),
        "dhashes": np.array(dhashes, dtype=np.uint64).reshape(-1, ORIENTATIONS),
        "fine": np.array(fine, dtype=np.uint64),
        "pages": page_rows if page_rows is not None else np.zeros(0),
        "baseline": np.array(baseline, dtype=np.uint64),
        "seconds": json.dumps({"decode": decode, "hash_and_page": hashing}),
    }


def compute_vectors(images: Sequence[BenchImage], encoder: Any) -> dict[str, Any]:
    """Embed every image, 32 at a time (so few decoded images are held)."""
    embedding = 0.0
    vectors = []
    for start in range(0, len(images), 32):
        batch = [decode_image_bytes(item.data) for item in images[start : start + 32]]
        started = time.perf_counter()
        vectors.append(encoder.encode_images(batch))
        embedding += time.perf_counter() - started
    return {
        "vectors": np.concatenate(vectors).astype(np.float32),
        "embed_seconds": embedding,
    }


def compute_keypoints(images: Sequence[BenchImage]) -> dict[str, Any]:
    """ORB keypoints of every image (upright and mirrored), as flat arrays with counts."""
    seconds = 0.0
    found = []
    for item in images:
        image = decode_image_bytes(item.data)
        started = time.perf_counter()
        found.append(image_keypoints(image))
        seconds += time.perf_counter() - started
    return {
        "kp_points": np.concatenate([k.points for k in found]),
        "kp_descriptors": np.concatenate([k.descriptors for k in found]),
        "kp_counts": np.array([len(k.points) for k in found], dtype=np.int64),
        "kp_mirrored_points": np.concatenate([k.mirrored_points for k in found]),
        "kp_mirrored_descriptors": np.concatenate([k.mirrored_descriptors for k in found]),
        "kp_mirrored_counts": np.array([len(k.mirrored_points) for k in found], dtype=np.int64),
        "kp_sizes": np.array([(k.height, k.width) for k in found], dtype=np.int64),
        "keypoint_seconds": seconds,
        "verify_key": "",  # verified pairs are recomputed whenever the keypoints change
    }


def _split(values: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    return np.split(values, np.cumsum(counts)[:-1])


def stored_keypoints(stored: dict[str, Any]) -> list[Keypoints]:
    return [
        Keypoints(
            points,
            descriptors.reshape(-1, DESCRIPTOR_BYTES),
            mirrored,
            mirrored_descriptors.reshape(-1, DESCRIPTOR_BYTES),
            int(height),
            int(width),
        )
        for points, descriptors, mirrored, mirrored_descriptors, (height, width) in zip(
            _split(stored["kp_points"], stored["kp_counts"]),
            _split(stored["kp_descriptors"], stored["kp_counts"]),
            _split(stored["kp_mirrored_points"], stored["kp_mirrored_counts"]),
            _split(stored["kp_mirrored_descriptors"], stored["kp_mirrored_counts"]),
            stored["kp_sizes"].tolist(),
            strict=True,
        )
    ]


def dataset_digest(images: Sequence[BenchImage], salt: str, modules: Sequence[str]) -> str:
    digest = hashlib.sha256(salt.encode())
    for item in images:
        digest.update(item.name.encode())
        digest.update(hashlib.sha256(item.data).digest())
    for module in modules:
        digest.update((Path(__file__).resolve().parent.parent / "ml" / f"{module}.py").read_bytes())
    return digest.hexdigest()[:16]


_FEATURE_MODULES = ("image_decode", "image_hashes", "page_signatures", "image_features")
_KEYPOINT_MODULES = ("image_decode", "image_keypoints")
_VERIFY_MODULES = ("keypoint_match",)


def cached_compute(images: Sequence[BenchImage], encoder: Any, cache: Path | None) -> Computed:
    """Features and vectors, each taken from ``cache`` when the images and the code that
    computes it match (a change to the hashes keeps the vectors, the slow part)."""
    feature_key = dataset_digest(images, "features", _FEATURE_MODULES)
    vector_key = dataset_digest(images, encoder.name, ("image_decode",))
    keypoint_key = dataset_digest(images, "keypoints", _KEYPOINT_MODULES)
    verify_key = dataset_digest(images, "verified", (*_KEYPOINT_MODULES, *_VERIFY_MODULES))
    stored: dict[str, Any] = {}
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as loaded:
            stored = {name: loaded[name] for name in loaded.files}
    if str(stored.get("feature_key")) != feature_key:
        stored.update(compute_features(images), feature_key=feature_key)
    if str(stored.get("vector_key")) != vector_key:
        stored.update(compute_vectors(images, encoder), vector_key=vector_key)
    if str(stored.get("keypoint_key")) != keypoint_key:
        stored.update(compute_keypoints(images), keypoint_key=keypoint_key)
    if str(stored.get("verify_key")) != verify_key:  # verified pairs: again with new code
        stored.update(
            inlier_pairs=np.zeros((0, 2), dtype=np.int64),
            inlier_values=np.zeros(0, dtype=np.int64),
            verify_seconds=0.0,
            verify_key=verify_key,
        )
    if cache is not None:
        np.savez(cache, **stored)
    pages = stored["pages"]
    verified = stored["inlier_pairs"].reshape(-1, 2)
    return Computed(
        stored["phashes"],
        stored["dhashes"],
        stored["fine"],
        pages if pages.size else None,
        stored["vectors"],
        stored["baseline"],
        {
            **json.loads(str(stored["seconds"])),
            "embed": float(stored["embed_seconds"]),
            "keypoints": float(stored["keypoint_seconds"]),
            "verify": float(stored["verify_seconds"]),
        },
        stored_keypoints(stored),
        dict(zip(map(tuple, verified.tolist()), stored["inlier_values"].tolist(), strict=True)),
    )


def save_verified(computed: Computed, cache: Path | None) -> None:
    """Keep the pairs verified in this run in ``cache`` for the next one."""
    if cache is None or not cache.is_file():
        return
    with np.load(cache, allow_pickle=False) as loaded:
        stored = {name: loaded[name] for name in loaded.files}
    pairs = sorted(computed.inliers)
    stored["inlier_pairs"] = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    stored["inlier_values"] = np.array([computed.inliers[p] for p in pairs], dtype=np.int64)
    stored["verify_seconds"] = computed.seconds["verify"]
    np.savez(cache, **stored)


def verify_pairs(
    computed: Computed, index: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Keypoint inliers of the pairs (part-local ``left``, ``right``; ``index`` maps them to
    the dataset), computing only those not verified before; seconds added to 'verify'."""
    first = np.minimum(index[left], index[right])
    second = np.maximum(index[left], index[right])
    keys = list(zip(first.tolist(), second.tolist(), strict=True))
    missing = [i for i, key in enumerate(keys) if key not in computed.inliers]
    if missing:
        started = time.perf_counter()
        chosen = np.array(missing)
        found = pair_support(computed.keypoints, first[chosen], second[chosen])
        computed.seconds["verify"] += time.perf_counter() - started
        computed.inliers.update(zip((keys[i] for i in missing), found.tolist(), strict=True))
    return np.array([computed.inliers[key] for key in keys], dtype=np.int64)


@dataclass
class Part:
    """One split: its images, every labelled pair's features and labels."""

    images: list[BenchImage]
    left: np.ndarray
    right: np.ndarray
    duplicate: np.ndarray  # bool per pair
    features: PairFeatures
    baseline_distance: np.ndarray
    # Pairs left out of every count (a whole photograph and a quadrant of itself): still
    # compared, since an accepted one joins groups in the product as any other pair does.
    ambiguous_left: np.ndarray
    ambiguous_right: np.ndarray
    ambiguous_features: PairFeatures
    ambiguous_baseline: np.ndarray


def part_of(
    images: Sequence[BenchImage], computed: Computed, split: str, vectors: bool = True
) -> Part:
    """The pairs of one split; ``vectors=False``: as the hash-only method sees them."""
    chosen = [i for i, item in enumerate(images) if item.split == split]
    members = [images[i] for i in chosen]
    left, right = np.triu_indices(len(chosen), k=1)
    group = np.array([item.group for item in members])
    family = np.array([item.family for item in members])
    whole = np.array([item.whole for item in members])
    same_group = group[left] == group[right]
    # A whole photograph and a quadrant of itself: neither clearly the same nor distinct.
    ambiguous = (family[left] == family[right]) & ~same_group & (whole[left] != whole[right])
    ambiguous_left, ambiguous_right = left[ambiguous], right[ambiguous]
    left, right, same_group = left[~ambiguous], right[~ambiguous], same_group[~ambiguous]
    index = np.array(chosen)
    evidence = image_evidence(
        [item.name for item in members],
        computed.phashes[index],
        computed.dhashes[index],
        computed.vectors[index] if vectors else None,
        None if computed.pages is None else computed.pages[index],
        computed.fine[index],
    )
    hashes = computed.baseline[index]
    return Part(
        members,
        left,
        right,
        same_group,
        verified_features(computed, index, evidence, left, right),
        np.bitwise_count(hashes[left] ^ hashes[right]).astype(np.int64),
        ambiguous_left,
        ambiguous_right,
        verified_features(computed, index, evidence, ambiguous_left, ambiguous_right),
        np.bitwise_count(hashes[ambiguous_left] ^ hashes[ambiguous_right]).astype(np.int64),
    )


def verified_features(
    computed: Computed, index: np.ndarray, evidence: Any, left: np.ndarray, right: np.ndarray
) -> PairFeatures:
    """Pair features, with the keypoint inliers of every pair that the loosest setting of
    the search would verify (the product verifies a subset of these: the same verdicts)."""
    features = pair_features(evidence, left, right)
    chosen = needs_verification(features, LOOSEST_VERIFICATION)
    return with_verification(
        features, chosen, verify_pairs(computed, index, left[chosen], right[chosen])
    )


@dataclass
class Accepted:
    """What a method accepts on one part, with each accepted pair's score (the order in
    which pairs join groups) and the grouping rule."""

    counted: np.ndarray  # bool per labelled pair
    ambiguous: np.ndarray  # bool per ambiguous pair
    counted_scores: np.ndarray
    ambiguous_scores: np.ndarray
    rule: DuplicateThresholds  # merge_support 0: plain connected components


def grouped(part: Part, accepted: Accepted) -> np.ndarray:
    """Per labelled pair: are the two in one group once the accepted pairs are joined as the
    product joins them (``join_groups``)?"""
    n = len(part.images)
    counted, ambiguous = accepted.counted, accepted.ambiguous
    rows = np.concatenate([part.left[counted], part.ambiguous_left[ambiguous]])
    columns = np.concatenate([part.right[counted], part.ambiguous_right[ambiguous]])
    if accepted.rule.merge_support <= 0:
        edges = coo_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, n))
        _, component = connected_components(edges, directed=False)
        return component[part.left] == component[part.right]
    weights = np.concatenate(
        [accepted.counted_scores[counted], accepted.ambiguous_scores[ambiguous]]
    )
    names = [f"{index:06d}" for index in range(n)]
    canonical = join_groups(
        names,
        zip(weights.tolist(), (names[i] for i in rows), (names[j] for j in columns), strict=True),
        accepted.rule,
    )
    component = np.array([int(canonical[name]) for name in names])
    return component[part.left] == component[part.right]


def scores(found: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    true_positive = int((found & truth).sum())
    detected, relevant = int(found.sum()), int(truth.sum())
    precision = true_positive / detected if detected else 1.0
    recall = true_positive / relevant if relevant else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true_positives": true_positive,
        "detected": detected,
        "duplicates": relevant,
    }


def accepted_by(part: Part, thresholds: DuplicateThresholds, method: str) -> Accepted:
    """What the detector accepts, scored by the calibration of ``thresholds``."""
    return Accepted(
        judge(part.features, thresholds, method).accepted,
        judge(part.ambiguous_features, thresholds, method).accepted,
        calibrated_scores(part.features, thresholds),
        calibrated_scores(part.ambiguous_features, thresholds),
        thresholds,
    )


def baseline_accepts(part: Part) -> Accepted:
    return Accepted(
        part.baseline_distance <= BASELINE_MAX_DISTANCE,
        part.ambiguous_baseline <= BASELINE_MAX_DISTANCE,
        1.0 - part.baseline_distance / 64,
        1.0 - part.ambiguous_baseline / 64,
        DuplicateThresholds(),
    )


# --- tuning (tuning part only) -----------------------------------------------------------


def _grid(values: np.ndarray, decimals: int) -> tuple[float, ...]:
    return tuple(np.round(values, decimals).tolist())


SEARCH_SPACE: dict[str, Sequence[float]] = {
    "hash_max_distance": range(4, 27, 2),
    "dhash_max_distance": range(4, 25, 2),
    # Hash matches always need the fine hashes to agree: at most 96 of 255 bits apart (two
    # unrelated pictures differ in about 127), turned ones at most 64 (eight orientations give
    # a coincidence eight chances, and a turned copy's fine hash is the original's turned,
    # within a few bits).
    "fine_max_distance": range(8, 97, 8),
    "turned_fine_max_distance": range(8, 65, 8),
    "hash_confirm_cosine": _grid(np.arange(0.3, 0.91, 0.05), 2),
    "turned_confirm_cosine": _grid(np.arange(0.3, 0.91, 0.05), 2),
    "cosine_min": _grid(np.arange(0.80, 0.991, 0.01), 2),
    "page_similarity_min": _grid(np.arange(0.4, 0.951, 0.05), 2),
    "page_confirm_similarity": _grid(np.arange(0.1, 0.91, 0.1), 2),
    "merge_support": (0.0, 0.1, 0.2, 0.3, 0.5, 0.75),
    "merge_strong_score": (0.9, 0.99, 0.999, 0.9999, 1.0),
    # Geometric verification: the cells of an 8x8 grid that keypoint matches consistent with
    # one similarity transform cover (heritage.ml.keypoint_match): most for a copy, a few by
    # chance for two regions of one picture.
    "keypoint_min_support": (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32),
    "keypoint_cosine_min": _grid(np.arange(0.6, 0.951, 0.05), 2),
}
# Not searched: keypoint_hash_distance (config/near_duplicates.toml, -1: every hash match
# between records with keypoints is verified). The quadrants of a near-symmetric picture can
# agree on every hash; a part without such a picture would always loosen it.
# Which way each threshold loosens the detector: +1 when a larger value accepts more.
LOOSER = {
    "hash_max_distance": 1,
    "dhash_max_distance": 1,
    "fine_max_distance": 1,
    "turned_fine_max_distance": 1,
    "hash_confirm_cosine": -1,
    "turned_confirm_cosine": -1,
    "cosine_min": -1,
    "page_similarity_min": -1,
    "page_confirm_similarity": -1,
    "merge_support": -1,
    "merge_strong_score": -1,
    "keypoint_min_support": -1,
    "keypoint_cosine_min": -1,
}
# Where the search starts: strict enough to be precise on any part; it loosens from here.
STRICT_START = {
    "hash_max_distance": 8,
    "dhash_max_distance": 8,
    "fine_max_distance": 24,
    "turned_fine_max_distance": 16,
    "hash_confirm_cosine": 0.8,
    "turned_confirm_cosine": 0.8,
    "cosine_min": 0.95,
    "page_similarity_min": 0.8,
    "page_confirm_similarity": 0.5,
    "merge_support": 0.5,
    "merge_strong_score": 1.0,
    "keypoint_min_support": 16,
    "keypoint_cosine_min": 0.8,
}
# Every pair that some setting of the search would verify geometrically.
LOOSEST_VERIFICATION = DuplicateThresholds(
    hash_max_distance=max(SEARCH_SPACE["hash_max_distance"]),
    dhash_max_distance=max(SEARCH_SPACE["dhash_max_distance"]),
    fine_max_distance=max(SEARCH_SPACE["fine_max_distance"]),
    turned_fine_max_distance=max(SEARCH_SPACE["turned_fine_max_distance"]),
    hash_confirm_cosine=min(SEARCH_SPACE["hash_confirm_cosine"]),
    turned_confirm_cosine=min(SEARCH_SPACE["turned_confirm_cosine"]),
    page_confirm_similarity=min(SEARCH_SPACE["page_confirm_similarity"]),
    cosine_min=min(SEARCH_SPACE["cosine_min"]),
    keypoint_min_support=1,
    keypoint_cosine_min=min(SEARCH_SPACE["keypoint_cosine_min"]),
    keypoint_hash_distance=-1,
)


_COUNTS = ("keypoint_min_support",)  # integer thresholds that are not bit distances


def _typed(name: str, value: float) -> float | int:
    return int(value) if name.endswith("distance") or name in _COUNTS else float(value)


def loosened(thresholds: DuplicateThresholds, steps: int = 1) -> DuplicateThresholds:
    """Every searched threshold ``steps`` grid steps looser; past the grid's loose end, by
    its last step again (a setting at the edge of the grid keeps a margin too), within the
    threshold's range."""
    changes = {}
    for name, values in SEARCH_SPACE.items():
        grid = np.asarray(values, dtype=np.float64)
        if LOOSER[name] < 0:
            grid = grid[::-1]
        position = int(np.abs(grid - getattr(thresholds, name)).argmin()) + steps
        if position < len(grid):
            value = grid[position]
        else:
            value = grid[-1] + (grid[-1] - grid[-2]) * (position - len(grid) + 1)
        if name.endswith("distance"):
            bounds: tuple[float, float] = (0, FINE_BITS if "fine" in name else 64)
        elif name in _COUNTS:
            bounds = (1, FULL_SUPPORT)  # 0 would turn the verification off, not loosen it
        else:
            bounds = (0, 1)
        changes[name] = _typed(name, float(np.clip(value, *bounds)))
    return replace(thresholds, **changes)


def _subset(features: PairFeatures, index: np.ndarray) -> PairFeatures:
    return PairFeatures(
        **{field.name: getattr(features, field.name)[index] for field in fields(features)}
    )


def _reachable(features: PairFeatures) -> np.ndarray:
    """Pairs that the loosest setting of the search could accept (a superset)."""
    return (
        (
            (features.phash_distance <= max(SEARCH_SPACE["hash_max_distance"]))
            & (features.dhash_distance <= max(SEARCH_SPACE["dhash_max_distance"]))
        )
        | (features.cosine >= min(SEARCH_SPACE["cosine_min"]))
        | (features.verified & (features.cosine >= min(SEARCH_SPACE["keypoint_cosine_min"])))
        | (
            features.both_pages
            & (features.page_similarity >= min(SEARCH_SPACE["page_similarity_min"]))
        )
    )


class _Reachable:
    """``accepted_by`` for the search: judges only the reachable pairs, scores computed once
    (the calibration does not change during the search)."""

    def __init__(self, part: Part, calibrated: DuplicateThresholds, method: str) -> None:
        self.part, self.method = part, method
        self.index = np.flatnonzero(_reachable(part.features))
        self.ambiguous_index = np.flatnonzero(_reachable(part.ambiguous_features))
        self.features = _subset(part.features, self.index)
        self.ambiguous_features = _subset(part.ambiguous_features, self.ambiguous_index)
        self.scores = calibrated_scores(part.features, calibrated)
        self.ambiguous_scores = calibrated_scores(part.ambiguous_features, calibrated)

    def accepted(self, thresholds: DuplicateThresholds) -> Accepted:
        counted = np.zeros(len(self.part.left), dtype=bool)
        counted[self.index] = judge(self.features, thresholds, self.method).accepted
        ambiguous = np.zeros(len(self.part.ambiguous_left), dtype=bool)
        ambiguous[self.ambiguous_index] = judge(
            self.ambiguous_features, thresholds, self.method
        ).accepted
        return Accepted(counted, ambiguous, self.scores, self.ambiguous_scores, thresholds)


def tune(part: Part, start: DuplicateThresholds, method: str = "combined") -> DuplicateThresholds:
    """Coordinate search from ``STRICT_START``: each threshold in turn set to the value with
    the highest grouped recall such that grouped and pair precision are >= TUNING_PRECISION at
    the setting and still >= MARGIN_PRECISION with every threshold one grid step looser at once
    (a margin from the nearest distinct pairs, not the loosest setting that passes); ties:
    the stricter value. Three rounds. ``start``'s calibration orders the joins."""

    judged = _Reachable(part, start, method)

    def precision_recall(candidate: DuplicateThresholds) -> tuple[float, float]:
        """Grouped recall, and the lower of grouped and pair precision: the review page
        shows a group's pairs, so a wrong pair is a wrong answer even where the grouping
        rule keeps it from joining two groups."""
        accepted = judged.accepted(candidate)
        result = scores(grouped(part, accepted), part.duplicate)
        pairs = scores(accepted.counted, part.duplicate)
        return min(result["precision"], pairs["precision"]), result["recall"]

    def objective(candidate: DuplicateThresholds) -> tuple[bool, float, float]:
        precision, recall = precision_recall(candidate)
        margin_precision, _ = precision_recall(loosened(candidate))
        if precision >= TUNING_PRECISION and margin_precision >= MARGIN_PRECISION:
            return True, recall, margin_precision
        return False, min(precision, margin_precision), recall

    best = replace(start, **STRICT_START)
    best_score = objective(best)
    for _ in range(3):
        for name, values in SEARCH_SPACE.items():
            for value in values:
                candidate = replace(best, **{name: _typed(name, value)})
                score = objective(candidate)
                if score > best_score:
                    best, best_score = candidate, score
    return best


def fit_calibration(part: Part) -> tuple[tuple[str, float], ...]:
    """Logistic regression of 'duplicate' on the pair features, over the pairs that have
    some evidence (what the detector scores), tuning part only."""
    from sklearn.linear_model import LogisticRegression

    features = part.features
    near = _near(features)
    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(features.matrix()[near], part.duplicate[near])
    weights = dict(zip(CALIBRATION_FEATURES, model.coef_[0].tolist(), strict=True))
    weights["intercept"] = float(model.intercept_[0])
    return tuple(sorted((name, round(value, 4)) for name, value in weights.items()))


def _near(features: PairFeatures) -> np.ndarray:
    """Pairs with some evidence: the ones a calibration must rank."""
    return (
        (features.phash_distance <= 28)
        | (features.cosine >= 0.7)
        | (features.both_pages & (features.page_similarity >= 0.3))
    )


# --- the report (test part) ----------------------------------------------------------------


def evaluate(
    part: Part,
    thresholds: DuplicateThresholds,
    hash_part: Part,
    hash_thresholds: DuplicateThresholds,
) -> dict[str, Any]:
    """Scores on one split: the combined detector, the hash-only one (its own thresholds,
    no vectors) and the pHash baseline."""
    results: dict[str, Any] = {}
    transform = np.array([item.transform for item in part.images])
    kind = np.array([item.kind for item in part.images])
    methods: dict[str, Accepted] = {
        "combined": accepted_by(part, thresholds, "combined"),
        "hash": accepted_by(hash_part, hash_thresholds, "hash"),
        "phash_baseline": baseline_accepts(part),
    }
    left_t, right_t = transform[part.left], transform[part.right]
    for method, accepted in methods.items():
        together = grouped(part, accepted)
        found = accepted.counted
        per_transform = {}
        for name in sorted(set(transform) - {"original"}):
            base_copy = ((left_t == "original") & (right_t == name)) | (
                (left_t == name) & (right_t == "original")
            )
            involves = (left_t == name) | (right_t == name)
            per_transform[name] = {
                "kind": str(kind[transform == name][0]),
                "recall": scores(found[base_copy], part.duplicate[base_copy])["recall"],
                "pairs": int((base_copy & part.duplicate).sum()),
                "precision": scores(found[involves], part.duplicate[involves])["precision"],
            }
        results[method] = {
            "false_by_kind": {
                "detector": false_kinds(part, found),
                "grouped": false_kinds(part, together),
            },
            "detector": scores(found, part.duplicate),
            "grouped": scores(together, part.duplicate),
            "photo_pairs": scores(
                found[kind[part.left] == "photo"], part.duplicate[kind[part.left] == "photo"]
            ),
            "page_pairs": scores(
                found[kind[part.left] == "page"], part.duplicate[kind[part.left] == "page"]
            ),
            "transforms": per_transform,
            "false_pairs": false_pairs(part, found),
        }
    results["calibration"] = reliability(part, thresholds, methods["combined"].counted)
    return results


def false_kinds(part: Part, found: np.ndarray) -> dict[str, int]:
    """False pairs by what the two images are: two regions of one photograph (its
    quadrants), two pages of one book, or unrelated images."""
    family = np.array([item.family for item in part.images])
    kind = np.array([item.kind for item in part.images])
    wrong = found & ~part.duplicate
    same_family = family[part.left] == family[part.right]
    pages = (kind[part.left] == "page") & (kind[part.right] == "page")
    return {
        "regions_of_one_photograph": int((wrong & same_family & ~pages).sum()),
        "pages_of_one_book": int((wrong & same_family & pages).sum()),
        "unrelated": int((wrong & ~same_family).sum()),
    }


def false_pairs(part: Part, found: np.ndarray) -> list[dict[str, Any]]:
    wrong = np.flatnonzero(found & ~part.duplicate)
    features = part.features
    return [
        {
            "pair": [part.images[part.left[i]].name, part.images[part.right[i]].name],
            "phash": int(features.phash_distance[i]),
            "dhash": int(features.dhash_distance[i]),
            "cosine": round(float(features.cosine[i]), 3),
            "page": round(float(features.page_similarity[i]), 3),
            "support": int(features.keypoint_support[i]),
        }
        for i in wrong[:50]
    ]


def reliability(
    part: Part, thresholds: DuplicateThresholds, accepted: np.ndarray
) -> dict[str, Any]:
    """Predicted probability against the observed share of duplicates, in bins, over the
    pairs with some evidence; and the Brier score."""
    near = _near(part.features)
    predicted = calibrated_scores(part.features, thresholds)[near]
    truth = part.duplicate[near]
    bins = []
    for low, high in itertools.pairwise(RELIABILITY_BINS):
        chosen = (predicted >= low) & (predicted < high)
        if chosen.any():
            bins.append(
                {
                    "bin": f"{low:.2f}-{min(high, 1.0):.2f}",
                    "pairs": int(chosen.sum()),
                    "mean_predicted": round(float(predicted[chosen].mean()), 3),
                    "observed": round(float(truth[chosen].mean()), 3),
                }
            )
    brier = float(np.mean((predicted - truth) ** 2)) if len(truth) else 0.0
    accepted_scores = calibrated_scores(part.features, thresholds)[accepted]
    return {
        "pairs": int(near.sum()),
        "brier": round(brier, 4),
        "bins": bins,
        "accepted_pairs_mean_score": round(float(accepted_scores.mean()), 4)
        if accepted.any()
        else None,
    }


def tuning_figures(part: Part, thresholds: DuplicateThresholds) -> dict[str, Any]:
    """The combined detector on the tuning part, and one grid step looser (the margin)."""
    figures = {}
    for label, chosen in (("", thresholds), ("one_step_looser_", loosened(thresholds))):
        accepted = accepted_by(part, chosen, "combined")
        figures[f"{label}detector"] = scores(accepted.counted, part.duplicate)
        figures[f"{label}grouped"] = scores(grouped(part, accepted), part.duplicate)
    return figures


def _toml(thresholds: DuplicateThresholds, encoder: str) -> str:
    values = asdict(thresholds)
    calibration = values.pop("calibration")
    table = "default" if encoder == "default" else f'encoders."{encoder}"'
    lines = [f"[{table}]"]
    lines += [f"{name} = {value}" for name, value in values.items()]
    lines.append(f"[{table}.calibration]")
    lines += [f"{name} = {value}" for name, value in calibration]
    return "\n".join(lines)


def _summary(report: dict[str, Any]) -> str:
    lines = [
        f"encoder {report['encoder']}; test part {report['test_images']} images, "
        f"tuning part {report['tuning_images']}",
        f"thresholds {report['thresholds']}",
        f"tuning part (combined): {json.dumps(report['tuning'])}",
        f"{'method':<15} {'row':<26} {'P':>7} {'R':>7} {'F1':>7}",
    ]
    for method in ("combined", "hash", "phash_baseline"):
        result = report["test"][method]
        for row in ("detector", "grouped", "photo_pairs", "page_pairs"):
            s = result[row]
            lines.append(
                f"{method:<15} {row:<26} {s['precision']:>7.4f} {s['recall']:>7.4f} {s['f1']:>7.4f}"
            )
    lines.append(
        f"{'transform':<26} {'kind':<6} {'pairs':>5} {'combined R':>10} {'P':>6} "
        f"{'pHash R':>8} {'P':>6}"
    )
    combined = report["test"]["combined"]["transforms"]
    baseline = report["test"]["phash_baseline"]["transforms"]
    for name, row in combined.items():
        lines.append(
            f"{name:<26} {row['kind']:<6} {row['pairs']:>5} {row['recall']:>10.3f} "
            f"{row['precision']:>6.3f} {baseline[name]['recall']:>8.3f} "
            f"{baseline[name]['precision']:>6.3f}"
        )
    for method in ("combined", "hash", "phash_baseline"):
        lines.append(f"false pairs by kind ({method}): {report['test'][method]['false_by_kind']}")
    for method in ("combined", "phash_baseline"):
        false = report["test"][method]["false_pairs"]
        lines.append(f"false pairs ({method}): {len(false)}")
        lines += [f"  {json.dumps(item)}" for item in false[:20]]
    lines.append(f"calibration (test part): {json.dumps(report['test']['calibration'])}")
    lines.append(f"seconds {report['seconds']}; {report['machine']}")
    return "\n".join(lines)


def _print_tuning_only(
    tuning: Part,
    thresholds: DuplicateThresholds,
    hash_tuning: Part,
    hash_thresholds: DuplicateThresholds,
    encoder: str,
) -> None:
    """The tuning part's figures and false pairs, and the thresholds as TOML."""
    print(f"tuning part (combined): {json.dumps(tuning_figures(tuning, thresholds))}")
    combined = accepted_by(tuning, thresholds, "combined")
    hash_only = accepted_by(hash_tuning, hash_thresholds, "hash")
    hash_figures = scores(grouped(hash_tuning, hash_only), hash_tuning.duplicate)
    print(f"tuning part (hash, grouped): {json.dumps(hash_figures)}")
    print(f"false by kind (combined): {false_kinds(tuning, combined.counted)}")
    print(f"grouped false by kind: {false_kinds(tuning, grouped(tuning, combined))}")
    for item in false_pairs(tuning, combined.counted)[:30]:
        print(f"  {json.dumps(item)}")
    print(_toml(hash_thresholds, "default"))
    print(_toml(thresholds, encoder))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--encoder",
        choices=("auto", "offline", "tiny"),
        default="auto",
        help="auto: CLIP when its weights are available, else the offline encoder",
    )
    parser.add_argument("--thresholds", type=Path, help="thresholds TOML (default: the project's)")
    parser.add_argument(
        "--tune", action="store_true", help="tune thresholds and calibration on the tuning part"
    )
    parser.add_argument(
        "--tuning-only",
        action="store_true",
        help="report on the tuning part alone (the test part is not evaluated)",
    )
    parser.add_argument("--cache", type=Path, help="keep the computed features in this .npz")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--seed", type=int, default=0, help="seed of the dataset's transforms")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    images = build_dataset(args.seed)
    built = time.perf_counter()
    config = load_encoder_config(load_settings())
    if args.encoder != "auto":
        config = replace(config, encoder=args.encoder)
    encoder = load_encoder(config)
    computed = cached_compute(images, encoder, args.cache)
    thresholds = load_thresholds(args.thresholds, encoder.name)
    hash_thresholds = load_thresholds(args.thresholds)
    tuning = part_of(images, computed, "tuning")
    hash_tuning = part_of(images, computed, "tuning", vectors=False)
    save_verified(computed, args.cache)
    if args.tune:
        # The calibration weighs the pair features alone (not the thresholds): fitted first,
        # it orders the joins that the search's grouping rule sees.
        thresholds = replace(thresholds, calibration=fit_calibration(tuning))
        thresholds = tune(tuning, thresholds)
        hash_thresholds = replace(hash_thresholds, calibration=fit_calibration(hash_tuning))
        hash_thresholds = tune(hash_tuning, hash_thresholds, method="hash")
    if args.tuning_only:
        _print_tuning_only(tuning, thresholds, hash_tuning, hash_thresholds, encoder.name)
        return 0
    test = part_of(images, computed, "test")
    hash_test = part_of(images, computed, "test", vectors=False)
    save_verified(computed, args.cache)
    report: dict[str, Any] = {
        "encoder": encoder.name,
        "thresholds": asdict(thresholds),
        "tuning_images": len(tuning.images),
        "test_images": len(test.images),
        "tuning": tuning_figures(tuning, thresholds),
        "hash_only_thresholds": asdict(hash_thresholds),
        "test": evaluate(test, thresholds, hash_test, hash_thresholds),
        "seconds": {
            "build": round(built - started, 1),
            **{name: round(value, 1) for name, value in computed.seconds.items()},
        },
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_summary(report))
    if args.tune:
        print("\n# tuned on the tuning part:\n" + _toml(hash_thresholds, "default"))
        print(_toml(thresholds, encoder.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
