"""Top-k similar objects by the combined vector, outside each record's duplicate group (pure).

Deterministic whatever order records arrived in: records are sorted by id first, scores are
rounded, and ties are broken by record id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SCORE_DECIMALS = 5


@dataclass(frozen=True)
class SimilarPair:
    record_id: str
    rank: int  # 1 = most similar
    similar_record_id: str
    score: float


def top_k_similar(
    record_ids: Sequence[str],
    vectors: np.ndarray,
    canonical_of: Mapping[str, str],
    k: int = 10,
    block_size: int = 1024,
) -> list[SimilarPair]:
    """For each record the ``k`` most similar others by cosine, excluding records of its own
    group (same canonical id; a record in no group is its own canonical), computed in
    blocks of ``block_size`` rows so memory stays ``block_size x n``."""
    if len(record_ids) != len(vectors):
        raise ValueError(f"{len(record_ids)} record ids but {len(vectors)} vectors")
    if not record_ids or k < 1:
        return []
    order = np.argsort(np.asarray(record_ids, dtype=object), kind="stable")
    ids = [record_ids[i] for i in order]
    matrix = np.asarray(vectors, dtype=np.float32)[order]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
    groups = np.asarray([canonical_of.get(r, r) for r in ids], dtype=object)
    _, group_codes = np.unique(groups, return_inverse=True)
    result: list[SimilarPair] = []
    for start in range(0, len(ids), block_size):
        block = matrix[start : start + block_size]
        scores = np.round(block @ matrix.T, SCORE_DECIMALS)
        own_group = group_codes[start : start + len(block), None] == group_codes[None, :]
        scores[own_group] = -np.inf
        for row in range(len(block)):
            candidates = np.flatnonzero(np.isfinite(scores[row]))
            if not len(candidates):
                continue
            values = scores[row, candidates]
            if len(candidates) > k:
                threshold = np.partition(values, -k)[-k]
                keep = values >= threshold
                candidates, values = candidates[keep], values[keep]
            # Highest score first; equal scores by record id (index order is id order).
            ranked = np.lexsort((candidates, -values))[:k]
            record = ids[start + row]
            result.extend(
                SimilarPair(
                    record, rank + 1, ids[candidates[i]], round(float(values[i]), SCORE_DECIMALS)
                )
                for rank, i in enumerate(ranked)
            )
    return result
