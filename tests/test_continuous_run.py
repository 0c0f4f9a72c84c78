"""`heritage lakehouse run --continuous`: new input reaches PostgreSQL without a restart,
and SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid

import pytest

from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import prepare, produce_sample
from heritage.postgres_db import connect
from heritage.settings import Settings

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
