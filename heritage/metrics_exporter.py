"""Prometheus metrics of one deployment, read from its stores at scrape time.

The collector keeps no state: every scrape reads Kafka's end offsets, PostgreSQL's
``analytics`` views (stage runs, dead letters, image fetch failures) and the producers'
publish ledgers, each in its own thread with a deadline, so one slow or stopped store
turns into ``heritage_source_up{source} 0`` instead of a failed scrape.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import Metric

from heritage.kafka_topics import topic_end_offsets
from heritage.lakehouse_layout import PRODUCER_SOURCES, LakehouseLayout
from heritage.metrics_families import (
    KAFKA,
    LEDGERS,
    POSTGRES,
    LedgerCount,
    PostgresReading,
    StageRun,
    metric_families,
)
from heritage.postgres_db import connect
from heritage.settings import Settings

log = logging.getLogger(__name__)

# Seconds each source may take; they are read in parallel, so a scrape takes about this
# long at worst, well inside Prometheus' default scrape_timeout of 10 s.
SOURCE_TIMEOUT_S = 4.0
# The label of the ledger the producers without a file of their own share.
SHARED_LEDGER = "shared"

_LATEST_RUNS = (
    "SELECT DISTINCT ON (stage) stage, rows, seconds, extract(epoch FROM finished_at) "
    "FROM analytics.pipeline_runs ORDER BY stage, finished_at DESC"
)
_LATEST_RAW_OFFSETS = (
    "SELECT kafka_offsets FROM analytics.pipeline_runs "
    "WHERE stage = 'raw' AND kafka_offsets IS NOT NULL ORDER BY finished_at DESC LIMIT 1"
)
_DEAD_LETTERS = (
    "SELECT stage, reason, count(*) FROM analytics.rejections, unnest(reasons) AS reason "
    "GROUP BY stage, reason"
)
_IMAGE_FAILURES = (
    "SELECT coalesce(failure_reason, ''), count(*) FROM analytics.object_images "
    "WHERE status = 'failed' GROUP BY 1"
)


def source_topics(layout: LakehouseLayout) -> list[str]:
    """The topics the raw stage reads."""
    return [layout.records_topic, layout.annotations_topic, layout.dead_letter_topic]


def read_postgres(settings: Settings, layout: LakehouseLayout, timeout_s: float) -> PostgresReading:
    connection = connect(settings, layout.pg_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = %s", (int(timeout_s * 1000),))
            cursor.execute(_LATEST_RUNS)
            runs = [StageRun(s, int(r), float(sec), float(t)) for s, r, sec, t in cursor]
            cursor.execute(_LATEST_RAW_OFFSETS)
            offsets = cursor.fetchone()
            cursor.execute(_DEAD_LETTERS)
            dead_letters = {(stage, reason): int(n) for stage, reason, n in cursor}
            cursor.execute(_IMAGE_FAILURES)
            failures = {reason: int(n) for reason, n in cursor}
    finally:
        connection.close()
    return PostgresReading(runs, offsets[0] if offsets else None, dead_letters, failures)


def ledger_files(layout: LakehouseLayout) -> dict[Path, str]:
    """Each publish ledger of the layout -> its label: the producer keeping it to itself,
    or ``shared``."""
    owners: dict[Path, list[str]] = {}
    for source in PRODUCER_SOURCES:
        owners.setdefault(layout.ledger_for(source), []).append(source)
    return {path: names[0] if len(names) == 1 else SHARED_LEDGER for path, names in owners.items()}


def read_ledgers(layout: LakehouseLayout, timeout_s: float) -> list[LedgerCount]:
    """Confirmed pairs per ledger and topic; a ledger no producer has written yet is absent."""
    counts: list[LedgerCount] = []
    for path, label in sorted(ledger_files(layout).items()):
        if not path.is_file():
            continue
        # Read-only, so a scrape never creates or locks a producer's ledger for writing.
        ledger = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout_s)
        try:
            rows = ledger.execute("SELECT topic, count(*) FROM published GROUP BY topic")
            counts.extend(LedgerCount(label, str(topic), int(n)) for topic, n in rows)
        finally:
            ledger.close()
    return counts


def within_deadline(reads: dict[str, Callable[[], Any]], timeout_s: float) -> dict[str, Any]:
    """Each read's result, or None where it raised or did not finish in ``timeout_s``."""
    pool = ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="metrics-source")
    try:
        futures = {name: pool.submit(read) for name, read in reads.items()}
        results: dict[str, Any] = {}
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=timeout_s)
            except FutureTimeout:
                log.warning("metrics source too slow", extra={"source": name, "s": timeout_s})
                results[name] = None
            except Exception as error:  # every client raises its own types; all mean "down"
                log.warning(
                    "metrics source down", extra={"source": name, "error": repr(error)[:300]}
                )
                results[name] = None
        return results
    finally:
        # A read past its deadline finishes on its own (each client has its own timeout).
        pool.shutdown(wait=False, cancel_futures=True)


class HeritageCollector:
    """Reads the deployment's stores on every scrape (a prometheus_client collector; it
    has no ``describe``, so registering it reads nothing)."""

    def __init__(
        self, settings: Settings, layout: LakehouseLayout, timeout_s: float = SOURCE_TIMEOUT_S
    ) -> None:
        self._settings = settings
        self._layout = layout
        self._timeout_s = timeout_s

    def collect(self) -> Iterator[Metric]:
        settings, layout, timeout_s = self._settings, self._layout, self._timeout_s
        readings = within_deadline(
            {
                KAFKA: lambda: topic_end_offsets(
                    settings, source_topics(layout), client_id="heritage-metrics"
                ),
                POSTGRES: lambda: read_postgres(settings, layout, timeout_s),
                LEDGERS: lambda: read_ledgers(layout, timeout_s),
            },
            timeout_s,
        )
        yield from metric_families(readings[KAFKA], readings[POSTGRES], readings[LEDGERS])


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes come every few seconds; the access log would drown the real lines."""


def metrics_server(settings: Settings, layout: LakehouseLayout, host: str, port: int) -> WSGIServer:
    """An HTTP server answering ``/metrics`` (any path) from a fresh read of the stores."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HeritageCollector(settings, layout))
    return make_server(host, port, make_wsgi_app(registry), handler_class=_QuietHandler)
