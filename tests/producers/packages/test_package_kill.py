"""SIGKILL of the package workflow at random points, then a rerun: each package is fully
visible or not at all, never in part, and no event is recorded twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from heritage.delta_tables import table_version
from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.object_store import object_store_client
from heritage.pipeline import prepare
from heritage.producers.packages import sample_packages
from heritage.producers.packages.scanner_signatures import write_test_signatures
from heritage.settings import Settings

pytestmark = pytest.mark.integration

TRIALS = 4


def ingest_command(namespace: str, packages: list[Path]) -> list[str]:
    return [
        sys.executable, "-m", "heritage.cli", "--log-level", "WARNING", "ingest", "packages",
        "--namespace", namespace, "--workers", "1", "--json", *map(str, packages),
    ]  # fmt: skip


def check_all_or_nothing(spark: SparkSession, settings: Settings, layout: LakehouseLayout) -> None:
    """Every committed version's files are in the blob store; no event id twice; every
    workflow's events end in a decision (stored, duplicate, or quarantined)."""
    if table_version(spark, layout.ingest_events) < 0:
        return
    events = spark.read.format("delta").load(layout.ingest_events).collect()
    ids = Counter(row["event_id"] for row in events)
    assert not ids or max(ids.values()) == 1, "an event is recorded twice"
    decided = {
        row["workflow_id"]
        for row in events
        if row["step"] in ("store", "quarantine") or row["step"] == "resubmission_check"
    }
    assert {row["workflow_id"] for row in events} == decided, "a workflow is partly committed"
    client = object_store_client(settings)
    for row in events:
        if row["manifest"]:
            for item in json.loads(row["manifest"])["files"]:
                assert client.stat_object(settings.bucket, item["blob_key"]).size == item["size"]


def test_killed_workflows_leave_each_package_whole_or_absent(
    live_settings: Settings, spark: SparkSession, tmp_path: Path
) -> None:
    database = tmp_path / "clamav"
    write_test_signatures(database)
    folder = tmp_path / "packages"
    for name in ("0", "1", "2", "bag"):
        (folder / name).mkdir(parents=True)
    packages = [
        sample_packages.dspace_zip(folder / str(n), handle=f"123456789/{9000 + n}")
        for n in range(3)
    ]
    packages.append(sample_packages.bag_targz_with_nested_zip(folder / "bag"))
    namespace = f"t{uuid.uuid4().hex[:10]}"
    layout = LakehouseLayout.namespaced(live_settings, namespace)
    prepare(live_settings, layout)
    environment = {**os.environ, "HERITAGE_CLAMAV_DB": str(database)}
    command = ingest_command(namespace, packages)
    rng = random.Random()
    kills = [round(rng.uniform(3.0, 30.0), 1) for _ in range(TRIALS)]
    try:
        for kill_after_s in kills:
            process = subprocess.Popen(
                command,
                env=environment,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(kill_after_s)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the JVM and the workers too
            process.wait()
            check_all_or_nothing(spark, live_settings, layout)
        final = subprocess.run(
            command, env=environment, capture_output=True, text=True, check=False
        )
        assert final.returncode == 0, f"kills at {kills} s; rerun failed:\n{final.stderr[-2000:]}"
        report = json.loads(final.stdout.strip().splitlines()[-1])
        assert report["quarantined"] == 0
        check_all_or_nothing(spark, live_settings, layout)
        stored = (
            spark.read.format("delta")
            .load(layout.ingest_events)
            .filter("step = 'store' AND outcome = 'success'")
            .select("package_id", "package_version")
            .collect()
        )
        # Each package once, as version 1, whatever the kills interrupted.
        assert sorted(Counter(row["package_id"] for row in stored).values()) == [1] * 4, kills
        assert {row["package_version"] for row in stored} == {1}
    finally:
        drop_namespace(live_settings, layout)
