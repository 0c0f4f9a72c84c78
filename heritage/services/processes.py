"""Start, find and stop the local stack's processes, each tracked by a pid file.

``down`` stops exactly the processes ``up`` started: a pid file records the pid and the
process start time, so a recycled pid is never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    """A service could not be started, reached or stopped; the message says what to do."""


@dataclass(frozen=True)
class TrackedProcess:
    name: str
    pid: int
    start_ticks: int


def _start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def tracked(run_dir: Path, name: str) -> TrackedProcess | None:
    """The live process recorded for ``name``, or None (a stale pid file is removed)."""
    path = pid_file(run_dir, name)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    process = TrackedProcess(name, int(data["pid"]), int(data["start_ticks"]))
    if _start_ticks(process.pid) != process.start_ticks:
        path.unlink(missing_ok=True)
        return None
    return process


def start(
    run_dir: Path,
    name: str,
    argv: Sequence[str],
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> TrackedProcess:
    """Start ``argv`` in its own session with output to ``log_file``; record its pid."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        try:
            child = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                user=user,
                group=user,
                extra_groups=[] if user else None,
            )
        except FileNotFoundError as error:
            raise ServiceError(
                f"{name}: cannot run {argv[0]!r} ({error.strerror}); run `make setup` first"
            ) from None
    ticks = None
    for _ in range(50):
        ticks = _start_ticks(child.pid)
        if ticks is not None:
            break
        time.sleep(0.01)
    if ticks is None:
        raise ServiceError(f"{name} exited at once; see {log_file}")
    pid_file(run_dir, name).write_text(json.dumps({"pid": child.pid, "start_ticks": ticks}))
    return TrackedProcess(name, child.pid, ticks)


def stop(
    run_dir: Path, name: str, timeout_s: float = 30.0, signal_number: int = signal.SIGTERM
) -> bool:
    """Stop the recorded process (``signal_number``, then SIGKILL to its process group after
    ``timeout_s``); True if it was running."""
    process = tracked(run_dir, name)
    if process is None:
        return False
    os.kill(process.pid, signal_number)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _start_ticks(process.pid) != process.start_ticks:
            break
        _reap(process.pid)
        time.sleep(0.1)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        while _start_ticks(process.pid) == process.start_ticks:
            _reap(process.pid)
            time.sleep(0.05)
    pid_file(run_dir, name).unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our own child, so it does not linger."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(
    check: Callable[[], bool],
    what: str,
    timeout_s: float,
    log_file: Path,
    process: TrackedProcess | None = None,
    run_dir: Path | None = None,
) -> None:
    """Poll ``check`` until it holds; fail with a message naming the log if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and run_dir is not None and tracked(run_dir, process.name) is None:
            raise ServiceError(f"{what}: the process exited during start-up; see {log_file}")
        time.sleep(0.25)
    raise ServiceError(f"{what}: not ready after {timeout_s:.0f}s; see {log_file}")
