"""Near-duplicate detection and canonical ids: pure numpy, no I/O.

Evidence comes from two sources, compared tile by tile over the upper triangle of the
record-by-record matrix (never a Python loop over pairs):

- **hash**: pHash within ``hash_max_distance`` bits and dHash within ``dhash_max_distance``
  bits (the dHash of the mirrored image counts too, so a flipped copy can match); when both
  records have image vectors their cosine must also reach ``hash_confirm_cosine``, which keeps
  smooth, low-detail images with similar hashes apart.
- **embedding**: image-vector cosine at least ``cosine_min``.

Canonical ids come from the complete pair set plus curator decisions (``assign_canonical_ids``),
so an incremental run that adds the new records' pairs to the stored ones gives exactly the
ids of a full rebuild.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from heritage.ml.image_hashes import HASH_BITS, mirrored_dhashes

METHODS = ("combined", "hash", "embedding")
PAIR_METHODS = ("hash", "embedding", "both", "curator")
DECISIONS = ("same", "different")
DEFAULT_THRESHOLDS_PATH = Path(__file__).resolve().parent.parent / "config" / "near_duplicates.toml"
# Cosines are recomputed in float64 for each candidate and rounded, so the result does not
# depend on how the matrix was tiled (an incremental run tiles differently from a rebuild).
_COSINE_DECIMALS = 6
_TILE_SLACK = 1e-4


@dataclass(frozen=True)
class DuplicateThresholds:
    """When two images count as near-duplicates (config/near_duplicates.toml)."""

    # pHash Hamming distance at most this many bits (of 64) for hash evidence.
    hash_max_distance: int = 8
    # dHash distance (the smaller of direct and mirrored) at most this, for hash evidence too.
    dhash_max_distance: int = 16
    # Image-vector cosine at least this for embedding evidence.
    cosine_min: float = 0.9
    # Hash evidence also needs this cosine when both records have image vectors.
    hash_confirm_cosine: float = 0.5

    def __post_init__(self) -> None:
        for name in ("hash_max_distance", "dhash_max_distance"):
            value = getattr(self, name)
            if not 0 <= value <= HASH_BITS:
                raise ValueError(f"{name}={value}: expected 0..{HASH_BITS} bits")
        for name in ("cosine_min", "hash_confirm_cosine"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{name}={value}: expected a cosine between -1 and 1")


def load_thresholds(path: Path | None = None, encoder: str | None = None) -> DuplicateThresholds:
    """Thresholds from a TOML file: the ``[default]`` table, overlaid with ``[encoders."NAME"]``.

    Cosines depend on the model, so each encoder may carry its own table; hash thresholds
    usually live in ``[default]`` alone.
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
    values: dict[str, Any] = dict(document.get("default", {}))
    encoders = document.get("encoders", {})
    if encoder is not None and encoder in encoders:
        values.update(encoders[encoder])
    known = {field.name for field in fields(DuplicateThresholds)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"near-duplicate thresholds: {source} has unknown keys {unknown}; "
            f"expected some of {sorted(known)}"
        )
    try:
        return replace(DuplicateThresholds(), **values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"near-duplicate thresholds in {source}: {error}") from error


@dataclass(frozen=True)
class DuplicatePair:
    """Two records judged near-duplicates, with the evidence (record_id < other_record_id)."""

    record_id: str
    other_record_id: str
    hash_distance: int | None  # pHash bits
    cosine: float | None  # image-vector cosine
    score: float  # cosine when known, else 1 - hash_distance / 64; orders the grouping
    method: str  # 'hash' | 'embedding' | 'both' | 'curator'


@dataclass(frozen=True)
class CuratorDecision:
    """A curator's verdict on a pair (PostgreSQL heritage.duplicate_decisions)."""

    record_id: str
    other_record_id: str
    decision: str  # 'same' | 'different'
    decision_id: int  # the latest decision per pair wins


def _as_hashes(values: np.ndarray | Sequence[int], name: str, count: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.uint64)
    if array.shape != (count,):
        raise ValueError(
            f"find_candidate_pairs: {name} has shape {array.shape}; expected ({count},), "
            "one hash per record"
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


def find_candidate_pairs(
    record_ids: Sequence[str],
    phashes: np.ndarray,
    dhashes: np.ndarray,
    image_vectors: np.ndarray | None,
    thresholds: DuplicateThresholds,
    block_size: int = 2048,
    method: str = "combined",
) -> list[DuplicatePair]:
    """Near-duplicate pairs among the records, sorted by (record_id, other_record_id).

    ``image_vectors`` rows should have unit length; an all-zero row means "no vector" (that
    record is matched by hashes alone). ``method``: 'combined' (hash or embedding evidence),
    'hash' or 'embedding'.
    """
    if method not in METHODS:
        raise ValueError(f"find_candidate_pairs: method {method!r}; expected one of {METHODS}")
    if block_size < 1:
        raise ValueError(f"find_candidate_pairs: block_size={block_size}; expected >= 1")
    ids = list(record_ids)
    count = len(ids)
    if len(set(ids)) != count:
        raise ValueError("find_candidate_pairs: record_ids contain duplicates; pass each once")
    phash = _as_hashes(phashes, "phashes", count)
    dhash = _as_hashes(dhashes, "dhashes", count)
    dhash_mirrored = mirrored_dhashes(dhash) if count else dhash
    vectors: np.ndarray | None = None
    has_vector = np.zeros(count, dtype=bool)
    if image_vectors is not None:
        vectors = np.asarray(image_vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != count:
            raise ValueError(
                f"find_candidate_pairs: image_vectors has shape {vectors.shape}; "
                f"expected ({count}, dim)"
            )
        has_vector = np.linalg.norm(vectors, axis=1) > 0
    if method == "embedding" and vectors is None:
        raise ValueError("find_candidate_pairs: method 'embedding' needs image_vectors")
    use_hash = method in ("combined", "hash")
    use_embedding = method in ("combined", "embedding") and vectors is not None

    rows: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    for r0, r1, c0, c1 in _tiles(count, block_size):
        keep = np.zeros((r1 - r0, c1 - c0), dtype=bool)
        if use_hash:
            p_close = (
                _popcount(phash[r0:r1, None] ^ phash[None, c0:c1]) <= thresholds.hash_max_distance
            )
            d_direct = _popcount(dhash[r0:r1, None] ^ dhash[None, c0:c1])
            d_mirror = _popcount(dhash_mirrored[r0:r1, None] ^ dhash[None, c0:c1])
            keep |= p_close & (np.minimum(d_direct, d_mirror) <= thresholds.dhash_max_distance)
        if use_embedding and vectors is not None:
            cosines = vectors[r0:r1] @ vectors[c0:c1].T
            keep |= cosines >= thresholds.cosine_min - _TILE_SLACK
        if r0 == c0:
            keep &= np.triu(np.ones_like(keep), k=1)
        tile_rows, tile_columns = np.nonzero(keep)
        rows.append(tile_rows + r0)
        columns.append(tile_columns + c0)
    if not rows:
        return []
    left = np.concatenate(rows)
    right = np.concatenate(columns)
    return _judge_candidates(
        ids, left, right, phash, dhash, dhash_mirrored, vectors, has_vector, thresholds, method
    )


def _judge_candidates(
    ids: list[str],
    left: np.ndarray,
    right: np.ndarray,
    phash: np.ndarray,
    dhash: np.ndarray,
    dhash_mirrored: np.ndarray,
    vectors: np.ndarray | None,
    has_vector: np.ndarray,
    thresholds: DuplicateThresholds,
    method: str,
) -> list[DuplicatePair]:
    """Exact evidence for each candidate (float64 cosines), independent of the tiling."""
    hash_distance = _popcount(phash[left] ^ phash[right]).astype(np.int64)
    dhash_distance = np.minimum(
        _popcount(dhash[left] ^ dhash[right]), _popcount(dhash_mirrored[left] ^ dhash[right])
    ).astype(np.int64)
    both_vectors = has_vector[left] & has_vector[right]
    if vectors is not None:
        cosine = np.round(
            np.einsum(
                "ij,ij->i", vectors[left].astype(np.float64), vectors[right].astype(np.float64)
            ),
            _COSINE_DECIMALS,
        )
    else:
        cosine = np.zeros(len(left))
    hash_evidence = (hash_distance <= thresholds.hash_max_distance) & (
        dhash_distance <= thresholds.dhash_max_distance
    )
    hash_evidence &= ~both_vectors | (cosine >= thresholds.hash_confirm_cosine)
    embedding_evidence = both_vectors & (cosine >= thresholds.cosine_min)
    if method == "hash":
        accepted = hash_evidence
    elif method == "embedding":
        accepted = embedding_evidence
    else:
        accepted = hash_evidence | embedding_evidence
    pairs = []
    for index in np.flatnonzero(accepted):
        a, b = ids[left[index]], ids[right[index]]
        known_cosine = float(cosine[index]) if both_vectors[index] else None
        distance = int(hash_distance[index])
        by_hash = bool(hash_evidence[index]) and method != "embedding"
        by_embedding = bool(embedding_evidence[index]) and method != "hash"
        pairs.append(
            DuplicatePair(
                record_id=min(a, b),
                other_record_id=max(a, b),
                hash_distance=distance,
                cosine=known_cosine,
                score=pair_score(distance, known_cosine),
                method="both" if by_hash and by_embedding else "hash" if by_hash else "embedding",
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
    """Union-find whose components never join two records a curator called different."""

    def __init__(self, items: Iterable[str], cannot_link: Iterable[tuple[str, str]]) -> None:
        self._parent = {item: item for item in items}
        self._members = {item: {item} for item in self._parent}
        self._forbidden: dict[str, set[str]] = {item: set() for item in self._parent}
        for a, b in cannot_link:
            self._forbidden[a].add(b)
            self._forbidden[b].add(a)

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
        return True


def assign_canonical_ids(
    record_ids: Sequence[str],
    pairs: Sequence[DuplicatePair],
    decisions: Sequence[CuratorDecision],
) -> dict[str, str]:
    """canonical_id for every record: the smallest record_id of its duplicate group.

    Groups are grown by one deterministic rule, so the result depends only on the *set* of
    inputs: curator 'same' pairs first (sorted by ids), then detector pairs by descending score
    (ties by ids); a join is refused when it would put two records a curator called
    'different' (their latest decision) in one group, whatever path connects them. Decisions on
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
    cannot_link = sorted(key for key, verdict in verdicts.items() if verdict == "different")
    same = sorted(key for key, verdict in verdicts.items() if verdict == "same")
    groups = _ConstrainedUnionFind(sorted(universe), cannot_link)
    for a, b in same:
        groups.union(a, b)
    detector_edges = sorted(
        (
            (
                -pair.score,
                min(pair.record_id, pair.other_record_id),
                max(pair.record_id, pair.other_record_id),
            )
            for pair in pairs
            if pair.record_id != pair.other_record_id
        ),
    )
    for _, a, b in detector_edges:
        groups.union(a, b)
    smallest: dict[str, str] = {}
    for item in sorted(universe):
        root = groups.find(item)
        smallest.setdefault(root, item)
    return {item: smallest[groups.find(item)] for item in sorted(universe)}


def duplicate_groups(canonical_ids: Mapping[str, str]) -> dict[str, list[str]]:
    """Groups with more than one member: canonical_id -> sorted member record ids."""
    members: dict[str, list[str]] = {}
    for record_id, canonical in canonical_ids.items():
        members.setdefault(canonical, []).append(record_id)
    return {
        canonical: sorted(group) for canonical, group in sorted(members.items()) if len(group) > 1
    }
