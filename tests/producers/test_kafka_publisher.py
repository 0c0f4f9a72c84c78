"""The producer path against the real broker: keyed envelopes, confirmed, never re-sent,
and records the cleanse stage will reject published all the same and reported."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from topic_reader import TopicReader

from heritage.kafka_topics import DEAD_LETTER_TOPIC, RECORDS_TOPIC, ensure_topics
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import SourceRecord, envelope_for
from heritage.settings import Settings

pytestmark = pytest.mark.integration


def test_publish_is_keyed_confirmed_and_idempotent(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path
) -> None:
    topic = f"heritage.test.{uuid.uuid4().hex[:8]}"
    ensure_topics(live_settings, (topic,))
    items = [SourceRecord(f"europeana:/1/r{i}", {"id": f"/1/r{i}", "n": i}) for i in range(50)]
    ledger = PublishLedger(tmp_path / "ledger.sqlite")
    producer = create_producer(live_settings)
    try:
        first = publish_envelopes(
            producer, ledger, topic, envelopes_from("europeana", items), progress=False
        )
        again = publish_envelopes(
            producer, ledger, topic, envelopes_from("europeana", items), progress=False
        )
        changed = [SourceRecord(items[0].record_id, {"id": "/1/r0", "n": "changed"})]
        third = publish_envelopes(
            producer, ledger, topic, envelopes_from("europeana", changed), progress=False
        )
    finally:
        producer.close()
        ledger.close()
    assert (first.published, first.skipped) == (50, 0)
    assert (again.published, again.skipped) == (0, 50)
    assert (third.published, third.skipped) == (1, 0)

    messages = read_topic(topic)
    assert len(messages) == 51
    for key, envelope in messages:
        assert key == envelope["record_id"]
        assert envelope["source"] == "europeana"
        assert len(envelope["content_hash"]) == 64
        assert envelope["correlation_id"]


# A Search API item that passes every cleanse rule.
GOOD_ITEM: dict[str, Any] = {
    "id": "/90402/SK_A_1718",
    "type": "IMAGE",
    "title": ["Winter Landscape with Ice Skaters"],
    "dcCreator": ["Hendrick Avercamp"],
    "year": ["1608"],
    "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
    "edmIsShownBy": ["https://lh3.googleusercontent.com/skaters.jpg"],
    "dataProvider": ["Rijksmuseum"],
}


def test_invalid_records_are_published_and_reported(
    live_settings: Settings,
    read_topic: Callable[[str], list[tuple[str, dict[str, Any]]]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    # Named as a namespace's topics are: a records topic is classified, a dead-letter one not.
    topic, dlq = f"{RECORDS_TOPIC}.t{suffix}", f"{DEAD_LETTER_TOPIC}.t{suffix}"
    ensure_topics(live_settings, (topic, dlq))
    items = [
        SourceRecord("europeana:/90402/SK_A_1718", GOOD_ITEM),
        SourceRecord("europeana:/90402/SK_A_4118", dict(GOOD_ITEM, type="PAINTING")),
        SourceRecord("europeana:unidentified:3fa2", '{"id": "/90402/SK'),
    ]
    envelopes = [envelope_for("europeana", item, "c", "t") for item in items]
    ledger = PublishLedger(tmp_path / "ledger.sqlite")
    producer = create_producer(live_settings)
    try:
        with caplog.at_level(logging.WARNING, "heritage.producers.kafka_publisher"):
            result = publish_envelopes(producer, ledger, topic, envelopes, progress=False)
        dead_letters = publish_envelopes(producer, ledger, dlq, envelopes, progress=False)
    finally:
        producer.close()
        ledger.close()

    assert (result.published, result.skipped) == (3, 0)
    assert result.invalid == [
        (
            "europeana:/90402/SK_A_4118",
            ("type 'PAINTING' is not one of IMAGE, TEXT, SOUND, VIDEO, 3D",),
        ),
        (
            "europeana:unidentified:3fa2",
            ("payload is not a JSON object (truncated, or not JSON)",),
        ),
    ]
    (warned,) = [r for r in caplog.records if r.getMessage().startswith("publishing records")]
    assert warned.invalid == 2  # type: ignore[attr-defined]
    assert warned.first.startswith("europeana:/90402/SK_A_4118: type 'PAINTING'")  # type: ignore[attr-defined]
    assert (dead_letters.published, dead_letters.invalid) == (3, [])

    # The invalid records are on the topic, as they were sent: cleanse stays the judge.
    on_topic = {key: message for key, message in read_topic(topic)}
    assert sorted(on_topic) == sorted(item.record_id for item in items)
    for item in items:
        assert on_topic[item.record_id]["payload"] == item.payload
        assert on_topic[item.record_id]["record_id"] == item.record_id
    assert sorted(key for key, _ in read_topic(dlq)) == sorted(item.record_id for item in items)
