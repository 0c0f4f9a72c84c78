"""The pipeline on a Spark standalone cluster gives the same tables as on ``local[2]``.

A master and one worker (1 core, 1 GiB) are started with pyspark's own launcher on
loopback; the same sample is published to two namespaces and the registered stages run over
each in a fresh process (the two side by side), one with ``HERITAGE_SPARK_MASTER=spark://...``
and one with ``local[2]``, each building its session exactly as the CLI does. The tables are
compared by checksum, less the columns that differ between any two runs (times, Kafka
positions and topic names, batch numbers). Running this file as a script is that fresh process.

The ml stage is left out. It ran on the cluster and passed, but here the sample's image
URLs answer nowhere, so it stores no image and embeds nothing: it spent 70 s on the cluster
and 25 s locally (on the 2-core reference machine) to write no row the compared tables
read, in a test that takes minutes already. Its cluster path is Spark reads and writes the
other stages exercise too.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyspark
import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampType

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.pipeline import lakehouse_session, prepare, produce_sample, run_stages
from heritage.settings import PROJECT_ROOT, Settings, load_settings

pytestmark = pytest.mark.integration

RECORDS = 100
SEED = 20261206
# Tables compared, by their LakehouseLayout property.
COMPARED_TABLES = ("cleansed_records", "curated_records", "dead_letters")
# Columns that differ between two runs of the same sample: Kafka positions and topic names
# (each namespace has its own topics), batch and run numbers, ids derived from those, and
# the raw message (its envelope carries publish time and correlation id).
RUN_DEPENDENT_COLUMNS = frozenset(
    {
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
        "kafka_key",
        "kafka_value",
        "correlation_id",
        "dead_letter_id",
        "cleanse_batch",
        "curate_run",
    }
)
SPARK_HOME = Path(pyspark.__file__).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    web_ui: str
    log_dir: Path


def _cluster_environment(log_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(log_dir),
        "PYSPARK_PYTHON": sys.executable,
    }


def _start_daemon(argv: list[str], log_file: Path, env: dict[str, str]) -> subprocess.Popen:
    with log_file.open("ab") as log:
        return subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _alive_workers(web_ui: str) -> int:
    try:
        with urllib.request.urlopen(f"{web_ui}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


def _stop_daemon(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def standalone_cluster(tmp_path: Path) -> Iterator[StandaloneCluster]:
    """A master and one worker on loopback, stopped (process groups and all) afterwards."""
    log_dir = tmp_path / "spark-logs"
    log_dir.mkdir()
    env = _cluster_environment(log_dir)
    port, web_port, worker_web_port = _free_port(), _free_port(), _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    web_ui = f"http://127.0.0.1:{web_port}"
    daemons = [
        _start_daemon(
            [
                "org.apache.spark.deploy.master.Master",
                *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web_port)),
            ],
            log_dir / "master.out",
            env,
        )
    ]
    try:
        daemons.append(
            _start_daemon(
                [
                    "org.apache.spark.deploy.worker.Worker",
                    master_url,
                    *("--cores", "1", "--memory", "1g", "--host", "127.0.0.1"),
                    *("--webui-port", str(worker_web_port)),
                    *("--work-dir", str(tmp_path / "worker")),
                ],
                log_dir / "worker.out",
                env,
            )
        )
        deadline = time.monotonic() + 120
        while _alive_workers(web_ui) < 1:
            assert all(d.poll() is None for d in daemons), f"a daemon exited; see {log_dir}"
            assert time.monotonic() < deadline, f"no worker registered in 120 s; see {log_dir}"
            time.sleep(0.5)
        yield StandaloneCluster(master_url, web_ui, log_dir)
    finally:
        for daemon in reversed(daemons):
            _stop_daemon(daemon)


@dataclass
class StageProcess:
    """This file run as a script over one namespace with one master."""

    master: str
    process: subprocess.Popen[str]
    errors: Path  # its standard error: the stage timings, or what failed

    def checksums(self) -> dict[str, str]:
        """The checksums it prints last; fails with its output when it failed."""
        try:
            stdout, _ = self.process.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, _ = self.process.communicate()
        errors = self.errors.read_text(errors="replace")
        assert self.process.returncode == 0, f"{self.master}: {stdout[-3000:]}\n{errors[-3000:]}"
        print(errors[-2000:])  # the stage timings, shown with -s or on failure
        checksums: dict[str, str] = json.loads(stdout.strip().splitlines()[-1])
        return checksums

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _start_stages_in_fresh_process(
    namespace: str, master: str, env: dict[str, str], work_dir: Path
) -> StageProcess:
    """The stages over ``namespace`` with ``master`` in a fresh process, started. The two
    runs go side by side: most of each is the JVM's start and the waits between batches."""
    errors = work_dir / f"stages-{namespace}.err"
    with errors.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, __file__, namespace],
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
            cwd=PROJECT_ROOT,
            env={
                **env,
                "HERITAGE_SPARK_MASTER": master,
                "HERITAGE_QDRANT_PATH": str(work_dir / f"qdrant-{namespace}"),
            },
        )
    return StageProcess(master, process, errors)


def test_a_standalone_cluster_builds_the_same_tables_as_local_mode(
    live_settings: Settings, standalone_cluster: StandaloneCluster, tmp_path: Path
) -> None:
    namespaces = {
        master: f"t{uuid.uuid4().hex[:10]}"
        for master in (standalone_cluster.master_url, "local[2]")
    }
    layouts = [LakehouseLayout.namespaced(live_settings, name) for name in namespaces.values()]
    env = _cluster_environment(standalone_cluster.log_dir)
    try:
        for layout in layouts:
            prepare(live_settings, layout)
            published = produce_sample(live_settings, layout, RECORDS, SEED, progress=False)
            assert published.published > 0
        running = [
            _start_stages_in_fresh_process(namespace, master, env, tmp_path)
            for master, namespace in namespaces.items()
        ]
        try:
            checksums = {run.master: run.checksums() for run in running}
        finally:
            for run in running:
                run.stop()
    finally:
        for layout in layouts:
            drop_namespace(live_settings, layout)
    on_cluster, local = checksums.values()
    assert set(on_cluster) == set(COMPARED_TABLES)
    assert all(not local[table].startswith("0:") for table in COMPARED_TABLES), local
    assert on_cluster == local


def table_checksum(rows_as_json: list[str]) -> str:
    """Order-independent: the rows' JSON, sorted, hashed, with the row count in front."""
    digest = hashlib.sha256("\n".join(sorted(rows_as_json)).encode()).hexdigest()
    return f"{len(rows_as_json)}:{digest}"


def _run_and_checksum(namespace: str) -> dict[str, str]:
    settings = load_settings()
    layout = LakehouseLayout.namespaced(settings, namespace)
    spark = lakehouse_session(settings)
    report = run_stages(settings, layout, spark=spark, skip=("ml",))
    print(f"{settings.spark_master}:\n{report.render()}", file=sys.stderr)
    checksums = {}
    for table in COMPARED_TABLES:
        frame = spark.read.format("delta").load(getattr(layout, table))
        stable = [
            field.name
            for field in frame.schema.fields
            if field.name not in RUN_DEPENDENT_COLUMNS
            and not isinstance(field.dataType, TimestampType)
        ]
        rows = frame.select(F.to_json(F.struct(*sorted(stable))).alias("row")).collect()
        checksums[table] = table_checksum([row["row"] for row in rows])
    spark.stop()
    return checksums


if __name__ == "__main__":
    print(json.dumps(_run_and_checksum(sys.argv[1])))
