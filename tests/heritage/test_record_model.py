from __future__ import annotations

import json

import pytest

from heritage.record_model import (
    RecordIdentityError,
    SourceRecord,
    content_hash,
    envelope_for,
    europeana_record_id,
    unidentified_record_id,
)


def test_europeana_record_id_is_namespaced_and_stable() -> None:
    assert (
        europeana_record_id("/2021672/resource_document_mauritshuis_670")
        == "europeana:/2021672/resource_document_mauritshuis_670"
    )


@pytest.mark.parametrize(
    "bad",
    [None, "", "2021672/x", "/2021672/x?wskey=secret", "https://api.europeana.eu/record/1/x", 42],
)
def test_europeana_record_id_rejects_urls_queries_and_non_ids(bad: object) -> None:
    with pytest.raises(RecordIdentityError):
        europeana_record_id(bad)


def test_content_hash_ignores_key_order_but_not_content() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_unidentified_record_id_is_deterministic() -> None:
    assert unidentified_record_id("europeana", b"x") == unidentified_record_id("europeana", b"x")
    assert unidentified_record_id("europeana", b"x") != unidentified_record_id("europeana", b"y")


def test_envelope_carries_the_contract_fields() -> None:
    item = SourceRecord("europeana:/1/a", {"id": "/1/a"})
    envelope = envelope_for("europeana", item, "c0ffee", "2026-01-01T00:00:00Z")
    decoded = json.loads(envelope.to_json())
    assert set(decoded) == {
        "record_id",
        "source",
        "schema_version",
        "content_hash",
        "ingested_at",
        "correlation_id",
        "deleted",
        "record",
        "payload",
    }
    assert decoded["content_hash"] == content_hash({"id": "/1/a"})
    assert decoded["payload"] == {"id": "/1/a"}
    assert decoded["deleted"] is False


def test_a_tombstone_hashes_differently_from_the_record_it_deletes() -> None:
    live = envelope_for("oai", SourceRecord("oai:x:1", "<header/>"), "c", "t")
    gone = envelope_for("oai", SourceRecord("oai:x:1", "<header/>", deleted=True), "c", "t")
    assert live.content_hash != gone.content_hash
