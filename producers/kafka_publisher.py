"""The one producer path every source uses: envelopes keyed by record_id, acks=all,
idempotence on, and delivery confirmed before any state is committed.

Every envelope sent to a records topic is classified with the cleanse stage's own rules
(:func:`heritage.record_contract.classify_envelope`). An invalid record is still published,
since cleanse stays the authority and nothing may be lost, but the producer says so at
once: a warning per chunk sent, naming the first few, and the whole list on
:class:`PublishResult`.

A broker that goes away is waited for (heritage.producers.broker_wait): the producer
reconnects within about a second once it is back, and gives up with
:class:`~heritage.producers.broker_wait.BrokerUnavailable` after the broker timeout, having
recorded in the ledger exactly the messages Kafka confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from tqdm import tqdm

from heritage.json_logging import current_correlation_id
from heritage.kafka_topics import RECORDS_TOPIC, ensure_topics
from heritage.producers.broker_wait import (
    DEFAULT_BROKER_TIMEOUT_S,
    UNREACHABLE,
    BrokerWatch,
    broker_listening,
    broker_timeout_s,
    quiet_library_reconnects,
    wait_until_listening,
)
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_contract import classify_envelope
from heritage.record_model import Envelope, SourceRecord, envelope_for, utc_now_iso
from heritage.settings import Settings

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """Kafka did not confirm some messages; nothing was recorded as published for them."""


@dataclass(frozen=True)
class PublishResult:
    # Messages Kafka confirmed in this call.
    published: int
    # Messages confirmed by an earlier call with the same content, not sent again.
    skipped: int
    # (record_id, reasons) of each record sent that the cleanse stage will reject.
    invalid: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def is_records_topic(topic: str) -> bool:
    """The records topic of the product or of a namespace (``heritage.records.<ns>``)."""
    return topic == RECORDS_TOPIC or topic.startswith(f"{RECORDS_TOPIC}.")


def invalid_records(topic: str, envelopes: Iterable[Envelope]) -> list[tuple[str, tuple[str, ...]]]:
    """(record_id, reasons) of the envelopes cleanse will reject; one warning names how many
    and the first few (the command line lists them all)."""
    found = []
    for envelope in envelopes:
        verdict = classify_envelope(envelope)
        if not verdict.valid:
            found.append((envelope.record_id, verdict.reasons))
    if found:
        log.warning(
            "publishing records the cleanse stage will reject",
            extra={
                "topic": topic,
                "invalid": len(found),
                "first": " | ".join(
                    f"{record_id}: {'; '.join(reasons)}" for record_id, reasons in found[:3]
                ),
            },
        )
    return found


# kafka-python 3.x producer settings, chosen so that a broker coming back is used at once:
# reconnects back off from 0.1 s to at most 1 s (the library's default grows to 30 s, which
# left a producer idle for half a minute after the broker returned).
RECONNECT_BACKOFF_MS = 100
RECONNECT_BACKOFF_MAX_MS = 1_000
# A request unanswered this long is retried on a fresh connection; a single local broker
# acknowledges (acks=all) within milliseconds.
REQUEST_TIMEOUT_MS = 5_000
# send() waits this long for topic metadata or buffer space before raising, so the
# publisher's own wait (status line, deadline) takes over.
MAX_BLOCK_MS = 5_000
# One attempt at the first connection (the constructor fetches the broker's versions).
BOOTSTRAP_ATTEMPT_MS = 5_000
LINGER_MS = 20
# How long flush() waits quietly before a chunk's silence counts as an outage.
FIRST_FLUSH_WAIT_S = 4.0


class WatchedProducer(KafkaProducer):
    """A KafkaProducer that knows how long its user waits out an unreachable broker."""

    def __init__(self, broker_timeout_s: float, **configs: Any) -> None:
        super().__init__(**configs)
        self.broker_timeout_s = broker_timeout_s


def producer_config(bootstrap_servers: str, timeout_s: float) -> dict[str, Any]:
    """The producer's settings; batches outlive the broker timeout by one request, so none
    expires while the publisher still waits for the broker, and none long after it gave up
    (closing the producer waits for them)."""
    return {
        "bootstrap_servers": bootstrap_servers,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": LINGER_MS,
        "batch_size": 256 * 1024,
        "max_in_flight_requests_per_connection": 5,
        "reconnect_backoff_ms": RECONNECT_BACKOFF_MS,
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        "max_block_ms": MAX_BLOCK_MS,
        "bootstrap_timeout_ms": BOOTSTRAP_ATTEMPT_MS,
        "delivery_timeout_ms": int(timeout_s * 1000) + REQUEST_TIMEOUT_MS + LINGER_MS,
    }


def create_producer(settings: Settings, timeout_s: float | None = None) -> KafkaProducer:
    """A producer connected to the broker; while the broker is unreachable, one status line
    per attempt, and BrokerUnavailable after ``timeout_s`` (default: the broker timeout of
    ``settings``)."""
    timeout = broker_timeout_s(settings) if timeout_s is None else timeout_s
    quiet_library_reconnects()
    watch = BrokerWatch(settings.kafka_bootstrap_servers, timeout)
    while True:
        wait_until_listening(watch)
        try:
            producer = WatchedProducer(
                timeout, **producer_config(settings.kafka_bootstrap_servers, timeout)
            )
        except (KafkaTimeoutError, KafkaConnectionError):
            watch.wait()
            continue
        watch.reachable()
        return producer


def ensure_topics_when_reachable(settings: Settings, names: tuple[str, ...]) -> None:
    """Create the topics that do not exist yet (heritage.kafka_topics.ensure_topics) once
    the broker answers; until then one status line per attempt, and BrokerUnavailable after
    the broker timeout. A broker lost between the check and the request is waited for too."""
    quiet_library_reconnects()
    watch = BrokerWatch(settings.kafka_bootstrap_servers, broker_timeout_s(settings))
    while True:
        wait_until_listening(watch)
        try:
            ensure_topics(settings, names)
        except KafkaError as error:
            if not error.retriable:
                raise
            watch.wait()
            continue
        watch.reachable()
        return


@dataclass
class _ChunkDelivery:
    """The sends of one chunk and what Kafka said about each: confirmed, failed for good,
    or not yet known. A send that failed with a retriable error (a batch that expired while
    the broker was away) is sent again while the broker timeout allows."""

    producer: KafkaProducer
    topic: str
    watch: BrokerWatch
    pending: list[tuple[Envelope, Any]] = field(default_factory=list)
    confirmed: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def send(self, envelope: Envelope) -> None:
        key, value = envelope.record_id.encode("utf-8"), envelope.to_json().encode("utf-8")
        while True:
            attempted = self.watch.clock()
            try:
                future = self.producer.send(self.topic, key=key, value=value)
            except KafkaTimeoutError:  # no metadata or buffer space within max_block_ms
                self.watch.wait(self._stall(), since=attempted)
                continue
            self.pending.append((envelope, future))
            return

    def _stall(self) -> str:
        """Why send() got nowhere: the broker is gone, or it listens but has no partition
        of the topic to take the message (auto-creation is off)."""
        if not broker_listening(self.watch.servers):
            return UNREACHABLE
        return f"took no message for {self.topic} (does the topic exist?)"

    def settle(self, resend: bool = True) -> int:
        """Sort the finished sends (sending the retriable failures again, unless ``resend``
        is off); return how many Kafka confirmed since the last call."""
        before = len(self.confirmed)
        waiting, again = [], []
        for envelope, future in self.pending:
            if not future.is_done:
                waiting.append((envelope, future))
            elif future.succeeded():
                self.confirmed.append((envelope.record_id, envelope.content_hash))
            elif resend and isinstance(future.exception, KafkaError) and future.exception.retriable:
                again.append(envelope)
            else:
                self.failures.append(f"{envelope.record_id}: {future.exception}")
        self.pending = waiting
        if again:
            log.info(
                "sending again messages Kafka did not take in time",
                extra={"topic": self.topic, "messages": len(again)},
            )
        for envelope in again:
            self.send(envelope)
        return len(self.confirmed) - before

    def await_all(self) -> None:
        """Flush until every send is confirmed or failed; while nothing is confirmed, one
        status line per wait and BrokerUnavailable after the broker timeout."""
        wait_s, silent_since = FIRST_FLUSH_WAIT_S, self.watch.clock()
        while True:
            # A flush that times out only means some sends are still unanswered.
            with suppress(KafkaTimeoutError):
                self.producer.flush(timeout=wait_s)
            if self.settle():
                self.watch.reachable()
                silent_since = self.watch.clock()
            if not self.pending:
                return
            wait_s = self.watch.failed(since=silent_since)


def publish_envelopes(
    producer: KafkaProducer,
    ledger: PublishLedger,
    topic: str,
    envelopes: Iterable[Envelope],
    progress: bool = True,
    chunk_size: int = 5000,
    classify: bool | None = None,
) -> PublishResult:
    """Send the envelopes not yet confirmed for this topic, in chunks; each chunk is flushed
    and every future checked before its pairs go into the ledger. Records sent to a records
    topic (``classify`` None: told by the topic's name) are classified as they are sent;
    invalid ones are sent all the same and reported in the result.

    While the broker is unreachable the chunk waits (a status line per wait); after the
    producer's broker timeout it raises BrokerUnavailable, the confirmed pairs of the chunk
    in the ledger and the others not."""
    published = skipped = 0
    check = is_records_topic(topic) if classify is None else classify
    invalid: list[tuple[str, tuple[str, ...]]] = []
    batch: list[Envelope] = []
    bar = tqdm(desc=f"publish {topic}", unit="msg", disable=not progress, leave=False)
    watch = BrokerWatch(
        str(producer.config["bootstrap_servers"]),
        getattr(producer, "broker_timeout_s", DEFAULT_BROKER_TIMEOUT_S),
    )

    def send(chunk: list[Envelope]) -> None:
        nonlocal published, skipped
        done = ledger.already_published(topic, ((e.record_id, e.content_hash) for e in chunk))
        fresh = [e for e in chunk if (e.record_id, e.content_hash) not in done]
        skipped += len(chunk) - len(fresh)
        delivery = _ChunkDelivery(producer, topic, watch)
        try:
            for envelope in fresh:
                delivery.send(envelope)
            if check:
                # Here, while the broker acknowledges the chunk, the work overlaps the wait.
                invalid.extend(invalid_records(topic, fresh))
            delivery.await_all()
        finally:
            # Whatever happened, exactly what Kafka confirmed goes into the ledger.
            delivery.settle(resend=False)
            ledger.record(topic, delivery.confirmed)
            published += len(delivery.confirmed)
        bar.update(len(chunk))
        if delivery.failures:
            raise PublishError(
                f"Kafka did not confirm {len(delivery.failures)} of {len(fresh)} messages to "
                f"{topic} (first: {delivery.failures[0]}); rerun the producer: confirmed ones "
                "are not re-sent"
            )

    try:
        for envelope in envelopes:
            batch.append(envelope)
            if len(batch) >= chunk_size:
                send(batch)
                batch = []
        if batch:
            send(batch)
    finally:
        bar.close()
    log.info(
        "publish finished",
        extra={
            "topic": topic,
            "published": published,
            "already_published": skipped,
            "invalid": len(invalid),
        },
    )
    return PublishResult(published, skipped, invalid)


def envelopes_from(source: str, items: Iterable[SourceRecord]) -> Iterable[Envelope]:
    """Wrap source records in envelopes stamped with this run's correlation id."""
    correlation_id = current_correlation_id()
    for item in items:
        yield envelope_for(source, item, correlation_id, utc_now_iso())
