"""No process of the stack carries a secret in its arguments (readable by every user in ps).

The processes checked are those the stack's pid files name and all their descendants
(PostgreSQL's backends, the Kafka JVM, MinIO), the Spark driver JVM a session of this test
process starts, and the dashboard's Streamlit server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from heritage import hadoop_paths
from heritage.services import processes
from heritage.services.stack import SERVICES
from heritage.settings import PROJECT_ROOT, Settings
from heritage.spark_session import build_spark_session

pytestmark = pytest.mark.integration


def _parent_pids() -> dict[int, int]:
    """pid -> parent pid of every process now running."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def with_descendants(roots: set[int], parents: dict[int, int]) -> set[int]:
    found = set(roots)
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        found |= children
        grew = bool(children)
    return found


def _arguments(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")).decode(
            errors="replace"
        )
    except OSError:
        return ""


def secret_values(settings: Settings) -> dict[str, str]:
    return {
        name: secret.reveal()
        for name, secret in {
            "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key,
            "PGPASSWORD": settings.pg_password,
            "HERITAGE_PG_READER_PASSWORD": settings.pg_reader_password,
            "HERITAGE_PG_CURATOR_PASSWORD": settings.pg_curator_password,
        }.items()
        if secret.reveal()
    }


def leaks(pids: set[int], secrets: dict[str, str]) -> list[str]:
    return [
        # The program only: the arguments would print the secret into the test report.
        f"pid {pid} ({_arguments(pid).split(' ', 1)[0]}) carries {name} in its arguments"
        for pid in sorted(pids)
        for name, value in secrets.items()
        if value in _arguments(pid)
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# What `heritage dashboard` runs: the process becomes the Streamlit server (execve).
_DASHBOARD_LAUNCH = (
    "import sys\n"
    "from heritage.dashboard.launch import launch_dashboard\n"
    "launch_dashboard(int(sys.argv[1]), '127.0.0.1', True)\n"
)


@pytest.fixture
def dashboard_process(live_settings: Settings) -> Iterator[int]:
    """The dashboard's Streamlit server, stopped afterwards."""
    server = subprocess.Popen(
        [sys.executable, "-c", _DASHBOARD_LAUNCH, str(_free_port())],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while "streamlit" not in _arguments(server.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        yield server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_no_process_of_the_stack_or_spark_has_a_secret_in_its_arguments(
    live_settings: Settings, dashboard_process: int
) -> None:
    session = SparkSession.getActiveSession() or build_spark_session(
        live_settings, "heritage-tests"
    )
    # S3A answers (a missing key would be refused): the keys reached the JVM another way.
    hadoop_paths.exists(session, f"s3a://{live_settings.bucket}/ns")
    run_dir = live_settings.state_dir / "run"
    roots = {
        process.pid
        for service in SERVICES
        if service.has_process and (process := processes.tracked(run_dir, service.name))
    }
    assert len(roots) == sum(service.has_process for service in SERVICES), "stack not running"
    checked = with_descendants(roots | {os.getpid(), dashboard_process}, _parent_pids())
    assert any("java" in _arguments(pid) and "spark" in _arguments(pid) for pid in checked)
    assert "streamlit" in _arguments(dashboard_process)
    assert leaks(checked, secret_values(live_settings)) == []
