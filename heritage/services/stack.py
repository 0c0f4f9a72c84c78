"""`heritage services up|down|status|env`: the whole local stack in dependency order.

``up`` starts what is not running, then runs the one-shot init that compose's ``init``
service runs too: the bucket, the topics, the PostgreSQL schema and roles.

``env`` prints a role's shell settings: the analysts' read-only ``reader`` (the default), the
``curator`` (reads, and adds duplicate and publication decisions) or the ``admin`` (the
schema owner: every service's settings). The reader's and the curator's password goes to a
password file that only its owner may read (PGPASSFILE), never into the printed lines.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
from heritage.services.credentials import (
    ensure_local_credentials,
    pgpass_line,
    service_file_text,
    write_private_file,
)
from heritage.services.health import ServiceHealth
from heritage.settings import Secret, Settings, load_settings

Role = Literal["reader", "curator", "admin"]
ROLES: tuple[Role, ...] = ("reader", "curator", "admin")


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
    """The admin's `export KEY=value` lines for eval in a POSIX shell: every service."""
    return "\n".join(
        f"export {key}={shlex.quote(value)}" for key, value in settings.as_environment().items()
    )


class MissingRolePassword(ValueError):
    """A role has no password in the settings, so its shell settings could not log in."""


def role_login(settings: Settings, role: Role) -> tuple[str, Secret]:
    """The PostgreSQL user and password of ``role``."""
    logins = {
        "reader": (settings.pg_reader_user, settings.pg_reader_password),
        "curator": (settings.pg_curator_user, settings.pg_curator_password),
        "admin": (settings.pg_user, settings.pg_password),
    }
    return logins[role]


@dataclass(frozen=True)
class RoleFiles:
    """Where psql finds a role's connection (a service file) and its password."""

    service_file: Path
    password_file: Path

    @classmethod
    def of(cls, settings: Settings, role: Role) -> RoleFiles:
        folder = settings.state_dir / "psql"
        return cls(folder / f"{role}.service.conf", folder / f"{role}.pgpass")


def service_name(role: Role) -> str:
    return f"heritage-{role}"


def role_exports(settings: Settings, role: Role, files: RoleFiles) -> str:
    """Shell lines that make psql (and any libpq client) connect as ``role`` through its
    service and password files. The service's user wins over PGUSER, so PGUSER stays what
    the heritage commands read; PGPASSWORD is unset because libpq prefers it to the file."""
    exports = {
        "PGHOST": settings.pg_host,
        "PGPORT": str(settings.pg_port),
        "PGDATABASE": settings.pg_database,
        "PGSERVICEFILE": str(files.service_file),
        "PGSERVICE": service_name(role),
        "PGPASSFILE": str(files.password_file),
    }
    lines = [f"export {key}={shlex.quote(value)}" for key, value in exports.items()]
    return "\n".join(["unset PGPASSWORD", *lines])


def env_for_role(settings: Settings, role: Role) -> str:
    """What `heritage services env --role ROLE` prints; for the reader and the curator it
    first writes the role's service and password files. Raises MissingRolePassword when the
    role has no password (there are no default passwords: `services up` generates them)."""
    if role == "admin":
        # A reader's or curator's service would otherwise still win over these PG* values.
        return "unset PGSERVICE PGSERVICEFILE PGPASSFILE\n" + shell_exports(settings)
    user, password = role_login(settings, role)
    if not password.reveal():
        raise MissingRolePassword(
            f"no password for the {role} role ({user}): run `heritage services up` first "
            f"(it generates them in {settings.local_env_file}), or set "
            f"HERITAGE_PG_{role.upper()}_PASSWORD"
        )
    files = RoleFiles.of(settings, role)
    host, port = settings.pg_host, settings.pg_port
    write_private_file(files.service_file, service_file_text(service_name(role), user))
    write_private_file(files.password_file, pgpass_line(host, port, user, password.reveal()))
    return role_exports(settings, role, files)
