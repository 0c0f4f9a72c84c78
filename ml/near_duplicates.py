"""Near-duplicate detection and canonical ids: pure numpy, no I/O.

Each record brings up to three kinds of evidence, compared tile by tile over the upper
triangle of the record-by-record matrix (never a Python loop over pairs):

- **hashes** in all eight orientations (``heritage.ml.image_hashes.oriented_hashes``): a pair
  is compared in the orientation where its pHash and dHash agree best, so EXIF-less turned
  and mirrored copies match. pHash within ``hash_max_distance`` bits and dHash within
  ``dhash_max_distance`` bits make hash evidence; when both records have image vectors their
  cosine must also reach ``hash_confirm_cosine`` (``turned_confirm_cosine`` for a pair that
  matches turned or mirrored: image vectors are not invariant to quarter turns); when both
  have fine hashes (255 bits, ``oriented_fine_hashes``), those must agree within
  ``fine_max_distance`` bits (``turned_fine_max_distance`` turned): two regions of one
  photograph often share a coarse layout (sky, a backdrop, a near-symmetric subject) that the
  64-bit hashes cannot tell apart;
- **embedding**: image-vector cosine at least ``cosine_min``. When both records have
  keypoints (``heritage.ml.keypoint_match``), the cosine must reach ``keypoint_cosine_min``
  instead and the pair must pass geometric verification: at least ``keypoint_min_support``
  keypoint matches that one similarity transform explains. Image vectors summarise a whole
  picture, so two regions of one star field or sky agree on them; only a copy keeps the
  local features in place. Verified, a copy with a lower cosine (a frame, a caption band, a
  crop) counts too. Hash evidence whose pHash is more than ``keypoint_hash_distance`` bits
  apart (-1: all of it) needs the same verification: the quadrants of a near-symmetric
  picture (a fundus photograph, a star field) can agree on their hashes as well;
- **page**: both records are pages of text (``heritage.ml.page_signatures``) and their page
  signatures agree to ``page_similarity_min``. Two pages of one book sit close together in
  hash and embedding space, so between two pages, hash and embedding evidence count only
  when the page signatures agree to ``page_confirm_similarity`` too.

Every accepted pair gets a ``score``: the probability that it is a duplicate, from a logistic
calibration fitted on labelled pairs (``calibration`` in config/near_duplicates.toml); without
one, a heuristic strength in [0, 1].

Canonical ids come from the complete pair set plus curator decisions (``assign_canonical_ids``),
so an incremental run that adds the new records' pairs to the stored ones gives exactly the
ids of a full rebuild. Two groups join only on enough pairs between them (``merge_support``)
or on one strong pair (``merge_strong_score``): a single false pair between two regions of
one photograph must not merge their two groups of copies.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from heritage.ml.image_hashes import FINE_BITS, FINE_WORDS, HASH_BITS, ORIENTATIONS
from heritage.ml.image_keypoints import Keypoints
from heritage.ml.keypoint_match import FULL_SUPPORT, geometric_support
from heritage.ml.page_signatures import page_similarities, paired_page_similarities

METHODS = ("combined", "hash", "embedding")
PAIR_METHODS = ("hash", "embedding", "both", "page", "curator")
DECISIONS = ("same", "different")
UNVERIFIED = "unverified"  # the sub-table for judgements without geometric verification
DEFAULT_THRESHOLDS_PATH = Path(__file__).resolve().parent.parent / "config" / "near_duplicates.toml"
# Cosines are recomputed in float64 for each candidate and rounded, so the result does not
# depend on how the matrix was tiled (an incremental run tiles differently from a rebuild).
_COSINE_DECIMALS = 6
_TILE_SLACK = 1e-4
# The features a calibration weighs (see PairFeatures.matrix).
CALIBRATION_FEATURES = (
    "phash_distance",  # bits / 64, in the best orientation
    "dhash_distance",  # bits / 64, same orientation
    "turned",  # 1 when the best orientation is not the upright one
    "cosine",  # image-vector cosine, 0 without vectors
    "has_vectors",
    "fine_distance",  # fine-hash bits / 255 in the closest orientation, 0 without fine hashes
    "has_fine",
    "page_similarity",  # 0 unless both are pages
    "both_pages",
    "keypoint_support",  # verified keypoint matches / FULL_SUPPORT (capped), 0 unverified
    "has_keypoints",  # 1 when the pair was verified
)
NOT_VERIFIED = -1  # keypoint_support of a pair whose keypoints were not compared
# find_candidate_pairs verifies a record's pairs with its this many most alike records (by
# cosine) at most: the work grows with the records, not with the pairs of them that look
# alike (5% of all pairs in the evaluation set reach a cosine of 0.6).
VERIFIED_NEIGHBOURS = 24


@dataclass(frozen=True)
class DuplicateThresholds:
    """When two images count as near-duplicates (config/near_duplicates.toml)."""

    # pHash Hamming distance at most this many bits (of 64) for hash evidence.
    hash_max_distance: int = 8
    # dHash distance (same orientation as the pHash) at most this, for hash evidence too.
    dhash_max_distance: int = 16
    # Image-vector cosine at least this for embedding evidence.
    cosine_min: float = 0.9
    # Hash evidence also needs this cosine when both records have image vectors.
    hash_confirm_cosine: float = 0.5
    # ... and this one when the hashes match only turned or mirrored.
    turned_confirm_cosine: float = 0.5
    # Hash evidence also needs the fine hashes (255 bits) within this many bits, when both
    # records have them (two pages excepted: their page signatures decide) ...
    fine_max_distance: int = FINE_BITS
    # ... and within this many when the hashes match only turned or mirrored.
    turned_fine_max_distance: int = FINE_BITS
    # Page-signature similarity at least this for page evidence (two pages of text).
    page_similarity_min: float = 0.8
    # Between two pages, hash and embedding evidence also need this page similarity.
    page_confirm_similarity: float = 0.5
    # Grouping: two groups of sizes a, b (both > 1) join only when at least
    # ceil(merge_support * min(a, b)) accepted pairs link them, or when the joining pair
    # scores at least merge_strong_score. 0: every accepted pair joins (plain components).
    merge_support: float = 0.0
    merge_strong_score: float = 1.0
    # Geometric verification (heritage.ml.keypoint_match), when both records have keypoints:
    # embedding evidence needs at least this many consistent keypoint matches (0: off) ...
    keypoint_min_support: int = 0
    # ... and this cosine (instead of cosine_min): a verified copy may look less alike.
    keypoint_cosine_min: float = 0.9
    # Hash evidence more than this many pHash bits apart needs the verification too (-1:
    # every hash match; the quadrants of a symmetric picture can share even their pHash).
    keypoint_hash_distance: int = HASH_BITS
    # Logistic calibration of the score: (feature, weight) pairs plus ("intercept", b).
    calibration: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not -1 <= self.keypoint_hash_distance <= HASH_BITS:
            raise ValueError(
                f"keypoint_hash_distance={self.keypoint_hash_distance}: expected -1 (every "
                f"hash match verified) to {HASH_BITS} bits"
            )
        for name in ("hash_max_distance", "dhash_max_distance"):
            value = getattr(self, name)
            if not 0 <= value <= HASH_BITS:
                raise ValueError(f"{name}={value}: expected 0..{HASH_BITS} bits")
        for name in ("fine_max_distance", "turned_fine_max_distance"):
            value = getattr(self, name)
            if not 0 <= value <= FINE_BITS:
                raise ValueError(f"{name}={value}: expected 0..{FINE_BITS} bits")
        for name in (
            "cosine_min",
            "hash_confirm_cosine",
            "turned_confirm_cosine",
            "page_similarity_min",
            "page_confirm_similarity",
            "merge_support",
            "merge_strong_score",
            "keypoint_cosine_min",
        ):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{name}={value}: expected a similarity between -1 and 1")
        if self.keypoint_min_support < 0:
            raise ValueError(
                f"keypoint_min_support={self.keypoint_min_support}: expected >= 0 (0: off)"
            )
        known = {*CALIBRATION_FEATURES, "intercept"}
        unknown = sorted({name for name, _ in self.calibration} - known)
        if unknown:
            raise ValueError(
                f"calibration has unknown features {unknown}; expected some of {sorted(known)}"
            )


def load_thresholds(
    path: Path | None = None, encoder: str | None = None, verified: bool = True
) -> DuplicateThresholds:
    """Thresholds from a TOML file: the ``[default]`` table, overlaid with ``[encoders."NAME"]``.

    Cosines depend on the model, so each encoder may carry its own table; hash thresholds
    usually live in ``[default]`` alone. A ``calibration`` sub-table holds the logistic
    weights of the score (``intercept`` and some of ``CALIBRATION_FEATURES``).

    ``verified=False``: for records that have no keypoints (the lakehouse stage), whose
    pairs nothing verifies geometrically. The limits tuned with verification are too loose
    without it, so each table's ``unverified`` sub-table (with its own ``calibration``)
    overlays it, and verification is off.
    """
    source = path or DEFAULT_THRESHOLDS_PATH
    try:
        document = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ValueError(
            f"near-duplicate thresholds: {source} not found; pass --thresholds FILE or restore "
            "config/near_duplicates.toml"
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise ValueError(
            f"near-duplicate thresholds: {source} is not valid TOML: {error}"
        ) from error
    default: dict[str, Any] = dict(document.get("default", {}))
    values = {name: value for name, value in default.items() if name != UNVERIFIED}
    unverified = default.get(UNVERIFIED, {})
    encoders = document.get("encoders", {})
    if encoder is not None and encoder in encoders:
        # A calibration weighs one encoder's cosines: an encoder's table never inherits the
        # default one (fitted without vectors); without its own, scores are heuristic.
        values.pop("calibration", None)
        values.update({k: v for k, v in encoders[encoder].items() if k != UNVERIFIED})
        unverified = encoders[encoder].get(UNVERIFIED, unverified)
    if not verified:
        values.update(unverified)
        values["keypoint_min_support"] = 0
    calibration = values.pop("calibration", {})
    known = {field.name for field in fields(DuplicateThresholds)} - {"calibration"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"near-duplicate thresholds: {source} has unknown keys {unknown}; "
            f"expected some of {sorted(known)}"
        )
    try:
        values["calibration"] = tuple(sorted((str(k), float(v)) for k, v in calibration.items()))
        return replace(DuplicateThresholds(), **values)
    except (TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"near-duplicate thresholds in {source}: {error}") from error


@dataclass(frozen=True)
class DuplicatePair:
    """Two records judged near-duplicates, with the evidence (record_id < other_record_id)."""

    record_id: str
    other_record_id: str
    hash_distance: int | None  # pHash bits, in the orientation where the pair matches best
    cosine: float | None  # image-vector cosine
    score: float  # probability of a duplicate (calibrated), else a strength in [0, 1]
    method: str  # 'hash' | 'embedding' | 'both' | 'page' | 'curator'
    page_similarity: float | None = None  # both records are pages of text
    orientation: int = 0  # index into the eight orientations (0: as stored)


@dataclass(frozen=True)
class CuratorDecision:
    """A curator's verdict on a pair (PostgreSQL heritage.duplicate_decisions)."""

    record_id: str
    other_record_id: str
    decision: str  # 'same' | 'different'
    decision_id: int  # the latest decision per pair wins


@dataclass(frozen=True)
class ImageEvidence:
    """The evidence of n records, as arrays; rows in the order of ``record_ids``."""

    record_ids: list[str]
    phashes: np.ndarray  # uint64 (n, orientations); column 0 is the stored orientation
    dhashes: np.ndarray  # uint64 (n, orientations)
    image_vectors: np.ndarray | None  # float32 (n, dim), unit rows; a zero row: no vector
    page_signatures: np.ndarray | None  # float32 (n, dim); a zero row: not a page
    fine_hashes: np.ndarray | None = None  # uint64 (n, orientations, FINE_WORDS)
    keypoints: Sequence[Keypoints | None] | None = None  # None: that record has none

    @property
    def has_vector(self) -> np.ndarray:
        if self.image_vectors is None:
            return np.zeros(len(self.record_ids), dtype=bool)
        return np.linalg.norm(self.image_vectors, axis=1) > 0

    @property
    def is_page(self) -> np.ndarray:
        if self.page_signatures is None:
            return np.zeros(len(self.record_ids), dtype=bool)
        return np.linalg.norm(self.page_signatures, axis=1) > 0


def image_evidence(
    record_ids: Sequence[str],
    phashes: np.ndarray | Sequence[int],
    dhashes: np.ndarray | Sequence[int],
    image_vectors: np.ndarray | None,
    page_signatures: np.ndarray | None = None,
    fine_hashes: np.ndarray | None = None,
    keypoints: Sequence[Keypoints | None] | None = None,
) -> ImageEvidence:
    """Validated arrays; hashes of shape (n,) count as one orientation, (n, 8) as all;
    ``fine_hashes`` (n, 8, 4), or None when the records have none; ``keypoints`` one entry
    per record (None where a record has none), or None."""
    ids = list(record_ids)
    count = len(ids)
    if len(set(ids)) != count:
        raise ValueError("find_candidate_pairs: record_ids contain duplicates; pass each once")
    phash = _as_hashes(phashes, "phashes", count)
    dhash = _as_hashes(dhashes, "dhashes", count)
    if phash.shape != dhash.shape:
        raise ValueError(
            f"find_candidate_pairs: phashes {phash.shape} and dhashes {dhash.shape} differ; "
            "pass the same orientations of both"
        )
    vectors = _as_rows(image_vectors, "image_vectors", count)
    pages = _as_rows(page_signatures, "page_signatures", count)
    fine = None
    if fine_hashes is not None:
        fine = np.asarray(fine_hashes, dtype=np.uint64)
        if fine.shape != (count, ORIENTATIONS, FINE_WORDS):
            raise ValueError(
                f"find_candidate_pairs: fine_hashes has shape {fine.shape}; expected "
                f"({count}, {ORIENTATIONS}, {FINE_WORDS}), the fine hash per orientation"
            )
    if keypoints is not None and len(keypoints) != count:
        raise ValueError(
            f"find_candidate_pairs: {len(keypoints)} keypoint entries for {count} records; "
            "pass one per record (None where a record has none)"
        )
    return ImageEvidence(ids, phash, dhash, vectors, pages, fine, keypoints)


def _as_hashes(values: np.ndarray | Sequence[int], name: str, count: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.uint64)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[0] != count or array.shape[1] not in (1, ORIENTATIONS):
        raise ValueError(
            f"find_candidate_pairs: {name} has shape {array.shape}; expected ({count},) or "
            f"({count}, {ORIENTATIONS}), one hash (or one per orientation) per record"
        )
    return array


def _as_rows(values: np.ndarray | None, name: str, count: int) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != count:
        raise ValueError(
            f"find_candidate_pairs: {name} has shape {array.shape}; expected ({count}, dim)"
        )
    return array


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    as_bytes = values.view(np.uint8).reshape(*values.shape, 8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1, dtype=np.uint8)


def _tiles(count: int, block_size: int) -> Iterable[tuple[int, int, int, int]]:
    """(row start, row end, column start, column end) of the upper-triangle tiles."""
    for row in range(0, count, block_size):
        for column in range(row, count, block_size):
            yield row, min(row + block_size, count), column, min(column + block_size, count)


def best_orientation(
    phash: np.ndarray,
    dhash: np.ndarray,
    rows: np.ndarray | slice,
    columns: np.ndarray | slice,
    outer: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pHash distance, dHash distance, orientation) where pHash + dHash distance is least,
    comparing each orientation of the ``rows`` records with the stored one of ``columns``.

    ``outer``: every row against every column (a tile); else element-wise pairs.
    """
    left_p, left_d = phash[rows], dhash[rows]
    right_p, right_d = phash[columns, 0], dhash[columns, 0]
    if outer:
        right_p, right_d = right_p[None, :], right_d[None, :]
    best_p = best_d = best_o = None
    for orientation in range(phash.shape[1]):
        p = left_p[:, orientation]
        d = left_d[:, orientation]
        if outer:
            p, d = p[:, None], d[:, None]
        p_distance = _popcount(p ^ right_p).astype(np.int16)
        d_distance = _popcount(d ^ right_d).astype(np.int16)
        if best_p is None or best_d is None or best_o is None:
            best_p, best_d = p_distance, d_distance
            best_o = np.zeros(p_distance.shape, dtype=np.int8)
            continue
        better = p_distance + d_distance < best_p + best_d
        best_p = np.where(better, p_distance, best_p)
        best_d = np.where(better, d_distance, best_d)
        best_o = np.where(better, np.int8(orientation), best_o)
    assert best_p is not None and best_d is not None and best_o is not None
    return best_p, best_d, best_o


@dataclass(frozen=True)
class PairFeatures:
    """The evidence of m pairs (left[i], right[i]), one array entry per pair."""

    phash_distance: np.ndarray  # int, best orientation
    dhash_distance: np.ndarray  # int, same orientation
    orientation: np.ndarray  # int
    cosine: np.ndarray  # float64, 0 where a record has no vector
    has_vectors: np.ndarray  # bool
    page_similarity: np.ndarray  # float64, 0 unless both are pages
    both_pages: np.ndarray  # bool
    fine_distance: np.ndarray  # int, closest orientation; FINE_BITS where has_fine is False
    has_fine: np.ndarray  # bool: both records have fine hashes
    # int: consistent keypoint matches, NOT_VERIFIED where the pair was not verified
    keypoint_support: np.ndarray

    @property
    def verified(self) -> np.ndarray:
        """Pairs whose keypoints were compared."""
        return self.keypoint_support != NOT_VERIFIED

    def matrix(self) -> np.ndarray:
        """(m, len(CALIBRATION_FEATURES)) float64, the calibration's inputs."""
        return np.column_stack(
            [
                self.phash_distance / HASH_BITS,
                self.dhash_distance / HASH_BITS,
                (self.orientation != 0).astype(np.float64),
                self.cosine,
                self.has_vectors.astype(np.float64),
                np.where(self.has_fine, self.fine_distance / FINE_BITS, 0.0),
                self.has_fine.astype(np.float64),
                self.page_similarity,
                self.both_pages.astype(np.float64),
                np.clip(self.keypoint_support, 0, FULL_SUPPORT) / FULL_SUPPORT,
                self.verified.astype(np.float64),
            ]
        )


def pair_features(evidence: ImageEvidence, left: np.ndarray, right: np.ndarray) -> PairFeatures:
    """Exact features of the pairs (float64 cosines), independent of any tiling."""
    # Both ways round (each record's orientations against the other's stored hashes): the
    # hashes are only nearly equivariant, and the result must not depend on record order.
    forward = best_orientation(evidence.phashes, evidence.dhashes, left, right, outer=False)
    backward = best_orientation(evidence.phashes, evidence.dhashes, right, left, outer=False)
    # Ties go to the smaller pHash distance, then the smaller orientation index: symmetric.
    forward_key = (forward[0].astype(np.int64) + forward[1]) * 128 + forward[0]
    backward_key = (backward[0].astype(np.int64) + backward[1]) * 128 + backward[0]
    backward_better = (backward_key < forward_key) | (
        (backward_key == forward_key) & (backward[2] < forward[2])
    )
    p_distance, d_distance, orientation = (
        np.where(backward_better, b, f) for f, b in zip(forward, backward, strict=True)
    )
    has_vector = evidence.has_vector
    both_vectors = has_vector[left] & has_vector[right]
    if evidence.image_vectors is not None and len(left):
        cosine = np.round(_paired_cosines(evidence.image_vectors, left, right), _COSINE_DECIMALS)
        cosine = np.where(both_vectors, cosine, 0.0)
    else:
        cosine = np.zeros(len(left))
    is_page = evidence.is_page
    both_pages = is_page[left] & is_page[right]
    page = np.zeros(len(left))
    if evidence.page_signatures is not None and both_pages.any():
        chosen = np.flatnonzero(both_pages)
        signatures = evidence.page_signatures
        page[chosen] = np.round(
            paired_page_similarities(signatures[left[chosen]], signatures[right[chosen]]),
            _COSINE_DECIMALS,
        )
    if evidence.fine_hashes is not None:
        fine = fine_distances(evidence.fine_hashes, left, right)
        has_fine = np.ones(len(left), dtype=bool)
    else:
        fine = np.full(len(left), FINE_BITS, dtype=np.int64)
        has_fine = np.zeros(len(left), dtype=bool)
    return PairFeatures(
        phash_distance=p_distance.astype(np.int64),
        dhash_distance=d_distance.astype(np.int64),
        orientation=orientation.astype(np.int64),
        cosine=cosine,
        has_vectors=both_vectors,
        page_similarity=page,
        both_pages=both_pages,
        fine_distance=fine,
        has_fine=has_fine,
        keypoint_support=np.full(len(left), NOT_VERIFIED, dtype=np.int64),
    )


def needs_verification(features: PairFeatures, thresholds: DuplicateThresholds) -> np.ndarray:
    """Pairs whose verdict may depend on geometric verification (the only ones worth the
    keypoint comparison): a cosine that could make embedding evidence, or hash evidence
    that holds on every other count but is too far apart in pHash to stand alone."""
    if thresholds.keypoint_min_support <= 0:
        return np.zeros(len(features.cosine), dtype=bool)
    embedding = features.has_vectors & (
        features.cosine >= min(thresholds.cosine_min, thresholds.keypoint_cosine_min)
    )
    unverified = replace(thresholds, keypoint_min_support=0)
    by_hash = judge(features, unverified, "combined").by_hash
    return embedding | (by_hash & (features.phash_distance > thresholds.keypoint_hash_distance))


def nearest_pairs(
    left: np.ndarray, right: np.ndarray, similarity: np.ndarray, neighbours: int
) -> np.ndarray:
    """Pairs among the ``neighbours`` most similar of either of their records (ties by
    pair order): a bound of ``neighbours`` pairs a record on the pairs to verify, whatever
    the collection's size. Copies of one work are each other's nearest; the pairs left out
    are judged without verification, and groups still form through the pairs kept."""
    count = len(left)
    if count == 0:
        return np.zeros(0, dtype=bool)
    records = np.concatenate([left, right])
    pairs = np.concatenate([np.arange(count), np.arange(count)])
    values = np.concatenate([similarity, similarity])
    order = np.lexsort((pairs, -values, records))
    sorted_records = records[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_records, sorted_records, side="left")
    kept = np.zeros(count, dtype=bool)
    kept[pairs[order][rank < neighbours]] = True
    return kept


def pair_support(
    keypoints: Sequence[Keypoints | None], left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """The geometric support of each pair (``geometric_support``); NOT_VERIFIED where a
    record has no keypoints."""
    support = np.full(len(left), NOT_VERIFIED, dtype=np.int64)
    for index, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        first, second = keypoints[a], keypoints[b]
        if first is not None and second is not None:
            support[index] = geometric_support(first, second)
    return support


def with_verification(
    features: PairFeatures, chosen: np.ndarray, support: np.ndarray
) -> PairFeatures:
    """``features`` with the geometric support of the ``chosen`` pairs (a bool mask)."""
    merged = features.keypoint_support.copy()
    merged[chosen] = support
    return replace(features, keypoint_support=merged)


def fine_distances(
    fine: np.ndarray, left: np.ndarray, right: np.ndarray, chunk: int = 8192
) -> np.ndarray:
    """Fine-hash bits between each pair in the orientation where they agree best: every
    orientation of one record against the stored one of the other, both ways round (the
    least of the two, so the result does not depend on record order)."""
    distance = np.empty(len(left), dtype=np.int64)
    for start in range(0, len(left), chunk):
        a, b = fine[left[start : start + chunk]], fine[right[start : start + chunk]]
        forward = _popcount(a ^ b[:, :1, :]).sum(axis=2, dtype=np.int64).min(axis=1)
        backward = _popcount(b ^ a[:, :1, :]).sum(axis=2, dtype=np.int64).min(axis=1)
        distance[start : start + chunk] = np.minimum(forward, backward)
    return distance


def _paired_cosines(
    vectors: np.ndarray, left: np.ndarray, right: np.ndarray, chunk: int = 2048
) -> np.ndarray:
    """Dot product of each pair's rows, accumulated in float64, a chunk of pairs at a time
    (each pair's value is computed the same way whatever the chunking)."""
    cosine = np.empty(len(left))
    for start in range(0, len(left), chunk):
        end = start + chunk
        cosine[start:end] = np.einsum(
            "ij,ij->i", vectors[left[start:end]], vectors[right[start:end]], dtype=np.float64
        )
    return cosine


@dataclass(frozen=True)
class Verdicts:
    """Which evidence each pair has, and whether the detector accepts it."""

    by_hash: np.ndarray
    by_embedding: np.ndarray
    by_page: np.ndarray
    accepted: np.ndarray


def judge(features: PairFeatures, thresholds: DuplicateThresholds, method: str) -> Verdicts:
    """The detector's rules (module docstring) applied to pair features, vectorised."""
    hash_close = (features.phash_distance <= thresholds.hash_max_distance) & (
        features.dhash_distance <= thresholds.dhash_max_distance
    )
    confirm = np.where(
        features.orientation == 0,
        thresholds.hash_confirm_cosine,
        thresholds.turned_confirm_cosine,
    )
    fine_limit = np.where(
        features.orientation == 0,
        thresholds.fine_max_distance,
        thresholds.turned_fine_max_distance,
    )
    fine_agrees = ~features.has_fine | features.both_pages | (features.fine_distance <= fine_limit)
    by_hash = hash_close & fine_agrees & (~features.has_vectors | (features.cosine >= confirm))
    by_embedding = features.has_vectors & (features.cosine >= thresholds.cosine_min)
    if thresholds.keypoint_min_support > 0:
        verified = features.verified
        consistent = features.keypoint_support >= thresholds.keypoint_min_support
        by_embedding = np.where(
            verified,
            features.has_vectors & (features.cosine >= thresholds.keypoint_cosine_min) & consistent,
            by_embedding,
        )
        weak = features.phash_distance > thresholds.keypoint_hash_distance
        by_hash &= ~(verified & weak) | consistent
    by_page = features.both_pages & (features.page_similarity >= thresholds.page_similarity_min)
    pages_agree = ~features.both_pages | (
        features.page_similarity >= thresholds.page_confirm_similarity
    )
    by_hash &= pages_agree & (method != "embedding")
    by_embedding &= pages_agree & (method != "hash")
    by_page &= method != "embedding"
    return Verdicts(by_hash, by_embedding, by_page, by_hash | by_embedding | by_page)


def calibrated_scores(features: PairFeatures, thresholds: DuplicateThresholds) -> np.ndarray:
    """Probability of a duplicate per pair (the logistic calibration), or, without one, the
    cosine when known, else the page similarity, else the hash similarity."""
    if thresholds.calibration:
        weights = dict(thresholds.calibration)
        coefficients = np.array([weights.get(name, 0.0) for name in CALIBRATION_FEATURES])
        logit = features.matrix() @ coefficients + weights.get("intercept", 0.0)
        return np.round(1.0 / (1.0 + np.exp(-np.clip(logit, -40, 40))), _COSINE_DECIMALS)
    heuristic = np.where(
        features.has_vectors,
        features.cosine,
        np.where(
            features.both_pages,
            features.page_similarity,
            1.0 - features.phash_distance / HASH_BITS,
        ),
    )
    return np.round(heuristic.astype(np.float64), _COSINE_DECIMALS)


def find_candidate_pairs(
    record_ids: Sequence[str],
    phashes: np.ndarray | Sequence[int],
    dhashes: np.ndarray | Sequence[int],
    image_vectors: np.ndarray | None,
    thresholds: DuplicateThresholds,
    block_size: int = 1024,
    method: str = "combined",
    page_signatures: np.ndarray | None = None,
    fine_hashes: np.ndarray | None = None,
    keypoints: Sequence[Keypoints | None] | None = None,
) -> list[DuplicatePair]:
    """Near-duplicate pairs among the records, sorted by (record_id, other_record_id).

    ``phashes``/``dhashes``: (n,) for the stored orientation only, or (n, 8) for every
    orientation (``OrientedHashes``). ``image_vectors`` rows should have unit length; an
    all-zero row means "no vector" (that record is matched by its other evidence).
    ``page_signatures``: zero rows for records that are not pages. ``fine_hashes``:
    (n, 8, 4) fine hashes (``oriented_fine_hashes``), or None. ``keypoints``: one entry
    per record (``image_keypoints``; None where a record has none), or None: without them
    no pair is verified geometrically. ``method``: 'combined'
    (any evidence), 'hash' (hashes and pages) or 'embedding'.
    """
    if method not in METHODS:
        raise ValueError(f"find_candidate_pairs: method {method!r}; expected one of {METHODS}")
    if block_size < 1:
        raise ValueError(f"find_candidate_pairs: block_size={block_size}; expected >= 1")
    evidence = image_evidence(
        record_ids, phashes, dhashes, image_vectors, page_signatures, fine_hashes, keypoints
    )
    if method == "embedding" and evidence.image_vectors is None:
        raise ValueError("find_candidate_pairs: method 'embedding' needs image_vectors")
    left, right = _candidates(evidence, thresholds, block_size, method)
    if not len(left):
        return []
    features = pair_features(evidence, left, right)
    if evidence.keypoints is not None:
        chosen = needs_verification(features, thresholds)
        chosen &= nearest_pairs(left, right, features.cosine, VERIFIED_NEIGHBOURS)
        support = pair_support(evidence.keypoints, left[chosen], right[chosen])
        features = with_verification(features, chosen, support)
    verdicts = judge(features, thresholds, method)
    scores = calibrated_scores(features, thresholds)
    return _pairs(evidence.record_ids, left, right, features, verdicts, scores)


def _candidates(
    evidence: ImageEvidence, thresholds: DuplicateThresholds, block_size: int, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) that might be accepted: a superset, judged exactly afterwards."""
    count = len(evidence.record_ids)
    vectors = evidence.image_vectors if method != "hash" else None
    pages = evidence.page_signatures if method != "embedding" else None
    is_page = evidence.is_page
    cosine_floor = thresholds.cosine_min
    if evidence.keypoints is not None and thresholds.keypoint_min_support > 0:
        cosine_floor = min(cosine_floor, thresholds.keypoint_cosine_min)  # verified copies
    rows: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    for r0, r1, c0, c1 in _tiles(count, block_size):
        keep = np.zeros((r1 - r0, c1 - c0), dtype=bool)
        if method != "embedding":
            keep |= _close_in_some_orientation(evidence, thresholds, r0, r1, c0, c1)
        if vectors is not None:
            cosines = vectors[r0:r1] @ vectors[c0:c1].T
            keep |= cosines >= cosine_floor - _TILE_SLACK
        if pages is not None:
            # Only the page rows of the tile (page_similarities is symmetric: one way round).
            page_rows = np.flatnonzero(is_page[r0:r1])
            page_columns = np.flatnonzero(is_page[c0:c1])
            if page_rows.size and page_columns.size:
                similar = page_similarities(pages[r0 + page_rows], pages[c0 + page_columns])
                close = similar >= thresholds.page_similarity_min - _TILE_SLACK
                keep[np.ix_(page_rows, page_columns)] |= close
        if r0 == c0:
            keep &= np.triu(np.ones_like(keep), k=1)
        tile_rows, tile_columns = np.nonzero(keep)
        rows.append(tile_rows + r0)
        columns.append(tile_columns + c0)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(columns)


def _close_in_some_orientation(
    evidence: ImageEvidence, thresholds: DuplicateThresholds, r0: int, r1: int, c0: int, c1: int
) -> np.ndarray:
    """(rows, columns) bool: within both hash limits in some orientation, either way round.

    A superset of what ``judge`` accepts on hashes (it uses the best orientation of the
    two ways round, which is one of these), cheaper than finding the best one per pair.
    """
    phash, dhash = evidence.phashes, evidence.dhashes
    close = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    for orientation in range(phash.shape[1]):
        forward = (
            _popcount(phash[r0:r1, orientation, None] ^ phash[None, c0:c1, 0])
            <= thresholds.hash_max_distance
        ) & (
            _popcount(dhash[r0:r1, orientation, None] ^ dhash[None, c0:c1, 0])
            <= thresholds.dhash_max_distance
        )
        backward = (
            _popcount(phash[r0:r1, 0, None] ^ phash[None, c0:c1, orientation])
            <= thresholds.hash_max_distance
        ) & (
            _popcount(dhash[r0:r1, 0, None] ^ dhash[None, c0:c1, orientation])
            <= thresholds.dhash_max_distance
        )
        close |= forward | backward
    return close


def _pairs(
    ids: list[str],
    left: np.ndarray,
    right: np.ndarray,
    features: PairFeatures,
    verdicts: Verdicts,
    scores: np.ndarray,
) -> list[DuplicatePair]:
    pairs = []
    for index in np.flatnonzero(verdicts.accepted):
        a, b = ids[left[index]], ids[right[index]]
        by_hash, by_embedding = bool(verdicts.by_hash[index]), bool(verdicts.by_embedding[index])
        if by_hash or by_embedding:
            label = "both" if by_hash and by_embedding else "hash" if by_hash else "embedding"
        else:
            label = "page"
        pairs.append(
            DuplicatePair(
                record_id=min(a, b),
                other_record_id=max(a, b),
                hash_distance=int(features.phash_distance[index]),
                cosine=float(features.cosine[index]) if features.has_vectors[index] else None,
                score=float(scores[index]),
                method=label,
                page_similarity=(
                    float(features.page_similarity[index]) if features.both_pages[index] else None
                ),
                orientation=int(features.orientation[index]),
            )
        )
    pairs.sort(key=lambda pair: (pair.record_id, pair.other_record_id))
    return pairs


def pair_score(hash_distance: int | None, cosine: float | None) -> float:
    """A pair's strength in [0, 1]: the cosine when known, else the hash similarity."""
    if cosine is not None:
        return round(float(cosine), _COSINE_DECIMALS)
    if hash_distance is not None:
        return round(1.0 - hash_distance / HASH_BITS, _COSINE_DECIMALS)
    return 1.0


def latest_decisions(decisions: Iterable[CuratorDecision]) -> dict[tuple[str, str], str]:
    """The verdict per unordered pair that the highest decision_id gave."""
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for decision in decisions:
        if decision.decision not in DECISIONS:
            raise ValueError(
                f"curator decision {decision.decision_id} on {decision.record_id} / "
                f"{decision.other_record_id}: {decision.decision!r}; expected 'same' or 'different'"
            )
        if decision.record_id == decision.other_record_id:
            continue
        key = (
            min(decision.record_id, decision.other_record_id),
            max(decision.record_id, decision.other_record_id),
        )
        current = latest.get(key)
        if current is None or decision.decision_id > current[0]:
            latest[key] = (decision.decision_id, decision.decision)
    return {key: verdict for key, (_, verdict) in latest.items()}


class _ConstrainedUnionFind:
    """Union-find whose components never join two records a curator called different, and
    that counts the detector's pairs between components (the support of a join)."""

    def __init__(self, items: Iterable[str], cannot_link: Iterable[tuple[str, str]]) -> None:
        self._parent = {item: item for item in items}
        self._members = {item: {item} for item in self._parent}
        self._forbidden: dict[str, set[str]] = {item: set() for item in self._parent}
        self._links: dict[str, dict[str, int]] = {item: {} for item in self._parent}
        for a, b in cannot_link:
            self._forbidden[a].add(b)
            self._forbidden[b].add(a)

    def add_link(self, a: str, b: str) -> None:
        """One detector pair between the groups of a and b."""
        a, b = self.find(a), self.find(b)
        if a != b:
            self._links[a][b] = self._links[a].get(b, 0) + 1
            self._links[b][a] = self._links[b].get(a, 0) + 1

    @property
    def items(self) -> list[str]:
        return sorted(self._parent)

    def size(self, item: str) -> int:
        return len(self._members[self.find(item)])

    def links_between(self, a: str, b: str) -> int:
        return self._links[self.find(a)].get(self.find(b), 0)

    def find(self, item: str) -> str:
        root = item
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item] != root:
            self._parent[item], item = root, self._parent[item]
        return root

    def union(self, a: str, b: str) -> bool:
        """Join the components of a and b unless that would join a cannot-link pair."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return True
        if len(self._members[root_a]) < len(self._members[root_b]):
            root_a, root_b = root_b, root_a
        if self._forbidden[root_a] & self._members[root_b]:
            return False
        self._parent[root_b] = root_a
        self._members[root_a] |= self._members.pop(root_b)
        self._forbidden[root_a] |= self._forbidden.pop(root_b)
        links_a, links_b = self._links[root_a], self._links.pop(root_b)
        links_a.pop(root_b, None)
        for other, count in links_b.items():
            if other == root_a:
                continue
            links_a[other] = links_a.get(other, 0) + count
            other_links = self._links[other]
            other_links[root_a] = other_links.get(root_a, 0) + other_links.pop(root_b)
        return True


def join_groups(
    items: Iterable[str],
    edges: Iterable[tuple[float, str, str]],
    thresholds: DuplicateThresholds | None = None,
    same: Sequence[tuple[str, str]] = (),
    cannot_link: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """item -> the smallest item of its group, from scored edges (score, a, b).

    ``same`` pairs join first; then edges, those whose two records share the most other
    partners first (``shared_partners``), by descending score among equals (ties by ids),
    each joining its two groups unless a ``cannot_link`` pair would end up in one group, or
    unless both groups have more than one member and the join lacks support
    (``merge_support``, ``merge_strong_score``). Refused joins are tried again, in the same
    order, until none succeeds: the result depends only on the sets given, not on their
    order.

    Copies of one work are mostly paired with each other, so the edges inside a group share
    many partners; a wrong pair between two groups (one caption laid over two different
    pictures) shares few or none. Joined first, the dense edges build the groups, and a
    wrong pair arrives when both of its groups are whole and must show support: it cannot
    join two lone records early and drag both groups together.
    """
    rule = thresholds or DuplicateThresholds()
    groups = _ConstrainedUnionFind(sorted(set(items)), sorted(cannot_link))
    for a, b in sorted(same):
        groups.union(a, b)
    best: dict[tuple[str, str], float] = {}
    for score, a, b in edges:
        key = (min(a, b), max(a, b))
        if a != b and (key not in best or score > best[key]):
            best[key] = score
    shared = shared_partners(best)
    ordered = sorted((-shared[(a, b)], -score, a, b) for (a, b), score in best.items())
    for _, _, a, b in ordered:
        groups.add_link(a, b)
    pending = ordered
    while pending:
        refused = []
        for negative_shared, negative_score, a, b in pending:
            if groups.find(a) == groups.find(b):
                continue
            if _supported(groups, a, b, -negative_score, rule):
                groups.union(a, b)
            else:
                refused.append((negative_shared, negative_score, a, b))
        if len(refused) == len(pending):
            break
        pending = refused
    smallest: dict[str, str] = {}
    for item in groups.items:
        smallest.setdefault(groups.find(item), item)
    return {item: smallest[groups.find(item)] for item in groups.items}


def shared_partners(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """For each pair (a, b), how many other records are paired with both a and b."""
    keys = list(pairs)
    partners: dict[str, set[str]] = {}
    for a, b in keys:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    return {(a, b): len(partners[a] & partners[b]) for a, b in keys}


def _supported(
    groups: _ConstrainedUnionFind, a: str, b: str, score: float, rule: DuplicateThresholds
) -> bool:
    smaller = min(groups.size(a), groups.size(b))
    if smaller < 2 or rule.merge_support <= 0 or score >= rule.merge_strong_score:
        return True
    needed = max(1, int(np.ceil(rule.merge_support * smaller - 1e-9)))
    return groups.links_between(a, b) >= needed


def assign_canonical_ids(
    record_ids: Sequence[str],
    pairs: Sequence[DuplicatePair],
    decisions: Sequence[CuratorDecision],
    thresholds: DuplicateThresholds | None = None,
) -> dict[str, str]:
    """canonical_id for every record: the smallest record_id of its duplicate group.

    Groups are grown by one deterministic rule (``join_groups``), so the result depends only
    on the *set* of inputs: curator 'same' pairs first, then detector pairs by descending
    score (ties by ids); a join is refused when it would put two records a curator called
    'different' (their latest decision) in one group, whatever path connects them, and when
    two groups would join on too few pairs (``thresholds``' ``merge_support``). Decisions on
    records not among ``record_ids`` or the pairs are ignored.
    """
    universe = set(record_ids)
    for pair in pairs:
        universe.add(pair.record_id)
        universe.add(pair.other_record_id)
    verdicts = {
        key: verdict
        for key, verdict in latest_decisions(decisions).items()
        if key[0] in universe and key[1] in universe
    }
    return join_groups(
        universe,
        ((pair.score, pair.record_id, pair.other_record_id) for pair in pairs),
        thresholds,
        same=[key for key, verdict in verdicts.items() if verdict == "same"],
        cannot_link=[key for key, verdict in verdicts.items() if verdict == "different"],
    )


def duplicate_groups(canonical_ids: Mapping[str, str]) -> dict[str, list[str]]:
    """Groups with more than one member: canonical_id -> sorted member record ids."""
    members: dict[str, list[str]] = {}
    for record_id, canonical in canonical_ids.items():
        members.setdefault(canonical, []).append(record_id)
    return {
        canonical: sorted(group) for canonical, group in sorted(members.items()) if len(group) > 1
    }
