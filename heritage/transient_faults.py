"""Which failures are a service that is down for a while, and how long to wait for it.

A transient fault is a connection refused or reset, a timeout, or a broker that is not
available: the same call works again once the service is back, and every stage is idempotent
(MERGE, transaction ids, the export's watermark), so the runner retries it instead of
failing. :func:`classify_fault` tells one from any other error, walking the exception's
``__cause__``/``__context__`` chain and, for errors raised in the JVM (py4j, pyspark's
captured exceptions, a streaming query's failure), the Java causes in their text. It names
the service (PostgreSQL, Kafka, the object store) and its endpoint from the settings when it
can be told. :class:`RetryPolicy` and :class:`Outage` say how long to wait: exponential
backoff with full jitter, and a deadline after which the runner gives up. Nothing here does
I/O or reads a clock of its own.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psycopg2
from kafka import errors as kafka_errors
from urllib3 import exceptions as urllib3_errors

from heritage.services.processes import ServiceError
from heritage.settings import Settings

POSTGRESQL = "PostgreSQL"
KAFKA = "Kafka"
OBJECT_STORE = "object store"
# The service of a fault whose address names none of the pipeline's own.
UNKNOWN_SERVICE = "a service"

# The environment variable behind --give-up-after.
GIVE_UP_VARIABLE = "HERITAGE_TRANSIENT_GIVE_UP_S"
DEFAULT_GIVE_UP_S = 900.0

# Text that marks a failure to reach a service, in Java and Python messages alike.
_TRANSIENT_TEXT = re.compile(
    "|".join(
        (
            r"connection refused",
            r"connection reset",
            r"broken pipe",
            r"java\.net\.ConnectException",
            r"java\.net\.SocketTimeoutException",
            r"java\.net\.SocketException: Connection",
            r"ConnectTimeoutException",
            r"NoHttpResponseException",
            r"Unable to execute HTTP request",
            r"org\.apache\.kafka\.common\.errors\.(?:Timeout|Disconnect|Network)Exception",
            r"org\.apache\.kafka\.common\.errors\.(?:BrokerNotAvailable|LeaderNotAvailable)",
            r"Timed out waiting for a node assignment",
            r"server closed the connection unexpectedly",
            r"terminating connection due to administrator command",
            r"the database system is (?:shutting down|starting up|not yet accepting connections)",
            # An object store that is starting (MinIO) or shedding load answers 503.
            r"XMinioServerNotInitialized",
            r"Status Code: 503",
            r"NoBrokersAvailable",
            r"KafkaTimeoutError",
            r"KafkaConnectionError",
            r"NewConnectionError",
            r"Failed to establish a new connection",
            r"could not connect to server",
        )
    ),
    re.IGNORECASE,
)
# A bare "timed out" is a fault only where the text also names one of the services.
_TIMEOUT_TEXT = re.compile(r"timed out|timeout expired", re.IGNORECASE)
# Words that name a service in an error's text, when its address does not appear.
_SERVICE_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (POSTGRESQL, re.compile(r"psycopg2|postgres|server closed the connection", re.IGNORECASE)),
    (KAFKA, re.compile(r"kafka|NoBrokersAvailable|node assignment", re.IGNORECASE)),
    (
        OBJECT_STORE,
        re.compile(
            r"s3a|S3AFileSystem|amazonaws|awssdk|minio|Unable to execute HTTP request", re.I
        ),
    ),
)
# Class names of the errors that carry a JVM's exception as text (checked by name: this core
# module does not import pyspark).
_JVM_ERROR_CLASSES = frozenset({"Py4JJavaError", "CapturedException", "StreamingQueryException"})
# kafka-python's errors for a broker it cannot reach (3.x raises KafkaTimeoutError "Unable to
# bootstrap from ..." where 2.x raised NoBrokersAvailable, kept for that version).
_KAFKA_FAULTS: tuple[type[BaseException], ...] = tuple(
    getattr(kafka_errors, name)
    for name in (
        "NoBrokersAvailable",
        "KafkaTimeoutError",
        "KafkaConnectionError",
        "RequestTimedOutError",
        "NodeNotReadyError",
        "BrokerNotAvailableError",
        "LeaderNotAvailableError",
        "NetworkExceptionError",
    )
    if hasattr(kafka_errors, name)
)
_HTTP_FAULTS = (
    urllib3_errors.MaxRetryError,
    urllib3_errors.NewConnectionError,
    urllib3_errors.ConnectTimeoutError,
    urllib3_errors.ReadTimeoutError,
    urllib3_errors.ProtocolError,
)
_SOCKET_FAULTS = (ConnectionError, TimeoutError)
# Characters of the original message a status line carries.
_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class ServiceEndpoints:
    """Where the pipeline's services are, as their faults name them."""

    # host:port of PostgreSQL.
    postgresql: str
    # Kafka's bootstrap servers, host:port[,host:port].
    kafka: str
    # The object store's endpoint URL.
    object_store: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceEndpoints:
        return cls(
            postgresql=f"{settings.pg_host}:{settings.pg_port}",
            kafka=settings.kafka_bootstrap_servers,
            object_store=settings.s3_endpoint,
        )

    def of(self, service: str) -> str:
        return {
            POSTGRESQL: self.postgresql,
            KAFKA: self.kafka,
            OBJECT_STORE: self.object_store,
        }.get(service, "")

    def addresses(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(service, the host:port texts that name it in an error message)."""
        pg_host, _, pg_port = self.postgresql.rpartition(":")
        store = urlsplit(self.object_store)
        store_port = store.port or (443 if store.scheme == "https" else 80)
        return (
            (POSTGRESQL, (self.postgresql, f'"{pg_host}", port {pg_port}')),
            (KAFKA, tuple(s.strip() for s in self.kafka.split(",") if s.strip())),
            (OBJECT_STORE, (f"{store.hostname}:{store_port}",)),
        )


@dataclass(frozen=True)
class TransientFault:
    """A service that could not be reached: which, where, and what the error said."""

    service: str
    # Where the service was expected ("" when the error does not tell).
    endpoint: str
    # The original error's message, first line.
    message: str

    def retry_line(self, wait_s: float) -> str:
        """The status line of one wait, e.g. "PostgreSQL unreachable at 127.0.0.1:15432;
        retrying in 8 s"."""
        where = f" at {self.endpoint}" if self.endpoint else f" ({self.message})"
        return f"{self.service} unreachable{where}; retrying in {seconds_text(wait_s)} s"

    def give_up_line(self, waited_s: float) -> str:
        """What to do after ``waited_s`` seconds without success, in one line."""
        if self.service == UNKNOWN_SERVICE:
            return (
                f"a service unreachable for {seconds_text(waited_s)} s ({self.message}); "
                "check the services (`heritage services status`) and rerun"
            )
        where = f" at {self.endpoint}" if self.endpoint else ""
        return (
            f"{self.service}{where} unreachable for {seconds_text(waited_s)} s; "
            "start it (`heritage services up`) and rerun"
        )


class ServiceUnreachable(ServiceError):
    """A transient fault that lasted past the give-up deadline."""

    def __init__(self, fault: TransientFault, waited_s: float) -> None:
        super().__init__(fault.give_up_line(waited_s))
        self.fault = fault
        self.waited_s = waited_s


def seconds_text(seconds: float) -> str:
    """Seconds for a status line: whole seconds, tenths below 10 s."""
    if seconds >= 10 or float(seconds).is_integer():
        return f"{seconds:.0f}"
    return f"{seconds:.1f}"


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, then its causes and contexts (pyspark's converted ``_cause`` included),
    breadth first, each once."""
    queue: list[BaseException] = [error]
    seen: set[int] = set()
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (
            current.__cause__,
            current.__context__,
            getattr(current, "_cause", None),
            getattr(current, "reason", None),
        ):
            if isinstance(linked, BaseException):
                queue.append(linked)


def classify_fault(error: BaseException, endpoints: ServiceEndpoints) -> TransientFault | None:
    """The transient fault behind ``error`` (anywhere in its chain), or None when it is
    another kind of error. A fault whose service cannot be told from its own link is named
    from the text of the others."""
    chain = list(exception_chain(error))
    for link in chain:
        fault = _classify_link(link, endpoints)
        if fault is None:
            continue
        if fault.service != UNKNOWN_SERVICE:
            return fault
        named = _service_in_text("\n".join(error_text(other) for other in chain), endpoints)
        if named is None:
            return fault
        return TransientFault(named, endpoints.of(named), fault.message)
    return None


def _classify_link(error: BaseException, endpoints: ServiceEndpoints) -> TransientFault | None:
    if isinstance(error, psycopg2.OperationalError):
        if _TRANSIENT_TEXT.search(str(error)) or _TIMEOUT_TEXT.search(str(error)):
            return TransientFault(POSTGRESQL, endpoints.postgresql, first_line(error))
        return None
    if isinstance(error, _KAFKA_FAULTS):
        return TransientFault(KAFKA, endpoints.kafka, first_line(error))
    if isinstance(error, _HTTP_FAULTS):
        return _http_fault(error, endpoints)
    if is_jvm_error(error):
        return classify_text(error_text(error), endpoints)
    if isinstance(error, _SOCKET_FAULTS):
        return TransientFault(UNKNOWN_SERVICE, "", first_line(error))
    return None


def _http_fault(error: BaseException, endpoints: ServiceEndpoints) -> TransientFault:
    """An HTTP client's connection failure: the object store's when its address is ours."""
    pool = getattr(error, "pool", None) or getattr(error, "conn", None)
    host, port = getattr(pool, "host", None), getattr(pool, "port", None)
    address = f"{host}:{port}" if host and port else ""
    for service, names in endpoints.addresses():
        if address and address in names:
            return TransientFault(service, endpoints.of(service), first_line(error))
    return TransientFault(
        UNKNOWN_SERVICE, f"http://{address}" if address else "", first_line(error)
    )


def classify_text(text: str, endpoints: ServiceEndpoints) -> TransientFault | None:
    """The transient fault a JVM error's text (its message and Java causes) describes."""
    marker = _TRANSIENT_TEXT.search(text)
    weak = marker is None
    if marker is None:
        marker = _TIMEOUT_TEXT.search(text)
        if marker is None:
            return None
    line_start = text.rfind("\n", 0, marker.start()) + 1
    line_end = text.find("\n", marker.end())
    line = text[line_start : None if line_end < 0 else line_end]
    service = _service_in_text(line, endpoints) or _service_in_text(text, endpoints)
    if service is None:
        return None if weak else TransientFault(UNKNOWN_SERVICE, "", _clipped(line))
    return TransientFault(service, endpoints.of(service), _clipped(line))


def _service_in_text(text: str, endpoints: ServiceEndpoints) -> str | None:
    """The service ``text`` names: by an address first, else by words; the earliest wins."""
    for candidates in (_addresses_found(text, endpoints), _words_found(text)):
        if candidates:
            return min(candidates)[1]
    return None


def _addresses_found(text: str, endpoints: ServiceEndpoints) -> list[tuple[int, str]]:
    found = []
    for service, names in endpoints.addresses():
        positions = [text.find(name) for name in names if name and name in text]
        if positions:
            found.append((min(positions), service))
    return found


def _words_found(text: str) -> list[tuple[int, str]]:
    found = []
    for service, pattern in _SERVICE_WORDS:
        match = pattern.search(text)
        if match:
            found.append((match.start(), service))
    return found


def is_jvm_error(error: BaseException) -> bool:
    """Whether ``error`` carries a JVM exception (py4j's, or pyspark's captured ones)."""
    return any(cls.__name__ in _JVM_ERROR_CLASSES for cls in type(error).__mro__)


def error_text(error: BaseException) -> str:
    """An error's message; for pyspark's captured errors the JVM stack trace too (read from
    the object: ``str()`` of those asks the JVM, which may be gone)."""
    parts = [f"{type(error).__module__}.{type(error).__qualname__}"]
    captured = [getattr(error, name, None) for name in ("_desc", "_stackTrace")]
    if any(isinstance(part, str) for part in captured):
        parts.extend(part for part in captured if isinstance(part, str))
    else:
        try:
            parts.append(str(error))
        except Exception:  # a py4j error whose gateway is closed cannot render itself
            parts.extend(str(arg) for arg in error.args)
    return "\n".join(parts)


def first_line(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # see error_text
        text = " ".join(str(arg) for arg in error.args)
    return _clipped(text.strip().splitlines()[0] if text.strip() else type(error).__name__)


def _clipped(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


@dataclass(frozen=True)
class RetryPolicy:
    """How the runner waits for a service that is down."""

    # The first backoff's upper bound; each retry doubles it.
    base_s: float = 1.0
    # No single wait is longer than this.
    cap_s: float = 30.0
    # Seconds of failures without a success after which the runner gives up.
    give_up_after_s: float = DEFAULT_GIVE_UP_S

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s:
            raise ValueError(
                f"backoff base {self.base_s} s and cap {self.cap_s} s: need 0 < base <= cap"
            )
        if not math.isfinite(self.give_up_after_s) or self.give_up_after_s < 0:
            raise ValueError(f"give-up deadline {self.give_up_after_s} s must be 0 or more")


def backoff_s(attempt: int, rng: random.Random, base_s: float = 1.0, cap_s: float = 30.0) -> float:
    """The wait before retry ``attempt`` (0 for the first): exponential backoff with full
    jitter, uniform in [0, min(cap, base * 2**attempt)], so that clients that failed
    together do not come back together."""
    ceiling = min(cap_s, base_s * 2 ** min(attempt, 62))
    return rng.uniform(0.0, ceiling)


def give_up_after_from(settings: Settings, given: float | None = None) -> float:
    """The give-up deadline: ``given`` (--give-up-after), else HERITAGE_TRANSIENT_GIVE_UP_S,
    else 900 s."""
    if given is not None:
        return given
    raw = settings.value(GIVE_UP_VARIABLE)
    if not raw:
        return DEFAULT_GIVE_UP_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"setting {GIVE_UP_VARIABLE}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"setting {GIVE_UP_VARIABLE}={raw!r} must be 0 or more seconds")
    return value


@dataclass
class Outage:
    """Consecutive transient failures of one stage since its last success: when to retry,
    and when to give up. Times are the caller's monotonic clock."""

    policy: RetryPolicy
    rng: random.Random = field(default_factory=random.Random)
    # When the first failure of this outage happened; None while things work.
    started_at: float | None = None
    # Failures so far in this outage.
    failures: int = 0

    def next_wait(self, fault: TransientFault, now: float) -> float:
        """Seconds to wait before the next try after a failure at ``now``; raises
        :class:`ServiceUnreachable` once the deadline has passed. The last wait ends at the
        deadline, so the final try comes right on it."""
        if self.started_at is None:
            self.started_at = now
        elapsed = now - self.started_at
        if elapsed >= self.policy.give_up_after_s:
            raise ServiceUnreachable(fault, self.policy.give_up_after_s)
        wait = backoff_s(self.failures, self.rng, self.policy.base_s, self.policy.cap_s)
        self.failures += 1
        return min(wait, self.policy.give_up_after_s - elapsed)

    def succeeded(self) -> None:
        self.started_at = None
        self.failures = 0

    @property
    def ongoing(self) -> bool:
        return self.started_at is not None
