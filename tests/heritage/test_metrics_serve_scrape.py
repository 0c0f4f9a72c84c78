"""`heritage metrics serve` against the running stack: after a small run, one scrape over
HTTP shows no lag, each stage's rows and the dead letters that were fed in."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import produce_sample, run_stages
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.record_model import SourceRecord
from heritage.settings import Settings

pytestmark = pytest.mark.integration

RECORDS, SEED = 40, 3
# Images, OCR and publication have tests of their own; here they would only add the fetch
# timeouts of the sample's image hosts.
SKIPPED = ("ml", "ocr", "publication")

Labels = tuple[tuple[str, str], ...]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def metrics_url(layout: LakehouseLayout) -> Iterator[str]:
    port = free_port()
    namespace = layout.pg_database.removeprefix("heritage_")
    command = ["metrics", "serve", "--port", str(port), "--namespace", namespace]
    server = subprocess.Popen(
        [sys.executable, "-m", "heritage.cli", "--log-level", "WARNING", *command],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        server.terminate()
        server.wait(timeout=30)


def scrape(url: str) -> dict[str, dict[Labels, float]]:
    """Sample name -> sorted labels -> value; waits for the server to listen."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                text = response.read().decode()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def test_scrape_after_a_small_run(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout, metrics_url: str
) -> None:
    manifest = generate_sample_collection(RECORDS, SEED).manifest
    produce_sample(live_settings, layout, RECORDS, SEED, progress=False)
    producer = create_producer(live_settings)
    ledger = PublishLedger(layout.ledger_for("lido"))
    try:
        broken = SourceRecord("lido:museum:broken-1", {"xml": "<lido/>", "reasons": ["no ID"]})
        publish_envelopes(
            producer, ledger, layout.dead_letter_topic, envelopes_from("lido", [broken]), False
        )
    finally:
        producer.close()
        ledger.close()
    started = time.time()
    report = run_stages(live_settings, layout, spark=spark, skip=SKIPPED)

    samples = scrape(metrics_url)

    assert samples["heritage_source_up"] == {
        (("source", source),): 1.0 for source in ("kafka", "ledgers", "postgres")
    }
    lag = samples["heritage_kafka_lag"]
    assert {dict(labels)["topic"] for labels in lag} == {
        layout.records_topic,
        layout.annotations_topic,
        layout.dead_letter_topic,
    }
    assert set(lag.values()) == {0.0}
    rows = {
        dict(labels)["stage"]: value for labels, value in samples["heritage_stage_rows"].items()
    }
    assert rows == {run.stage: float(run.rows) for run in report.runs}
    assert rows["raw"] == manifest.message_count + 1
    finished = samples["heritage_stage_last_success_timestamp_seconds"].values()
    assert all(started <= value <= time.time() for value in finished)
    dead_letters = samples["heritage_dead_letters_total"]
    assert dead_letters[(("reason", "no ID"), ("stage", "produce:lido"))] == 1.0
    cleanse = sum(v for labels, v in dead_letters.items() if ("stage", "cleanse") in labels)
    assert cleanse == len(manifest.malformed)
    assert samples["heritage_producer_confirmed_total"] == {
        (("source", "lido"), ("topic", layout.dead_letter_topic)): 1.0,
        (("source", "shared"), ("topic", layout.records_topic)): float(manifest.message_count),
    }
