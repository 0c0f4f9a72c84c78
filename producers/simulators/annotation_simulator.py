"""Simulated user annotations (tags and comments) on the collection's records.

    simulate_annotations(settings, LakehouseLayout.default(settings), rate=20, count=1000, seed=1)

Annotations go to ``heritage.annotations`` through the shared publish path, keyed by a
deterministic annotation id. Targets are learnt by reading the keys of ``heritage.records``
(own consumer group, from the beginning, refreshed periodically so new records become
targets); an exact, evenly spread fraction targets record ids that have not been published
yet, so the lakehouse's join has late arrivals to wait for. The same seed over the same
records makes the same annotation ids again (with a new ``created``, so they are published
again, as updates of themselves).

Message payload (one JSON object per annotation):

    annotation_id     "annotation:<uuid5>" of the content, the run's seed and its sequence
    target_record_id  the record annotated, e.g. "europeana:/2021672/rijksmuseum_0000123"
    kind              "tag" | "comment"
    body              the tag or the comment text (many languages)
    user              a pseudonymous user name
    created           when it was made, UTC ISO 8601 ("...Z")

An annotation that cannot be published as it is (not an object, a field missing or of a
type other than string, a lone surrogate or nesting no UTF-8 JSON message can carry) goes
to ``heritage.dlq`` with its reasons instead; the run goes on.
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from tqdm import tqdm

from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.broker_wait import wait_for_broker
from heritage.producers.json_value_checks import (
    escape_lone_surrogates,
    excerpt,
    has_lone_surrogate,
    safe_json_text,
    unencodable_parts,
)
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_contract import json_type_name
from heritage.record_model import SourceRecord, canonical_json, unidentified_record_id, utc_now_iso
from heritage.settings import Settings
from heritage.source_rejections import SourceRejection

log = logging.getLogger(__name__)

SOURCE = "annotations"
# Named in dead-letter messages as the stage that refused an annotation.
STAGE = "annotation-simulator"
CONSUMER_GROUP = "heritage-annotation-simulator"
# Fixed, so that the same annotation content and seed give the same id on every machine.
ANNOTATION_NAMESPACE = uuid.UUID("6f1c2a52-3b7e-5d0a-9c41-2e8f7b5d9a10")
# The payload's fields, in order; the lakehouse's annotation schema follows them.
ANNOTATION_FIELDS = ("annotation_id", "target_record_id", "kind", "body", "user", "created")
# Most user annotations are short tags; comments are rarer.
COMMENT_SHARE = 0.3

# Tags as people type them, by language.
_TAGS: dict[str, tuple[str, ...]] = {
    "en": ("portrait", "landscape", "winter", "harbour", "still life", "favourite", "to check"),
    "nl": ("portret", "landschap", "ijsvermaak", "haven", "stilleven", "Gouden Eeuw"),
    "de": ("Bildnis", "Landschaft", "Romantik", "Hafen", "Blumen", "Handschrift"),
    "fr": ("portrait de femme", "paysage", "nature morte", "lettre", "gravure", "à revoir"),
    "es": ("retrato", "paisaje", "Siglo de Oro", "bodegón", "corte"),
    "sv": ("porträtt", "midsommar", "folkdräkt", "skärgård"),
    "pl": ("portret", "pejzaż", "Młoda Polska", "martwa natura"),
    "fi": ("muotokuva", "maisema", "kansanrunous", "talvi"),
    "cy": ("map", "arfordir", "llawysgrif"),
}
_COMMENTS: dict[str, tuple[str, ...]] = {
    "en": (
        "Beautiful light on the ice.",
        "The date on the frame says 1662, not 1665.",
        "My grandmother had a print of this in her kitchen.",
        "Is this the same sitter as in the Mauritshuis portrait?",
    ),
    "nl": (
        "Prachtig licht op het ijs.",
        "Volgens mij is dit een kopie naar Avercamp.",
        "De titel klopt niet: het is een stadsgezicht.",
    ),
    "de": (
        "Ist das nicht eine Kopie nach Friedrich?",
        "Die Signatur unten links ist gut zu erkennen.",
        "Wunderbare Farben, danke fürs Teilen!",
    ),
    "fr": (
        "Le cadre a été changé au XIXe siècle.",
        "On reconnaît la côte près de Honfleur.",
        "Magnifique, merci pour la numérisation !",
    ),
    "es": ("¿Alguien sabe dónde está hoy el original?", "La firma parece posterior."),
    "sv": ("Fantastiskt ljus i den här målningen.", "Dräkten är från Dalarna."),
    "pl": ("Piękny portret!", "To chyba szkic do większego obrazu."),
    "fi": ("Tämä on isoisäni kotikylästä.", "Upea äänite, kiitos!"),
    "cy": ("Diolch am rannu!", "Mae'r map yn dangos yr hen harbwr."),
}
_USERS = (
    "anna.k",
    "jvdberg",
    "museumfan_78",
    "c.lefebvre",
    "m.nowak",
    "lars_e",
    "hanna.virtanen",
    "dafydd.ap",
    "lucia.g",
    "k.schmidt",
    "curious_cat",
    "archivist_on_tour",
)
# (dataset, local id stem) of providers, for ids of records not published yet.
_LATE_PROVIDERS = (
    ("2021672", "rijksmuseum"),
    ("2048128", "nationalmuseum"),
    ("2058611", "museo"),
    ("9200397", "bibliotheque"),
    ("2024914", "muzeum"),
)


# --- pure logic -----------------------------------------------------------------------------


def annotation_id(content: dict[str, Any], seed: int) -> str:
    """``annotation:`` + uuid5 of the content and the seed: a rerun makes the same ids."""
    return f"annotation:{uuid.uuid5(ANNOTATION_NAMESPACE, canonical_json([seed, content]))}"


def make_annotation(
    rng: random.Random, seed: int, sequence: int, target_record_id: str, created: str
) -> dict[str, Any]:
    """One annotation payload; the sequence number keeps two identical tags by the same user
    on the same record as two annotations."""
    language = rng.choice(sorted(_TAGS))
    kind = "comment" if rng.random() < COMMENT_SHARE else "tag"
    body = rng.choice((_COMMENTS if kind == "comment" else _TAGS)[language])
    user = rng.choice(_USERS)
    content = {
        "sequence": sequence,
        "target_record_id": target_record_id,
        "kind": kind,
        "body": body,
        "user": user,
    }
    return {
        "annotation_id": annotation_id(content, seed),
        "target_record_id": target_record_id,
        "kind": kind,
        "body": body,
        "user": user,
        "created": created,
    }


def targets_unknown(sequence: int, unknown_fraction: float) -> bool:
    """Whether annotation ``sequence`` (from 0) targets an unseen record: exactly
    floor(n * fraction) of the first n do, spread evenly."""
    return math.floor((sequence + 1) * unknown_fraction) > math.floor(sequence * unknown_fraction)


def unseen_record_id(rng: random.Random, known: set[str]) -> str:
    """A Europeana record id in the sample collection's form that is not among ``known``."""
    while True:
        dataset, stem = rng.choice(_LATE_PROVIDERS)
        candidate = f"europeana:/{dataset}/{stem}_{rng.randrange(9_000_000, 10_000_000):07d}"
        if candidate not in known:
            return candidate


def annotations_due(elapsed_s: float, rate: float, made: int) -> int:
    """How many annotations are late at ``elapsed_s``: number k is due at k / rate."""
    return max(0, math.floor(elapsed_s * rate) + 1 - made)


# --- annotations that cannot be published ---------------------------------------------------


class AnnotationRejection(SourceRejection):
    """An annotation that cannot be published as it is; each reason names it and the field.
    The simulator sends it to the dead-letter topic and goes on."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons) + ": it goes to the dead-letter topic")
        self.reasons = reasons


def _annotation_label(annotation: Any) -> str:
    identifier = annotation.get("annotation_id") if isinstance(annotation, dict) else None
    if isinstance(identifier, str) and identifier:
        return f"annotation {escape_lone_surrogates(identifier[:200])}"
    return "annotation without a string annotation_id"


def annotation_problems(annotation: Any) -> list[str]:
    """Why ``annotation`` cannot be published as it is, each reason naming the annotation
    and the field; empty when it can. Every field of ANNOTATION_FIELDS must be a string;
    nothing in it may be what a UTF-8 JSON message cannot carry (lone surrogates, NaN,
    nesting of any depth is walked without recursion)."""
    label = _annotation_label(annotation)
    if not isinstance(annotation, dict):
        return [f"{label} is {json_type_name(annotation)}, expected a JSON object"]
    problems = [
        f"field {name!r} is missing"
        if name not in annotation
        else f"field {name!r} is {json_type_name(annotation[name])}, expected a string"
        for name in ANNOTATION_FIELDS
        if not isinstance(annotation.get(name), str)
    ]
    problems += unencodable_parts(annotation)
    return [f"{label}: {escape_lone_surrogates(problem)}" for problem in problems]


def dead_letter_annotation(annotation: Any, reasons: list[str]) -> SourceRecord:
    """The dead-letter message of a refused annotation: its JSON text (lone surrogates as
    escapes, nesting cut, at most 64 KiB) and the reasons, keyed by its id when usable."""
    text = safe_json_text(annotation)
    raw, truncated = excerpt(text)
    identifier = annotation.get("annotation_id") if isinstance(annotation, dict) else None
    usable = isinstance(identifier, str) and identifier and not has_lone_surrogate(identifier)
    key = identifier if usable else unidentified_record_id(SOURCE, text.encode("utf-8"))
    payload = {"raw": raw, "raw_truncated": truncated, "reasons": reasons, "stage": STAGE}
    return SourceRecord(str(key), payload)


@dataclass(frozen=True)
class SortedAnnotations:
    """A batch split into messages for the annotations topic and dead letters, in order."""

    records: list[SourceRecord]
    dead_letters: list[SourceRecord]


def annotation_record(annotation: Any) -> SourceRecord:
    """The message of an annotation, keyed by its id; raises AnnotationRejection when it
    cannot be published as it is (see :func:`annotation_problems`)."""
    problems = annotation_problems(annotation)
    if problems:
        raise AnnotationRejection(problems)
    return SourceRecord(annotation["annotation_id"], annotation)


def sort_annotations(batch: list[Any]) -> SortedAnnotations:
    """Messages for the annotations that can be published, dead letters for the others."""
    records: list[SourceRecord] = []
    dead_letters: list[SourceRecord] = []
    for annotation in batch:
        try:
            records.append(annotation_record(annotation))
        except AnnotationRejection as rejection:
            dead_letters.append(dead_letter_annotation(annotation, rejection.reasons))
    return SortedAnnotations(records, dead_letters)


# --- the record ids seen on the records topic -----------------------------------------------


class KnownRecordIds:
    """Keys of the records topic, read from the beginning by this simulator's own group.

    Offsets are committed so operators can see how far it read; each run still reads from
    the beginning, because the simulator keeps no list of its own between runs.
    """

    def __init__(self, settings: Settings, topic: str, group_id: str = CONSUMER_GROUP) -> None:
        self.topic = topic
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Only keys are used; keep each fetch small, the values are dropped.
            max_partition_fetch_bytes=1024 * 1024,
        )
        partitions = self._consumer.partitions_for_topic(topic)
        if not partitions:
            self._consumer.close()
            raise ValueError(
                f"records topic {topic!r} does not exist on {settings.kafka_bootstrap_servers}: "
                "start the stack (heritage services up) and publish records first "
                "(heritage produce sample)"
            )
        assigned = [TopicPartition(topic, number) for number in sorted(partitions)]
        self._consumer.assign(assigned)
        self._consumer.seek_to_beginning(*assigned)
        self._ids: set[str] = set()
        self.sorted_ids: list[str] = []

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._ids

    @property
    def ids(self) -> set[str]:
        return self._ids

    def refresh(self, timeout_ms: int = 200) -> int:
        """Read what arrived since the last refresh; returns how many ids are new."""
        added = 0
        while True:
            batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=5000)
            if not batches:
                break
            for messages in batches.values():
                for message in messages:
                    if message.key is None:
                        continue
                    record_id = message.key.decode("utf-8", errors="replace")
                    if record_id not in self._ids:
                        self._ids.add(record_id)
                        added += 1
            timeout_ms = 0
        if added:
            # Sorted, so that the same seed and the same records pick the same targets
            # whatever order the partitions were read in.
            self.sorted_ids = sorted(self._ids)
            self._consumer.commit()
        return added

    def close(self) -> None:
        self._consumer.close()


# --- the run --------------------------------------------------------------------------------


@dataclass
class AnnotationRunResult:
    """What one simulator run published."""

    published: int
    skipped: int
    tags: int
    comments: int
    # Record ids known when the run ended.
    known_record_ids: int
    # Ids targeted while no record with that id had been seen (for late-arrival checks).
    unseen_targets: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Annotations sent to the dead-letter topic (or already there) instead.
    rejected: int = 0

    @property
    def annotations(self) -> int:
        return self.tags + self.comments + self.rejected

    def summary(self) -> str:
        rate = self.annotations / self.seconds if self.seconds > 0 else 0.0
        return (
            f"annotations: {self.annotations} made ({self.tags} tags, {self.comments} "
            f"comments) in {self.seconds:.1f} s ({rate:,.1f}/s), {self.published} published, "
            f"{self.skipped} already published, {self.rejected} rejected to the dead-letter "
            f"topic, {len(self.unseen_targets)} on records not seen yet, "
            f"{self.known_record_ids} known records"
        )


def simulate_annotations(
    settings: Settings,
    layout: LakehouseLayout,
    rate: float,
    count: int | None,
    seed: int = 0,
    *,
    duration_s: float | None = None,
    unknown_fraction: float = 0.05,
    group_id: str = CONSUMER_GROUP,
    refresh_interval_s: float = 5.0,
    wait_for_records_s: float = 30.0,
    max_batch: int = 1000,
    progress: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> AnnotationRunResult:
    """Publish ``count`` annotations (or as many as ``duration_s`` allows, whichever ends
    first) at ``rate`` per second, drawn deterministically from ``seed``; one that cannot be
    published as it is goes to the layout's dead-letter topic with its reasons (see
    annotation_problems); record ids come from the layout's records topic."""
    if rate <= 0:
        raise ValueError(f"annotation rate must be above 0 per second, got {rate}")
    if count is None and duration_s is None:
        raise ValueError("give a count or a duration_s for the annotation simulator, or both")
    if count is not None and count < 1:
        raise ValueError(f"annotation count must be at least 1, got {count}")
    if not 0 <= unknown_fraction <= 1:
        raise ValueError(f"unknown_fraction must be within 0..1, got {unknown_fraction}")
    records_topic, topic = layout.records_topic, layout.annotations_topic
    dlq_topic = layout.dead_letter_topic
    ledger_path = layout.ledger_for(SOURCE)
    rng = random.Random(seed)
    wait_for_broker(settings)
    known = KnownRecordIds(settings, records_topic, group_id)
    producer = create_producer(settings)
    ledger = PublishLedger(ledger_path)
    bar = tqdm(desc="annotations", unit="ann", total=count, disable=not progress)
    result = AnnotationRunResult(published=0, skipped=0, tags=0, comments=0, known_record_ids=0)
    try:
        _wait_for_records(known, unknown_fraction, wait_for_records_s, clock)
        log.info(
            "annotation simulator starting",
            extra={
                "rate": rate,
                "count": count,
                "duration_s": duration_s,
                "known_record_ids": len(known),
                "topic": topic,
            },
        )
        started = clock()
        next_refresh = started + refresh_interval_s
        made = 0
        while count is None or made < count:
            now = clock()
            elapsed = now - started
            if duration_s is not None and elapsed >= duration_s:
                break
            if now >= next_refresh:
                new = known.refresh(timeout_ms=50)
                if new:
                    log.debug("new record ids", extra={"new": new, "known": len(known)})
                next_refresh = now + refresh_interval_s
            due = annotations_due(elapsed, rate, made)
            if count is not None:
                due = min(due, count - made)
            if due == 0:
                wake = min(started + made / rate, next_refresh)
                if duration_s is not None:
                    wake = min(wake, started + duration_s)
                sleep(max(0.0, wake - now))
                continue
            batch = []
            for _ in range(min(due, max_batch)):
                batch.append(_next_annotation(rng, seed, made, known, unknown_fraction, result))
                made += 1
            sorted_batch = sort_annotations(batch)
            outcome = publish_envelopes(
                producer,
                ledger,
                topic,
                envelopes_from(SOURCE, sorted_batch.records),
                progress=False,
            )
            result.published += outcome.published
            result.skipped += outcome.skipped
            comments = sum(r.payload["kind"] == "comment" for r in sorted_batch.records)
            result.comments += comments
            result.tags += len(sorted_batch.records) - comments
            if sorted_batch.dead_letters:
                if not result.rejected:
                    ensure_topics(settings, (dlq_topic,))
                _publish_dead_letters(producer, ledger, dlq_topic, sorted_batch.dead_letters)
                result.rejected += len(sorted_batch.dead_letters)
            bar.update(len(batch))
        result.seconds = clock() - started
    finally:
        bar.close()
        known.close()
        producer.close()
        ledger.close()
    result.known_record_ids = len(known)
    log.info(
        result.summary(),
        extra={
            "published": result.published,
            "already_published": result.skipped,
            "rejected": result.rejected,
            "unseen_targets": len(result.unseen_targets),
        },
    )
    return result


def _publish_dead_letters(
    producer: KafkaProducer, ledger: PublishLedger, topic: str, dead_letters: list[SourceRecord]
) -> None:
    for message in dead_letters:
        log.warning(
            "annotation rejected",
            extra={
                "record_id": message.record_id,
                "reasons": "; ".join(message.payload["reasons"]),
            },
        )
    publish_envelopes(producer, ledger, topic, envelopes_from(SOURCE, dead_letters), progress=False)


def _wait_for_records(
    known: KnownRecordIds, unknown_fraction: float, wait_s: float, clock: Callable[[], float]
) -> None:
    deadline = clock() + wait_s
    known.refresh(timeout_ms=1000)
    while not len(known) and unknown_fraction < 1 and clock() < deadline:
        known.refresh(timeout_ms=500)
    if not len(known) and unknown_fraction < 1:
        raise ValueError(
            f"no record ids on {known.topic!r} after {wait_s:.0f} s, so annotations have "
            "nothing to target: publish records first (heritage produce sample), or set "
            "unknown_fraction=1 to annotate only records that have not arrived"
        )


def _next_annotation(
    rng: random.Random,
    seed: int,
    sequence: int,
    known: KnownRecordIds,
    unknown_fraction: float,
    result: AnnotationRunResult,
) -> dict[str, Any]:
    if targets_unknown(sequence, unknown_fraction) or not len(known):
        target = unseen_record_id(rng, known.ids)
        result.unseen_targets.append(target)
    else:
        target = rng.choice(known.sorted_ids)
    return make_annotation(rng, seed, sequence, target, utc_now_iso())
