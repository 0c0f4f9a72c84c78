"""MinIO on loopback, built by `make setup` with `go install` at a pinned commit."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from heritage.services import processes
from heritage.services.health import ServiceHealth, split_host_port
from heritage.settings import Settings

NAME = "minio"


def binary(settings: Settings) -> Path:
    return settings.state_dir / "bin" / "minio"


def _ready(settings: Settings) -> bool:
    url = settings.s3_endpoint.rstrip("/") + "/minio/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def version(settings: Settings) -> str:
    """The pinned Go module version `make setup` built (`go install` builds report none)."""
    stamp = settings.state_dir / "bin" / ".minio-module"
    if not binary(settings).exists():
        return "not installed"
    return stamp.read_text().strip().rpartition("@")[2] if stamp.exists() else "unknown"


def start(settings: Settings) -> None:
    if not settings.s3_access_key.reveal() or len(settings.s3_secret_key.reveal()) < 8:
        raise processes.ServiceError(
            "minio: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (8+ characters) are not set; "
            "`heritage services up` generates them in .state/local.env"
        )
    host, port = split_host_port(settings.s3_endpoint)
    data = settings.state_dir / "minio" / "data"
    data.mkdir(parents=True, exist_ok=True)
    log_file = settings.state_dir / "minio" / "minio.log"
    env = {
        **os.environ,
        "MINIO_ROOT_USER": settings.s3_access_key.reveal(),
        "MINIO_ROOT_PASSWORD": settings.s3_secret_key.reveal(),
        "MINIO_UPDATE": "off",
        "MINIO_CI_CD": "1",
    }
    argv = [
        str(binary(settings)),
        "server",
        str(data),
        "--address",
        f"{host}:{port}",
        "--console-address",
        f"{host}:{settings.minio_console_port}",
        "--quiet",
    ]
    process = processes.start(settings.state_dir / "run", NAME, argv, log_file, env=env)
    processes.wait_until(
        lambda: _ready(settings),
        "minio",
        timeout_s=60,
        log_file=log_file,
        process=process,
        run_dir=settings.state_dir / "run",
    )


def health(settings: Settings) -> ServiceHealth:
    healthy = _ready(settings)
    return ServiceHealth(
        NAME, healthy, settings.s3_endpoint, version(settings), "" if healthy else "not running"
    )
