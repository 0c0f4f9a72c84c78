"""The Prometheus metric families of one scrape, built from what the stores said (pure).

`heritage.metrics_exporter` reads Kafka, PostgreSQL and the producers' ledgers; this module
turns its readings into families. A reading that is ``None`` means its source did not
answer: ``heritage_source_up{source}`` is 0 and the families only it feeds are left out,
so a scrape never fails because one store is down.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from heritage.kafka_lag import partition_lags

# The exporter's sources, as ``heritage_source_up`` labels them.
KAFKA, POSTGRES, LEDGERS = "kafka", "postgres", "ledgers"

# topic -> partition (as text, the JSON keys the raw stage records) -> next offset to ingest
RawOffsets = Mapping[str, Mapping[str, int]]

# Image fetch failure reasons name URLs and hosts; a label must not (one series per URL).
# First match wins: a retried failure reads "<reason> (after N attempts)".
_IMAGE_FAILURE_KINDS = (
    (re.compile(r"\bHTTP (\d{3})\b"), "http_{0}"),
    (re.compile(r"^resolving .* took over"), "dns_timeout"),
    (re.compile(r"cannot resolve host"), "dns"),
    (re.compile(r"timed out|took over"), "timeout"),
    (re.compile(r"^TLS error"), "tls"),
    (re.compile(r"^connection to .* failed"), "connection"),
    (re.compile(r"^refused "), "refused_by_policy"),
    (re.compile(r"redirects from"), "too_many_redirects"),
    (re.compile(r"^not fetched from"), "host_circuit_open"),
    (re.compile(r"^content type .* is not image"), "not_an_image"),
    (re.compile(r"^not a decodable image"), "undecodable"),
    (re.compile(r"pixels, over the limit"), "too_many_pixels"),
    (re.compile(r"over the cap of"), "too_large"),
    (re.compile(r"^reading .* failed"), "read_error"),
)

# Dead-letter reasons quote the offending value ("date '31/02/1665' is not ...") and name
# files and lines; a label keeps the rule and drops those, so there is one series per rule.
_QUOTED_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"")
_FILE_LINE_PREFIX = re.compile(r"^\S.*?, line \d+: ")
_LINE_NUMBER = re.compile(r"\b(line|column|row) \d+")
_REASON_LABEL_CHARS = 120


@dataclass(frozen=True)
class StageRun:
    """The latest recorded run of one stage (runs are recorded only when they succeed)."""

    stage: str
    rows: int
    seconds: float
    finished_at: float  # Unix time


@dataclass(frozen=True)
class PostgresReading:
    runs: list[StageRun] = field(default_factory=list)
    # Offsets of the latest raw run that recorded them; None before the first one.
    raw_offsets: RawOffsets | None = None
    # (stage, reason) -> dead letters giving that reason (a letter may give several)
    dead_letters: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # failure_reason as stored -> records whose image fetch failed with it
    image_failures: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LedgerCount:
    """Pairs a producer ledger holds for one topic: each was confirmed by the broker."""

    source: str
    topic: str
    confirmed: int


def image_failure_kind(reason: str | None) -> str:
    """A short, bounded label for a stored image fetch failure reason."""
    for pattern, kind in _IMAGE_FAILURE_KINDS:
        match = pattern.search(reason or "")
        if match:
            return kind.format(*match.groups())
    return "other"


def dead_letter_reason_label(reason: str) -> str:
    """The rule a dead-letter reason reports, without the values, files and lines it names."""
    label = _FILE_LINE_PREFIX.sub("", reason)
    label = _QUOTED_VALUE.sub(lambda quoted: f"{quoted.group()[0]}…{quoted.group()[0]}", label)
    label = _LINE_NUMBER.sub(lambda match: f"{match.group(1)} N", label)
    return label[:_REASON_LABEL_CHARS]


def source_up_family(readings: Mapping[str, object]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "heritage_source_up",
        "1 when the source answered this scrape, 0 when it was down or too slow",
        labels=["source"],
    )
    for source in sorted(readings):
        family.add_metric([source], 0 if readings[source] is None else 1)
    return family


def lag_family(
    end_offsets: Mapping[str, Mapping[int, int]], raw_offsets: RawOffsets | None
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "heritage_kafka_lag",
        "Messages in a source topic partition the raw stage has not ingested yet",
        labels=["topic", "partition"],
    )
    for lag in partition_lags(end_offsets, raw_offsets or {}):
        family.add_metric([lag.topic, str(lag.partition)], lag.lag)
    return family


def stage_families(runs: Iterable[StageRun]) -> list[Metric]:
    rows = GaugeMetricFamily(
        "heritage_stage_rows", "Rows the latest run of the stage handled", labels=["stage"]
    )
    seconds = GaugeMetricFamily(
        "heritage_stage_seconds", "Seconds the latest run of the stage took", labels=["stage"]
    )
    last_success = GaugeMetricFamily(
        "heritage_stage_last_success_timestamp_seconds",
        "Unix time the latest successful run of the stage finished",
        labels=["stage"],
    )
    for run in sorted(runs, key=lambda r: r.stage):
        rows.add_metric([run.stage], run.rows)
        seconds.add_metric([run.stage], run.seconds)
        last_success.add_metric([run.stage], run.finished_at)
    return [rows, seconds, last_success]


def dead_letter_family(counts: Mapping[tuple[str, str], int]) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "heritage_dead_letters",
        "Dead letters by the stage that rejected them and each rule they broke (a letter may "
        "break several)",
        labels=["stage", "reason"],
    )
    rules: Counter[tuple[str, str]] = Counter()
    for (stage, reason), count in counts.items():
        rules[stage, dead_letter_reason_label(reason)] += count
    for (stage, rule), count in sorted(rules.items()):
        family.add_metric([stage, rule], count)
    return family


def image_failure_family(failures: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "heritage_image_fetch_failures",
        "Records whose image could not be fetched (retried on later runs), by kind of reason",
        labels=["reason"],
    )
    kinds: Counter[str] = Counter()
    for reason, count in failures.items():
        kinds[image_failure_kind(reason)] += count
    for kind, count in sorted(kinds.items()):
        family.add_metric([kind], count)
    return family


def ledger_families(counts: Iterable[LedgerCount]) -> list[Metric]:
    # The ledger writes a pair only once the broker acknowledged it (acks=all), so it
    # holds confirmed publications; there is no record of sends still in flight.
    confirmed = CounterMetricFamily(
        "heritage_producer_confirmed",
        "Distinct (record, content) pairs the broker confirmed, per producer ledger and topic",
        labels=["source", "topic"],
    )
    for count in sorted(counts, key=lambda c: (c.source, c.topic)):
        confirmed.add_metric([count.source, count.topic], count.confirmed)
    return [confirmed]


def metric_families(
    end_offsets: Mapping[str, Mapping[int, int]] | None,
    postgres: PostgresReading | None,
    ledgers: list[LedgerCount] | None,
) -> list[Metric]:
    """Every family of one scrape; lag needs both Kafka and the raw stage's offsets."""
    families: list[Metric] = [
        source_up_family({KAFKA: end_offsets, POSTGRES: postgres, LEDGERS: ledgers})
    ]
    if end_offsets is not None and postgres is not None:
        families.append(lag_family(end_offsets, postgres.raw_offsets))
    if postgres is not None:
        families.extend(stage_families(postgres.runs))
        families.append(dead_letter_family(postgres.dead_letters))
        families.append(image_failure_family(postgres.image_failures))
    if ledgers is not None:
        families.extend(ledger_families(ledgers))
    return families
