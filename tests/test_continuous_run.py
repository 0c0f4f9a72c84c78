"""`heritage lakehouse run --continuous`: new input reaches PostgreSQL without a restart,
and SIGTERM stops it cleanly; a service that is down is waited for with one status line per
wait, a streaming query it stopped is restarted, and one that stays down ends the run with
one line saying what to do."""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import (
    FaultPolicy,
    StreamingStage,
    object_store_watched,
    prepare,
    produce_sample,
    run_continuously,
    stage_context,
    supervise_streams,
)
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.stage_contract import StageContext, StageResult
from heritage.stage_registry import RegisteredStage
from heritage.transient_faults import ServiceUnreachable

pytestmark = pytest.mark.integration


def exported_rows(settings: Settings, layout: LakehouseLayout) -> int:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics.objects")
        row = cursor.fetchone()
    connection.close()
    return int(row[0]) if row else 0


def wait_for_rows(
    settings: Settings, layout: LakehouseLayout, wanted: int, timeout_s: float
) -> int:
    deadline = time.monotonic() + timeout_s
    rows = exported_rows(settings, layout)
    while rows < wanted and time.monotonic() < deadline:
        time.sleep(2)
        rows = exported_rows(settings, layout)
    return rows


def test_continuous_run_picks_up_new_input_and_stops_on_sigterm(live_settings: Settings) -> None:
    namespace = f"c{uuid.uuid4().hex[:8]}"
    layout = LakehouseLayout.namespaced(live_settings, namespace)
    prepare(live_settings, layout)
    produce_sample(live_settings, layout, 40, 1, progress=False)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "heritage.cli",
            "--log-level",
            "WARNING",
            "lakehouse",
            "run",
            "--continuous",
            "--interval",
            "3",
            # Images and embeddings have tests of their own; here they would only add the
            # fetch timeouts of the sample's image hosts to every cycle.
            "--skip",
            "ml",
            "--namespace",
            namespace,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for_rows(live_settings, layout, 38, 240) == 38  # 40 records, 2 malformed
        produce_sample(live_settings, layout, 80, 1, progress=False)  # 40 more of the same seed
        assert wait_for_rows(live_settings, layout, 76, 240) == 76
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    # The cycles' stage runs feed the pipeline page, each with its own end.
    with connect(live_settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT stage, count(*) FROM heritage.pipeline_runs GROUP BY stage")
        recorded = dict(cursor.fetchall())
    connection.close()
    assert recorded.get("export", 0) >= 1, recorded


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def continuous_run(environment: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "heritage.cli",
            "--log-format",
            "human",
            "lakehouse",
            "run",
            "--continuous",
            "--interval",
            "1",
            *extra,
        ],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_database_that_stays_down_gets_status_lines_then_one_line_saying_what_to_do(
    live_settings: Settings,
) -> None:
    port = closed_port()
    done = continuous_run({"PGPORT": str(port)}, "--give-up-after", "4")
    lines = done.stderr.splitlines()
    waits = [
        line for line in lines if f"PostgreSQL unreachable at 127.0.0.1:{port}; retrying in" in line
    ]
    assert len(waits) >= 2, done.stderr
    assert all(" WARNING " in line for line in waits)
    assert done.returncode == 75, done.stderr
    assert lines[-1] == (
        f"heritage lakehouse run: PostgreSQL at 127.0.0.1:{port} unreachable for 4 s; "
        "start it (`heritage services up`) and rerun"
    )
    assert "Traceback" not in done.stderr


def test_an_error_that_is_not_transient_still_fails_the_run_at_once(
    live_settings: Settings,
) -> None:
    started = time.monotonic()
    done = continuous_run({"PGUSER": "no_such_role_here"}, "--give-up-after", "600")
    assert done.returncode == 1
    assert "psycopg2.OperationalError" in done.stderr
    assert "retrying in" not in done.stderr
    assert time.monotonic() - started < 60


def test_the_give_up_deadline_must_be_seconds(live_settings: Settings) -> None:
    done = continuous_run({"HERITAGE_TRANSIENT_GIVE_UP_S": "soon"})
    assert done.returncode == 2
    assert "HERITAGE_TRANSIENT_GIVE_UP_S='soon' is not a number of seconds" in done.stderr


def test_an_export_that_cannot_reach_postgresql_is_retried_until_the_deadline(
    spark: SparkSession,
    live_settings: Settings,
    layout: LakehouseLayout,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = closed_port()
    settings = replace(live_settings, pg_port=port)
    faults = FaultPolicy.from_settings(settings, give_up_after_s=3)
    faults.rng = random.Random(5)
    with (
        caplog.at_level(logging.WARNING, "heritage.pipeline"),
        pytest.raises(ServiceUnreachable) as gave_up,
    ):
        run_continuously(
            settings, layout, 1, threading.Event(), spark=spark, only="export", faults=faults
        )
    waits = [r for r in caplog.records if r.getMessage().startswith("PostgreSQL unreachable")]
    assert len(waits) >= 2
    assert all(
        r.getMessage().startswith(f"PostgreSQL unreachable at 127.0.0.1:{port}; retrying in ")
        for r in waits
    )
    assert all(getattr(r, "stage", None) == "export" for r in waits)
    assert "Connection refused" in getattr(waits[0], "error", "")
    assert str(gave_up.value).startswith(f"PostgreSQL at 127.0.0.1:{port} unreachable for 3 s")


# The streaming stage below fails its first micro-batch this many times (see run()).
FLAKY = {"failures_left": 0, "checkpoint": "", "settings": None}


def run(context: StageContext) -> StageResult:
    """A streaming stage whose micro-batches connect to PostgreSQL at the context's settings
    while FLAKY says they should still fail (the port has nothing listening)."""

    def handle(batch: DataFrame, batch_id: int) -> None:
        if FLAKY["failures_left"]:
            FLAKY["failures_left"] = int(FLAKY["failures_left"]) - 1  # type: ignore[call-overload]
            connect(context.settings).close()

    (
        context.spark.readStream.format("rate")
        .option("rowsPerSecond", 5)
        .load()
        .writeStream.foreachBatch(handle)
        .option("checkpointLocation", str(FLAKY["checkpoint"]))
        .queryName("flaky_stream")
        .trigger(processingTime=context.processing_time or "1 second")
        .start()
    )
    return StageResult("flaky", 0, "streaming")


def test_a_streaming_query_stopped_by_a_fault_is_restarted_after_a_backoff(
    spark: SparkSession,
    live_settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = closed_port()
    settings = replace(live_settings, pg_port=port)
    FLAKY.update(failures_left=1, checkpoint=str(tmp_path / "checkpoint"))
    stage = RegisteredStage("flaky", __name__, "fails once, then streams", streaming=True)
    layout = LakehouseLayout.namespaced(settings, "flaky")
    context = stage_context(settings, layout, spark, processing_time="1 seconds")
    faults = FaultPolicy.from_settings(settings, give_up_after_s=60)
    stream = StreamingStage(stage)
    stream.start(context)
    first = stream.queries[0].runId
    deadline = time.monotonic() + 90
    try:
        with caplog.at_level(logging.WARNING, "heritage.pipeline"):
            while time.monotonic() < deadline:
                supervise_streams([stream], context, faults)
                restarted = stream.queries and stream.queries[0].runId != first
                if restarted and stream.outage is not None and not stream.outage.ongoing:
                    break
                time.sleep(0.5)
    finally:
        stream.stop()
    assert stream.queries[0].runId != first
    assert stream.outage is not None and not stream.outage.ongoing  # progress ended the outage
    (wait,) = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert wait.getMessage().startswith(f"PostgreSQL unreachable at 127.0.0.1:{port}; retrying in ")
    assert getattr(wait, "stage", None) == "flaky"


def test_a_long_stage_says_once_that_the_object_store_does_not_answer(
    live_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    with caplog.at_level(logging.WARNING, "heritage.pipeline"):
        with object_store_watched(down, after_s=0.2, every_s=0.1):
            time.sleep(1.5)  # a stage still running while the store stays down
        with object_store_watched(live_settings.s3_endpoint, after_s=0, every_s=0.1):
            time.sleep(0.5)
    assert [r.getMessage() for r in caplog.records] == [
        f"object store at {down} not answering; requests are being retried"
    ]
