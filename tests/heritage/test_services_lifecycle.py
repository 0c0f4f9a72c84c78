"""`services up|status|env|down` on a second, private stack (own ports and state folder);
where PostgreSQL keeps its cluster when its user cannot enter the state folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from heritage.services import postgres_cluster, stack
from heritage.services.credentials import ensure_local_credentials
from heritage.settings import PROJECT_ROOT, Settings, load_settings


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


@pytest.fixture
def private_stack_env(live_settings: Settings) -> Iterator[dict[str, str]]:
    state = PROJECT_ROOT / ".state" / "test-stacks" / uuid.uuid4().hex[:8]
    state.mkdir(parents=True)
    # Share the installed jars and MinIO binary; everything else is private.
    (state / "jars").symlink_to(live_settings.jars_dir)
    (state / "bin").symlink_to(live_settings.state_dir / "bin")
    env = {
        "HERITAGE_STATE_DIR": str(state),
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:29092",
        "HERITAGE_KAFKA_CONTROLLER_PORT": "29093",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:29000",
        "HERITAGE_MINIO_CONSOLE_PORT": "29001",
        "PGPORT": "25432",
    }
    ensure_local_credentials(state / "local.env")
    yield env
    stack.down(load_settings(env), report=lambda _line: None)
    shutil.rmtree(state, ignore_errors=True)


@pytest.mark.integration
def test_up_status_env_down_leaves_nothing_running(private_stack_env: dict[str, str]) -> None:
    settings = load_settings(private_stack_env)
    stack.up(settings, report=lambda _line: None)
    rows = stack.status(settings)
    assert [r.name for r in rows] == ["postgres", "minio", "kafka", "qdrant"]
    assert all(r.healthy for r in rows), rows
    assert rows[2].version.startswith("4.")
    assert processes_mentioning(str(settings.state_dir))

    # `up` again is a no-op; pid files still name the same processes.
    pids = {
        p.name: json.loads(p.read_text())["pid"] for p in (settings.state_dir / "run").glob("*.pid")
    }
    stack.up(settings, report=lambda _line: None)
    assert pids == {
        p.name: json.loads(p.read_text())["pid"] for p in (settings.state_dir / "run").glob("*.pid")
    }

    # The exports make plain psql reach the stack.
    exports = stack.shell_exports(settings)
    psql = subprocess.run(
        ["bash", "-c", f"{exports}\npsql -tAc 'SELECT current_user'"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"]},
    )
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.strip() == settings.pg_user

    stack.down(settings, report=lambda _line: None)
    assert processes_mentioning(str(settings.state_dir)) == []
    assert not any(r.healthy for r in stack.status(settings) if r.name != "qdrant")


# A user id that owns nothing here, like the `postgres` user facing a root-owned folder.
STRANGER = 54321


def test_a_folder_below_a_private_one_is_out_of_another_users_reach(tmp_path: Path) -> None:
    private = tmp_path / "root-home"
    private.mkdir(mode=0o700)
    state = private / "checkout" / ".state"
    assert not postgres_cluster.reachable_by(state, STRANGER, {STRANGER})
    # Its owner gets in, and so does anyone once the folder is opened for others.
    assert postgres_cluster.reachable_by(state, os.getuid(), {os.getgid()})
    assert postgres_cluster.reachable_by(Path("/usr/lib/postgresql"), STRANGER, {STRANGER})


def test_owner_group_and_others_each_need_their_execute_bit() -> None:
    may_enter = postgres_cluster.may_enter
    assert may_enter(0o700, STRANGER, 0, STRANGER, {STRANGER})
    assert not may_enter(0o700, 0, 0, STRANGER, {STRANGER})
    assert may_enter(0o710, 0, 0, STRANGER, {0})
    assert not may_enter(0o701, 0, 0, STRANGER, {0})  # the group's bit decides for members
    assert may_enter(0o701, 0, 0, STRANGER, {STRANGER})
    assert may_enter(0o000, 0, 0, 0, {0})  # root enters anything


def test_the_cluster_of_an_unreachable_state_folder_goes_to_one_folder_of_its_own(
    tmp_path: Path,
) -> None:
    state = tmp_path / "a" / ".state"
    assert postgres_cluster.cluster_home(state, reachable=True) == state / "postgres"
    outside = postgres_cluster.cluster_home(state, reachable=False)
    assert outside.parent == postgres_cluster.SHARED_HOMES
    # The same state folder always finds its cluster again; another checkout gets another.
    assert postgres_cluster.cluster_home(state, reachable=False) == outside
    assert postgres_cluster.cluster_home(tmp_path / "b" / ".state", reachable=False) != outside
