"""A second, private local stack for tests that stop and kill services: its own state folder,
free ports and generated credentials, started and restarted through `heritage services up`.
The jars and the MinIO binary are the shared stack's (linked, never fetched again); nothing
of the shared stack on the default ports is touched.

:class:`WatchedProcess` runs a `heritage` command in its own process group and keeps every
output line with the moment it appeared, so a test can tell when the command made progress.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from heritage.services import processes
from heritage.services.credentials import ensure_local_credentials
from heritage.settings import Settings, load_settings

# The variables that point a command at a stack; the test process's own values (the shared
# stack's, when someone exported them) must not leak into the private stack's commands.
STACK_VARIABLES = frozenset(Settings(state_dir=Path()).as_environment())
# `services up` starts Kafka, MinIO and PostgreSQL from nothing (KRaft format, initdb).
SERVICES_UP_LIMIT_S = 180


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports nobody listens on (all held open while choosing)."""
    with ExitStack() as held:
        ports = []
        for _ in range(count):
            probe = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
    return ports


def private_environment(state_dir: Path) -> dict[str, str]:
    """Variables of a stack in ``state_dir`` on free ports (credentials come from its
    generated local.env)."""
    kafka, controller, minio, console, postgres = free_ports(5)
    return {
        "HERITAGE_STATE_DIR": str(state_dir),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka}",
        "HERITAGE_KAFKA_CONTROLLER_PORT": str(controller),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{minio}",
        "HERITAGE_MINIO_CONSOLE_PORT": str(console),
        "PGPORT": str(postgres),
    }


def share_installed_files(state_dir: Path, shared: Settings) -> None:
    """Link the shared stack's jars (Settings.jars_dir) and binaries (MinIO's) into
    ``state_dir``, so the private stack starts without fetching or building anything."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / shared.jars_dir.name).symlink_to(shared.jars_dir, target_is_directory=True)
    (state_dir / "bin").symlink_to(shared.state_dir / "bin", target_is_directory=True)


@dataclass
class IsolatedStack:
    """A private stack; every command it runs sees only its variables."""

    state_dir: Path
    environment: dict[str, str]
    # Where commands run: the state folder's parent, so nothing lands in the checkout.
    workdir: Path

    @property
    def settings(self) -> Settings:
        return load_settings(self.environment)

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    def command_environment(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}
        return {**inherited, **self.settings.as_environment(), "PYTHONUNBUFFERED": "1"}

    def heritage(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``heritage ARGS`` against this stack and wait for it."""
        return subprocess.run(
            [sys.executable, "-m", "heritage.cli", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
            env=self.command_environment(),
            cwd=self.workdir,
        )

    def services_up(self) -> None:
        """`heritage services up`: start whatever is not running; fail with its output."""
        done = self.heritage("services", "up", timeout_s=SERVICES_UP_LIMIT_S)
        if done.returncode != 0:
            raise AssertionError(
                f"`heritage services up` exited {done.returncode}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )

    def services_down(self) -> subprocess.CompletedProcess[str]:
        return self.heritage("services", "down", timeout_s=120)

    def pid_of(self, service: str) -> int:
        """The pid `services up` recorded for ``service`` (kafka, minio, postgres)."""
        tracked = processes.tracked(self.run_dir, service)
        if tracked is None:
            raise AssertionError(f"{service} is not running (no live pid in {self.run_dir})")
        return tracked.pid

    def signal_and_wait(self, service: str, signal_number: int, timeout_s: float = 30) -> None:
        """Send ``signal_number`` to the service's process and wait until it is gone."""
        pid = self.pid_of(service)
        os.kill(pid, signal_number)
        deadline = time.monotonic() + timeout_s
        while processes.tracked(self.run_dir, service) is not None:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{service} (pid {pid}) still running {timeout_s:.0f}s after "
                    f"signal {signal.Signals(signal_number).name}"
                )
            time.sleep(0.1)

    def start(self, *args: str, name: str) -> WatchedProcess:
        """Start ``heritage ARGS`` in its own process group, its output watched."""
        return WatchedProcess.start(
            [sys.executable, "-m", "heritage.cli", *args],
            name,
            self.command_environment(),
            self.workdir,
            self.state_dir / "logs" / f"{name}.out",
        )


def remove_outside_cluster(state_dir: Path) -> None:
    """A PostgreSQL cluster placed outside the state folder (see postgres_cluster); the
    folder itself, logs included, is left to pytest's tmp_path retention."""
    cluster = state_dir / "postgres"
    if cluster.is_symlink():
        shutil.rmtree(cluster.resolve(), ignore_errors=True)
        cluster.unlink()


def stop_stack(stack: IsolatedStack) -> None:
    """`heritage services down`, then any recorded process it left (the CLI may be what
    failed)."""
    try:
        stopped = stack.services_down()
        if stopped.returncode != 0:
            print(f"`heritage services down` exited {stopped.returncode}: {stopped.stderr[-2000:]}")
    except subprocess.TimeoutExpired:
        print("`heritage services down` did not finish; stopping the processes directly")
    for name, how in (
        ("kafka", signal.SIGTERM),
        ("minio", signal.SIGTERM),
        ("postgres", signal.SIGINT),
    ):
        processes.stop(stack.run_dir, name, timeout_s=20, signal_number=how)


@contextmanager
def isolated_stack(root: Path, shared: Settings) -> Iterator[IsolatedStack]:
    """A private stack under ``root``, up for the block and down after it, failure or not."""
    state_dir = root / "state"
    share_installed_files(state_dir, shared)
    ensure_local_credentials(state_dir / "local.env")
    stack = IsolatedStack(state_dir, private_environment(state_dir), root)
    try:
        stack.services_up()
        yield stack
    finally:
        stop_stack(stack)
        remove_outside_cluster(state_dir)


@dataclass(frozen=True)
class OutputLine:
    # time.monotonic() when the line was read.
    at: float
    stream: str
    text: str

    def json(self) -> dict[str, object] | None:
        """The line as a JSON log entry, or None when it is not one."""
        if not self.text.startswith("{"):
            return None
        try:
            entry = json.loads(self.text)
        except ValueError:
            return None
        return entry if isinstance(entry, dict) else None


@dataclass
class WatchedProcess:
    """A command in its own process group whose stdout and stderr lines are kept, stamped."""

    name: str
    process: subprocess.Popen[str]
    log_file: Path
    lines: list[OutputLine] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(
        cls, argv: list[str], name: str, env: dict[str, str], cwd: Path, log_file: Path
    ) -> WatchedProcess:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        watched = cls(name, process, log_file)
        for stream_name, stream in (("out", process.stdout), ("err", process.stderr)):
            assert stream is not None
            reader = threading.Thread(target=watched._read, args=(stream_name, stream), daemon=True)
            reader.start()
            watched._readers.append(reader)
        return watched

    def _read(self, stream_name: str, stream: IO[str]) -> None:
        with self.log_file.open("a", encoding="utf-8") as log:
            for text in stream:
                line = OutputLine(time.monotonic(), stream_name, text.rstrip("\n"))
                with self._lock:
                    self.lines.append(line)
                log.write(f"{stream_name}: {line.text}\n")
                log.flush()

    def snapshot(self) -> list[OutputLine]:
        with self._lock:
            return list(self.lines)

    def first_after(
        self, moment: float, matches: Callable[[OutputLine], bool]
    ) -> OutputLine | None:
        return next((line for line in self.snapshot() if line.at > moment and matches(line)), None)

    def tail(self, leave_out: Callable[[OutputLine], bool] | None = None, count: int = 40) -> str:
        """The last ``count`` lines, but those ``leave_out`` holds for."""
        kept = [line for line in self.snapshot() if leave_out is None or not leave_out(line)]
        return "\n".join(f"{line.stream}: {line.text}" for line in kept[-count:])

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout_s: float) -> int:
        code = self.process.wait(timeout=timeout_s)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def stop(self, signal_number: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        """Ask the command to stop (its own process only, as a person's Ctrl-C or a service
        manager's SIGTERM would; signalled too, the JVM it started would die before the
        command could stop its queries); kill the process group when it does not in time."""
        if self.running:
            self.process.send_signal(signal_number)
        try:
            code = self.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            code = self.wait(30)
        return code

    def _signal_group(self, signal_number: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal_number)
