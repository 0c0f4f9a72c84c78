"""Exactly-once under faults: every Spark stage is killed with SIGKILL at a random moment,
restarted, and the resulting tables must equal those of a fault-free run, row for row."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace

import pytest
from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import prepare, produce_sample, run_stages
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.stage_registry import stage_names

pytestmark = pytest.mark.integration

STAGES = ("raw", "cleanse", "curate", "export")
# Both runs leave out the other registered stages (ml, ocr, publication: tests of their own
# kill them), so every table and column they write is compared.
SKIPPED = tuple(name for name in stage_names() if name not in STAGES)


def table_checksums(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout
) -> dict[str, str]:
    """sha256 of each table's rows, sorted; without the bookkeeping columns, which say
    which cleanse micro-batch, curate run or export wrote a row (a restart may cut the same
    input into different micro-batches) and not what it holds."""
    sums = {}
    for name, path in layout.tables().items():
        frame = spark.read.format("delta").load(path).drop("cleanse_batch", "curate_run")
        rows = sorted(
            json.dumps(r.asDict(recursive=True), sort_keys=True, default=str)
            for r in frame.collect()
        )
        sums[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        for table in ("objects", "annotations", "rejections"):
            cursor.execute(f"SELECT * FROM heritage.{table} LIMIT 0")
            columns = [
                c.name
                for c in cursor.description or ()
                if c.name not in ("exported_at", "delta_version")
            ]
            cursor.execute(f"SELECT {', '.join(columns)} FROM heritage.{table} ORDER BY 1")
            text = "\n".join(json.dumps(row, default=str) for row in cursor.fetchall())
            sums[f"postgres.{table}"] = hashlib.sha256(text.encode()).hexdigest()
    connection.close()
    return sums


def run_stage_killed_then_restarted(
    stage: str, namespace: str, topics_from: str, kill_after_s: float
) -> None:
    command = [
        sys.executable,
        "-m",
        "heritage.cli",
        "--log-level",
        "WARNING",
        "lakehouse",
        "run",
        "--stage",
        stage,
        "--namespace",
        namespace,
        "--topics-from",
        topics_from,
    ]
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(kill_after_s)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # the JVM too: it is in the same group
    process.wait()
    restarted = subprocess.run(command, capture_output=True, text=True, check=False)
    first_errors = [
        line for line in restarted.stderr.splitlines() if "Exception" in line or "Error" in line
    ][:15]
    assert restarted.returncode == 0, (
        f"restart of {stage} after a kill at {kill_after_s} s failed:\n"
        + "\n".join(first_errors)
        + "\n...\n"
        + restarted.stderr[-1500:]
    )


def test_killed_and_restarted_stages_equal_a_fault_free_run(
    spark: SparkSession, live_settings: Settings
) -> None:
    rng = random.Random()
    seed = rng.randrange(1_000_000)
    suffix = uuid.uuid4().hex[:8]
    source = LakehouseLayout.namespaced(live_settings, f"kin{suffix}")
    prepare(live_settings, source)
    produce_sample(live_settings, source, 300, seed, progress=False)

    def replaying(namespace: str) -> LakehouseLayout:
        layout = LakehouseLayout.namespaced(live_settings, namespace)
        return replace(
            layout, records_topic=source.records_topic, annotations_topic=source.annotations_topic
        )

    reference = replaying(f"kref{suffix}")
    prepare(live_settings, reference)
    run_stages(live_settings, reference, spark=spark, skip=SKIPPED)

    faulty = replaying(f"kfault{suffix}")
    prepare(live_settings, faulty)
    kills = {stage: round(rng.uniform(4.0, 20.0), 1) for stage in STAGES}
    for stage in STAGES:
        run_stage_killed_then_restarted(stage, f"kfault{suffix}", f"kin{suffix}", kills[stage])

    expected = table_checksums(spark, live_settings, reference)
    actual = table_checksums(spark, live_settings, faulty)
    assert actual == expected, f"seed {seed}, kills after {kills} s"
