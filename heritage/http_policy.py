"""One HTTP client policy for every source the pipeline fetches from: timeouts, retries with
exponential backoff and jitter, Retry-After, and a circuit breaker.

The counting and spacing of retries is urllib3's :class:`~urllib3.util.retry.Retry` (the
library requests itself retries with); :class:`RetrySchedule` drives one request's tries
with it by hand, because the clients also retry answers that only they can judge (a page
that is not JSON, a truncated OAI-PMH response) and must count those against the same
budget. :class:`CircuitBreaker` stops sending to a host that keeps failing, and lets one
trial request through after a cool-down.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Only reading requests are retried: a retried write could apply twice.
_RETRIED_METHODS = frozenset({"GET", "HEAD"})
# Reads Retry-After headers; urllib3 clamps what it reads to six hours, far beyond any limit.
_RETRY_AFTER_READER = Retry(total=0)


@dataclass(frozen=True)
class HttpPolicy:
    """How one source's requests are timed, retried and cut off."""

    # Seconds to establish a connection (TCP and TLS).
    connect_timeout_s: float = 5.0
    # Seconds of silence allowed while waiting for or reading the answer.
    read_timeout_s: float = 30.0
    # Tries of one request, the first included.
    max_attempts: int = 6
    # Backoff before retry n (n >= 2; the first retry goes at once) is
    # backoff_base_s * 2**(n-1) plus jitter, capped at backoff_max_s (urllib3's formula).
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    # Up to this many random seconds added to each backoff, so clients that failed together
    # do not come back together.
    backoff_jitter_s: float = 1.0
    # Answers retried like a timeout; any other error status fails the request at once.
    retry_statuses: frozenset[int] = RETRY_STATUSES
    # Wait as long as a server's Retry-After asks (plus a little jitter) instead of the backoff.
    respect_retry_after: bool = True
    # A Retry-After longer than this fails the request instead of sleeping through it.
    max_retry_after_s: float = 300.0
    # Consecutive failed tries after which the breaker opens and requests fail fast; 0: off.
    breaker_threshold: int = 0
    # Seconds an open breaker waits before one trial request; None: until an operator resets.
    breaker_cooldown_s: float | None = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("connect_timeout_s", "read_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be more than 0, got {getattr(self, name)}")
        for name in ("backoff_base_s", "backoff_max_s", "backoff_jitter_s", "max_retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) timeouts as requests takes them."""
        return (self.connect_timeout_s, self.read_timeout_s)


def build_retry(policy: HttpPolicy) -> Retry:
    """urllib3's Retry configured by ``policy``: ``max_attempts - 1`` retries of GET and
    HEAD, on connection and read errors and on ``retry_statuses``; redirects not followed."""
    return Retry(
        total=policy.max_attempts - 1,
        redirect=False,
        allowed_methods=_RETRIED_METHODS,
        status_forcelist=policy.retry_statuses,
        backoff_factor=policy.backoff_base_s,
        backoff_max=policy.backoff_max_s,
        backoff_jitter=policy.backoff_jitter_s,
        respect_retry_after_header=policy.respect_retry_after,
        retry_after_max=int(policy.max_retry_after_s),
        raise_on_status=False,
    )


def build_session(user_agent: str, pool_size: int = 10) -> requests.Session:
    """A pooled requests session sending ``user_agent``. Its adapters do not retry: the
    client's :class:`RetrySchedule` does, so that unreadable answers and failed connections
    count against one budget and every wait can be logged."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    adapter = HTTPAdapter(
        max_retries=Retry(total=0, read=False, redirect=False, raise_on_status=False),
        pool_connections=pool_size,
        pool_maxsize=pool_size,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date, never below 0);
    None if absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        return float(_RETRY_AFTER_READER.parse_retry_after(value.strip()))
    except InvalidHeader:
        return None


class RetriesExhausted(Exception):
    """Every try the policy allows was used."""


class RetryAfterTooLong(Exception):
    """The server asked to wait longer than the policy's ``max_retry_after_s``."""

    def __init__(self, seconds: float, limit: float) -> None:
        super().__init__(f"Retry-After of {seconds:.0f} s exceeds the limit of {limit:.0f} s")
        self.seconds = seconds
        self.limit = limit


class RetrySchedule:
    """The tries of one request under a policy, counted and spaced by urllib3's Retry."""

    def __init__(self, policy: HttpPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._retry = build_retry(policy)
        self._rng = rng or random.Random()
        self.failures = 0

    def retries_status(self, status: int, has_retry_after: bool = False) -> bool:
        """Whether an answer with ``status`` is worth another try under the policy."""
        return self._retry.is_retry("GET", status, has_retry_after)

    def delay_before_retry(self, retry_after: float | None = None) -> float:
        """Count one failed try and return the seconds to wait before the next one: the
        server's Retry-After (with up to a tenth more of jitter, at most backoff_jitter_s)
        when it sent one and the policy respects it, else the jittered exponential backoff.

        Raises RetriesExhausted when no try is left and RetryAfterTooLong when the server
        asks for a longer wait than the policy allows."""
        self.failures += 1
        try:
            self._retry = self._retry.increment(method="GET")
        except MaxRetryError:
            raise RetriesExhausted(f"{self.failures} tries failed") from None
        if retry_after is not None and self.policy.respect_retry_after:
            if retry_after > self.policy.max_retry_after_s:
                raise RetryAfterTooLong(retry_after, self.policy.max_retry_after_s)
            spread = min(self.policy.backoff_jitter_s, 0.1 * retry_after)
            return retry_after + self._rng.uniform(0.0, spread)
        return self._retry.get_backoff_time()


BreakerStatus = Literal["closed", "open", "half-open"]


class CircuitOpen(Exception):
    """The breaker is open: the request was not sent."""

    def __init__(self, name: str, state: BreakerState, retry_in_s: float | None) -> None:
        when = "until it is reset" if retry_in_s is None else f"for {retry_in_s:.0f} s more"
        super().__init__(
            f"{name} failed {state.consecutive_failures} times in a row (last: "
            f"{state.last_failure or '-'}); requests to it are paused {when}"
        )
        self.name = name
        self.retry_in_s = retry_in_s


@dataclass
class BreakerState:
    """What a breaker remembers; a caller may persist it across processes."""

    consecutive_failures: int = 0
    # Why the last try failed.
    last_failure: str = ""
    # Clock reading when the breaker opened; None while it is closed.
    opened_at: float | None = None


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``cooldown_s`` it lets one
    trial request through (half-open): its success closes the breaker, its failure opens
    it again. ``on_change`` sees every new state (to persist it); threshold 0 never opens."""

    name: str
    threshold: int
    # None keeps the breaker open until reset() (an operator's decision).
    cooldown_s: float | None = 60.0
    clock: Callable[[], float] = time.time
    state: BreakerState = field(default_factory=BreakerState)
    on_change: Callable[[BreakerState], None] | None = None
    _trial_in_flight: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def for_policy(cls, name: str, policy: HttpPolicy) -> CircuitBreaker:
        return cls(name, policy.breaker_threshold, policy.breaker_cooldown_s)

    @property
    def status(self) -> BreakerStatus:
        with self._lock:
            return self._status()

    def _status(self) -> BreakerStatus:
        opened = self.state.opened_at
        if opened is None:
            return "closed"
        if self.cooldown_s is not None and self.clock() - opened >= self.cooldown_s:
            return "half-open"
        return "open"

    def before_request(self) -> None:
        """Raises CircuitOpen unless a request may go out now (closed, or the one trial of
        a half-open breaker)."""
        with self._lock:
            status = self._status()
            if status == "closed":
                return
            if status == "half-open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            raise CircuitOpen(self.name, self.state, self._retry_in())

    def _retry_in(self) -> float | None:
        if self.cooldown_s is None or self.state.opened_at is None:
            return None
        return max(0.0, self.state.opened_at + self.cooldown_s - self.clock())

    def record_success(self) -> None:
        with self._lock:
            self._trial_in_flight = False
            if self.state.consecutive_failures or self.state.opened_at is not None:
                self.state = BreakerState()
                self._changed()

    def record_failure(self, reason: str) -> bool:
        """Count a failed try; True when the breaker is open after it."""
        with self._lock:
            trial_failed = self._trial_in_flight
            self._trial_in_flight = False
            failures = self.state.consecutive_failures + 1
            opened_at = self.state.opened_at
            if self.threshold > 0 and (trial_failed or failures >= self.threshold):
                opened_at = opened_at if opened_at is not None and not trial_failed else None
                opened_at = self.clock() if opened_at is None else opened_at
            self.state = BreakerState(failures, reason[:500], opened_at)
            self._changed()
            return opened_at is not None

    def reset(self) -> None:
        with self._lock:
            self._trial_in_flight = False
            self.state = BreakerState()
            self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.state)
