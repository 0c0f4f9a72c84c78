"""HTTP for the OAI-PMH harvester: retries under the shared HTTP policy (Retry-After and
jittered exponential backoff, :mod:`heritage.http_policy`), a persisted circuit breaker per
endpoint, a cap on concurrent requests per endpoint, and no redirects to another host.

The pure parts (:func:`redirect_target`, :func:`validate_base_url`) are tested without a
network; :class:`OaiHttpClient` is the thin adapter around requests.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from heritage.http_policy import (
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    HttpPolicy,
    RetriesExhausted,
    RetryAfterTooLong,
    RetrySchedule,
    build_session,
    retry_after_seconds,
)
from heritage.producers.oai_pmh_harvest_state import (
    EndpointHealth,
    endpoint_health_path,
    load_endpoint_health,
    save_endpoint_health,
)
from heritage.producers.oai_pmh_protocol import OaiErrorResponse, OaiMalformedResponse
from heritage.record_model import utc_now_iso
from heritage.source_settings import OAI_PMH_HTTP_POLICY

log = logging.getLogger(__name__)

T = TypeVar("T")

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


def oai_http_policy(
    max_attempts: int | None = None,
    timeout_s: float | None = None,
    defaults: HttpPolicy = OAI_PMH_HTTP_POLICY,
) -> HttpPolicy:
    """The harvester's policy with the command line's tries and timeout (seconds to wait
    for an answer; connecting gets at most 10 of them)."""
    policy = defaults if max_attempts is None else replace(defaults, max_attempts=max_attempts)
    if timeout_s is None:
        return policy
    return replace(policy, connect_timeout_s=min(10.0, timeout_s), read_timeout_s=timeout_s)


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


def _checked(limit: int) -> int:
    if limit < 1:
        raise ValueError(f"max_concurrent_requests must be at least 1, not {limit}")
    return limit


class EndpointLimit:
    """At most ``limit`` requests at once to one endpoint. Harvests of the same endpoint in one
    process share one limit; the tightest one any of them configured holds for all."""

    def __init__(self, limit: int) -> None:
        self._limit = _checked(limit)
        self._in_flight = 0
        self._condition = threading.Condition()

    @property
    def limit(self) -> int:
        return self._limit

    def tighten(self, limit: int) -> None:
        with self._condition:
            self._limit = min(self._limit, _checked(limit))

    def __enter__(self) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._in_flight < self._limit)
            self._in_flight += 1

    def __exit__(self, *_exc: object) -> None:
        with self._condition:
            self._in_flight -= 1
            self._condition.notify()


# Held weakly: an endpoint's limit lives as long as a client uses it, so a later harvest with
# another configuration starts afresh rather than inheriting a finished harvest's limit.
_limits: weakref.WeakValueDictionary[str, EndpointLimit] = weakref.WeakValueDictionary()
_limits_lock = threading.Lock()


def endpoint_limit(base_url: str, limit: int) -> EndpointLimit:
    """The one limit shared by every live client of ``base_url`` in this process."""
    with _limits_lock:
        shared = _limits.get(base_url)
        if shared is None:
            shared = EndpointLimit(limit)
            _limits[base_url] = shared
        else:
            shared.tighten(limit)
        return shared


class EndpointBreaker:
    """The circuit breaker of one endpoint (:class:`heritage.http_policy.CircuitBreaker`
    with no cool-down), persisted in the endpoint's health file: at ``threshold``
    consecutive failed requests the endpoint is quarantined, in this process and the next,
    until an operator resets it."""

    def __init__(self, state_dir: Path, base_url: str, threshold: int) -> None:
        self._state_dir = state_dir
        self._base_url = base_url
        self._health = load_endpoint_health(state_dir, base_url)
        health = self._health
        self._breaker = CircuitBreaker(
            base_url,
            threshold,
            cooldown_s=None,
            state=BreakerState(
                health.consecutive_failures,
                health.last_failure or "",
                time.time() if health.quarantined else None,
            ),
            on_change=self._persist,
        )

    @property
    def consecutive_failures(self) -> int:
        return self._breaker.state.consecutive_failures

    def _persist(self, state: BreakerState) -> None:
        health = self._health
        quarantined = state.opened_at is not None
        if quarantined and not health.quarantined:
            health.quarantined_at = utc_now_iso()
            log.error(
                "OAI-PMH endpoint quarantined",
                extra={"endpoint": self._base_url, "failures": state.consecutive_failures},
            )
        elif not quarantined:
            health.quarantined_at = None
        health.quarantined = quarantined
        health.consecutive_failures = state.consecutive_failures
        health.last_failure = state.last_failure or health.last_failure
        save_endpoint_health(self._state_dir, health)

    def _quarantine_error(self) -> EndpointQuarantined:
        health: EndpointHealth = self._health
        path = endpoint_health_path(self._state_dir, self._base_url)
        return EndpointQuarantined(
            f"OAI-PMH endpoint {self._base_url} is quarantined since "
            f"{health.quarantined_at} after {health.consecutive_failures} "
            f"consecutive failed requests (last: {health.last_failure}); check the "
            f"repository, then {RESET_HINT.format(path=path)}"
        )

    def check(self) -> None:
        try:
            self._breaker.before_request()
        except CircuitOpen:
            raise self._quarantine_error() from None

    def record_success(self) -> None:
        self._breaker.record_success()

    def record_failure(self, reason: str) -> None:
        """Count a failure; raises EndpointQuarantined when the endpoint is quarantined."""
        if self._breaker.record_failure(reason):
            raise self._quarantine_error()


@dataclass(frozen=True)
class FailedAttempt:
    reason: str
    # Seconds the server asked us to wait (Retry-After), if it did.
    retry_after: float | None = None


class OaiHttpClient:
    """GET requests to one endpoint, each retried per the policy, all through the endpoint's
    concurrency limit and circuit breaker."""

    def __init__(
        self,
        base_url: str,
        breaker: EndpointBreaker,
        policy: HttpPolicy = OAI_PMH_HTTP_POLICY,
        max_concurrent_requests: int = 50,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        self.breaker = breaker
        self.policy = policy
        self._limit = endpoint_limit(base_url, max_concurrent_requests)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = build_session(_USER_AGENT)
            self._local.session = session
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()

    def _get_once(
        self, arguments: dict[str, str], schedule: RetrySchedule
    ) -> bytes | FailedAttempt:
        url: str = self.base_url
        params: dict[str, str] | None = arguments
        with self._limit:
            for _ in range(_MAX_REDIRECTS + 1):
                try:
                    response = self._session().get(
                        url, params=params, timeout=self.policy.timeout, allow_redirects=False
                    )
                except requests.Timeout:
                    return FailedAttempt(f"timed out after {self.policy.read_timeout_s:g}s")
                except requests.ConnectionError as error:
                    return FailedAttempt(f"connection failed: {error}")
                if response.status_code in _REDIRECT_STATUS:
                    url = redirect_target(response.url, response.headers.get("Location"))
                    params = None  # the Location carries the query
                    continue
                if response.status_code == 200:
                    return response.content
                reason = f"HTTP {response.status_code}"
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                if schedule.retries_status(response.status_code, retry_after is not None):
                    return FailedAttempt(reason, retry_after)
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
        schedule = RetrySchedule(self.policy, self._rng)
        while True:
            try:
                outcome = self._get_once(arguments, schedule)
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
            self.breaker.record_failure(f"{outcome.reason} for {arguments}")
            self._sleep(self._delay_before_retry(schedule, outcome, arguments))

    def _delay_before_retry(
        self, schedule: RetrySchedule, failed: FailedAttempt, arguments: dict[str, str]
    ) -> float:
        try:
            delay = schedule.delay_before_retry(failed.retry_after)
        except RetriesExhausted:
            raise OaiHttpError(
                f"{self.base_url} failed {schedule.failures} times for {arguments} "
                f"(last: {failed.reason}); the harvest state is kept, so rerun to resume"
            ) from None
        except RetryAfterTooLong as too_long:
            raise OaiHttpError(
                f"{self.base_url} asked to retry after {too_long.seconds:.0f}s, more than the "
                f"{too_long.limit:.0f}s allowed; harvest again later"
            ) from None
        log.warning(
            "OAI-PMH request failed; retrying",
            extra={
                "endpoint": self.base_url,
                "request": str(arguments),
                "reason": failed.reason,
                "attempt": schedule.failures,
                "delay_s": round(delay, 3),
            },
        )
        return delay
