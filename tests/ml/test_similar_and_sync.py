"""Pure parts of the duplicate stage: top-k similar objects and the Delta row diff."""

from __future__ import annotations

import numpy as np

from heritage.ml.delta_sync import diff_rows
from heritage.ml.similar_objects import top_k_similar


def test_top_k_excludes_own_group_and_breaks_ties_by_record_id() -> None:
    ids = ["d", "a", "c", "b", "e"]
    vectors = np.array([[1, 0], [1, 0], [1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    canonical = {"c": "a"}  # a and c are one group
    got = {
        (s.record_id, s.rank): (s.similar_record_id, s.score)
        for s in top_k_similar(ids, vectors, canonical, k=2, block_size=2)
    }
    # a: d has score 1 (c is its own group), then b; equal scores are ordered by id.
    assert got[("a", 1)] == ("d", 1.0) and got[("a", 2)] == ("b", 0.6)
    assert got[("d", 1)] == ("a", 1.0) and got[("d", 2)] == ("c", 1.0)
    assert got[("e", 1)] == ("b", 0.8)


def test_top_k_is_the_same_in_any_input_order() -> None:
    rng = np.random.default_rng(3)
    ids = [f"r{i:03d}" for i in range(60)]
    vectors = rng.normal(size=(60, 8)).astype(np.float32)
    canonical = {"r001": "r000", "r007": "r000"}
    expected = top_k_similar(ids, vectors, canonical, k=5, block_size=7)
    order = rng.permutation(60)
    shuffled = top_k_similar([ids[i] for i in order], vectors[order], canonical, k=5, block_size=16)
    assert sorted(shuffled, key=lambda s: (s.record_id, s.rank)) == sorted(
        expected, key=lambda s: (s.record_id, s.rank)
    )
    assert len(expected) == 60 * 5


def test_top_k_of_nothing_and_of_a_lone_record() -> None:
    assert top_k_similar([], np.zeros((0, 4), dtype=np.float32), {}) == []
    assert top_k_similar(["a"], np.ones((1, 4), dtype=np.float32), {}) == []


def test_diff_rows_upserts_changes_and_deletes_disappeared_keys() -> None:
    current = [("a", "x"), ("b", "y"), ("c", "z")]
    desired = [("a", "x"), ("b", "Y"), ("d", "w")]
    upserts, deletes = diff_rows(current, desired, key_size=1)
    assert upserts == [("b", "Y"), ("d", "w")]
    assert deletes == [("c",)]


def test_diff_rows_compares_floats_as_the_table_stores_them() -> None:
    stored = [("a", 1, float(np.float32(0.12345)))]
    assert diff_rows(stored, [("a", 1, 0.12345)], key_size=2) == ([], [])
    upserts, _ = diff_rows(stored, [("a", 1, 0.12346)], key_size=2)
    assert [row[:2] for row in upserts] == [("a", 1)]
