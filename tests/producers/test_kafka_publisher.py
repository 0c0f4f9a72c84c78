"""The producer path against the real broker: keyed envelopes, confirmed, never re-sent."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from heritage.kafka_topics import ensure_topics
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import SourceRecord
from heritage.settings import Settings

pytestmark = pytest.mark.integration


def consume_all(settings: Settings, topic: str, expected: int) -> list[tuple[str, dict]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
    )
    messages = []
    try:
        for message in consumer:
            messages.append((message.key.decode(), json.loads(message.value)))
            if len(messages) >= expected + 5:
                break
    finally:
        consumer.close()
    return messages


def test_publish_is_keyed_confirmed_and_idempotent(live_settings: Settings, tmp_path: Path) -> None:
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

    messages = consume_all(live_settings, topic, 51)
    assert len(messages) == 51
    for key, envelope in messages:
        assert key == envelope["record_id"]
        assert envelope["source"] == "europeana"
        assert len(envelope["content_hash"]) == 64
        assert envelope["correlation_id"]
