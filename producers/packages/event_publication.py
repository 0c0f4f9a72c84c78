"""Publish committed ingest events to Kafka, after their commit (an outbox).

audit/ingest_events is the authority; the topic follows it. The table version up to which
events were published is kept beside the table's checkpoints; each run first publishes what
was committed after it (a run killed between its commit and the publication leaves that to
the next run), so every committed event reaches the topic. Delivery is at least once: a
crash between Kafka's confirmation and storing the position sends those events again, with
the same ``event_id``, by which consumers deduplicate.
"""

from __future__ import annotations

from kafka import KafkaProducer
from pyspark.sql import SparkSession

from heritage.change_tracking import changes_since
from heritage.hadoop_paths import read_text, write_text
from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings

POSITION_FILE = "_heritage_published_version"
_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"


def _position_path(layout: LakehouseLayout) -> str:
    return f"{layout.checkpoint('ingest_events_publication')}/{POSITION_FILE}"


def published_position(spark: SparkSession, layout: LakehouseLayout) -> int:
    text = read_text(spark, _position_path(layout))
    return int(text) if text and text.strip().lstrip("-").isdigit() else -1


def publish_committed_events(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout, producer: KafkaProducer
) -> int:
    """Send every event committed after the published position; returns how many."""
    changes = changes_since(spark, layout.ingest_events, published_position(spark, layout))
    if changes.nothing_new:
        return 0
    ensure_topics(settings, (layout.ingest_events_topic,))
    feed = changes.feed(spark).filter("_change_type = 'insert'")
    rows = feed.selectExpr(
        "package_id",
        "to_json(struct(event_id, workflow_id, package_id, package_version, step, event_type,"
        f" file_path, outcome, detail, tool, tool_version,"
        f' date_format(started_at, "{_TIME_FORMAT}") AS started_at,'
        f' date_format(ended_at, "{_TIME_FORMAT}") AS ended_at, submission,'
        " manifest IS NOT NULL AS has_manifest)) AS message",
    ).orderBy("_commit_version")
    futures = [
        producer.send(
            layout.ingest_events_topic,
            key=str(row["package_id"]).encode("utf-8"),
            value=str(row["message"]).encode("utf-8"),
        )
        for row in rows.toLocalIterator()
    ]
    producer.flush()
    for future in futures:
        future.get(timeout=0)
    write_text(spark, _position_path(layout), str(changes.upto))
    return len(futures)
