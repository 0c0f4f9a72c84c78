"""The walking skeleton wired end to end: sample -> Kafka -> raw -> cleansed/DLQ -> PostgreSQL.

Each hop is a function of (settings, layout); the CLI, the demo, the tests and the benchmark
call the same ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
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

log = logging.getLogger(__name__)


@dataclass
class StageTiming:
    stage: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class StageReport:
    timings: list[StageTiming] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join(
            f"{t.stage:<8} {t.rows:>9} rows in {t.seconds:7.1f}s ({t.rows_per_second:,.0f}/s)"
            for t in self.timings
        )


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


def run_stages(
    settings: Settings,
    layout: LakehouseLayout,
    stage: str = "all",
    spark: SparkSession | None = None,
    skip: Collection[str] = (),
) -> StageReport:
    """Run raw, cleanse, ml, curate and export (or one of them) once over all new input;
    ``skip`` names stages to leave out of "all" (compose runs ml in its own service)."""
    from heritage.spark_apps.cleanse import run_cleanse
    from heritage.spark_apps.curate import run_curate
    from heritage.spark_apps.postgres_export import run_postgres_export
    from heritage.spark_apps.raw_ingest import run_raw_ingest

    spark = spark or lakehouse_session(settings)
    report = StageReport()
    if stage in ("all", "raw"):
        started = time.perf_counter()
        rows = run_raw_ingest(spark, settings, layout)
        report.timings.append(StageTiming("raw", rows, time.perf_counter() - started))
    if stage in ("all", "cleanse"):
        started = time.perf_counter()
        counts = run_cleanse(spark, layout)
        report.timings.append(
            StageTiming(
                "cleanse", counts.valid_in + counts.dead_lettered_in, time.perf_counter() - started
            )
        )
    if stage == "ml" or (stage == "all" and "ml" not in skip):
        from heritage.ml.ml_stage import run_ml_stage

        started = time.perf_counter()
        ml = run_ml_stage(spark, settings, layout)
        report.timings.append(StageTiming("ml", ml.rows, time.perf_counter() - started))
    if stage in ("all", "curate"):
        started = time.perf_counter()
        curated = run_curate(spark, layout)
        report.timings.append(
            StageTiming("curate", curated.touched_ids, time.perf_counter() - started)
        )
    if stage in ("all", "export"):
        started = time.perf_counter()
        exported = run_postgres_export(spark, settings, layout)
        report.timings.append(
            StageTiming("export", exported.rows_staged, time.perf_counter() - started)
        )
    for timing in report.timings:
        log.info(
            "stage finished",
            extra={"stage": timing.stage, "rows": timing.rows, "seconds": round(timing.seconds, 2)},
        )
    from heritage.pipeline_runs import record_stage_runs

    record_stage_runs(
        spark, settings, layout, [(t.stage, t.rows, t.seconds) for t in report.timings]
    )
    return report


def run_continuously(
    settings: Settings,
    layout: LakehouseLayout,
    interval_s: float,
    stop: threading.Event,
    spark: SparkSession | None = None,
) -> None:
    """raw and cleanse as processingTime streaming queries; ml, curate and export every
    ``interval_s`` on the driver; until ``stop`` is set or a query fails."""
    from heritage.ml.ml_stage import run_ml_stage
    from heritage.spark_apps.cleanse import run_cleanse
    from heritage.spark_apps.curate import run_curate
    from heritage.spark_apps.postgres_export import run_postgres_export
    from heritage.spark_apps.raw_ingest import run_raw_ingest

    spark = spark or lakehouse_session(settings)
    trigger = f"{max(1, int(interval_s))} seconds"
    run_raw_ingest(spark, settings, layout, processing_time=trigger)
    run_cleanse(spark, layout, processing_time=trigger)
    # A failed query leaves spark.streams.active, so keep our own references to notice it.
    queries = list(spark.streams.active)
    log.info("continuous run started", extra={"interval_s": interval_s, "queries": len(queries)})
    try:
        while not stop.is_set():
            for query in queries:
                failure = query.exception()
                if failure is not None or not query.isActive:
                    raise RuntimeError(f"streaming query {query.name} stopped: {failure}")
            run_ml_stage(spark, settings, layout)
            curated = run_curate(spark, layout)
            exported = run_postgres_export(spark, settings, layout)
            log.info(
                "continuous cycle",
                extra={"curated_ids": curated.touched_ids, "exported": exported.rows_staged},
            )
            stop.wait(interval_s)
    finally:
        for query in spark.streams.active:
            query.stop()
        log.info("continuous run stopped")
