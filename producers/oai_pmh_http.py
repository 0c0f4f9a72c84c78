"""HTTP for the OAI-PMH harvester: retries with Retry-After and jittered exponential backoff,
a persisted circuit breaker per endpoint, a cap on concurrent requests per endpoint, and no
redirects to another host.

The pure parts (:func:`backoff_delay`, :func:`retry_after_seconds`, :func:`redirect_target`)
are tested without a network; :class:`OaiHttpClient` is the thin adapter around requests.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from heritage.producers.oai_pmh_harvest_state import (
    endpoint_health_path,
    load_endpoint_health,
    save_endpoint_health,
)
from heritage.producers.oai_pmh_protocol import OaiErrorResponse, OaiMalformedResponse
from heritage.record_model import utc_now_iso

log = logging.getLogger(__name__)

T = TypeVar("T")

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_USER_AGENT = "heritage-lakehouse-oai-harvester/0.1"
# How to lift a quarantine; the CLI that wraps reset_quarantine() may name itself here.
RESET_HINT = (
    "reset it with `heritage produce oai --base-url URL --reset-quarantine` or delete {path}"
)


class OaiHttpError(RuntimeError):
    """A request to an endpoint failed for good (after retries, or not retryable)."""


class EndpointQuarantined(OaiHttpError):
    """The endpoint's circuit breaker is open: no request is sent until an operator resets it."""


class RedirectRefused(OaiHttpError):
    """The endpoint redirected to another host, which the harvester never follows."""


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried."""

    # Attempts per request, the first included.
    max_attempts: int = 8
    # Backoff before retry n is uniform in [0, min(cap, base * 2**n)] ("full jitter").
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    # A Retry-After longer than this fails the request instead of sleeping through it.
    max_retry_after_s: float = 300.0
    # Seconds to connect and to wait for the answer.
    timeout_s: float = 60.0


def validate_base_url(base_url: str) -> str:
    """The base URL if it is an absolute http(s) URL; the operator configures it, so private
    addresses are allowed, but nothing but HTTP."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"OAI-PMH base URL {base_url!r} is not an absolute http(s) URL; "
            "configure it as e.g. https://repository.example.org/oai"
        )
    if parts.username or parts.password:
        raise ValueError(
            f"OAI-PMH base URL for host {parts.hostname!r} carries credentials; remove them"
        )
    return base_url


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (0 for the first retry): full jitter."""
    ceiling = min(policy.backoff_max_s, policy.backoff_base_s * (2**attempt))
    return rng.uniform(0.0, ceiling)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def redirect_target(current_url: str, location: str | None) -> str:
    """Where a redirect leads, if it stays on the same scheme, host and port; raises
    RedirectRefused otherwise."""
    if not location:
        raise RedirectRefused(f"{current_url} answered a redirect without a Location")
    target = urljoin(current_url, location)
    here, there = urlsplit(current_url), urlsplit(target)
    if (there.scheme, there.hostname, there.port) != (here.scheme, here.hostname, here.port):
        raise RedirectRefused(
            f"endpoint {here.scheme}://{here.netloc} redirected to another origin "
            f"{there.scheme}://{there.netloc}; redirects leave the configured host only if "
            "the operator configures the new base URL"
        )
    return target


_semaphores: dict[str, threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def endpoint_semaphore(base_url: str, limit: int) -> threading.BoundedSemaphore:
    """The one semaphore shared by every harvest of ``base_url`` in this process (the first
    caller's limit wins)."""
    with _semaphores_lock:
        semaphore = _semaphores.get(base_url)
        if semaphore is None:
            semaphore = threading.BoundedSemaphore(limit)
            _semaphores[base_url] = semaphore
        return semaphore


class CircuitBreaker:
    """Counts consecutive failed requests of one endpoint, persisted in its health file;
    at ``threshold`` the endpoint is quarantined until an operator resets it."""

    def __init__(self, state_dir: Path, base_url: str, threshold: int) -> None:
        self._state_dir = state_dir
        self._base_url = base_url
        self._threshold = threshold
        self._lock = threading.Lock()
        self._health = load_endpoint_health(state_dir, base_url)

    @property
    def consecutive_failures(self) -> int:
        return self._health.consecutive_failures

    def _quarantine_error(self) -> EndpointQuarantined:
        path = endpoint_health_path(self._state_dir, self._base_url)
        return EndpointQuarantined(
            f"OAI-PMH endpoint {self._base_url} is quarantined since "
            f"{self._health.quarantined_at} after {self._health.consecutive_failures} "
            f"consecutive failed requests (last: {self._health.last_failure}); check the "
            f"repository, then {RESET_HINT.format(path=path)}"
        )

    def check(self) -> None:
        with self._lock:
            if self._health.quarantined:
                raise self._quarantine_error()

    def record_success(self) -> None:
        with self._lock:
            if self._health.consecutive_failures:
                self._health.consecutive_failures = 0
                save_endpoint_health(self._state_dir, self._health)

    def record_failure(self, reason: str) -> None:
        """Count a failure; raises EndpointQuarantined when it reaches the threshold."""
        with self._lock:
            health = self._health
            health.consecutive_failures += 1
            health.last_failure = reason[:500]
            if health.consecutive_failures >= self._threshold and not health.quarantined:
                health.quarantined = True
                health.quarantined_at = utc_now_iso()
                log.error(
                    "OAI-PMH endpoint quarantined",
                    extra={"endpoint": self._base_url, "failures": health.consecutive_failures},
                )
            save_endpoint_health(self._state_dir, health)
            if health.quarantined:
                raise self._quarantine_error()


@dataclass(frozen=True)
class FailedAttempt:
    reason: str
    # Seconds the server asked us to wait (Retry-After), if it did.
    retry_after: float | None = None


class OaiHttpClient:
    """GET requests to one endpoint, each retried per the policy, all through the endpoint's
    semaphore and circuit breaker."""

    def __init__(
        self,
        base_url: str,
        breaker: CircuitBreaker,
        policy: RetryPolicy,
        max_concurrent_requests: int = 50,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        self.breaker = breaker
        self.policy = policy
        self._semaphore = endpoint_semaphore(base_url, max_concurrent_requests)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = _USER_AGENT
            self._local.session = session
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()

    def _get_once(self, arguments: dict[str, str]) -> bytes | FailedAttempt:
        url: str = self.base_url
        params: dict[str, str] | None = arguments
        timeout = (min(10.0, self.policy.timeout_s), self.policy.timeout_s)
        with self._semaphore:
            for _ in range(_MAX_REDIRECTS + 1):
                try:
                    response = self._session().get(
                        url, params=params, timeout=timeout, allow_redirects=False
                    )
                except requests.Timeout:
                    return FailedAttempt(f"timed out after {self.policy.timeout_s:g}s")
                except requests.ConnectionError as error:
                    return FailedAttempt(f"connection failed: {error}")
                if response.status_code in _REDIRECT_STATUS:
                    url = redirect_target(response.url, response.headers.get("Location"))
                    params = None  # the Location carries the query
                    continue
                if response.status_code == 200:
                    return response.content
                reason = f"HTTP {response.status_code}"
                if response.status_code in _RETRYABLE_STATUS:
                    return FailedAttempt(
                        reason,
                        retry_after_seconds(response.headers.get("Retry-After"), time.time()),
                    )
                raise OaiHttpError(
                    f"{self.base_url} answered {reason} to {arguments}; not retried: check "
                    "the base URL and the request"
                )
        return FailedAttempt(f"more than {_MAX_REDIRECTS} redirects")

    def fetch(
        self,
        arguments: dict[str, str],
        parse: Callable[[bytes], T],
        on_malformed: Callable[[OaiMalformedResponse, dict[str, str]], None] | None = None,
    ) -> T:
        """The parsed answer to one request. Throttling, unavailability, timeouts and
        malformed bodies are retried (after ``on_malformed`` saw the bad body); every
        failure counts toward the endpoint's circuit breaker."""
        self.breaker.check()
        last = "no attempt"
        for attempt in range(self.policy.max_attempts):
            try:
                outcome = self._get_once(arguments)
            except OaiHttpError as error:
                self.breaker.record_failure(str(error))
                raise
            if isinstance(outcome, bytes):
                try:
                    parsed = parse(outcome)
                except OaiMalformedResponse as malformed:
                    if on_malformed is not None:
                        on_malformed(malformed, arguments)
                    outcome = FailedAttempt(f"malformed response: {malformed.reason}")
                except OaiErrorResponse:
                    self.breaker.record_success()  # a protocol answer: the endpoint works
                    raise
                else:
                    self.breaker.record_success()
                    return parsed
            last = outcome.reason
            self.breaker.record_failure(f"{outcome.reason} for {arguments}")
            if attempt + 1 >= self.policy.max_attempts:
                break
            if outcome.retry_after is not None:
                if outcome.retry_after > self.policy.max_retry_after_s:
                    raise OaiHttpError(
                        f"{self.base_url} asked to retry after {outcome.retry_after:.0f}s, "
                        f"more than the {self.policy.max_retry_after_s:.0f}s allowed; "
                        "harvest again later"
                    )
                delay = outcome.retry_after + self._rng.uniform(
                    0.0, min(1.0, outcome.retry_after / 10)
                )
            else:
                delay = backoff_delay(attempt, self.policy, self._rng)
            log.warning(
                "OAI-PMH request failed; retrying",
                extra={
                    "endpoint": self.base_url,
                    "request": str(arguments),
                    "reason": outcome.reason,
                    "attempt": attempt + 1,
                    "delay_s": round(delay, 3),
                },
            )
            self._sleep(delay)
        raise OaiHttpError(
            f"{self.base_url} failed {self.policy.max_attempts} times for {arguments} "
            f"(last: {last}); the harvest state is kept, so rerun to resume"
        )
