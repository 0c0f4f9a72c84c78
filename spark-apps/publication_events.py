"""Publish committed embargo events to Kafka, after their commit (an outbox).

governance/embargo_events is the authority; the topic follows it. The table version up to
which events were published is kept beside the table's checkpoints; each run first
publishes what was committed after it, so every committed event reaches the topic. A crash
between Kafka's confirmation and storing the position sends those events again with the
same ``event_id`` (key object_id, header ``event_id``), by which consumers deduplicate.
Instants are written in UTC (``...Z``), whatever the Spark session's zone.
"""

from __future__ import annotations

import json

from kafka import KafkaProducer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.change_tracking import changes_since
from heritage.hadoop_paths import read_text, write_text
from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings
from heritage.spark_apps.embargo_rows import instant
from heritage.table_schemas import EMBARGO_EVENTS

POSITION_FILE = "_heritage_published_version"
_TIMES = ("as_of", "embargo_end_utc", "created_at")


def _position_path(layout: LakehouseLayout) -> str:
    return f"{layout.checkpoint('embargo_events_publication')}/{POSITION_FILE}"


def published_position(spark: SparkSession, layout: LakehouseLayout) -> int:
    text = read_text(spark, _position_path(layout))
    return int(text) if text and text.strip().lstrip("-").isdigit() else -1


def publish_committed_events(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout
) -> int:
    """Send every event committed after the published position, in commit and version
    order; returns how many."""
    position = published_position(spark, layout)
    changes = changes_since(spark, layout.governance_embargo_events, position)
    if changes.nothing_new:
        return 0
    ensure_topics(settings, (layout.publication_topic,))
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        retries=10,
        linger_ms=20,
    )
    try:
        sent = _send(spark, layout, changes.feed(spark), producer)
    finally:
        producer.close()
    write_text(spark, _position_path(layout), str(changes.upto))
    return sent


def _send(
    spark: SparkSession, layout: LakehouseLayout, feed: DataFrame, producer: KafkaProducer
) -> int:
    rows = (
        feed.filter("_change_type = 'insert'")
        .orderBy("_commit_version", "object_id", "to_version")
        .select(
            *[
                F.unix_micros(f.name).alias(f.name) if f.name in _TIMES else F.col(f.name)
                for f in EMBARGO_EVENTS.fields
            ]
        )
    )
    futures = []
    for row in rows.toLocalIterator(prefetchPartitions=True):
        event = row.asDict()
        for name in _TIMES:
            event[name] = instant(event[name]).isoformat().replace("+00:00", "Z")
        futures.append(
            producer.send(
                layout.publication_topic,
                key=str(event["object_id"]).encode("utf-8"),
                value=json.dumps(event, sort_keys=True, ensure_ascii=False).encode("utf-8"),
                headers=[("event_id", str(event["event_id"]).encode("ascii"))],
            )
        )
    producer.flush()
    for future in futures:
        future.get(timeout=0)
    return len(futures)
