"""How a producer waits out a Kafka broker it cannot reach.

While the broker is unreachable the producer says so itself, one line per wait (``Kafka
broker 127.0.0.1:19092 unreachable; retrying in 4 s (gives up in 52 s)``), and keeps
kafka-python's own reconnect chatter (a few lines per attempt) out of the log. After the
deadline (``--broker-timeout``, else HERITAGE_BROKER_TIMEOUT_S, else 300 s) it gives up with
:class:`BrokerUnavailable`, whose message is the one line the command prints. What Kafka
confirmed before that is in the publish ledger, so a rerun sends only the rest.

The deadline counts from the first failed attempt of an outage and starts afresh once the
broker answers again, so a long run survives any number of short outages.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from heritage.services.health import port_open, split_host_port
from heritage.services.processes import ServiceError
from heritage.settings import Settings

log = logging.getLogger(__name__)

BROKER_TIMEOUT_VARIABLE = "HERITAGE_BROKER_TIMEOUT_S"
DEFAULT_BROKER_TIMEOUT_S = 300.0
# Seconds between attempts: a restarted broker is back within seconds, so the first retries
# come quickly; after that one attempt (and one status line) every few seconds.
RETRY_DELAYS_S = (1.0, 2.0, 4.0)
# What the status line says of the broker, unless the caller knows better.
UNREACHABLE = "unreachable"
# A closed port answers at once; a silent host should not stall an attempt for long.
PROBE_TIMEOUT_S = 1.0

# kafka-python reports every failed connection, metadata refresh and bootstrap attempt, at
# WARNING and ERROR, several lines per attempt (tens a second for a missing topic). While
# the producer reports the outage itself those lines say nothing more; any other error of
# the library still shows.
_RECONNECT_NOISE = re.compile(
    r"ECONNREFUSED|KafkaConnectionError|socket disconnected|Connection (?:lost|failed)"
    r"|No node available|[Bb]ootstrap|not ready|NodeNotReady|Metadata refresh"
    # Each metadata refresh for a topic the broker lacks (the status line names it).
    r"|not found in cluster metadata"
    # The socket of a broker that was killed, reset under a read or a write.
    r"|Error (?:receiving|sending) network data"
)
_RECONNECTING_LOGGERS = (
    "kafka.cluster",
    "kafka.net.connection",
    "kafka.net.manager",
    "kafka.net.transport",
    "kafka.producer.sender",
    "kafka.admin.client",
    "kafka.client_async",
    "kafka.conn",
)


class BrokerUnavailable(ServiceError):
    """The broker stayed unreachable past the deadline; Kafka's confirmations up to then are
    in the ledger."""


def parse_broker_timeout(text: str) -> float:
    """Seconds from ``--broker-timeout`` or the variable: a number above 0."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{text!r} is not a number of seconds above 0")
    return seconds


def broker_timeout_s(settings: Settings) -> float:
    """How long producers wait for an unreachable broker (HERITAGE_BROKER_TIMEOUT_S; the CLI
    sets it from --broker-timeout)."""
    text = settings.value(BROKER_TIMEOUT_VARIABLE)
    if not text:
        return DEFAULT_BROKER_TIMEOUT_S
    try:
        return parse_broker_timeout(text)
    except ValueError as error:
        raise ServiceError(f"{BROKER_TIMEOUT_VARIABLE}: {error}") from None


def retry_delay_s(failed_attempts: int) -> float:
    """The wait after the ``failed_attempts``-th failure in a row (1-based)."""
    return RETRY_DELAYS_S[min(max(failed_attempts, 1), len(RETRY_DELAYS_S)) - 1]


def _seconds(value: float) -> str:
    return f"{max(0, math.ceil(value - 1e-6))}"


def status_line(servers: str, delay_s: float, left_s: float, problem: str = UNREACHABLE) -> str:
    return (
        f"Kafka broker {servers} {problem}; retrying in {_seconds(delay_s)} s "
        f"(gives up in {_seconds(left_s)} s)"
    )


def give_up_message(servers: str, timeout_s: float, problem: str = UNREACHABLE) -> str:
    return (
        f"Kafka broker {servers} {problem}; gave up after {_seconds(timeout_s)} s: start it "
        "(`heritage services up`) or allow longer with --broker-timeout SECONDS, then rerun: "
        "messages Kafka confirmed are in the publish ledger and are not sent again"
    )


@dataclass
class BrokerWatch:
    """One producer's view of the broker: since when it has been unreachable, and how many
    attempts failed in a row."""

    servers: str
    timeout_s: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _since: float | None = field(default=None, init=False)
    _failures: int = field(default=0, init=False)

    def reachable(self) -> None:
        """The broker answered (or confirmed a message): the next outage starts afresh."""
        if self._failures:
            log.warning(f"Kafka broker {self.servers} reachable again")
        self._since, self._failures = None, 0

    def failed(self, since: float | None = None, problem: str = UNREACHABLE) -> float:
        """Note a failed attempt (the outage began at ``since``, a ``clock`` time, or now):
        log the status line and return the seconds to wait before the next attempt; past
        the deadline, raise :class:`BrokerUnavailable` instead."""
        now = self.clock()
        if self._since is None:
            self._since = now if since is None else min(since, now)
        left = self._since + self.timeout_s - now
        if left <= 0:
            raise BrokerUnavailable(give_up_message(self.servers, self.timeout_s, problem))
        self._failures += 1
        delay = min(retry_delay_s(self._failures), left)
        log.warning(status_line(self.servers, delay, left, problem))
        return delay

    def wait(self, problem: str = UNREACHABLE, since: float | None = None) -> None:
        """Note a failed attempt (made at ``since``, or now) and wait before the next one."""
        self.sleep(self.failed(since, problem))


def broker_listening(servers: str) -> bool:
    """Whether any bootstrap address (``host:port,host:port``) accepts a connection."""
    return any(
        port_open(*split_host_port(address.strip()), timeout_s=PROBE_TIMEOUT_S)
        for address in servers.split(",")
        if address.strip()
    )


def wait_until_listening(watch: BrokerWatch) -> None:
    """Return once a bootstrap address accepts connections; BrokerUnavailable after the
    deadline. A plain connection attempt: kafka-python would log each of its own."""
    while not broker_listening(watch.servers):
        watch.wait()


def wait_for_broker(settings: Settings) -> None:
    """Before a producer's first contact with Kafka (creating topics, say): wait, with a
    status line per attempt, until the broker listens; BrokerUnavailable after the
    deadline."""
    quiet_library_reconnects()
    wait_until_listening(BrokerWatch(settings.kafka_bootstrap_servers, broker_timeout_s(settings)))


class _ReconnectNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _RECONNECT_NOISE.search(record.getMessage()) is None


_NOISE_FILTER = _ReconnectNoise()


def quiet_library_reconnects() -> None:
    """kafka-python's loggers at ERROR, without the errors of each failed reconnect: the
    producer reports the outage itself. Idempotent."""
    logging.getLogger("kafka").setLevel(logging.ERROR)
    for name in _RECONNECTING_LOGGERS:
        logger = logging.getLogger(name)
        if _NOISE_FILTER not in logger.filters:
            logger.addFilter(_NOISE_FILTER)
