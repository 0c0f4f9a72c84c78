"""`eval "$(heritage services env --role reader)" && psql` against the running PostgreSQL: the
analysts' connection reads the analytics views, writes nothing, and stops long statements;
the SQL page's hint is that very command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from heritage.dashboard.analyst_connection import PSQL_AS_READER
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import READER_STATEMENT_TIMEOUT
from heritage.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.integration


def role_shell(
    settings: Settings, database: str, state_dir: Path, script: str
) -> subprocess.CompletedProcess[str]:
    """``script`` in bash from the project folder, as a shell that has the admin's exports
    and a state folder of its own (so the stack's .state/psql stays untouched)."""
    env = {
        "PATH": os.environ["PATH"],
        **settings.as_environment(),
        "HERITAGE_STATE_DIR": str(state_dir),
        "PGDATABASE": database,
    }
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
    )


def test_the_reader_reads_views_writes_nothing_and_has_a_statement_timeout(
    live_settings: Settings, layout: LakehouseLayout, tmp_path: Path
) -> None:
    reads = role_shell(
        live_settings,
        layout.pg_database,
        tmp_path,
        'eval "$(.venv/bin/heritage services env --role reader)" && psql -v ON_ERROR_STOP=1 -tA '
        "-c 'SELECT current_user' -c 'SHOW statement_timeout' "
        "-c 'SELECT count(*) FROM analytics.objects' "
        "-c 'SELECT count(*) FROM analytics.annotations'",
    )
    assert reads.returncode == 0, reads.stderr
    assert reads.stdout.split() == [
        live_settings.pg_reader_user,
        READER_STATEMENT_TIMEOUT,
        "0",
        "0",
    ]
    for statement in (
        "INSERT INTO heritage.pipeline_runs (stage, rows, seconds) VALUES ('raw', 1, 1)",
        "CREATE TABLE analytics.sneaky (x int)",
        "SELECT count(*) FROM heritage.objects",
    ):
        refused = role_shell(
            live_settings,
            layout.pg_database,
            tmp_path,
            # The reader is the default role.
            'eval "$(.venv/bin/heritage services env)" && psql -v ON_ERROR_STOP=1 '
            f'-c "{statement}"',
        )
        assert refused.returncode != 0 and "permission denied" in refused.stderr, statement


def test_the_sql_pages_psql_hint_connects_as_the_reader(
    live_settings: Settings, layout: LakehouseLayout, tmp_path: Path
) -> None:
    hint = role_shell(
        live_settings,
        layout.pg_database,
        tmp_path,
        PSQL_AS_READER + " -tA -c 'SELECT current_user, current_database()'",
    )
    assert hint.returncode == 0, hint.stderr
    assert hint.stdout.strip() == f"{live_settings.pg_reader_user}|{layout.pg_database}"
