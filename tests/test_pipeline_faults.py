"""Faults under load: while `heritage lakehouse run --continuous` runs and a producer
publishes, the broker is killed, then MinIO, then PostgreSQL is stopped immediately; each
comes back through `heritage services up`. The runner and the producer carry on by
themselves, the lakehouse reconciles, and PostgreSQL ends up holding exactly what a
fault-free run of the same input exports, deletions included.

Everything runs on a private stack (own state folder and ports), never the shared one. The
time from each service's return to the runner's next successful export is printed.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from isolated_stack import IsolatedStack, OutputLine, WatchedProcess, isolated_stack

from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.settings import load_settings

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SEED = 11
# Published before the runner starts: originals only. Then, while the broker is down, a
# larger sample of the same seed: the ledger sends only its new records, and its revisions
# and deletions (tombstones), some of records already exported.
FIRST_RECORDS, SECOND_RECORDS = 120, 240
# Share of the second batch revised, and of the others deleted.
CHANGE_FRACTION = 0.1
INTERVAL_S = 3
# Stages left out of both runs: ml has tests of its own (and would fetch the sample's
# unreachable images every cycle); publication runs hourly in a continuous run and feeds
# nothing analytics.objects shows.
SKIPPED = ("--skip", "ml", "--skip", "publication")
# How long each service stays down.
OUTAGE_S = 12
# How long the runner (--give-up-after) and the producer (--broker-timeout) wait for a
# service before giving up: far longer than the outages.
GIVE_UP_S = 300
# Longest wait for the runner (or producer) to make progress after a service is back: a
# cycle takes seconds on an idle machine, minutes on a busy one.
RECOVERY_LIMIT_S = 600
# Longest wait for the runner's first export, and for the fault-free run (Spark's start
# and every stage over all the input).
STARTUP_LIMIT_S = 900
# How the runner's and producer's status lines name each service of the stack.
STATUS_NAMES = {"kafka": "Kafka", "minio": "object store", "postgres": "PostgreSQL"}
# `ingested_at` is when a record was published, so it differs between two runs of one input.
OBJECTS_QUERY = "SELECT to_jsonb(o) - 'ingested_at' FROM analytics.objects o ORDER BY o.record_id"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[IsolatedStack]:
    with isolated_stack(tmp_path, load_settings()) as private:
        yield private


def exported_objects(stack: IsolatedStack, namespace: str) -> list[dict[str, Any]] | None:
    """analytics.objects of a namespace in record_id order; None while PostgreSQL is away."""
    settings = stack.settings
    database = LakehouseLayout.namespaced(settings, namespace).pg_database
    try:
        with connect(settings, database) as connection, connection.cursor() as cursor:
            cursor.execute(OBJECTS_QUERY)
            rows = [row[0] for row in cursor.fetchall()]
        connection.close()
    except psycopg2.Error:
        return None
    return rows


def produce_args(records: int, namespace: str, *extra: str) -> list[str]:
    return ["produce", "sample", "--records", str(records), "--seed", str(SEED),
            "--namespace", namespace, *extra]  # fmt: skip


def changes() -> list[str]:
    fraction = str(CHANGE_FRACTION)
    return ["--update-fraction", fraction, "--delete-fraction", fraction]


def produce(stack: IsolatedStack, records: int, namespace: str, *extra: str) -> None:
    done = stack.heritage(*produce_args(records, namespace, *extra), timeout_s=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def is_export_success(line: OutputLine) -> bool:
    entry = line.json() or {}
    return entry.get("msg") == "stage finished" and entry.get("stage") == "export"


def is_publish_finished(line: OutputLine) -> bool:
    entry = line.json() or {}
    return entry.get("msg") == "publish finished"


def retry_lines(process: WatchedProcess, since: float, service: str) -> list[str]:
    """The status lines logged since ``since`` for waits on ``service`` (as they name it)."""
    found = []
    for line in process.snapshot():
        entry = line.json()
        text = str(entry.get("msg", "")) if entry else ""
        if line.at > since and "retrying" in text and service in text:
            found.append(text)
    return found


def difference(expected: list[dict[str, Any]], actual: list[dict[str, Any]] | None) -> str:
    """How the exported rows differ from the fault-free run's, in a few lines."""
    if actual is None:
        return "PostgreSQL does not answer"
    wanted = {row["record_id"]: row for row in expected}
    found = {row["record_id"]: row for row in actual}
    missing, extra = sorted(wanted.keys() - found), sorted(found.keys() - wanted)
    changed = sorted(k for k in wanted.keys() & found.keys() if wanted[k] != found[k])
    lines = [
        f"{len(found)} rows exported, {len(wanted)} expected: {len(missing)} missing "
        f"{missing[:3]}, {len(extra)} extra {extra[:3]}, {len(changed)} differ"
    ]
    if changed:
        first = changed[0]
        columns = {k for k in wanted[first] if wanted[first][k] != found[first].get(k)}
        lines.append(
            f"{first}: "
            + ", ".join(
                f"{c} {found[first].get(c)!r} instead of {wanted[first][c]!r}" for c in columns
            )
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class CatchUp:
    """A namespace that is to come to export exactly the fault-free run's rows."""

    stack: IsolatedStack
    namespace: str
    expected: list[dict[str, Any]]

    def begun(self) -> bool:
        return bool(exported_objects(self.stack, self.namespace))

    def reached(self) -> bool:
        return exported_objects(self.stack, self.namespace) == self.expected

    def gap(self) -> str:
        return difference(self.expected, exported_objects(self.stack, self.namespace))


def describe(process: WatchedProcess) -> str:
    state = "running" if process.running else f"exited {process.process.returncode}"
    return f"{process.name} ({state}), last output but idle stage runs:\n{process.tail(idle)}"


def idle(line: OutputLine) -> bool:
    entry = line.json()
    return entry is not None and entry.get("nothing_new") is True


def wait_for(
    what: str,
    condition: Callable[[], bool],
    watched: list[WatchedProcess],
    limit_s: float = RECOVERY_LIMIT_S,
    explain: Callable[[], str] = str,
) -> float:
    """Poll until ``condition`` holds; the time it took. Fails at once when the runner
    exits, and after ``limit_s`` with the output of every watched process."""
    started = time.monotonic()
    while not condition():
        runner = watched[0]
        if not runner.running:
            runner.wait(10)
            pytest.fail(f"{what}: the runner exited\n" + describe(runner))
        for failed in (p for p in watched[1:] if p.process.poll() not in (None, 0)):
            failed.wait(10)
            pytest.fail(f"{what}: the {failed.name} failed\n" + describe(failed))
        if time.monotonic() - started > limit_s:
            outputs = "\n\n".join(describe(p) for p in watched)
            pytest.fail(f"{what}: not after {limit_s}s; {explain()}\n{outputs}")
        time.sleep(0.5)
    return time.monotonic() - started


def next_export_after(runner: WatchedProcess, moment: float, what: str) -> float:
    """Seconds from ``moment`` to the runner's first export logged after it."""
    wait_for(what, lambda: runner.first_after(moment, is_export_success) is not None, [runner])
    line = runner.first_after(moment, is_export_success)
    assert line is not None
    return line.at - moment


def kill_and_restore(stack: IsolatedStack, service: str, signal_number: int) -> tuple[float, float]:
    """Stop ``service`` with ``signal_number``, keep it down OUTAGE_S, then `services up`;
    the moments it went and came back."""
    gone = time.monotonic()
    stack.signal_and_wait(service, signal_number)
    time.sleep(OUTAGE_S)
    stack.services_up()
    return gone, time.monotonic()


def reference_objects(stack: IsolatedStack, namespace: str) -> list[dict[str, Any]]:
    """What a fault-free, run-once pipeline exports for the same input."""
    produce(stack, FIRST_RECORDS, namespace)
    produce(stack, SECOND_RECORDS, namespace, *changes())
    done = stack.heritage(
        "lakehouse", "run", *SKIPPED, "--namespace", namespace, timeout_s=STARTUP_LIMIT_S
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    rows = exported_objects(stack, namespace)
    assert rows, "the fault-free run exported nothing"
    return rows


def deleted_at_the_end() -> set[str]:
    """Record ids the input deletes: the second batch's tombstones."""
    collection = generate_sample_collection(SECOND_RECORDS, SEED, CHANGE_FRACTION, CHANGE_FRACTION)
    return {m.record_id for m in collection.messages if m.deleted}


def start_runner(stack: IsolatedStack, namespace: str) -> WatchedProcess:
    """`heritage lakehouse run --continuous`, its JSON log lines watched for progress."""
    return stack.start(
        "--log-level", "INFO", "--log-format", "json",
        "lakehouse", "run", "--continuous", "--interval", str(INTERVAL_S),
        "--give-up-after", str(GIVE_UP_S), *SKIPPED, "--namespace", namespace,
        name="runner",
    )  # fmt: skip


class Report:
    """Measurements printed past pytest's capture as they are made (a later failure keeps
    them)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, line: str) -> None:
        with self.capsys.disabled():
            print(f"\n[faults] {line}", flush=True)


def start_producer(stack: IsolatedStack, namespace: str) -> WatchedProcess:
    """The second batch, published by a producer that waits out a missing broker."""
    extra = (*changes(), "--broker-timeout", str(GIVE_UP_S))
    return stack.start(*produce_args(SECOND_RECORDS, namespace, *extra), name="producer")


def broker_killed_under_a_producer(
    stack: IsolatedStack,
    runner: WatchedProcess,
    producer: WatchedProcess,
    target: CatchUp,
    report: Report,
) -> None:
    """Kill the broker as the producer starts; it and the runner must carry on by
    themselves until every record is exported."""
    gone, back = kill_and_restore(stack, "kafka", signal.SIGKILL)
    export = next_export_after(runner, back, "export after the broker returned")
    wait_for("second batch exported", target.reached, [runner, producer], explain=target.gap)
    visible = time.monotonic() - back
    assert producer.wait(RECOVERY_LIMIT_S) == 0, describe(producer)
    published = producer.first_after(gone, is_publish_finished)
    assert published is not None, describe(producer)
    report(
        f"kafka killed: producer done {published.at - back:.1f}s and the runner's next export "
        f"{export:.1f}s after the broker's return; every record in PostgreSQL after "
        f"{visible:.1f}s"
    )
    report_retries(producer, gone, "Kafka", report)
    report_retries(runner, gone, "Kafka", report)


def service_failed(
    stack: IsolatedStack,
    runner: WatchedProcess,
    service: str,
    how: signal.Signals,
    report: Report,
) -> None:
    gone, back = kill_and_restore(stack, service, how)
    export = next_export_after(runner, back, f"export after {service} returned")
    report(f"{service} stopped ({how.name}): next export {export:.1f}s after its return")
    report_retries(runner, gone, STATUS_NAMES[service], report)


def report_retries(process: WatchedProcess, since: float, service: str, report: Report) -> None:
    lines = retry_lines(process, since, service)
    first = f", first: {lines[0]}" if lines else ""
    report(f"  {process.name}: {len(lines)} status lines waiting for {service}{first}")


def test_runner_and_producer_ride_out_broker_storage_and_database_faults(
    stack: IsolatedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    started, report = time.monotonic(), Report(capsys)
    suffix = uuid.uuid4().hex[:8]
    faulted, reference = f"f{suffix}", f"r{suffix}"
    expected = reference_objects(stack, reference)
    assert not deleted_at_the_end() & {row["record_id"] for row in expected}
    report(f"fault-free reference run exported {len(expected)} rows after "
           f"{time.monotonic() - started:.0f}s")  # fmt: skip

    target = CatchUp(stack, faulted, expected)
    produce(stack, FIRST_RECORDS, faulted)
    runner = start_runner(stack, faulted)
    producer: WatchedProcess | None = None
    try:
        wait_for("first export", target.begun, [runner], limit_s=STARTUP_LIMIT_S)
        producer = start_producer(stack, faulted)
        broker_killed_under_a_producer(stack, runner, producer, target, report)
        service_failed(stack, runner, "minio", signal.SIGKILL, report)
        # SIGQUIT is PostgreSQL's immediate shutdown (pg_ctl stop -m immediate).
        service_failed(stack, runner, "postgres", signal.SIGQUIT, report)
        wait_for("catching up", target.reached, [runner], explain=target.gap)
    finally:
        for process in (producer, runner):
            if process is not None:
                process.stop(signal.SIGTERM)
    assert runner.process.returncode == 0, describe(runner)

    reconciled = stack.heritage(
        "lakehouse", "reconcile", "--namespace", faulted, timeout_s=STARTUP_LIMIT_S
    )
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr[-2000:]
    assert reconciled.stdout.splitlines()[-1] == "reconciled", reconciled.stdout
    assert target.reached(), target.gap()
    report(f"recovered, reconciled, equal to the fault-free run; {time.monotonic() - started:.0f}s")
