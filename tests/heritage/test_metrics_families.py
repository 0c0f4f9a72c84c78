"""The exporter's pure parts: readings -> metric families in the Prometheus text format, the
image failure labels, the ledgers' labels and counts, and sources past their deadline."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from heritage.lakehouse_layout import LakehouseLayout
from heritage.metrics_exporter import (
    SHARED_LEDGER,
    HeritageCollector,
    ledger_files,
    read_ledgers,
    within_deadline,
)
from heritage.metrics_families import (
    LedgerCount,
    PostgresReading,
    StageRun,
    dead_letter_reason_label,
    image_failure_kind,
    metric_families,
)
from heritage.producers.publish_ledger import PublishLedger
from heritage.settings import Settings, load_settings

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class _Fixed:
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def scraped(collector: object) -> Samples:
    """What a scraper reads: sample name and sorted labels -> value."""
    registry = CollectorRegistry()
    registry.register(collector)  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("HTTP 404 from https://images.example.org/a.jpg", "http_404"),
        ("HTTP 503 from https://x.example/b.png (after 3 attempts)", "http_503"),
        ("resolving images.example.org took over 2 s", "dns_timeout"),
        ("cannot resolve host nowhere.invalid: [Errno -2] Name or service not known", "dns"),
        ("timed out reading https://x.example/a.jpg", "timeout"),
        ("https://x.example/a.jpg took over 30 s", "timeout"),
        ("TLS error from x.example: certificate verify failed", "tls"),
        ("connection to x.example failed: refused (after 2 attempts)", "connection"),
        ("refused http://10.0.0.1/a.jpg: private address", "refused_by_policy"),
        ("more than 5 redirects from https://x.example/a", "too_many_redirects"),
        ("not fetched from https://x.example/a: host open after 5 failures", "host_circuit_open"),
        ("content type 'text/html' from https://x.example/a is not image/*", "not_an_image"),
        ("not a decodable image: UnidentifiedImageError: cannot identify", "undecodable"),
        ("image is 90000x90000 pixels, over the limit of 1 (decompression bomb", "too_many_pixels"),
        ("image of 99 bytes is over the cap of 10 (HERITAGE_IMAGE_MAX_BYTES)", "too_large"),
        ("reading https://x.example/a failed: reset", "read_error"),
        ("something new", "other"),
        (None, "other"),
    ],
)
def test_image_failure_reasons_become_bounded_labels(reason: str | None, kind: str) -> None:
    assert image_failure_kind(reason) == kind


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("date '31/02/1665' is not a recognised date", "date '…' is not a recognised date"),
        ("no `rights` statement", "no `rights` statement"),
        ("/drop/objects.csv, line 12: no title", "no title"),
        (
            "not well-formed XML at line 3: mismatched tag",
            "not well-formed XML at line N: mismatched tag",
        ),
        ('value "x y" is not allowed', 'value "…" is not allowed'),
        ("x" * 300, "x" * 120),
    ],
)
def test_dead_letter_reasons_become_one_label_per_rule(reason: str, label: str) -> None:
    assert dead_letter_reason_label(reason) == label


def test_every_source_answering_gives_every_family() -> None:
    postgres = PostgresReading(
        runs=[StageRun("raw", 42, 1.5, 1_700_000_000.0), StageRun("cleanse", 40, 2.25, 1.7e9)],
        raw_offsets={"heritage.records": {"0": 7}},
        dead_letters={
            ("cleanse", "no title"): 1,
            ("cleanse", "/a.csv, line 3: no title"): 1,
            ("produce:lido", "no lidoRecID"): 1,
        },
        image_failures={"HTTP 404 from https://a/1": 2, "HTTP 404 from https://a/2": 1, "x": 1},
    )
    ledgers = [LedgerCount("shared", "heritage.records", 42), LedgerCount("lido", "t", 3)]
    samples = scraped(
        _Fixed(metric_families({"heritage.records": {0: 10, 1: 5}}, postgres, ledgers))
    )
    assert samples == {
        ("heritage_source_up", (("source", "kafka"),)): 1.0,
        ("heritage_source_up", (("source", "ledgers"),)): 1.0,
        ("heritage_source_up", (("source", "postgres"),)): 1.0,
        ("heritage_kafka_lag", (("partition", "0"), ("topic", "heritage.records"))): 3.0,
        # A partition the raw stage has not read yet lags by all of it.
        ("heritage_kafka_lag", (("partition", "1"), ("topic", "heritage.records"))): 5.0,
        ("heritage_stage_rows", (("stage", "cleanse"),)): 40.0,
        ("heritage_stage_rows", (("stage", "raw"),)): 42.0,
        ("heritage_stage_seconds", (("stage", "cleanse"),)): 2.25,
        ("heritage_stage_seconds", (("stage", "raw"),)): 1.5,
        ("heritage_stage_last_success_timestamp_seconds", (("stage", "cleanse"),)): 1.7e9,
        ("heritage_stage_last_success_timestamp_seconds", (("stage", "raw"),)): 1.7e9,
        ("heritage_dead_letters_total", (("reason", "no title"), ("stage", "cleanse"))): 2.0,
        (
            "heritage_dead_letters_total",
            (("reason", "no lidoRecID"), ("stage", "produce:lido")),
        ): 1.0,
        ("heritage_image_fetch_failures", (("reason", "http_404"),)): 3.0,
        ("heritage_image_fetch_failures", (("reason", "other"),)): 1.0,
        (
            "heritage_producer_confirmed_total",
            (("source", "lido"), ("topic", "t")),
        ): 3.0,
        (
            "heritage_producer_confirmed_total",
            (("source", "shared"), ("topic", "heritage.records")),
        ): 42.0,
    }


def test_a_source_that_is_down_reports_zero_and_leaves_out_what_it_feeds() -> None:
    samples = scraped(_Fixed(metric_families({"t": {0: 4}}, None, [])))
    assert samples == {
        ("heritage_source_up", (("source", "kafka"),)): 1.0,
        ("heritage_source_up", (("source", "ledgers"),)): 1.0,
        ("heritage_source_up", (("source", "postgres"),)): 0.0,
    }
    # Before the raw stage ever recorded offsets, everything in the topics is waiting.
    samples = scraped(_Fixed(metric_families({"t": {0: 4}}, PostgresReading(), None)))
    assert samples[("heritage_kafka_lag", (("partition", "0"), ("topic", "t")))] == 4.0
    assert samples[("heritage_source_up", (("source", "ledgers"),))] == 0.0


def test_ledgers_are_labelled_by_their_producer_or_shared(tmp_path: Path) -> None:
    layout = LakehouseLayout.default(load_settings({"HERITAGE_STATE_DIR": str(tmp_path)}))
    labels = ledger_files(layout)
    assert labels[layout.ledger_path] == SHARED_LEDGER
    assert labels[layout.ledger_for("lido")] == "lido"
    assert labels[layout.ledger_for("package")] == "package"
    assert read_ledgers(layout, 1.0) == []  # no producer has run
    ledger = PublishLedger(layout.ledger_for("lido"))
    ledger.record("heritage.dlq", [("lido:a", "h1"), ("lido:b", "h1")])
    ledger.record("heritage.records", [("lido:a", "h1"), ("lido:a", "h2")])
    ledger.close()
    assert sorted(read_ledgers(layout, 1.0), key=lambda c: c.topic) == [
        LedgerCount("lido", "heritage.dlq", 2),
        LedgerCount("lido", "heritage.records", 2),
    ]


def test_a_read_that_raises_or_misses_its_deadline_gives_none() -> None:
    release = threading.Event()

    def broken() -> int:
        raise ConnectionError("refused")

    try:
        results = within_deadline(
            {"fine": lambda: 1, "broken": broken, "stuck": lambda: release.wait(60)}, 0.2
        )
    finally:
        release.set()
    assert results == {"fine": 1, "broken": None, "stuck": None}


def test_stores_that_cannot_be_reached_still_give_a_scrape(tmp_path: Path) -> None:
    # Nothing listens on port 1: Kafka and PostgreSQL refuse at once.
    settings: Settings = load_settings(
        {
            "HERITAGE_STATE_DIR": str(tmp_path),
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "PGHOST": "127.0.0.1",
            "PGPORT": "1",
        }
    )
    samples = scraped(HeritageCollector(settings, LakehouseLayout.default(settings), 1.0))
    assert samples == {
        ("heritage_source_up", (("source", "kafka"),)): 0.0,
        ("heritage_source_up", (("source", "ledgers"),)): 1.0,
        ("heritage_source_up", (("source", "postgres"),)): 0.0,
    }
