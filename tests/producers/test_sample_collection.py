from __future__ import annotations

from collections import Counter

from heritage.producers.simulators.sample_collection import (
    MALFORMED_KINDS,
    generate_sample_collection,
    iter_payload_kinds,
)


def test_same_seed_same_collection() -> None:
    first = generate_sample_collection(400, seed=3)
    second = generate_sample_collection(400, seed=3)
    assert first.messages == second.messages
    assert generate_sample_collection(400, seed=4).messages != first.messages


def test_collection_has_every_kind_of_record_a_pipeline_meets() -> None:
    collection = generate_sample_collection(1000, seed=7)
    manifest = collection.manifest
    assert len(manifest.malformed) == 50  # 5%
    assert set(manifest.malformed.values()) == set(MALFORMED_KINDS)
    assert manifest.updated_record_ids and manifest.exact_duplicates and manifest.near_duplicates
    assert len(collection.messages) == manifest.message_count
    assert not manifest.valid_record_ids & set(manifest.malformed)
    kinds = Counter(kind for _, kind in iter_payload_kinds(collection))
    assert kinds["update"] == len(manifest.updated_record_ids)


def test_records_are_multilingual_with_mixed_date_formats() -> None:
    collection = generate_sample_collection(300, seed=7)
    valid = [
        m.payload
        for m in collection.messages
        if m.record_id in collection.manifest.valid_record_ids
    ]
    assert all(len(p["dcTitleLangAware"]) >= 2 for p in valid)
    dates = {p["dcDate"][0] for p in valid if "dcDate" in p}
    assert any(d.startswith("c. ") for d in dates)
    assert any("/" in d for d in dates)
    assert any("T" in d for d in dates)


def test_updates_come_after_the_original_and_change_content() -> None:
    collection = generate_sample_collection(500, seed=7)
    positions: dict[str, list[int]] = {}
    for index, message in enumerate(collection.messages):
        positions.setdefault(message.record_id, []).append(index)
    for record_id in collection.manifest.updated_record_ids:
        first, later = positions[record_id]
        assert collection.messages[first].payload != collection.messages[later].payload


def test_deletions_come_last_and_leave_the_live_set() -> None:
    collection = generate_sample_collection(
        2000, seed=7, update_fraction=0.02, delete_fraction=0.01
    )
    manifest = collection.manifest
    assert 5 <= len(manifest.deleted_record_ids) <= 40
    assert manifest.deleted_record_ids <= manifest.valid_record_ids
    tombstones = [m for m in collection.messages if m.deleted]
    assert {m.record_id for m in tombstones} == manifest.deleted_record_ids
    assert collection.messages[-len(tombstones) :] == tombstones
    assert manifest.live_record_ids == manifest.valid_record_ids - manifest.deleted_record_ids
    assert len(collection.messages) == manifest.message_count
