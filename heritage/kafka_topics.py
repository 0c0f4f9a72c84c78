"""Kafka topics of the pipeline, with their settings, and idempotent creation."""

from __future__ import annotations

from contextlib import suppress

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from heritage.settings import Settings

RECORDS_TOPIC = "heritage.records"
ANNOTATIONS_TOPIC = "heritage.annotations"
DEAD_LETTER_TOPIC = "heritage.dlq"
# The steps of the submission-package workflow, published after their Delta commit.
INGEST_EVENTS_TOPIC = "heritage.ingest_events"
# Embargo and publication transitions, published after their Delta commit (key object_id,
# header event_id).
PUBLICATION_TOPIC = "heritage.publication"

PIPELINE_TOPICS = (RECORDS_TOPIC, ANNOTATIONS_TOPIC, DEAD_LETTER_TOPIC)
PARTITIONS = 4


def ensure_topics(settings: Settings, names: tuple[str, ...] = PIPELINE_TOPICS) -> None:
    """Create the topics that do not exist yet (keyed records: keep the latest per key too)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)
            for name in names
            if name not in existing
        ]
        if wanted:
            # Another process may create them between the listing and here.
            with suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
    finally:
        admin.close()


def topic_end_offsets(
    settings: Settings, topics: list[str], client_id: str = "heritage"
) -> dict[str, dict[int, int]]:
    """End offset per partition of each topic that exists; raises when Kafka is unreachable."""

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        client_id=client_id,
        request_timeout_ms=5000,
        bootstrap_timeout_ms=3000,
        connections_max_idle_ms=9000,
        enable_auto_commit=False,
    )
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(partitions) if partitions else {}
    finally:
        consumer.close()
    result: dict[str, dict[int, int]] = {}
    for tp, offset in ends.items():
        result.setdefault(tp.topic, {})[tp.partition] = int(offset)
    return result
