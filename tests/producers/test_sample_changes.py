"""The sample's revisions and deletions: exact counts, determinism, validation, and messages
the pipeline reads as updates and tombstones (once each, however often the sample is sent)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from topic_reader import TopicReader

from heritage.cli import main
from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import produce_sample
from heritage.producers.simulators.sample_collection import (
    SampleCollection,
    generate_sample_collection,
    iter_payload_kinds,
    pick_changes,
)
from heritage.record_contract import classify_envelope
from heritage.record_model import Envelope, SourceRecord, envelope_for
from heritage.settings import Settings


def envelopes(collection: SampleCollection) -> list[Envelope]:
    return [
        envelope_for("europeana", SourceRecord(m.record_id, m.payload, deleted=m.deleted), "c", "t")
        for m in collection.messages
    ]


def test_counts_are_the_rounded_shares_of_the_sample() -> None:
    collection = generate_sample_collection(
        1000, seed=11, update_fraction=0.1, delete_fraction=0.05
    )
    manifest = collection.manifest
    assert len(manifest.updated_record_ids) == 100
    assert len(manifest.deleted_record_ids) == 50
    assert not manifest.updated_record_ids & manifest.deleted_record_ids
    assert manifest.updated_record_ids | manifest.deleted_record_ids <= manifest.valid_record_ids
    assert len(collection.messages) == manifest.message_count == 1150
    kinds = Counter(kind for _, kind in iter_payload_kinds(collection))
    assert (kinds["update"], kinds["delete"]) == (100, 50)
    assert len(manifest.live_record_ids) == len(manifest.valid_record_ids) - 50


def test_no_changes_by_default_shares_of_zero() -> None:
    collection = generate_sample_collection(200, seed=3, update_fraction=0, delete_fraction=0)
    assert len(collection.messages) == 200
    assert not collection.manifest.updated_record_ids
    assert not collection.manifest.deleted_record_ids


def test_changes_follow_the_records_revisions_then_deletions() -> None:
    collection = generate_sample_collection(300, seed=5, update_fraction=0.1, delete_fraction=0.1)
    first = {}
    for index, message in enumerate(collection.messages[:300]):
        first[message.record_id] = message
        assert not message.deleted, index
    revisions = collection.messages[300:330]
    tombstones = collection.messages[330:]
    assert len(tombstones) == 30 and all(m.deleted for m in tombstones)
    for revision in revisions:
        original = first[revision.record_id].payload
        assert not revision.deleted
        assert revision.payload["id"] == original["id"]
        assert revision.payload != original
        assert revision.payload["timestamp_update"] > original["timestamp_update"]
    for tombstone in tombstones:
        assert tombstone.payload == {"id": first[tombstone.record_id].payload["id"]}


def test_same_seed_same_changes_other_seed_other_changes() -> None:
    def changes(seed: int) -> tuple[set[str], set[str]]:
        manifest = generate_sample_collection(500, seed, 0.1, 0.1).manifest
        return manifest.updated_record_ids, manifest.deleted_record_ids

    assert changes(7) == changes(7)
    assert changes(7) != changes(8)
    first = generate_sample_collection(500, 7, 0.1, 0.1)
    assert first.messages == generate_sample_collection(500, 7, 0.1, 0.1).messages


def test_one_share_does_not_move_the_other_choice() -> None:
    base = generate_sample_collection(500, 7, 0.1, 0.05).manifest
    more_deletions = generate_sample_collection(500, 7, 0.1, 0.2).manifest
    assert base.updated_record_ids == more_deletions.updated_record_ids
    assert base.deleted_record_ids < more_deletions.deleted_record_ids


def test_changes_are_capped_at_the_valid_records() -> None:
    collection = generate_sample_collection(100, 7, update_fraction=0.5, delete_fraction=0.5)
    manifest = collection.manifest
    valid = len(manifest.valid_record_ids)
    assert len(manifest.updated_record_ids) == 50
    assert len(manifest.deleted_record_ids) == valid - 50
    assert not manifest.live_record_ids - manifest.updated_record_ids


def test_pick_changes_is_disjoint_and_capped() -> None:
    ids = [f"europeana:/1/r{n}" for n in range(10)]
    updated, deleted = pick_changes(ids, random.Random(1), 7, 7)
    assert len(updated) == 7 and len(deleted) == 3 and not updated & deleted


@pytest.mark.parametrize(
    ("update", "delete", "named"),
    [
        (-0.1, 0.0, "update_fraction"),
        (1.5, 0.0, "update_fraction"),
        (0.0, 2.0, "delete_fraction"),
        (float("nan"), 0.0, "update_fraction"),
        (0.6, 0.5, "update_fraction + delete_fraction"),
    ],
)
def test_shares_out_of_range_are_refused(update: float, delete: float, named: str) -> None:
    with pytest.raises(ValueError, match=named.replace("+", r"\+")):
        generate_sample_collection(50, 7, update, delete)


def test_shares_adding_up_to_one_are_accepted() -> None:
    collection = generate_sample_collection(50, 7, 0.7, 0.3)
    assert collection.manifest.updated_record_ids and collection.manifest.deleted_record_ids


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--update-fraction", "1.5"], "argument --update-fraction: 1.5 is not between 0 and 1"),
        (["--delete-fraction", "-1"], "argument --delete-fraction: -1 is not between 0 and 1"),
        (["--delete-fraction", "some"], "argument --delete-fraction: 'some' is not a number"),
    ],
)
def test_cli_names_the_option_out_of_range(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["produce", "sample", *options])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_refuses_shares_adding_up_to_more_than_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["produce", "sample", "--update-fraction", ".6", "--delete-fraction", ".5"]) == 2
    assert "--update-fraction plus --delete-fraction must be at most 1" in capsys.readouterr().err


def test_every_message_is_well_formed_for_cleanse() -> None:
    collection = generate_sample_collection(400, 7, update_fraction=0.1, delete_fraction=0.1)
    changed = collection.manifest.updated_record_ids | collection.manifest.deleted_record_ids
    for envelope in envelopes(collection)[400:]:
        assert envelope.record_id in changed
        assert classify_envelope(envelope).valid, envelope.record_id


def test_every_message_has_its_own_ledger_key() -> None:
    collection = generate_sample_collection(400, 7, update_fraction=0.2, delete_fraction=0.2)
    keys = [(e.record_id, e.content_hash) for e in envelopes(collection)]
    assert len(set(keys)) == len(keys)


@pytest.mark.integration
def test_changes_are_published_once(
    live_settings: Settings, layout: LakehouseLayout, read_topic: TopicReader
) -> None:
    collection = generate_sample_collection(60, 5, update_fraction=0.1, delete_fraction=0.1)
    first = produce_sample(live_settings, layout, 60, 5, False, 0.1, 0.1)
    again = produce_sample(live_settings, layout, 60, 5, False, 0.1, 0.1)
    assert (first.published, first.skipped) == (72, 0)
    assert (again.published, again.skipped) == (0, 72)
    sent = read_topic(layout.records_topic)
    assert len(sent) == len(collection.messages)
    deleted = {key for key, value in sent if value["deleted"]}
    assert deleted == collection.manifest.deleted_record_ids
