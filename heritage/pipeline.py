"""The runner: the registered stages (heritage.stage_registry) run in order over one deployment.

``run_stages`` runs them once over whatever is new; ``run_continuously`` starts the streaming
ones as queries and runs the others every interval. The CLI, the demo, the tests and the
benchmarks call the same functions.

A continuous run outlives a service that goes down for a while: a stage that fails on a
transient fault (heritage.transient_faults) is run again after a backoff, a streaming query
that stopped on one is started again, each wait announced by one status line; a fault that
lasts past the give-up deadline ends the run with :class:`ServiceUnreachable`. Rerunning is
all a retry needs, because every stage is idempotent.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline_runs import record_stage_runs
from heritage.postgres_db import apply_schema
from heritage.producers.kafka_publisher import (
    PublishResult,
    create_producer,
    ensure_topics_when_reachable,
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
from heritage.transient_faults import (
    Outage,
    RetryPolicy,
    ServiceEndpoints,
    TransientFault,
    classify_fault,
    first_line,
    give_up_after_from,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
# A stage running this long while the object store does not answer is waiting on S3A's
# retries: say so (S3A itself only logs to the Spark log file).
OBJECT_STORE_WATCH_AFTER_S = 10.0
OBJECT_STORE_PROBE_EVERY_S = 5.0
OBJECT_STORE_PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class StageRun:
    """A stage's result and how long it took."""

    result: StageResult
    seconds: float
    # When the stage finished (epoch seconds): a run is made as its stage returns.
    finished_at: float = field(default_factory=time.time)

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
    ensure_topics_when_reachable(
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
            context.spark,
            settings,
            layout,
            [(r.stage, r.rows, r.seconds, r.finished_at) for r in report.runs],
        )
    return report


def stage_is_due(stage: RegisteredStage, last_run: float | None) -> bool:
    """Whether a non-streaming stage runs on this cycle (see RegisteredStage.period_s)."""
    if stage.period_s is None or last_run is None:
        return True
    return time.monotonic() - last_run >= stage.period_s


def object_store_answers(endpoint: str, timeout_s: float = OBJECT_STORE_PROBE_TIMEOUT_S) -> bool:
    """Whether the object store at ``endpoint`` answers an HTTP request (MinIO's liveness
    path; any HTTP answer counts, so a store without that path is not taken for down)."""
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/minio/health/live", timeout=timeout_s):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def _watch_object_store(
    endpoint: str, after_s: float, every_s: float, done: threading.Event
) -> None:
    """From ``after_s`` into a stage until ``done``: probe the object store every
    ``every_s`` and, each time it stops answering, say once that S3A is retrying."""
    if done.wait(after_s):
        return
    warned = False
    while not done.is_set():
        answering = object_store_answers(endpoint)
        if not answering and not warned:
            log.warning(f"object store at {endpoint} not answering; requests are being retried")
        warned = not answering
        if done.wait(every_s):
            return


@contextmanager
def object_store_watched(
    endpoint: str,
    after_s: float = OBJECT_STORE_WATCH_AFTER_S,
    every_s: float = OBJECT_STORE_PROBE_EVERY_S,
) -> Iterator[None]:
    """Run a block with :func:`_watch_object_store` beside it."""
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch_object_store, args=(endpoint, after_s, every_s, done), daemon=True
    )
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(timeout=OBJECT_STORE_PROBE_TIMEOUT_S + 1)


@dataclass
class FaultPolicy:
    """How a continuous run meets transient faults: what it waits for and how long."""

    endpoints: ServiceEndpoints
    retry: RetryPolicy
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, settings: Settings, give_up_after_s: float | None = None) -> FaultPolicy:
        return cls(
            ServiceEndpoints.from_settings(settings),
            RetryPolicy(give_up_after_s=give_up_after_from(settings, give_up_after_s)),
        )

    def outage(self) -> Outage:
        return Outage(self.retry, self.rng)

    def fault_of(self, error: BaseException) -> TransientFault | None:
        return classify_fault(error, self.endpoints)

    def wait_for(self, fault: TransientFault, outage: Outage, what: str) -> float:
        """Seconds to wait before trying ``what`` again after ``fault``, with its one status
        line logged; raises :class:`ServiceUnreachable` once the outage has lasted past the
        deadline."""
        wait = outage.next_wait(fault, time.monotonic())
        log.warning(fault.retry_line(wait), extra={"stage": what, "error": fault.message})
        return wait


def retrying(
    action: Callable[[], T], what: str, faults: FaultPolicy, stop: threading.Event
) -> T | None:
    """``action()``, tried again after a backoff for as long as it fails on a transient
    fault (the stages are idempotent: a retry just runs them again); None when ``stop`` is
    set during a wait."""
    outage = faults.outage()
    while True:
        try:
            with object_store_watched(faults.endpoints.object_store):
                return action()
        except Exception as error:
            fault = faults.fault_of(error)
            if fault is None:
                raise
            wait = faults.wait_for(fault, outage, what)
        if stop.wait(wait):
            return None


@dataclass
class StreamingStage:
    """A streaming stage's queries in a continuous run, and its restarts after faults."""

    stage: RegisteredStage
    queries: list[StreamingQuery] = field(default_factory=list)
    outage: Outage | None = None
    # When the stage is due to start again after its queries stopped on a fault.
    restart_at: float | None = None

    def start(self, context: StageContext) -> None:
        """Run the stage (which starts its queries) and keep the queries it started."""
        before = {query.id for query in context.spark.streams.active}
        try:
            run_stage(self.stage, context)
        finally:
            self.queries = [q for q in context.spark.streams.active if q.id not in before]
        self.restart_at = None

    def start_or_stop(self, context: StageContext) -> None:
        """:meth:`start`; when the stage fails part way, the queries it did start are
        stopped, so that the next start does not find them running on its checkpoints."""
        try:
            self.start(context)
        except BaseException:
            self.stop()
            self.queries = []
            raise

    def stop(self) -> None:
        # A failed query too: stop() waits for its thread, after which Spark no longer
        # counts it as active and a restart on its checkpoint cannot collide with it.
        for query in self.queries:
            query.stop()

    def stopped_query(self) -> StreamingQuery | None:
        return next((q for q in self.queries if q.exception() is not None or not q.isActive), None)

    def made_progress(self) -> bool:
        return all(query.lastProgress is not None for query in self.queries)


def supervise_streams(
    streams: list[StreamingStage], context: StageContext, faults: FaultPolicy
) -> None:
    """Restart the streaming stages that are due, and notice queries that stopped: on a
    transient fault their stage is restarted after a backoff, on anything else the run
    fails. A stage whose queries all made progress since a restart is well again."""
    for streaming in streams:
        if streaming.outage is None:
            streaming.outage = faults.outage()
        if streaming.restart_at is not None:
            if time.monotonic() >= streaming.restart_at:
                _restart(streaming, context, faults)
            continue
        query = streaming.stopped_query()
        if query is None:
            if streaming.outage.ongoing and streaming.made_progress():
                streaming.outage.succeeded()
            continue
        failure = query.exception()
        fault = None if failure is None else faults.fault_of(failure)
        if fault is None:
            raise RuntimeError(f"streaming query {query.name or query.id} stopped: {failure}")
        streaming.stop()
        wait = faults.wait_for(fault, streaming.outage, streaming.stage.name)
        streaming.restart_at = time.monotonic() + wait


def _restart(streaming: StreamingStage, context: StageContext, faults: FaultPolicy) -> None:
    assert streaming.outage is not None
    try:
        with object_store_watched(faults.endpoints.object_store):
            streaming.start_or_stop(context)
    except Exception as error:
        fault = faults.fault_of(error)
        if fault is None:
            raise
        wait = faults.wait_for(fault, streaming.outage, streaming.stage.name)
        streaming.restart_at = time.monotonic() + wait


def next_wake(streams: list[StreamingStage], next_cycle: float) -> float:
    """Seconds until the next cycle or the next restart, whichever comes first."""
    due = [s.restart_at for s in streams if s.restart_at is not None]
    return max(0.0, min([next_cycle, *due]) - time.monotonic())


def run_continuously(
    settings: Settings,
    layout: LakehouseLayout,
    interval_s: float,
    stop: threading.Event,
    spark: SparkSession | None = None,
    skip: Collection[str] = (),
    only: str | None = None,
    faults: FaultPolicy | None = None,
) -> None:
    """Streaming stages as processingTime queries; the others every ``interval_s`` on the
    driver, in registry order; until ``stop`` is set, a query fails or a stage fails on
    anything but a transient fault. A stage that meets a transient fault (a service down) is
    retried after a backoff, a streaming one restarted; a fault that outlasts
    ``faults.retry.give_up_after_s`` raises :class:`ServiceUnreachable`."""
    faults = faults or FaultPolicy.from_settings(settings)
    selected = select_stages(only, tuple(skip))
    trigger = f"{max(1, int(interval_s))} seconds"
    streaming = stage_context(settings, layout, spark, processing_time=trigger)
    streams = [StreamingStage(stage) for stage in selected if stage.streaming]
    for stream in streams:
        if stop.is_set():
            break
        retrying(partial(stream.start_or_stop, streaming), stream.stage.name, faults, stop)
    cycle = stage_context(settings, layout, streaming.spark)
    log.info("continuous run started", extra={"interval_s": interval_s, "streams": len(streams)})
    last_runs: dict[str, float] = {}
    try:
        next_cycle = time.monotonic()
        while not stop.is_set():
            supervise_streams(streams, streaming, faults)
            if time.monotonic() >= next_cycle:
                _run_cycle(selected, cycle, last_runs, faults, stop)
                next_cycle = time.monotonic() + interval_s
            stop.wait(next_wake(streams, next_cycle))
    finally:
        if streaming.spark_started:
            for query in streaming.spark.streams.active:
                query.stop()
        log.info("continuous run stopped")


def _run_cycle(
    selected: list[RegisteredStage],
    context: StageContext,
    last_runs: dict[str, float],
    faults: FaultPolicy,
    stop: threading.Event,
) -> None:
    """One cycle of the non-streaming stages that are due, each retried on transient faults;
    the cycle's runs go to the pipeline page's table like a single run's."""
    runs: list[StageRun] = []
    for registered in selected:
        if stop.is_set():
            break
        if not registered.streaming and stage_is_due(registered, last_runs.get(registered.name)):
            last_runs[registered.name] = time.monotonic()
            run = retrying(partial(run_stage, registered, context), registered.name, faults, stop)
            if run is not None:
                runs.append(run)
    if runs:
        _record_cycle(context, runs, faults)


def _record_cycle(context: StageContext, runs: list[StageRun], faults: FaultPolicy) -> None:
    """Rows of heritage.pipeline_runs for a continuous cycle. They only feed the pipeline
    chart, so a service that went away since the stages ran costs a warning, not the run."""
    timings = [(r.stage, r.rows, r.seconds, r.finished_at) for r in runs]
    try:
        record_stage_runs(context.spark, context.settings, context.layout, timings)
    except Exception as error:
        if faults.fault_of(error) is None:
            raise
        log.warning("stage runs not recorded: %s", first_line(error))
