"""The one producer path every source uses: envelopes keyed by record_id, acks=all,
idempotence on, and delivery confirmed before any state is committed.

Every envelope sent to a records topic is classified with the cleanse stage's own rules
(:func:`heritage.record_contract.classify_envelope`). An invalid record is still published,
since cleanse stays the authority and nothing may be lost, but the producer says so at
once: a warning per chunk sent, naming the first few, and the whole list on
:class:`PublishResult`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError
from tqdm import tqdm

from heritage.json_logging import current_correlation_id
from heritage.kafka_topics import RECORDS_TOPIC
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


def create_producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        retries=10,
        linger_ms=20,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=5,
    )


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
    invalid ones are sent all the same and reported in the result."""
    published = skipped = 0
    check = is_records_topic(topic) if classify is None else classify
    invalid: list[tuple[str, tuple[str, ...]]] = []
    batch: list[Envelope] = []
    bar = tqdm(desc=f"publish {topic}", unit="msg", disable=not progress, leave=False)

    def send(chunk: list[Envelope]) -> None:
        nonlocal published, skipped
        done = ledger.already_published(topic, ((e.record_id, e.content_hash) for e in chunk))
        fresh = [e for e in chunk if (e.record_id, e.content_hash) not in done]
        skipped += len(chunk) - len(fresh)
        futures = [
            (
                e,
                producer.send(
                    topic, key=e.record_id.encode("utf-8"), value=e.to_json().encode("utf-8")
                ),
            )
            for e in fresh
        ]
        if check:
            # Here, while the broker acknowledges the chunk, the work overlaps the wait.
            invalid.extend(invalid_records(topic, fresh))
        producer.flush()
        confirmed: list[tuple[str, str]] = []
        failures: list[str] = []
        for envelope, future in futures:
            try:
                future.get(timeout=0)
                confirmed.append((envelope.record_id, envelope.content_hash))
            except KafkaError as error:
                failures.append(f"{envelope.record_id}: {error}")
        ledger.record(topic, confirmed)
        published += len(confirmed)
        bar.update(len(chunk))
        if failures:
            raise PublishError(
                f"Kafka did not confirm {len(failures)} of {len(fresh)} messages to {topic} "
                f"(first: {failures[0]}); rerun the producer: confirmed ones are not re-sent"
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
