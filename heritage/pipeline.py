"""The runner: the registered stages (heritage.stage_registry) run in order over one deployment.

``run_stages`` runs them once over whatever is new; ``run_continuously`` starts the streaming
ones as queries and runs the others every interval. The CLI, the demo, the tests and the
benchmarks call the same functions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline_runs import record_stage_runs
from heritage.postgres_db import apply_schema
from heritage.producers.kafka_publisher import (
    PublishResult,
    create_producer,
    envelopes_from,
    publish_envelopes,
)
from heritage.producers.publish_ledger import PublishLedger
from heritage.producers.simulators.sample_collection import SOURCE, generate_sample_collection
from heritage.record_model import SourceRecord
from heritage.settings import Settings
from heritage.spark_session import build_spark_session
from heritage.stage_contract import StageContext, StageResult
from heritage.stage_registry import RegisteredStage, select_stages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageRun:
    """A stage's result and how long it took."""

    result: StageResult
    seconds: float

    @property
    def stage(self) -> str:
        return self.result.stage

    @property
    def rows(self) -> int:
        return self.result.rows

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        return f"{self.stage:<11} {self.seconds:6.1f}s  {self.result.summary}"


@dataclass
class StageReport:
    runs: list[StageRun] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join(run.render() for run in self.runs)


def prepare(settings: Settings, layout: LakehouseLayout) -> None:
    """Topic and database of a layout (the default one exists after `services up`)."""
    ensure_topics(
        settings, (layout.records_topic, layout.annotations_topic, layout.dead_letter_topic)
    )
    apply_schema(settings, layout.pg_database)


def produce_sample(
    settings: Settings,
    layout: LakehouseLayout,
    records: int,
    seed: int,
    progress: bool = True,
    update_fraction: float = 0.05,
    delete_fraction: float = 0.0,
    image_base_url: str | None = None,
) -> PublishResult:
    collection = generate_sample_collection(
        records, seed, update_fraction, delete_fraction, image_base_url=image_base_url
    )
    return publish_records(
        settings,
        layout,
        (SourceRecord(m.record_id, m.payload, deleted=m.deleted) for m in collection.messages),
        progress,
    )


def publish_records(
    settings: Settings, layout: LakehouseLayout, items: Iterable[SourceRecord], progress: bool
) -> PublishResult:
    """Publish sample-source records to the layout's records topic, through its ledger."""
    producer = create_producer(settings)
    ledger = PublishLedger(layout.ledger_path)
    try:
        return publish_envelopes(
            producer,
            ledger,
            layout.records_topic,
            envelopes_from(SOURCE, items),
            progress=progress,
        )
    finally:
        producer.close()
        ledger.close()


def lakehouse_session(settings: Settings) -> SparkSession:
    return build_spark_session(settings, "heritage-lakehouse")


def stage_context(
    settings: Settings,
    layout: LakehouseLayout,
    spark: SparkSession | None = None,
    progress: bool = False,
    processing_time: str | None = None,
) -> StageContext:
    """The context every stage of one run shares (Spark starts when a stage first needs it)."""
    context = StageContext(
        settings, layout, lakehouse_session, progress=progress, processing_time=processing_time
    )
    if spark is not None:
        context._spark = spark
    return context


def run_stage(stage: RegisteredStage, context: StageContext) -> StageRun:
    started = time.perf_counter()
    result = stage.runner()(context)
    run = StageRun(result, time.perf_counter() - started)
    log.info(
        "stage finished",
        extra={
            "stage": stage.name,
            "rows": result.rows,
            "seconds": round(run.seconds, 2),
            "nothing_new": result.nothing_new,
        },
    )
    return run


def run_stages(
    settings: Settings,
    layout: LakehouseLayout,
    stage: str = "all",
    spark: SparkSession | None = None,
    skip: Collection[str] = (),
    progress: bool = False,
    on_stage: Callable[[StageRun], None] | None = None,
) -> StageReport:
    """Run the registered stages (or the one named) once over all new input, in order;
    ``skip`` names stages to leave out (compose runs ml in its own service)."""
    selected = select_stages(None if stage == "all" else stage, tuple(skip))
    context = stage_context(settings, layout, spark, progress)
    report = StageReport()
    for registered in selected:
        run = run_stage(registered, context)
        report.runs.append(run)
        if on_stage is not None:
            on_stage(run)
    if context.spark_started:
        record_stage_runs(
            context.spark, settings, layout, [(r.stage, r.rows, r.seconds) for r in report.runs]
        )
    return report


def stage_is_due(stage: RegisteredStage, last_run: float | None) -> bool:
    """Whether a non-streaming stage runs on this cycle (see RegisteredStage.period_s)."""
    if stage.period_s is None or last_run is None:
        return True
    return time.monotonic() - last_run >= stage.period_s


def run_continuously(
    settings: Settings,
    layout: LakehouseLayout,
    interval_s: float,
    stop: threading.Event,
    spark: SparkSession | None = None,
    skip: Collection[str] = (),
    only: str | None = None,
) -> None:
    """Streaming stages as processingTime queries; the others every ``interval_s`` on the
    driver, in registry order; until ``stop`` is set or a query fails."""
    selected = select_stages(only, tuple(skip))
    trigger = f"{max(1, int(interval_s))} seconds"
    streaming = stage_context(settings, layout, spark, processing_time=trigger)
    for registered in selected:
        if registered.streaming:
            run_stage(registered, streaming)
    cycle = stage_context(settings, layout, streaming.spark)
    # A failed query leaves spark.streams.active, so keep our own references to notice it.
    queries = list(cycle.spark.streams.active)
    log.info("continuous run started", extra={"interval_s": interval_s, "queries": len(queries)})
    last_runs: dict[str, float] = {}
    try:
        while not stop.is_set():
            for query in queries:
                failure = query.exception()
                if failure is not None or not query.isActive:
                    raise RuntimeError(f"streaming query {query.name} stopped: {failure}")
            for registered in selected:
                if not registered.streaming and stage_is_due(
                    registered, last_runs.get(registered.name)
                ):
                    last_runs[registered.name] = time.monotonic()
                    run_stage(registered, cycle)
            stop.wait(interval_s)
    finally:
        for query in cycle.spark.streams.active:
            query.stop()
        log.info("continuous run stopped")
