"""Reads a topic of the live broker from its start to the end offsets taken when called, for
every test that checks what was published (the ``read_topic`` fixture of conftest.py)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from heritage.settings import Settings

# A topic that cannot be read to its end in this long has lost its broker.
READ_LIMIT_S = 180


@dataclass(frozen=True)
class TopicMessage:
    key: str
    # The message's JSON value; None for a tombstone.
    value: Any
    # The value as sent.
    raw: bytes | None
    partition: int
    offset: int
    # Milliseconds since the epoch, as the producer stamped it.
    timestamp: int
    # (name, value) of each header, in order.
    headers: tuple[tuple[str, bytes], ...] = ()


class TopicReader:
    """``reader(topic)``: (key, JSON value) in partition and offset order;
    ``reader.messages(topic)``: every message with its raw bytes, partition, offset and
    timestamp."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __call__(self, topic: str) -> list[tuple[str, Any]]:
        return [(message.key, message.value) for message in self.messages(topic)]

    def messages(self, topic: str) -> list[TopicMessage]:
        consumer = KafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        try:
            return _read_to_end(consumer, topic)
        finally:
            consumer.close()


def _read_to_end(consumer: KafkaConsumer, topic: str) -> list[TopicMessage]:
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    remaining = {tp for tp in partitions if end[tp] > 0}
    found: dict[TopicPartition, list[TopicMessage]] = {tp: [] for tp in partitions}
    deadline = time.monotonic() + READ_LIMIT_S
    while remaining and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500, max_records=10_000).items():
            found[tp] += [
                TopicMessage(
                    r.key.decode(),
                    None if r.value is None else json.loads(r.value),
                    r.value,
                    r.partition,
                    r.offset,
                    r.timestamp,
                    tuple((name, bytes(value)) for name, value in r.headers or ()),
                )
                for r in records
            ]
            if records and records[-1].offset + 1 >= end[tp]:
                remaining.discard(tp)
    assert not remaining, f"could not read {topic} to its end within {READ_LIMIT_S} s"
    return [message for tp in partitions for message in found[tp]]
