"""`heritage services up|down|status|env`: the whole local stack in dependency order.

``up`` starts what is not running, then runs the one-shot init that compose's ``init``
service runs too: the bucket, the topics, the PostgreSQL schema and roles.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass

from heritage.kafka_topics import ensure_topics
from heritage.object_store import ensure_bucket
from heritage.postgres_db import apply_schema
from heritage.services import (
    kafka_broker,
    minio_server,
    postgres_cluster,
    processes,
    qdrant_store,
)
from heritage.services.credentials import ensure_local_credentials
from heritage.services.health import ServiceHealth
from heritage.settings import Settings, load_settings


@dataclass(frozen=True)
class Service:
    name: str
    start: Callable[[Settings], None]
    health: Callable[[Settings], ServiceHealth]
    # False for services this stack does not run as a process (embedded Qdrant).
    has_process: bool = True
    # How to ask the process to stop; PostgreSQL's SIGTERM waits for clients to disconnect,
    # SIGINT is its "fast" shutdown (clean, without waiting).
    stop_signal: int = signal.SIGTERM


SERVICES = (
    Service(
        postgres_cluster.NAME,
        postgres_cluster.start,
        postgres_cluster.health,
        stop_signal=signal.SIGINT,
    ),
    Service(minio_server.NAME, minio_server.start, minio_server.health),
    Service(kafka_broker.NAME, kafka_broker.start, kafka_broker.health),
    Service(qdrant_store.NAME, qdrant_store.start, qdrant_store.health, has_process=False),
)


def up(settings: Settings | None = None, report: Callable[[str], None] = print) -> Settings:
    """Start every service not yet running and initialise them; returns the live settings."""
    if settings is None:
        base = load_settings()
        if ensure_local_credentials(base.local_env_file):
            report(f"generated credentials in {base.local_env_file}")
        settings = load_settings()
    run_dir = settings.state_dir / "run"
    for service in SERVICES:
        running = not service.has_process or processes.tracked(run_dir, service.name) is not None
        if running and service.health(settings).healthy:
            report(f"{service.name}: already running")
            continue
        if service.has_process and running:  # started earlier but not answering: restart
            processes.stop(run_dir, service.name, signal_number=service.stop_signal)
        report(f"{service.name}: starting")
        service.start(settings)
        report(f"{service.name}: ready")
    initialise(settings)
    report("init: bucket, topics, schema and roles in place")
    return settings


def initialise(settings: Settings) -> None:
    """Idempotent one-shot init: bucket, topics, schema, roles."""

    ensure_bucket(settings)
    ensure_topics(settings)
    apply_schema(settings, settings.pg_database)


def down(settings: Settings | None = None, report: Callable[[str], None] = print) -> None:
    """Stop exactly the processes `up` started, in reverse order."""
    settings = settings or load_settings()
    for service in reversed(SERVICES):
        if not service.has_process:
            continue
        stopped = processes.stop(
            settings.state_dir / "run", service.name, signal_number=service.stop_signal
        )
        report(f"{service.name}: {'stopped' if stopped else 'was not running'}")


def status(settings: Settings | None = None) -> list[ServiceHealth]:
    settings = settings or load_settings()
    return [service.health(settings) for service in SERVICES]


def format_status(rows: list[ServiceHealth]) -> str:
    width = max(24, *(len(row.address) for row in rows))
    lines = [f"{'service':<10} {'health':<9} {'address':<{width}} version"]
    for row in rows:
        health = "healthy" if row.healthy else "DOWN"
        detail = f"  ({row.detail})" if row.detail else ""
        lines.append(f"{row.name:<10} {health:<9} {row.address:<{width}} {row.version}{detail}")
    return "\n".join(lines)


def shell_exports(settings: Settings) -> str:
    """`export KEY=value` lines for eval in a POSIX shell."""
    return "\n".join(
        f"export {key}={shlex.quote(value)}" for key, value in settings.as_environment().items()
    )
