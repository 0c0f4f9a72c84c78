"""raw stage: Kafka -> append-only raw Delta table, every message as received.

Structured Streaming with an availableNow trigger and one checkpoint per query; the Delta
sink commits each micro-batch once (it records the query id and batch id), so a restart
re-reads from the checkpoint without doubling rows.
"""

from __future__ import annotations

import json
from functools import partial

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from heritage.change_tracking import table_position
from heritage.delta_tables import commit_info, ensure_delta_table
from heritage.kafka_topics import topic_end_offsets
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings
from heritage.source_positions import run_unless_unmoved
from heritage.table_schemas import ENVELOPE, RAW_RECORDS


def with_envelope_columns(kafka_messages: DataFrame) -> DataFrame:
    """Kafka source rows -> raw table rows; envelope fields are null when it does not parse."""
    value = F.col("value").cast("string")
    envelope = F.from_json(value, ENVELOPE)
    return kafka_messages.select(
        F.col("key").cast("string").alias("kafka_key"),
        value.alias("kafka_value"),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        envelope["record_id"].alias("record_id"),
        envelope["source"].alias("source"),
        envelope["schema_version"].alias("schema_version"),
        envelope["content_hash"].alias("content_hash"),
        F.try_to_timestamp(envelope["ingested_at"]).alias("ingested_at"),
        envelope["correlation_id"].alias("correlation_id"),
        F.coalesce(envelope["deleted"], F.lit(False)).alias("deleted"),
        envelope["record"].alias("record"),
        envelope["payload"].alias("payload"),
    )


def read_kafka_topic(spark: SparkSession, settings: Settings, topic: str) -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "true")
        .load()
    )


def start_topic_to_raw(
    spark: SparkSession,
    settings: Settings,
    topic: str,
    table: str,
    checkpoint: str,
    processing_time: str | None = None,
) -> StreamingQuery:
    """Start appending every new message of ``topic`` to the raw table at ``table``.

    With ``processing_time`` (e.g. "30 seconds") the query keeps running; otherwise it
    processes what is there (availableNow) and stops.
    """
    ensure_delta_table(spark, table, RAW_RECORDS)
    writer = (
        with_envelope_columns(read_kafka_topic(spark, settings, topic))
        .writeStream.format("delta")
        .outputMode("append")
        .option("checkpointLocation", checkpoint)
    )
    if processing_time:
        return writer.trigger(processingTime=processing_time).start(table)
    return writer.trigger(availableNow=True).start(table)


def run_raw_ingest(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    processing_time: str | None = None,
) -> int:
    """raw stage for records, annotations and producers' dead letters, one query each (own
    table and checkpoint); returns rows appended (0 when continuous: the queries keep
    running). Run once, the queries go one after the other: three availableNow queries side
    by side in one session failed to restart cleanly after a SIGKILL in the fault test; and
    a query whose topic has not moved since its last run is not started at all."""
    feeds = (
        (layout.records_topic, layout.raw_records, "raw_records"),
        (layout.annotations_topic, layout.raw_annotations, "raw_annotations"),
        (layout.dead_letter_topic, layout.raw_dead_letters, "raw_dead_letters"),
    )
    if processing_time:
        for topic, table, name in feeds:
            ensure_delta_table(spark, table, RAW_RECORDS)
            start_topic_to_raw(
                spark, settings, topic, table, layout.checkpoint(name), processing_time
            )
        return 0
    ends = topic_end_offsets(settings, [topic for topic, _, _ in feeds], "heritage-raw-ingest")
    appended = 0
    for topic, table, name in feeds:
        ensure_delta_table(spark, table, RAW_RECORDS)
        before = table_position(spark, table)
        checkpoint = layout.checkpoint(name)
        position = json.dumps(ends.get(topic, {}), sort_keys=True)
        if run_unless_unmoved(
            spark,
            checkpoint,
            position,
            partial(_ingest_available, spark, settings, topic, table, checkpoint),
        ):
            appended += _rows_added_since(spark, table, before)
    return appended


def _ingest_available(
    spark: SparkSession, settings: Settings, topic: str, table: str, checkpoint: str
) -> None:
    start_topic_to_raw(spark, settings, topic, table, checkpoint).awaitTermination()


def _rows_added_since(spark: SparkSession, path: str, version: int) -> int:
    newest = table_position(spark, path)
    if newest <= version:
        return 0
    # The commits added, read from their log files: no Spark job, and the cost does not grow
    # with the history.
    infos = [commit_info(spark, path, v) for v in range(version + 1, newest + 1)]
    known = [info for info in infos if info is not None]
    if len(known) == len(infos):
        return sum(int(info.get("operationMetrics", {}).get("numOutputRows", 0)) for info in known)
    newer = newest - version
    history = DeltaTable.forPath(spark, path).history(newer).filter(F.col("version") > version)
    total = history.select(
        F.sum(F.coalesce(F.col("operationMetrics")["numOutputRows"], F.lit("0")).cast("long"))
    ).first()
    return int(total[0] or 0) if total else 0
