"""Persistent OAI-PMH harvest state: one file per (endpoint, metadataPrefix, set) and one
health file per endpoint, each replaced atomically (write a temporary file, fsync,
``os.replace``), so a crash leaves either the old state or the new one, never half of each.

The harvester writes a list's state only after Kafka confirmed every record the state
covers; a restart therefore resumes at the first page not yet confirmed, or re-reads pages
whose records the publish ledger then skips.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from heritage.atomic_files import write_json_atomically
from heritage.record_model import utc_now_iso

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def endpoint_key(base_url: str) -> str:
    """A file-system-safe, stable name for an endpoint: readable host and path plus a hash
    of the whole URL, so two endpoints never share state."""
    parts = urlsplit(base_url)
    readable = _UNSAFE.sub("_", f"{parts.hostname or 'endpoint'}_{parts.port or ''}{parts.path}")
    digest = hashlib.sha256(base_url.encode("utf-8")).hexdigest()[:10]
    return f"{readable.strip('_')[:60]}-{digest}"


def endpoint_state_dir(state_dir: Path, base_url: str) -> Path:
    return state_dir / "oai" / endpoint_key(base_url)


def list_state_path(
    state_dir: Path, base_url: str, metadata_prefix: str, set_spec: str | None
) -> Path:
    set_part = "all" if not set_spec else _UNSAFE.sub("_", set_spec)[:40]
    set_hash = hashlib.sha256((set_spec or "").encode("utf-8")).hexdigest()[:6]
    name = f"list-{_UNSAFE.sub('_', metadata_prefix)}-{set_part}-{set_hash}.json"
    return endpoint_state_dir(state_dir, base_url) / name


def endpoint_health_path(state_dir: Path, base_url: str) -> Path:
    return endpoint_state_dir(state_dir, base_url) / "endpoint-health.json"


@dataclass
class ListHarvestState:
    """Where the harvest of one list stands."""

    endpoint: str
    metadata_prefix: str
    set_spec: str | None
    # `from` and `until` of the list being harvested; kept so a restart after an expired
    # or rejected token asks for exactly the same list again.
    run_from: str | None = None
    run_until: str | None = None
    # Whether a list is being harvested (a crash leaves this true: the next run resumes).
    in_progress: bool = False
    # The resumption token for the first page not yet confirmed by Kafka.
    token: str | None = None
    token_expires: str | None = None
    # The latest header datestamp among records confirmed by Kafka.
    last_committed_datestamp: str | None = None
    # `until` of the last complete harvest: the next incremental harvest starts there.
    completed_until: str | None = None
    # Records (and tombstones) confirmed by Kafka over the life of this state.
    records_committed: int = 0
    # Error counters, kept for operators.
    token_restarts: int = 0
    malformed_pages: int = 0
    failed_runs: int = 0
    last_error: str | None = None
    updated_at: str | None = None


@dataclass
class EndpointHealth:
    """The circuit breaker of one endpoint."""

    endpoint: str
    consecutive_failures: int = 0
    quarantined: bool = False
    quarantined_at: str | None = None
    last_failure: str | None = None
    updated_at: str | None = None


def _known_fields(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in raw.items() if key in names}


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"harvest state {path} is not valid JSON ({error}); it is only ever replaced "
            "atomically, so it was edited by hand: fix it, or delete it to harvest from scratch"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"harvest state {path} is not a JSON object; fix or delete it")
    return value


def load_list_state(
    state_dir: Path, base_url: str, metadata_prefix: str, set_spec: str | None
) -> ListHarvestState:
    raw = _read(list_state_path(state_dir, base_url, metadata_prefix, set_spec))
    if raw is None:
        return ListHarvestState(base_url, metadata_prefix, set_spec)
    return ListHarvestState(**_known_fields(ListHarvestState, raw))


def save_list_state(state_dir: Path, state: ListHarvestState) -> None:
    state.updated_at = utc_now_iso()
    path = list_state_path(state_dir, state.endpoint, state.metadata_prefix, state.set_spec)
    write_json_atomically(path, asdict(state))


def load_endpoint_health(state_dir: Path, base_url: str) -> EndpointHealth:
    raw = _read(endpoint_health_path(state_dir, base_url))
    if raw is None:
        return EndpointHealth(base_url)
    return EndpointHealth(**_known_fields(EndpointHealth, raw))


def save_endpoint_health(state_dir: Path, health: EndpointHealth) -> None:
    health.updated_at = utc_now_iso()
    write_json_atomically(endpoint_health_path(state_dir, health.endpoint), asdict(health))


def reset_quarantine(state_dir: Path, base_url: str) -> bool:
    """Lift an endpoint's quarantine and clear its failure count; False if it was not
    quarantined."""
    health = load_endpoint_health(state_dir, base_url)
    was_quarantined = health.quarantined
    health.quarantined = False
    health.quarantined_at = None
    health.consecutive_failures = 0
    save_endpoint_health(state_dir, health)
    return was_quarantined
