"""`heritage lakehouse drop`: a dropped namespace leaves nothing behind, so the same name
runs the same pipeline again from nothing; the product's own deployment is never dropped."""

from __future__ import annotations

from dataclasses import replace

import pytest
from kafka import KafkaAdminClient, TopicPartition
from pyspark.sql import SparkSession

from heritage.cli import main
from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace, groups_reading_only, namespace_topics
from heritage.lakehouse_summary import TableCounts, count_tables
from heritage.pipeline import prepare, produce_sample, run_stages
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import SourceRecord
from heritage.settings import Settings

RECORDS, SEED = 20, 3


def run_pipeline(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout
) -> tuple[int, TableCounts]:
    """Sample records and one producer rejection through their ledgers, then the stages:
    (messages published, the tables' counts)."""
    published = produce_sample(settings, layout, RECORDS, SEED, progress=False).published
    producer = create_producer(settings)
    ledger = PublishLedger(layout.ledger_for("lido"))
    rejected = SourceRecord("lido:museum:broken-1", {"xml": "<lido/>", "reasons": ["no id"]})
    try:
        published += publish_envelopes(
            producer,
            ledger,
            layout.dead_letter_topic,
            envelopes_from("lido", [rejected]),
            progress=False,
        ).published
    finally:
        producer.close()
        ledger.close()
    run_stages(settings, layout, spark=spark, skip=("ml", "ocr", "publication"))
    return published, count_tables(spark, settings, layout)


@pytest.mark.integration
def test_a_dropped_namespace_runs_again_from_nothing(
    spark: SparkSession,
    live_settings: Settings,
    layout: LakehouseLayout,
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace = layout.table_root.partition("/ns/")[2]
    published, counts = run_pipeline(spark, live_settings, layout)
    assert counts.curated_rows > 0 and counts.dead_letter_rows > 0
    assert counts.postgres_objects == counts.curated_rows

    assert main(["lakehouse", "drop", namespace, "--yes"]) == 0
    removed = capsys.readouterr().out
    assert layout.dead_letter_topic in removed and f"heritage_{namespace}" in removed
    assert not layout.producer_state_dir.exists()
    admin = KafkaAdminClient(bootstrap_servers=live_settings.kafka_bootstrap_servers)
    try:
        assert not {layout.records_topic, layout.dead_letter_topic} & set(admin.list_topics())
    finally:
        admin.close()
    assert main(["lakehouse", "drop", namespace, "--yes"]) == 0
    assert "nothing left to remove" in capsys.readouterr().out

    prepare(live_settings, layout)
    again, recounted = run_pipeline(spark, live_settings, layout)
    assert again == published
    assert (recounted.rows, recounted.postgres_objects) == (counts.rows, counts.postgres_objects)


def test_the_products_own_deployment_is_never_dropped(offline_settings: Settings) -> None:
    with pytest.raises(ValueError, match="product's own"):
        drop_namespace(offline_settings, LakehouseLayout.default(offline_settings))
    with pytest.raises(ValueError, match="not a namespace name"):
        drop_namespace(offline_settings, LakehouseLayout.namespaced(offline_settings, "../x"))


@pytest.mark.parametrize("name", ["", "..", "a/b"])
def test_drop_refuses_what_is_not_a_namespace_name(name: str) -> None:
    assert main(["lakehouse", "drop", name, "--yes"]) == 2


def test_drop_without_a_terminal_asks_for_yes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lakehouse", "drop", "replay"]) == 2
    assert "pass --yes" in capsys.readouterr().err


def test_only_groups_reading_nothing_but_the_namespace_topics_go() -> None:
    committed = {
        "own": [TopicPartition("heritage.publication.r1", 0)],
        "shared": [TopicPartition("heritage.publication.r1", 0), TopicPartition("other", 1)],
        "forgotten": [],
    }
    assert groups_reading_only(committed, ["heritage.publication.r1"]) == ["own"]


def test_a_layout_reading_another_namespace_keeps_those_topics(offline_settings: Settings) -> None:
    source = LakehouseLayout.namespaced(offline_settings, "source")
    layout = replace(
        LakehouseLayout.namespaced(offline_settings, "replay"),
        records_topic=source.records_topic,
    )
    topics = namespace_topics(layout, "replay")
    assert source.records_topic not in topics and layout.dead_letter_topic in topics
