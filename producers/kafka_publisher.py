"""The one producer path every source uses: envelopes keyed by record_id, acks=all,
idempotence on, and delivery confirmed before any state is committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError
from tqdm import tqdm

from heritage.json_logging import current_correlation_id
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import Envelope, SourceRecord, envelope_for, utc_now_iso
from heritage.settings import Settings

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """Kafka did not confirm some messages; nothing was recorded as published for them."""


@dataclass(frozen=True)
class PublishResult:
    published: int
    skipped: int


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
) -> PublishResult:
    """Send the envelopes not yet confirmed for this topic, in chunks; each chunk is flushed
    and every future checked before its pairs go into the ledger."""
    published = skipped = 0
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
        extra={"topic": topic, "published": published, "already_published": skipped},
    )
    return PublishResult(published, skipped)


def envelopes_from(source: str, items: Iterable[SourceRecord]) -> Iterable[Envelope]:
    """Wrap source records in envelopes stamped with this run's correlation id."""
    correlation_id = current_correlation_id()
    for item in items:
        yield envelope_for(source, item, correlation_id, utc_now_iso())
