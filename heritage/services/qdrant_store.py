"""Qdrant: embedded in the state folder by default, a server when QDRANT_URL is set."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from importlib.metadata import version

from heritage.services.health import ServiceHealth
from heritage.settings import Settings

NAME = "qdrant"


def start(settings: Settings) -> None:
    """Embedded Qdrant needs no process: the folder is created and opened by its client."""
    if not settings.qdrant_url:
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)


def health(settings: Settings) -> ServiceHealth:
    if not settings.qdrant_url:
        writable = settings.qdrant_path.is_dir()
        return ServiceHealth(
            NAME,
            writable,
            f"embedded:{settings.qdrant_path}",
            f"qdrant-client {version('qdrant-client')}",
            "" if writable else "folder missing; `heritage services up` creates it",
        )
    try:
        with urllib.request.urlopen(settings.qdrant_url.rstrip("/") + "/", timeout=3) as reply:
            server_version = str(json.load(reply).get("version", "unknown"))
        return ServiceHealth(NAME, True, settings.qdrant_url, server_version)
    except (urllib.error.URLError, OSError, ValueError):
        return ServiceHealth(NAME, False, settings.qdrant_url, "unknown", "not reachable")
