"""Candidate pairs against a brute-force reference; canonical ids and curator decisions."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageOps

from heritage.ml.image_hashes import hamming_distance
from heritage.ml.image_keypoints import Keypoints, image_keypoints
from heritage.ml.near_duplicates import (
    CuratorDecision,
    DuplicatePair,
    DuplicateThresholds,
    assign_canonical_ids,
    duplicate_groups,
    find_candidate_pairs,
    latest_decisions,
    load_thresholds,
    nearest_pairs,
)

THRESHOLDS = DuplicateThresholds(
    hash_max_distance=10, dhash_max_distance=14, cosine_min=0.8, hash_confirm_cosine=0.3
)


def _clustered_data(count: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Records in small clusters: near-equal hashes and vectors inside a cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(count // 3 + 1, 24))
    cluster = rng.integers(0, len(centres), size=count)
    vectors = centres[cluster] + rng.normal(scale=0.45, size=(count, 24))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    base_p = rng.integers(0, 2**63, size=len(centres), dtype=np.uint64) * np.uint64(2)
    base_d = rng.integers(0, 2**63, size=len(centres), dtype=np.uint64) * np.uint64(2)

    def noisy(base: np.ndarray) -> np.ndarray:
        flips = np.zeros(count, dtype=np.uint64)
        for bit in range(64):
            flips |= (rng.random(count) < 0.08).astype(np.uint64) << np.uint64(bit)
        return base[cluster] ^ flips

    ids = [f"rec:{index:04d}" for index in rng.permutation(count)]
    return ids, noisy(base_p), noisy(base_d), vectors.astype(np.float32)


def _brute_force(
    ids: list[str],
    phashes: np.ndarray,
    dhashes: np.ndarray,
    vectors: np.ndarray | None,
    thresholds: DuplicateThresholds,
    method: str,
) -> set[tuple[str, str, str]]:
    found = set()
    for i, j in itertools.combinations(range(len(ids)), 2):
        p = hamming_distance(int(phashes[i]), int(phashes[j]))
        d = hamming_distance(int(dhashes[i]), int(dhashes[j]))
        cosine = (
            float(np.dot(vectors[i].astype(float), vectors[j].astype(float)))
            if vectors is not None
            else None
        )
        by_hash = p <= thresholds.hash_max_distance and d <= thresholds.dhash_max_distance
        if cosine is not None:
            by_hash = by_hash and cosine >= thresholds.hash_confirm_cosine
        by_embedding = cosine is not None and cosine >= thresholds.cosine_min
        by_hash = by_hash and method != "embedding"
        by_embedding = by_embedding and method != "hash"
        if by_hash or by_embedding:
            label = "both" if by_hash and by_embedding else "hash" if by_hash else "embedding"
            a, b = sorted((ids[i], ids[j]))
            found.add((a, b, label))
    return found


@pytest.mark.parametrize("method", ["combined", "hash", "embedding"])
@pytest.mark.parametrize("block_size", [7, 64, 2048])
def test_candidate_pairs_equal_brute_force(method: str, block_size: int) -> None:
    ids, phashes, dhashes, vectors = _clustered_data(150, seed=3)
    pairs = find_candidate_pairs(
        ids, phashes, dhashes, vectors, THRESHOLDS, block_size=block_size, method=method
    )
    expected = _brute_force(ids, phashes, dhashes, vectors, THRESHOLDS, method)
    assert len(expected) > 20  # the data must exercise the detector
    assert {(p.record_id, p.other_record_id, p.method) for p in pairs} == expected
    assert [(p.record_id, p.other_record_id) for p in pairs] == sorted(
        (p.record_id, p.other_record_id) for p in pairs
    )
    for pair in pairs:
        assert pair.record_id < pair.other_record_id
        assert pair.cosine is not None and pair.score == pytest.approx(pair.cosine)


def test_hash_method_without_vectors_equals_brute_force() -> None:
    ids, phashes, dhashes, _ = _clustered_data(120, seed=5)
    pairs = find_candidate_pairs(
        ids, phashes, dhashes, None, THRESHOLDS, block_size=16, method="hash"
    )
    expected = _brute_force(ids, phashes, dhashes, None, THRESHOLDS, "hash")
    assert expected
    assert {(p.record_id, p.other_record_id, p.method) for p in pairs} == expected
    assert all(
        p.cosine is None and p.score == 1 - p.hash_distance / 64
        for p in pairs
        if p.hash_distance is not None
    )


def test_pairs_do_not_depend_on_tiling_or_record_order() -> None:
    ids, phashes, dhashes, vectors = _clustered_data(90, seed=11)
    reference = find_candidate_pairs(ids, phashes, dhashes, vectors, THRESHOLDS, block_size=2048)
    order = np.random.default_rng(0).permutation(len(ids))
    shuffled = find_candidate_pairs(
        [ids[i] for i in order],
        phashes[order],
        dhashes[order],
        vectors[order],
        THRESHOLDS,
        block_size=13,
    )
    assert shuffled == reference


def test_records_without_vectors_match_on_hashes_alone() -> None:
    ids = ["a", "b", "c"]
    phashes = np.array([0, 1, 0xFFFF_FFFF_0000_0000], dtype=np.uint64)
    dhashes = np.array([0, 3, 0xFFFF_FFFF_0000_0000], dtype=np.uint64)
    vectors = np.zeros((3, 4), dtype=np.float32)
    vectors[2, 0] = 1.0
    pairs = find_candidate_pairs(ids, phashes, dhashes, vectors, THRESHOLDS)
    assert pairs == [DuplicatePair("a", "b", 1, None, 1 - 1 / 64, "hash")]


def test_empty_and_invalid_inputs() -> None:
    empty = np.zeros(0, dtype=np.uint64)
    assert find_candidate_pairs([], empty, empty, None, THRESHOLDS, method="hash") == []
    with pytest.raises(ValueError, match="method"):
        find_candidate_pairs([], empty, empty, None, THRESHOLDS, method="magic")
    with pytest.raises(ValueError, match="needs image_vectors"):
        find_candidate_pairs([], empty, empty, None, THRESHOLDS, method="embedding")
    with pytest.raises(ValueError, match="duplicates"):
        find_candidate_pairs(
            ["a", "a"], np.zeros(2, np.uint64), np.zeros(2, np.uint64), None, THRESHOLDS
        )
    with pytest.raises(ValueError, match="shape"):
        find_candidate_pairs(
            ["a"], np.zeros(2, np.uint64), np.zeros(1, np.uint64), None, THRESHOLDS
        )


def _pair(a: str, b: str, score: float) -> DuplicatePair:
    return DuplicatePair(min(a, b), max(a, b), None, score, score, "embedding")


def test_canonical_id_is_smallest_member_and_singletons_map_to_themselves() -> None:
    ids = ["r:5", "r:3", "r:9", "r:1", "r:7"]
    pairs = [_pair("r:5", "r:3", 0.95), _pair("r:5", "r:9", 0.92)]
    canonical = assign_canonical_ids(ids, pairs, [])
    assert canonical == {"r:1": "r:1", "r:3": "r:3", "r:5": "r:3", "r:7": "r:7", "r:9": "r:3"}
    assert duplicate_groups(canonical) == {"r:3": ["r:3", "r:5", "r:9"]}


def test_canonical_ids_are_identical_under_shuffles() -> None:
    ids, phashes, dhashes, vectors = _clustered_data(120, seed=21)
    pairs = find_candidate_pairs(ids, phashes, dhashes, vectors, THRESHOLDS)
    decisions = [
        CuratorDecision(pairs[0].record_id, pairs[0].other_record_id, "different", 4),
        CuratorDecision(pairs[1].record_id, pairs[1].other_record_id, "different", 2),
        CuratorDecision(pairs[1].other_record_id, pairs[1].record_id, "same", 1),
        CuratorDecision(ids[0], ids[-1], "same", 3),
    ]
    reference = assign_canonical_ids(ids, pairs, decisions)
    assert len(duplicate_groups(reference)) > 5
    rng = random.Random(7)
    for _ in range(3):
        shuffled_ids, shuffled_pairs, shuffled_decisions = list(ids), list(pairs), list(decisions)
        rng.shuffle(shuffled_ids)
        rng.shuffle(shuffled_pairs)
        rng.shuffle(shuffled_decisions)
        assert assign_canonical_ids(shuffled_ids, shuffled_pairs, shuffled_decisions) == reference


def test_incremental_pairs_give_the_full_rebuild() -> None:
    ids, phashes, dhashes, vectors = _clustered_data(100, seed=8)
    full = assign_canonical_ids(
        ids, find_candidate_pairs(ids, phashes, dhashes, vectors, THRESHOLDS), []
    )
    old, new = slice(0, 70), slice(70, 100)
    stored = find_candidate_pairs(ids[old], phashes[old], dhashes[old], vectors[old], THRESHOLDS)
    everything = find_candidate_pairs(ids, phashes, dhashes, vectors, THRESHOLDS, block_size=32)
    new_ids = set(ids[new])
    added = [p for p in everything if p.record_id in new_ids or p.other_record_id in new_ids]
    assert added
    assert assign_canonical_ids(ids, stored + added, []) == full


def test_different_decision_holds_against_a_connecting_path() -> None:
    ids = ["a", "b", "c", "d"]
    pairs = [_pair("a", "b", 0.99), _pair("b", "c", 0.97), _pair("c", "d", 0.95)]
    decisions = [CuratorDecision("d", "a", "different", 1)]
    canonical = assign_canonical_ids(ids, pairs, decisions)
    assert canonical["a"] != canonical["d"]
    # The weakest edge on the path is the one refused.
    assert canonical == {"a": "a", "b": "a", "c": "a", "d": "d"}


def test_same_decision_joins_and_latest_decision_wins() -> None:
    ids = ["a", "b", "c"]
    pairs = [_pair("a", "b", 0.99)]
    joined = assign_canonical_ids(ids, pairs, [CuratorDecision("c", "b", "same", 1)])
    assert joined == {"a": "a", "b": "a", "c": "a"}
    revoked = [CuratorDecision("a", "b", "same", 1), CuratorDecision("b", "a", "different", 2)]
    assert assign_canonical_ids(ids, pairs, revoked) == {"a": "a", "b": "b", "c": "c"}
    reinstated = [*revoked, CuratorDecision("a", "b", "same", 3)]
    assert assign_canonical_ids(ids, [], reinstated) == {"a": "a", "b": "a", "c": "c"}


def test_decisions_on_unknown_records_are_ignored_and_bad_verdicts_refused() -> None:
    assert assign_canonical_ids(["a"], [], [CuratorDecision("a", "zz", "same", 1)]) == {"a": "a"}
    with pytest.raises(ValueError, match="expected 'same' or 'different'"):
        latest_decisions([CuratorDecision("a", "b", "maybe", 1)])


def test_thresholds_file_default_and_encoder_tables(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        "[default]\nhash_max_distance = 5\ncosine_min = 0.8\n"
        '[encoders."enc:x"]\ncosine_min = 0.95\n'
    )
    assert load_thresholds(path).cosine_min == 0.8
    tuned = load_thresholds(path, encoder="enc:x")
    assert (tuned.hash_max_distance, tuned.cosine_min) == (5, 0.95)
    assert load_thresholds(path, encoder="enc:other").cosine_min == 0.8
    path.write_text("[default]\ncosine_minimum = 0.8\n")
    with pytest.raises(ValueError, match="unknown keys"):
        load_thresholds(path)
    with pytest.raises(ValueError, match="not found"):
        load_thresholds(tmp_path / "missing.toml")


def test_project_thresholds_file_loads() -> None:
    thresholds = load_thresholds()
    assert 0 < thresholds.hash_max_distance < 32
    assert 0 < thresholds.cosine_min < 1


def test_oriented_hashes_match_in_the_orientation_where_they_agree() -> None:
    rng = np.random.default_rng(7)
    upright = rng.integers(0, 2**63, size=(3, 8), dtype=np.uint64)
    # "b" is "a" turned: b's stored hashes are a's orientation 5.
    upright[1, 0] = upright[0, 5]
    dhashes = upright.copy()
    pairs = find_candidate_pairs(["a", "b", "c"], upright, dhashes, None, THRESHOLDS, method="hash")
    assert [(p.record_id, p.other_record_id, p.orientation) for p in pairs] == [("a", "b", 5)]
    # The same records in the other order give the same pair.
    reverse = find_candidate_pairs(
        ["c", "b", "a"], upright[::-1], dhashes[::-1], None, THRESHOLDS, method="hash"
    )
    assert [(p.record_id, p.other_record_id, p.hash_distance) for p in reverse] == [("a", "b", 0)]


def test_turned_matches_need_their_own_cosine() -> None:
    hashes = np.zeros((2, 8), dtype=np.uint64)
    hashes[0] = np.arange(1, 9, dtype=np.uint64) << np.uint64(40)
    hashes[1, 0] = hashes[0, 2]  # "b" matches "a" turned twice
    vectors = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)  # cosine 0.6
    strict = DuplicateThresholds(
        hash_max_distance=4, dhash_max_distance=4, cosine_min=0.99,
        hash_confirm_cosine=0.5, turned_confirm_cosine=0.7,
    )  # fmt: skip
    assert find_candidate_pairs(["a", "b"], hashes, hashes, vectors, strict) == []
    relaxed = DuplicateThresholds(**{**strict.__dict__, "turned_confirm_cosine": 0.5})
    assert [
        p.method for p in find_candidate_pairs(["a", "b"], hashes, hashes, vectors, relaxed)
    ] == ["hash"]


def test_calibrated_score_is_the_logistic_of_the_features(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        "[default]\nhash_max_distance = 8\n"
        "[default.calibration]\nintercept = 2.0\nphash_distance = -32.0\n"
    )
    thresholds = load_thresholds(path)
    assert dict(thresholds.calibration) == {"intercept": 2.0, "phash_distance": -32.0}
    phashes = np.array([0, 0b1111], dtype=np.uint64)  # 4 bits apart
    pairs = find_candidate_pairs(["a", "b"], phashes, phashes, None, thresholds, method="hash")
    assert pairs[0].score == pytest.approx(1 / (1 + np.exp(-(2.0 - 32.0 * 4 / 64))), abs=1e-6)
    path.write_text("[default.calibration]\nsharpness = 1.0\n")
    with pytest.raises(ValueError, match="unknown features"):
        load_thresholds(path)


def test_pages_need_their_signatures_to_agree() -> None:
    """Two pages of one book have close hashes; without agreeing page signatures they are
    not duplicates, with them they are (page evidence alone suffices)."""
    hashes = np.zeros(2, dtype=np.uint64)
    grid = np.random.default_rng(3).normal(size=(2, 2048)).astype(np.float32)
    grid /= np.linalg.norm(grid, axis=1, keepdims=True)
    thresholds = DuplicateThresholds(page_similarity_min=0.8, page_confirm_similarity=0.5)
    assert (
        find_candidate_pairs(["p1", "p2"], hashes, hashes, None, thresholds, page_signatures=grid)
        == []
    )
    same = np.vstack([grid[0], grid[0]])
    pairs = find_candidate_pairs(
        ["p1", "p2"], hashes, hashes, None, thresholds, page_signatures=same
    )
    assert [(p.method, p.page_similarity) for p in pairs] == [("hash", 1.0)]
    far = np.array([0, 2**64 - 1], dtype=np.uint64)  # hashes far apart: the page alone
    pairs = find_candidate_pairs(["p1", "p2"], far, far, None, thresholds, page_signatures=same)
    assert [(p.method, p.page_similarity) for p in pairs] == [("page", 1.0)]


def _fine(words: list[int]) -> np.ndarray:
    """One record's fine hashes: the same four words in every orientation."""
    return np.tile(np.array(words, dtype=np.uint64), (8, 1))


def test_hash_matches_need_the_fine_hashes_to_agree() -> None:
    hashes = np.zeros(2, dtype=np.uint64)  # the 64-bit hashes agree exactly
    close = np.stack([_fine([0, 0, 0, 0]), _fine([0b111, 0, 0, 0])])  # 3 bits apart
    far = np.stack([_fine([0, 0, 0, 0]), _fine([2**40 - 1, 0, 0, 0])])  # 40 bits apart
    gated = DuplicateThresholds(hash_max_distance=4, dhash_max_distance=4, fine_max_distance=20)
    found = find_candidate_pairs(["a", "b"], hashes, hashes, None, gated, fine_hashes=close)
    assert [p.method for p in found] == ["hash"]
    assert find_candidate_pairs(["a", "b"], hashes, hashes, None, gated, fine_hashes=far) == []
    # Records without fine hashes match on the 64-bit hashes alone.
    assert len(find_candidate_pairs(["a", "b"], hashes, hashes, None, gated)) == 1
    with pytest.raises(ValueError, match="fine_hashes"):
        find_candidate_pairs(["a", "b"], hashes, hashes, None, gated, fine_hashes=far[:, :4])


def test_fine_hashes_match_in_the_orientation_where_they_agree() -> None:
    rng = np.random.default_rng(3)
    fine = rng.integers(0, 2**63, size=(2, 8, 4), dtype=np.uint64)
    fine[1, 0] = fine[0, 6]  # "b" is "a" turned and mirrored
    hashes = np.zeros(2, dtype=np.uint64)
    gated = DuplicateThresholds(
        hash_max_distance=4, dhash_max_distance=4, fine_max_distance=4, turned_fine_max_distance=4
    )
    assert len(find_candidate_pairs(["a", "b"], hashes, hashes, None, gated, fine_hashes=fine)) == 1
    reverse = find_candidate_pairs(["b", "a"], hashes, hashes, None, gated, fine_hashes=fine[::-1])
    assert len(reverse) == 1


def _two_groups_and_a_bridge(bridge_score: float) -> list[DuplicatePair]:
    pairs = [
        _pair(a, b, 0.99)
        for group in (("a1", "a2", "a3"), ("b1", "b2", "b3"))
        for a, b in itertools.combinations(group, 2)
    ]
    return [*pairs, _pair("a3", "b1", bridge_score)]


def test_two_groups_do_not_join_on_one_weak_pair() -> None:
    ids = ["a1", "a2", "a3", "b1", "b2", "b3"]
    rule = DuplicateThresholds(merge_support=0.5, merge_strong_score=0.999)
    weak = assign_canonical_ids(ids, _two_groups_and_a_bridge(0.9), [], rule)
    assert duplicate_groups(weak) == {"a1": ["a1", "a2", "a3"], "b1": ["b1", "b2", "b3"]}
    # Without the rule, or with a strong bridge, or with enough bridges, they join.
    assert len(duplicate_groups(assign_canonical_ids(ids, _two_groups_and_a_bridge(0.9), []))) == 1
    strong = assign_canonical_ids(ids, _two_groups_and_a_bridge(0.9995), [], rule)
    assert len(duplicate_groups(strong)) == 1
    bridged = [*_two_groups_and_a_bridge(0.9), _pair("a2", "b2", 0.9)]
    assert len(duplicate_groups(assign_canonical_ids(ids, bridged, [], rule))) == 1
    # A single record joins a group on one pair.
    single = assign_canonical_ids(
        [*ids, "c"], [*_two_groups_and_a_bridge(0.9), _pair("c", "b3", 0.5)], [], rule
    )
    assert single["c"] == "b1"


def test_a_high_scored_pair_between_two_groups_does_not_join_them_early() -> None:
    """The wrong pair scores above every pair inside the groups (one caption over two
    pictures): joined first, it would pair two lone records, and each group would then
    join that pair on one link. Pairs that share partners join first."""
    ids = ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4"]
    pairs = [
        _pair(a, b, 0.9)
        for group in (ids[:4], ids[4:])
        for a, b in itertools.combinations(group, 2)
    ]
    rule = DuplicateThresholds(merge_support=0.5, merge_strong_score=0.999)
    groups = assign_canonical_ids(ids, [*pairs, _pair("a4", "b4", 0.99)], [], rule)
    assert duplicate_groups(groups) == {"a1": ids[:4], "b1": ids[4:]}


def test_grouping_rule_is_independent_of_order() -> None:
    ids, phashes, dhashes, vectors = _clustered_data(150, seed=5)
    loose = DuplicateThresholds(
        hash_max_distance=14, dhash_max_distance=18, cosine_min=0.6, hash_confirm_cosine=0.3
    )
    pairs = find_candidate_pairs(ids, phashes, dhashes, vectors, loose)
    rule = DuplicateThresholds(merge_support=0.5, merge_strong_score=0.95)
    reference = assign_canonical_ids(ids, pairs, [], rule)
    assert reference != assign_canonical_ids(ids, pairs, [])  # the rule refused some joins
    rng = random.Random(11)
    for _ in range(3):
        shuffled_ids, shuffled_pairs = list(ids), list(pairs)
        rng.shuffle(shuffled_ids)
        rng.shuffle(shuffled_pairs)
        assert assign_canonical_ids(shuffled_ids, shuffled_pairs, [], rule) == reference


def test_fine_and_grouping_thresholds_load_and_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        "[default]\nfine_max_distance = 30\nturned_fine_max_distance = 12\n"
        "merge_support = 0.3\nmerge_strong_score = 0.999\n"
    )
    thresholds = load_thresholds(path)
    assert (thresholds.fine_max_distance, thresholds.turned_fine_max_distance) == (30, 12)
    assert (thresholds.merge_support, thresholds.merge_strong_score) == (0.3, 0.999)
    with pytest.raises(ValueError, match="fine_max_distance"):
        DuplicateThresholds(fine_max_distance=300)


@cache
def _star_field_keypoints() -> list[Keypoints]:
    """A quadrant of a star field, a framed copy of it, and another quadrant."""
    stars = Image.fromarray(skimage.data.hubble_deep_field()).convert("RGB")
    w, h = stars.width // 2, stars.height // 2
    first, second = stars.crop((0, 0, w, h)), stars.crop((w, 0, 2 * w, h))
    framed = ImageOps.expand(first.resize((w * 4 // 5, h * 4 // 5)), border=40, fill=(240,) * 3)
    return [image_keypoints(image) for image in (first, framed, second)]


def _equally_alike(count: int, cosine: float) -> np.ndarray:
    """Unit vectors whose pairwise cosines are all ``cosine``."""
    shared = np.sqrt(cosine) * np.eye(count + 1)[0]
    return (shared + np.sqrt(1 - cosine) * np.eye(count + 1)[1:]).astype(np.float32)


def test_embedding_evidence_needs_geometric_verification() -> None:
    """Two regions of one star field look alike to the image vector; only the framed copy
    keeps the quadrant's keypoints in place."""
    ids = ["quadrant", "framed", "other quadrant"]
    far = np.array([0, 2**64 - 1, 0x5555_5555_5555_5555], dtype=np.uint64)
    keypoints = _star_field_keypoints()
    plain = DuplicateThresholds(hash_max_distance=4, dhash_max_distance=4, cosine_min=0.85)
    alike = _equally_alike(3, 0.9)
    assert len(find_candidate_pairs(ids, far, far, alike, plain)) == 3
    verified = replace(plain, keypoint_min_support=8, keypoint_cosine_min=0.7)
    pairs = find_candidate_pairs(ids, far, far, alike, verified, keypoints=keypoints)
    assert [(p.record_id, p.other_record_id, p.method) for p in pairs] == [
        ("framed", "quadrant", "embedding")
    ]
    # Verified, a lower cosine than cosine_min is enough; a record without keypoints is
    # judged on the cosine alone.
    less_alike = _equally_alike(3, 0.75)
    assert len(find_candidate_pairs(ids, far, far, less_alike, verified, keypoints=keypoints)) == 1
    partial = [keypoints[0], None, keypoints[2]]
    assert len(find_candidate_pairs(ids, far, far, alike, verified, keypoints=partial)) == 2
    with pytest.raises(ValueError, match="keypoint"):
        find_candidate_pairs(ids, far, far, alike, verified, keypoints=keypoints[:2])


def test_weak_hash_evidence_needs_geometric_verification() -> None:
    ids = ["quadrant", "framed", "other quadrant"]
    hashes = np.array([0, 0xFF, 0xF00F], dtype=np.uint64)  # 8 bits apart pairwise
    gated = DuplicateThresholds(
        hash_max_distance=10, dhash_max_distance=10, keypoint_min_support=8,
        keypoint_hash_distance=6,
    )  # fmt: skip
    pairs = find_candidate_pairs(
        ids, hashes, hashes, None, gated, method="hash", keypoints=_star_field_keypoints()
    )
    assert [(p.record_id, p.other_record_id) for p in pairs] == [("framed", "quadrant")]
    trusted = replace(gated, keypoint_hash_distance=8)
    assert len(find_candidate_pairs(ids, hashes, hashes, None, trusted, method="hash")) == 3


def test_keypoint_thresholds_are_checked() -> None:
    assert DuplicateThresholds(keypoint_hash_distance=-1).keypoint_hash_distance == -1
    with pytest.raises(ValueError, match="keypoint_hash_distance"):
        DuplicateThresholds(keypoint_hash_distance=-2)
    with pytest.raises(ValueError, match="keypoint_min_support"):
        DuplicateThresholds(keypoint_min_support=-1)


def test_nearest_pairs_keep_each_records_most_alike() -> None:
    # Record 0 is paired with 1..5; 1..5 only with 0.
    left = np.zeros(5, dtype=np.int64)
    right = np.arange(1, 6)
    cosine = np.array([0.9, 0.8, 0.95, 0.7, 0.6])
    # Each of 1..5 has one pair, so every pair is among its record's nearest.
    assert nearest_pairs(left, right, cosine, 1).all()
    # Pairs of records that are each other's farthest are left out.
    left = np.array([0, 0, 0, 1, 1, 2])
    right = np.array([1, 2, 3, 2, 3, 3])
    cosine = np.array([0.9, 0.8, 0.2, 0.85, 0.1, 0.3])
    kept = nearest_pairs(left, right, cosine, 2)
    assert kept.tolist() == [True, True, True, True, False, True]
    assert nearest_pairs(left[:0], right[:0], cosine[:0], 2).tolist() == []


def test_unverified_judgements_use_their_own_thresholds(tmp_path: Path) -> None:
    """Records without keypoints (the lakehouse stage) are judged with the ``unverified``
    sub-table, verification off; the verified table is left as it is."""
    path = tmp_path / "t.toml"
    path.write_text(
        "[default]\nhash_max_distance = 24\nkeypoint_min_support = 8\n"
        "[default.unverified]\nhash_max_distance = 8\n"
        "[default.unverified.calibration]\nintercept = 1.0\n"
        '[encoders."enc:x"]\ncosine_min = 0.6\nkeypoint_min_support = 6\n'
        '[encoders."enc:x".unverified]\ncosine_min = 0.9\n',
        encoding="utf-8",
    )
    verified = load_thresholds(path)
    assert (verified.hash_max_distance, verified.keypoint_min_support) == (24, 8)
    plain = load_thresholds(path, verified=False)
    assert (plain.hash_max_distance, plain.keypoint_min_support) == (8, 0)
    assert plain.calibration == (("intercept", 1.0),)
    encoder = load_thresholds(path, encoder="enc:x", verified=False)
    assert (encoder.cosine_min, encoder.keypoint_min_support) == (0.9, 0)
    assert load_thresholds(path, encoder="enc:x").cosine_min == 0.6
    # The shipped file: the lakehouse stage keeps the limits tuned without verification.
    shipped = load_thresholds(verified=False)
    assert shipped.keypoint_min_support == 0
    assert shipped.hash_max_distance <= load_thresholds().hash_max_distance
