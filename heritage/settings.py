"""Typed settings for every component, in one place.

Precedence: process environment > the local stack's generated credentials file
(``.state/local.env``) > defaults. The variable names are the ones that psql, the MinIO and
AWS clients and Kafka tools already understand, so ``eval "$(heritage services env)"`` makes
them work directly. Secrets are held in :class:`Secret`, which never prints its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Secret:
    """A credential; ``repr`` and ``str`` are redacted so it cannot leak into logs."""

    value: str = field(repr=False)

    def reveal(self) -> str:
        return self.value

    def __str__(self) -> str:
        return "***" if self.value else ""

    def __repr__(self) -> str:
        return "Secret('***')" if self.value else "Secret('')"


@dataclass(frozen=True)
class Settings:
    """Where every service is and how to reach it."""

    # Folder for all local-stack state: data, logs, pid files, jars, generated credentials.
    state_dir: Path
    # Kafka bootstrap servers, host:port[,host:port].
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    # Port of the local broker's KRaft controller listener (local stack only).
    kafka_controller_port: int = 19093
    # S3-compatible endpoint URL (MinIO by default).
    s3_endpoint: str = "http://127.0.0.1:19000"
    # Port of MinIO's web console (local stack only).
    minio_console_port: int = 19001
    s3_access_key: Secret = Secret("")
    s3_secret_key: Secret = Secret("")
    # The one bucket that holds every Delta table and checkpoint.
    bucket: str = "heritage"
    pg_host: str = "127.0.0.1"
    pg_port: int = 15432
    pg_database: str = "heritage"
    # Owner of the schema; the pipeline writes with it.
    pg_user: str = "heritage_admin"
    pg_password: Secret = Secret("")
    # Read-only role for analysts and the dashboard.
    pg_reader_user: str = "heritage_reader"
    pg_reader_password: Secret = Secret("")
    # Curators' role: reads the analytics views, records duplicate decisions, nothing else.
    pg_curator_user: str = "heritage_curator"
    pg_curator_password: Secret = Secret("")
    # A Qdrant server URL; when empty, Qdrant runs embedded in qdrant_path.
    qdrant_url: str = ""
    qdrant_path: Path = Path()
    # Spark master URL; local[2] fits the reference 2-core machine.
    spark_master: str = "local[2]"
    # Memory for the Spark driver (which is also the executor in local mode).
    spark_driver_memory: str = "2g"
    # Every variable after precedence (environment over .state/local.env): what the typed
    # configuration of each component is read from (heritage.stage_contract.StageContext).
    environment: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def value(self, name: str, default: str = "") -> str:
        """One variable after precedence: environment > .state/local.env > ``default``."""
        return self.environment.get(name) or default

    @property
    def jars_dir(self) -> Path:
        return self.state_dir / "jars"

    @property
    def local_env_file(self) -> Path:
        return self.state_dir / "local.env"

    def as_environment(self) -> dict[str, str]:
        """The settings as environment variables (secrets revealed: for child processes)."""
        return {
            "HERITAGE_STATE_DIR": str(self.state_dir),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "HERITAGE_KAFKA_CONTROLLER_PORT": str(self.kafka_controller_port),
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "HERITAGE_MINIO_CONSOLE_PORT": str(self.minio_console_port),
            "AWS_ACCESS_KEY_ID": self.s3_access_key.reveal(),
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_key.reveal(),
            "AWS_REGION": "us-east-1",
            "HERITAGE_BUCKET": self.bucket,
            "PGHOST": self.pg_host,
            "PGPORT": str(self.pg_port),
            "PGDATABASE": self.pg_database,
            "PGUSER": self.pg_user,
            "PGPASSWORD": self.pg_password.reveal(),
            "HERITAGE_PG_READER_USER": self.pg_reader_user,
            "HERITAGE_PG_READER_PASSWORD": self.pg_reader_password.reveal(),
            "HERITAGE_PG_CURATOR_USER": self.pg_curator_user,
            "HERITAGE_PG_CURATOR_PASSWORD": self.pg_curator_password.reveal(),
            "QDRANT_URL": self.qdrant_url,
            "HERITAGE_QDRANT_PATH": str(self.qdrant_path),
            "HERITAGE_SPARK_MASTER": self.spark_master,
            "HERITAGE_SPARK_DRIVER_MEMORY": self.spark_driver_memory,
        }


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a dotenv file of KEY=VALUE lines (no shell expansion); missing file -> {}."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.removeprefix("export ").partition("=")
        if not sep:
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {stripped[:40]!r}")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, then the generated local credentials, then defaults."""
    env = dict(os.environ if environ is None else environ)
    state_dir = Path(env.get("HERITAGE_STATE_DIR") or PROJECT_ROOT / ".state").resolve()
    merged = {**read_env_file(state_dir / "local.env"), **{k: v for k, v in env.items() if v}}
    defaults = Settings(state_dir=state_dir)

    def text(key: str, default: str) -> str:
        return merged.get(key, default)

    def number(key: str, default: int) -> int:
        raw = merged.get(key)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"setting {key}={raw!r} is not a whole number") from None

    return Settings(
        state_dir=state_dir,
        kafka_bootstrap_servers=text("KAFKA_BOOTSTRAP_SERVERS", defaults.kafka_bootstrap_servers),
        kafka_controller_port=number(
            "HERITAGE_KAFKA_CONTROLLER_PORT", defaults.kafka_controller_port
        ),
        s3_endpoint=text("AWS_ENDPOINT_URL", defaults.s3_endpoint),
        minio_console_port=number("HERITAGE_MINIO_CONSOLE_PORT", defaults.minio_console_port),
        s3_access_key=Secret(text("AWS_ACCESS_KEY_ID", "")),
        s3_secret_key=Secret(text("AWS_SECRET_ACCESS_KEY", "")),
        bucket=text("HERITAGE_BUCKET", defaults.bucket),
        pg_host=text("PGHOST", defaults.pg_host),
        pg_port=number("PGPORT", defaults.pg_port),
        pg_database=text("PGDATABASE", defaults.pg_database),
        pg_user=text("PGUSER", defaults.pg_user),
        pg_password=Secret(text("PGPASSWORD", "")),
        pg_reader_user=text("HERITAGE_PG_READER_USER", defaults.pg_reader_user),
        pg_reader_password=Secret(text("HERITAGE_PG_READER_PASSWORD", "")),
        pg_curator_user=text("HERITAGE_PG_CURATOR_USER", defaults.pg_curator_user),
        pg_curator_password=Secret(text("HERITAGE_PG_CURATOR_PASSWORD", "")),
        qdrant_url=text("QDRANT_URL", ""),
        qdrant_path=Path(text("HERITAGE_QDRANT_PATH", str(state_dir / "qdrant"))),
        spark_master=text("HERITAGE_SPARK_MASTER", defaults.spark_master),
        spark_driver_memory=text("HERITAGE_SPARK_DRIVER_MEMORY", defaults.spark_driver_memory),
        environment=merged,
    )
