"""A PostgreSQL cluster in the project's state folder, from Debian's server binaries.

Run as root, the server runs as the `postgres` user; when that user cannot enter the state
folder (a checkout under /root, mode 0700), the cluster lives in
/var/lib/heritage-postgres/<hash of the state folder> and ``.state/postgres`` links to it.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Collection
from pathlib import Path

import psycopg2

from heritage.postgres_db import connect, ensure_database
from heritage.services import processes
from heritage.services.health import ServiceHealth
from heritage.settings import Settings

NAME = "postgres"
# As docker-compose.yml's postgres service.
SHARED_BUFFERS = "1GB"
# Parent of the clusters whose state folder the `postgres` user cannot enter (see _home).
SHARED_HOMES = Path("/var/lib/heritage-postgres")


def server_bin_dir() -> Path:
    """Debian's newest installed server version, e.g. /usr/lib/postgresql/15/bin."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise processes.ServiceError(
            "postgres: no server binaries in /usr/lib/postgresql; run `make setup` first"
        )
    return candidates[-1].parent


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root; then the cluster belongs to the `postgres` user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise processes.ServiceError(
            "postgres: running as root needs the `postgres` system user (Debian's "
            "postgresql package creates it); run `make setup`"
        ) from None
    return "postgres"


def may_enter(mode: int, owner: int, group: int, uid: int, gids: Collection[int]) -> bool:
    """Whether user ``uid`` (groups ``gids``) may enter a folder of that mode and owners."""
    if uid == 0:
        return True
    if owner == uid:
        return bool(mode & stat.S_IXUSR)
    if group in gids:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def reachable_by(path: Path, uid: int, gids: Collection[int]) -> bool:
    """Whether user ``uid`` may enter every existing folder down to ``path``; folders still
    to be created will be made by this process, mode 0755."""
    for folder in (path, *path.parents):
        try:
            status = folder.stat()
        except FileNotFoundError:
            continue
        if not may_enter(status.st_mode, status.st_uid, status.st_gid, uid, gids):
            return False
    return True


def home_outside(state_dir: Path) -> Path:
    """The cluster's folder for a state folder the server's user cannot reach: one per
    state folder under SHARED_HOMES."""
    digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:16]
    return SHARED_HOMES / digest


def cluster_home(state_dir: Path, reachable: bool) -> Path:
    """Where data, socket and log go: inside the state folder when the server's user can
    reach it (always without root), else outside it (a state folder under /root, mode 0700)."""
    return state_dir / "postgres" if reachable else home_outside(state_dir)


def _home(settings: Settings, user: str | None) -> Path:
    """The cluster's folder; one placed outside the state folder is recorded there as the
    symlink ``postgres``, so later starts (and people) find it."""
    recorded = settings.state_dir / "postgres"
    if recorded.is_symlink():
        return recorded.resolve()
    if user is None or (recorded / "data" / "PG_VERSION").exists():
        return recorded
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid, *os.getgrouplist(user, entry.pw_gid)}
    home = cluster_home(settings.state_dir, reachable_by(settings.state_dir, entry.pw_uid, groups))
    if home != recorded:
        SHARED_HOMES.mkdir(mode=0o755, parents=True, exist_ok=True)
        home.mkdir(mode=0o700, exist_ok=True)
        # What a failed initdb left there holds no cluster (checked above): only its log.
        shutil.rmtree(recorded, ignore_errors=True)
        recorded.parent.mkdir(parents=True, exist_ok=True)
        recorded.symlink_to(home, target_is_directory=True)
    return home


def _give_to(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for parent, _dirs, files in os.walk(path):
        os.chown(parent, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(parent, name), entry.pw_uid, entry.pw_gid)


def _init_cluster(settings: Settings, home: Path, user: str | None) -> None:
    bin_dir = server_bin_dir()
    data = home / "data"
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    _give_to(home, user)
    with tempfile.NamedTemporaryFile("w", dir=home, delete=False) as pwfile:
        pwfile.write(settings.pg_password.reveal() + "\n")
    try:
        _give_to(Path(pwfile.name), user)
        result = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                settings.pg_user,
                f"--pwfile={pwfile.name}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            text=True,
            check=False,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
    finally:
        os.unlink(pwfile.name)
    if result.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        output = result.stdout + result.stderr
        hint = (
            f"\nthe `{user}` user cannot enter {home}: give it access to every folder above, "
            "or set HERITAGE_STATE_DIR to a folder it can reach"
            if user and "Permission denied" in output
            else ""
        )
        raise processes.ServiceError(f"postgres: initdb failed:\n{output}{hint}")


def start(settings: Settings) -> None:
    if not settings.pg_password.reveal():
        raise processes.ServiceError(
            "postgres: PGPASSWORD is not set; `heritage services up` generates it"
        )
    user = _run_as()
    home = _home(settings, user)
    data = home / "data"
    if not (data / "PG_VERSION").exists():
        home.mkdir(parents=True, exist_ok=True)
        _init_cluster(settings, home, user)
    socket_dir = home / "socket"
    socket_dir.mkdir(parents=True, exist_ok=True)
    _give_to(home, user)
    log_file = home / "postgres.log"
    argv = [
        str(server_bin_dir() / "postgres"),
        "-D",
        str(data),
        "-p",
        str(settings.pg_port),
        "-k",
        str(socket_dir),
        "-c",
        f"listen_addresses={settings.pg_host}",
        "-c",
        "max_connections=100",
        "-c",
        # The explorer's searches read the objects' rows at random: a collection of a million
        # records (about 1 GB with its OCR-less rows) is then served from shared memory.
        # Allocated as it is used.
        f"shared_buffers={SHARED_BUFFERS}",
        "-c",
        "fsync=on",
    ]
    process = processes.start(settings.state_dir / "run", NAME, argv, log_file, user=user)
    processes.wait_until(
        lambda: _answers(settings),
        "postgres",
        timeout_s=60,
        log_file=log_file,
        process=process,
        run_dir=settings.state_dir / "run",
    )
    ensure_database(settings, settings.pg_database)


def _answers(settings: Settings) -> bool:
    try:
        connect(settings, "postgres").close()
        return True
    except psycopg2.OperationalError:
        return False


def health(settings: Settings) -> ServiceHealth:
    address = f"{settings.pg_host}:{settings.pg_port}"
    try:
        connection = connect(settings, "postgres")
    except psycopg2.OperationalError:
        return ServiceHealth(NAME, False, address, "unknown", "not running")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            row = cursor.fetchone()
            version = str(row[0]) if row else "unknown"
    finally:
        connection.close()
    return ServiceHealth(NAME, True, address, version)
