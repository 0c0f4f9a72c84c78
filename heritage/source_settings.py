"""Typed configuration of the sources the pipeline fetches from over HTTP (the Europeana
Search API, OAI-PMH repositories and providers' image URLs) and of the virus scanner that
checks every file of a submission package.

Each ``load_*`` reads the settings' variables (environment > ``.state/local.env`` >
defaults, see :mod:`heritage.settings`); a stage adapter gets them with
``context.config(load_image_fetch_config)``. Every source has its own
:class:`~heritage.http_policy.HttpPolicy`, read from ``<PREFIX>_CONNECT_TIMEOUT_S``,
``<PREFIX>_READ_TIMEOUT_S``, ``<PREFIX>_MAX_ATTEMPTS``, ``<PREFIX>_BACKOFF_S``,
``<PREFIX>_BACKOFF_MAX_S``, ``<PREFIX>_BACKOFF_JITTER_S``, ``<PREFIX>_MAX_RETRY_AFTER_S``,
``<PREFIX>_BREAKER_THRESHOLD`` and ``<PREFIX>_BREAKER_COOLDOWN_S``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from heritage.env_values import env_number
from heritage.http_policy import HttpPolicy
from heritage.settings import Secret, Settings

EUROPEANA_API_KEY_ENV = "EUROPEANA_API_KEY"
EUROPEANA_SEARCH_URL = "https://api.europeana.eu/record/v2/search.json"
# The Search API's ceiling of items per page.
EUROPEANA_MAX_ROWS = 100

# The Search API is fast and asks for a short wait when it throttles: a Retry-After beyond
# the longest backoff stops the harvest (it resumes from its cursor) instead of sleeping.
EUROPEANA_HTTP_POLICY = HttpPolicy(
    connect_timeout_s=5.0,
    read_timeout_s=30.0,
    max_attempts=6,
    backoff_base_s=0.5,
    backoff_max_s=60.0,
    max_retry_after_s=60.0,
    breaker_threshold=20,
    breaker_cooldown_s=60.0,
)
# Repositories are slow and often overloaded: long reads, many tries, and a quarantine that
# only an operator lifts (the harvester persists it per endpoint).
OAI_PMH_HTTP_POLICY = HttpPolicy(
    connect_timeout_s=10.0,
    read_timeout_s=60.0,
    max_attempts=8,
    backoff_base_s=0.5,
    backoff_max_s=60.0,
    max_retry_after_s=300.0,
    breaker_threshold=10,
    breaker_cooldown_s=None,
)
# Image hosts are many and small: short timeouts, few tries (a failed image is tried again
# on a later run), and a per-host breaker so one dead host does not cost every image's tries.
IMAGE_HTTP_POLICY = HttpPolicy(
    connect_timeout_s=3.0,
    read_timeout_s=10.0,
    max_attempts=3,
    backoff_base_s=0.5,
    backoff_max_s=8.0,
    backoff_jitter_s=0.5,
    max_retry_after_s=30.0,
    breaker_threshold=10,
    breaker_cooldown_s=60.0,
)


def _number(settings: Settings, name: str, default: float) -> float:
    return env_number(settings.environment, name, default)


def _whole(settings: Settings, name: str, default: int) -> int:
    value = _number(settings, name, default)
    if value != int(value):
        raise ValueError(f"setting {name}={settings.value(name)!r} is not a whole number")
    return int(value)


def load_http_policy(settings: Settings, prefix: str, defaults: HttpPolicy) -> HttpPolicy:
    """``defaults`` with every ``<prefix>_*`` variable that is set applied."""
    cooldown = settings.value(f"{prefix}_BREAKER_COOLDOWN_S")
    return replace(
        defaults,
        connect_timeout_s=_number(
            settings, f"{prefix}_CONNECT_TIMEOUT_S", defaults.connect_timeout_s
        ),
        read_timeout_s=_number(settings, f"{prefix}_READ_TIMEOUT_S", defaults.read_timeout_s),
        max_attempts=_whole(settings, f"{prefix}_MAX_ATTEMPTS", defaults.max_attempts),
        backoff_base_s=_number(settings, f"{prefix}_BACKOFF_S", defaults.backoff_base_s),
        backoff_max_s=_number(settings, f"{prefix}_BACKOFF_MAX_S", defaults.backoff_max_s),
        backoff_jitter_s=_number(settings, f"{prefix}_BACKOFF_JITTER_S", defaults.backoff_jitter_s),
        max_retry_after_s=_number(
            settings, f"{prefix}_MAX_RETRY_AFTER_S", defaults.max_retry_after_s
        ),
        breaker_threshold=_whole(
            settings, f"{prefix}_BREAKER_THRESHOLD", defaults.breaker_threshold
        ),
        breaker_cooldown_s=(
            _number(settings, f"{prefix}_BREAKER_COOLDOWN_S", 0.0)
            if cooldown
            else defaults.breaker_cooldown_s
        ),
    )


# --- Europeana ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EuropeanaClientConfig:
    """How hard the Europeana client may push the API and how long it keeps trying."""

    # Sustained requests per second; 0 turns pacing off (only for local replay servers).
    requests_per_second: float = 10.0
    # Requests that may go out back to back before the pacing applies.
    burst: int = 1
    # Timeouts, retries and breaker of each request (HERITAGE_EUROPEANA_HTTP_*).
    http: HttpPolicy = EUROPEANA_HTTP_POLICY

    def __post_init__(self) -> None:
        if self.requests_per_second < 0:
            raise ValueError(f"requests_per_second must be >= 0, got {self.requests_per_second}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst}")


@dataclass(frozen=True)
class EuropeanaSettings:
    """Where the Europeana harvest goes and with which key."""

    # The API key (EUROPEANA_API_KEY); empty when none is configured.
    api_key: Secret = field(default_factory=lambda: Secret(""))
    # The Search API endpoint (HERITAGE_EUROPEANA_BASE_URL); a replay server in tests.
    base_url: str = EUROPEANA_SEARCH_URL
    # Items per page, 1 to 100 (HERITAGE_EUROPEANA_ROWS).
    rows: int = EUROPEANA_MAX_ROWS
    # Pacing and HTTP policy of the client (HERITAGE_EUROPEANA_REQUESTS_PER_SECOND, _BURST).
    client: EuropeanaClientConfig = field(default_factory=EuropeanaClientConfig)


def load_europeana_settings(settings: Settings) -> EuropeanaSettings:
    defaults = EuropeanaClientConfig()
    rows = _whole(settings, "HERITAGE_EUROPEANA_ROWS", EUROPEANA_MAX_ROWS)
    if not 1 <= rows <= EUROPEANA_MAX_ROWS:
        raise ValueError(
            f"setting HERITAGE_EUROPEANA_ROWS={rows}: the Search API allows 1 to "
            f"{EUROPEANA_MAX_ROWS}"
        )
    return EuropeanaSettings(
        api_key=Secret(settings.value(EUROPEANA_API_KEY_ENV).strip()),
        base_url=settings.value("HERITAGE_EUROPEANA_BASE_URL", EUROPEANA_SEARCH_URL),
        rows=rows,
        client=EuropeanaClientConfig(
            requests_per_second=_number(
                settings, "HERITAGE_EUROPEANA_REQUESTS_PER_SECOND", defaults.requests_per_second
            ),
            burst=_whole(settings, "HERITAGE_EUROPEANA_BURST", defaults.burst),
            http=load_http_policy(settings, "HERITAGE_EUROPEANA_HTTP", EUROPEANA_HTTP_POLICY),
        ),
    )


# --- OAI-PMH --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OaiPmhClientSettings:
    """How the OAI-PMH harvester talks to every repository."""

    # Timeouts, retries and quarantine threshold of each request (HERITAGE_OAI_HTTP_*).
    http: HttpPolicy = OAI_PMH_HTTP_POLICY
    # Requests in flight to one endpoint at once (HERITAGE_OAI_MAX_CONCURRENT_REQUESTS).
    max_concurrent_requests: int = 50


def load_oai_pmh_settings(settings: Settings) -> OaiPmhClientSettings:
    return OaiPmhClientSettings(
        http=load_http_policy(settings, "HERITAGE_OAI_HTTP", OAI_PMH_HTTP_POLICY),
        max_concurrent_requests=max(
            1, _whole(settings, "HERITAGE_OAI_MAX_CONCURRENT_REQUESTS", 50)
        ),
    )


# --- images ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageFetchConfig:
    """How images are fetched; every field has an ``HERITAGE_IMAGE_*`` variable."""

    # Seconds to resolve a host name (a resolver that hangs must not stall the stage).
    dns_timeout_s: float = 2.0
    # Seconds for one whole request, redirects and body included.
    total_timeout_s: float = 30.0
    # Largest image accepted, in bytes; a bigger one is aborted while streaming.
    max_bytes: int = 25 * 1024 * 1024
    # Largest decoded size in pixels (width x height): beyond is a decompression bomb.
    max_pixels: int = 64_000_000
    # Redirects followed per URL (each target is checked by the SSRF policy again).
    max_redirects: int = 3
    # Requests in flight overall, and to any one host.
    workers: int = 8
    per_host: int = 2
    # A failed record is retried on a later run once this many seconds passed since its last
    # attempt; the wait doubles per failed attempt, capped at retry_cap_s.
    retry_after_s: float = 300.0
    retry_cap_s: float = 86_400.0
    # Longest side of the stored JPEG thumbnail.
    thumbnail_px: int = 256
    # Connect/read timeouts, retries within one run and the per-host breaker
    # (HERITAGE_IMAGE_CONNECT_TIMEOUT_S, _READ_TIMEOUT_S, _RETRIES, _BACKOFF_S, ...).
    http: HttpPolicy = IMAGE_HTTP_POLICY


def load_image_fetch_config(settings: Settings) -> ImageFetchConfig:
    defaults = ImageFetchConfig()

    def number(name: str, default: float) -> float:
        return _number(settings, f"HERITAGE_IMAGE_{name.upper()}", default)

    http = load_http_policy(settings, "HERITAGE_IMAGE", IMAGE_HTTP_POLICY)
    # HERITAGE_IMAGE_RETRIES counts retries, not tries.
    retries = int(number("retries", http.max_attempts - 1))
    return ImageFetchConfig(
        dns_timeout_s=number("dns_timeout_s", defaults.dns_timeout_s),
        total_timeout_s=number("total_timeout_s", defaults.total_timeout_s),
        max_bytes=int(number("max_bytes", defaults.max_bytes)),
        max_pixels=int(number("max_pixels", defaults.max_pixels)),
        max_redirects=int(number("max_redirects", defaults.max_redirects)),
        workers=max(1, int(number("workers", defaults.workers))),
        per_host=max(1, int(number("per_host", defaults.per_host))),
        retry_after_s=number("retry_after_s", defaults.retry_after_s),
        retry_cap_s=number("retry_cap_s", defaults.retry_cap_s),
        thumbnail_px=int(number("thumbnail_px", defaults.thumbnail_px)),
        http=replace(http, max_attempts=max(1, retries + 1)),
    )


# --- virus scanner --------------------------------------------------------------------------

CLAMAV_MODES = ("clamscan", "clamd")
# Where Debian's clamav-daemon listens (LocalSocket in /etc/clamav/clamd.conf).
DEFAULT_CLAMD_SOCKET = "/run/clamav/clamd.ctl"


@dataclass(frozen=True)
class ClamavConfig:
    """How submission packages are scanned; every field has an ``HERITAGE_CLAMAV_*`` variable."""

    # Folder of the signature databases (HERITAGE_CLAMAV_DB): a freshclam-maintained one in
    # production, the project's test signatures in tests and on the local stack.
    database_dir: Path
    # "clamscan" runs one process per batch (it loads the database each time); "clamd"
    # streams files to a running daemon that keeps it loaded (HERITAGE_CLAMAV_MODE).
    mode: str = "clamscan"
    # The daemon's socket: a Unix socket path or host:port (HERITAGE_CLAMD_SOCKET).
    clamd_socket: str = DEFAULT_CLAMD_SOCKET
    # Files (and archive members) larger than this are reported over_limit, never passed
    # unscanned (HERITAGE_CLAMAV_MAX_FILESIZE_MB); master TIFFs exceed ClamAV's 100 MB default.
    # ClamAV scans nothing over 2 GiB whatever this says.
    max_filesize_mb: float = 400.0
    # Most data scanned per file, archive contents included (HERITAGE_CLAMAV_MAX_SCANSIZE_MB).
    max_scansize_mb: float = 1000.0
    # Seconds one batch may take before every file in it is reported as an error
    # (HERITAGE_CLAMAV_TIMEOUT_S); loading the official databases alone takes tens of seconds.
    timeout_s: float = 1800.0

    def __post_init__(self) -> None:
        if self.mode not in CLAMAV_MODES:
            raise ValueError(
                f"setting HERITAGE_CLAMAV_MODE={self.mode!r}: use one of {', '.join(CLAMAV_MODES)}"
            )
        for name in ("max_filesize_mb", "max_scansize_mb", "timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ClamAV {name} must be > 0, got {getattr(self, name)}")


def load_clamav_settings(settings: Settings) -> ClamavConfig:
    defaults = ClamavConfig(database_dir=settings.state_dir / "clamav")
    return ClamavConfig(
        database_dir=Path(settings.value("HERITAGE_CLAMAV_DB", str(defaults.database_dir))),
        mode=settings.value("HERITAGE_CLAMAV_MODE", defaults.mode).strip().lower(),
        clamd_socket=settings.value("HERITAGE_CLAMD_SOCKET", defaults.clamd_socket),
        max_filesize_mb=_number(
            settings, "HERITAGE_CLAMAV_MAX_FILESIZE_MB", defaults.max_filesize_mb
        ),
        max_scansize_mb=_number(
            settings, "HERITAGE_CLAMAV_MAX_SCANSIZE_MB", defaults.max_scansize_mb
        ),
        timeout_s=_number(settings, "HERITAGE_CLAMAV_TIMEOUT_S", defaults.timeout_s),
    )
