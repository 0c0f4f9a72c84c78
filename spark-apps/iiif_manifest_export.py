"""IIIF manifests of published objects, kept in step with the publication events.

Reads the publication topic (``layout.publication_topic``) from its consumer group's
committed offsets up to the end offsets seen at the start, deduplicates the events on their
``event_id`` header and takes the objects they name. What happens to each object is decided
by its CURRENT row in governance/embargoes, never by the order of the events, so a replay
or a redelivery changes nothing: ``published`` -> its manifest is built and stored (skipped
when the stored bytes are the same), any other state or no row -> its manifest is withdrawn.
The collections of the data providers touched are then rebuilt from their published
objects. The offsets are committed only after every object-store write, so a crash before
that reads the same events again (at least once, harmless by the above).

A published object whose image is not stored yet (ml/images) gets no manifest and is
counted as skipped; ``full=True`` reconciles every object of governance/embargoes (and every
provider's collection) whatever the events say, which picks such objects up later.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from heritage.delta_tables import table_version
from heritage.iiif.manifest_builder import ManifestObject, build_manifest, provider_collection
from heritage.iiif.manifest_store import ManifestStore, iiif_base_url
from heritage.iiif.presentation import IiifDocumentError
from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.rights import canonical_rights_uri
from heritage.settings import Settings
from heritage.table_schemas import CURATED_RECORDS, EMBARGOES, ML_IMAGES

log = logging.getLogger(__name__)

PUBLISHED = "published"
# A topic that cannot be read to the end offsets of the start in this long has lost its broker.
READ_LIMIT_S = 180
_POLL_RECORDS = 5_000
# What IIIF accepts as a language map key (the schema's pattern).
_LANGUAGE_TAG = re.compile(r"[a-zA-Z-]+")
_METADATA_LABELS = (
    ("creators", "Creator"),
    ("date_original", "Date"),
    ("object_type", "Type"),
    ("provider", "Provider"),
)


@dataclass(frozen=True)
class ManifestExport:
    """What one export did."""

    events_read: int  # distinct event ids
    objects: int  # objects decided (named by the events, or all of them with full)
    manifests_written: int
    manifests_unchanged: int
    manifests_withdrawn: int
    skipped: int  # published, but without a stored image (or a valid manifest) yet
    collections_written: int
    collections_removed: int

    def render(self) -> str:
        return (
            f"iiif: {self.events_read} events, {self.objects} objects; manifests "
            f"{self.manifests_written} written, {self.manifests_unchanged} unchanged, "
            f"{self.manifests_withdrawn} withdrawn, {self.skipped} skipped (no stored image); "
            f"collections {self.collections_written} written, {self.collections_removed} removed"
        )


@dataclass(frozen=True)
class PublicationMessage:
    event_id: str
    object_id: str


def default_consumer_group(layout: LakehouseLayout) -> str:
    namespace = layout.table_root.partition("/ns/")[2]
    return f"heritage-iiif-manifests-{namespace or 'default'}"


def affected_objects(messages: Iterable[PublicationMessage]) -> tuple[int, list[str]]:
    """(distinct events, the sorted ids of the objects they name): a redelivered event
    counts once."""
    unique = {message.event_id: message.object_id for message in messages}
    return len(unique), sorted(set(unique.values()))


def _message(record: Any) -> PublicationMessage | None:
    headers = {name: value for name, value in record.headers or ()}
    value: dict[str, Any] = {}
    if record.value:
        try:
            loaded = json.loads(record.value)
            value = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            log.warning("publication event is not JSON", extra={"offset": record.offset})
    object_id = record.key.decode("utf-8") if record.key else value.get("object_id")
    if not object_id:
        return None
    header = headers.get("event_id")
    event_id = header.decode("utf-8") if header else value.get("event_id")
    position = f"{record.topic}:{record.partition}:{record.offset}"
    return PublicationMessage(str(event_id or position), str(object_id))


class PublicationFeed:
    """The publication topic as one consumer group reads it: up to the end offsets of the
    start, committed on request."""

    def __init__(self, settings: Settings, topic: str, group: str) -> None:
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
            group_id=group,
            client_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._topic = topic
        self._end: dict[TopicPartition, int] = {}

    def read_to_end(self) -> list[PublicationMessage]:
        consumer = self._consumer
        partitions = [
            TopicPartition(self._topic, p)
            for p in sorted(consumer.partitions_for_topic(self._topic) or ())
        ]
        consumer.assign(partitions)
        self._end = {tp: int(offset) for tp, offset in consumer.end_offsets(partitions).items()}
        remaining = {tp for tp in partitions if consumer.position(tp) < self._end[tp]}
        found: list[PublicationMessage] = []
        deadline = time.monotonic() + READ_LIMIT_S
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"could not read {self._topic} to its end offsets within {READ_LIMIT_S} s;"
                    " check `heritage services status`, then run again"
                )
            for tp, records in consumer.poll(timeout_ms=500, max_records=_POLL_RECORDS).items():
                end = self._end[tp]
                found += [m for r in records if r.offset < end and (m := _message(r))]
                if consumer.position(tp) >= end:
                    remaining.discard(tp)
        return found

    def commit(self) -> None:
        """Commit the end offsets read to (the next run starts after them)."""
        if self._end:
            self._consumer.commit(
                {tp: OffsetAndMetadata(end, "", -1) for tp, end in self._end.items()}
            )

    def close(self) -> None:
        self._consumer.close()


def _read_table(spark: SparkSession, path: str, schema: StructType) -> DataFrame:
    """The Delta table at ``path``; an empty frame of ``schema`` when none was written yet."""
    if table_version(spark, path) < 0:
        return spark.createDataFrame([], schema)
    return spark.read.format("delta").load(path)


def select_manifest_sources(
    objects: DataFrame, states: DataFrame, curated: DataFrame, images: DataFrame
) -> DataFrame:
    """One row per object of ``objects`` (column ``object_id``): whether it is published,
    its provider, and what its manifest is made of (nulls where a table has no row)."""
    stored = images.filter(F.col("status") == "stored")
    return (
        objects.join(states.alias("s"), "object_id", how="left")
        .join(curated.alias("c"), F.col("object_id") == F.col("c.record_id"), how="left")
        .join(stored.alias("i"), F.col("object_id") == F.col("i.record_id"), how="left")
        .select(
            "object_id",
            F.coalesce(F.col("s.state") == PUBLISHED, F.lit(False)).alias("published"),
            F.coalesce("s.data_provider", "c.data_provider").alias("data_provider"),
            F.coalesce("s.rights_uri", "c.rights_uri").alias("rights_uri"),
            "c.title",
            "c.titles",
            "c.description",
            "c.creators",
            "c.date_original",
            "c.object_type",
            "c.provider",
            F.col("i.record_id").isNotNull().alias("has_image"),
            "i.content_type",
            "i.width",
            "i.height",
        )
    )


def select_provider_members(
    providers: DataFrame, states: DataFrame, curated: DataFrame, images: DataFrame
) -> DataFrame:
    """(data_provider, object_id, title, rights_uri) of the published objects with a stored
    image of each provider in ``providers`` (column ``data_provider``)."""
    stored = images.filter(F.col("status") == "stored").select(
        F.col("record_id").alias("object_id")
    )
    published = states.filter(F.col("state") == PUBLISHED).select(
        "object_id", "data_provider", "rights_uri"
    )
    return (
        published.join(providers, "data_provider", how="inner")
        .join(stored, "object_id", how="inner")
        .join(
            curated.select(F.col("record_id").alias("object_id"), "title", "rights_uri").alias("c"),
            "object_id",
            how="inner",
        )
        .select(
            "data_provider",
            "object_id",
            "title",
            F.coalesce(published["rights_uri"], F.col("c.rights_uri")).alias("rights_uri"),
        )
    )


def _language_map(
    values: dict[str, list[str]] | None, fallback: str | None
) -> dict[str, list[str]]:
    """A IIIF language map; Europeana's "def" (no language), and any key that is not a
    BCP47 tag, is IIIF's "none"."""
    found: dict[str, list[str]] = {}
    for language, texts in sorted((values or {}).items()):
        kept = [t for t in texts or () if t and t.strip()]
        if kept:
            key = language if _LANGUAGE_TAG.fullmatch(language) and language != "def" else "none"
            found.setdefault(key, []).extend(kept)
    if not found and fallback and fallback.strip():
        found["none"] = [fallback]
    return found


def manifest_object(row: Row | dict[str, Any], base_url: str) -> ManifestObject | None:
    """What the builder needs of a published object; None when it has no stored image with
    its size, or no rights statement IIIF can state."""
    source = row.asDict() if isinstance(row, Row) else row
    rights = canonical_rights_uri(source["rights_uri"] or "")
    if not (source["has_image"] and source["width"] and source["height"] and rights):
        return None
    metadata = []
    for column, label in _METADATA_LABELS:
        value = source[column]
        texts = [v for v in value if v] if isinstance(value, list) else [value] if value else []
        if texts:
            metadata.append(({"en": [label]}, {"none": texts}))
    object_id = str(source["object_id"])
    return ManifestObject(
        object_id=object_id,
        titles=_language_map(source["titles"], source["title"] or object_id),
        descriptions=_language_map(None, source["description"]),
        metadata=metadata,
        rights_uri=rights,
        data_provider=str(source["data_provider"] or ""),
        image_url=f"{base_url}/images/{quote(object_id, safe='')}",
        image_format=source["content_type"],
        width=int(source["width"]),
        height=int(source["height"]),
        homepage=_homepage(object_id),
        see_also=[f"{base_url}/records/{quote(object_id, safe='')}.json"],
    )


def _homepage(object_id: str) -> str | None:
    """The object's public page where its id says where it is: a Europeana item's page.
    The common record carries no landing-page URL for other sources."""
    local = object_id.removeprefix("europeana:")
    if local != object_id and re.fullmatch(r"/[A-Za-z0-9_]+/[^\s?#]+", local):
        return f"https://www.europeana.eu/item{local}"
    return None


def provider_members(rows: Sequence[Row | dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """data_provider -> its (object_id, label) members, sorted; objects whose rights IIIF
    cannot state have no manifest and are left out."""
    members: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        source = row.asDict() if isinstance(row, Row) else row
        if canonical_rights_uri(source["rights_uri"] or ""):
            label = str(source["title"] or source["object_id"])
            members.setdefault(source["data_provider"], []).append((source["object_id"], label))
    return {provider: sorted(found) for provider, found in members.items()}


@dataclass(frozen=True)
class _ManifestCounts:
    objects: int = 0
    written: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    skipped: int = 0


def _built_manifest(row: Row, base_url: str) -> dict[str, Any] | None:
    """The public manifest of a published object; None when it cannot have one yet."""
    source = manifest_object(row, base_url)
    if source is None:
        return None
    try:
        return build_manifest(source, base_url)
    except IiifDocumentError as error:
        # One object's bad metadata must not hold back every other object's manifest.
        log.warning(
            "no IIIF manifest for an object",
            extra={"object_id": source.object_id, "error": str(error)},
        )
        return None


def _store_manifests(store: ManifestStore, rows: Iterable[Row], base_url: str) -> _ManifestCounts:
    objects = written = unchanged = withdrawn = skipped = 0
    for row in rows:
        objects += 1
        manifest = _built_manifest(row, base_url) if row["published"] else None
        if manifest is not None:
            if store.put_manifest(str(row["object_id"]), manifest):
                written += 1
            else:
                unchanged += 1
            continue
        skipped += bool(row["published"])
        # Withdrawn too when published without an image: an older manifest may name one gone.
        withdrawn += store.withdraw_manifest(str(row["object_id"]))
    return _ManifestCounts(objects, written, unchanged, withdrawn, skipped)


def _store_collections(
    store: ManifestStore,
    providers: Iterable[str],
    members: dict[str, list[tuple[str, str]]],
    base_url: str,
) -> tuple[int, int]:
    written = removed = 0
    for provider in sorted(providers):
        if members.get(provider):
            collection = provider_collection(provider, members[provider], base_url)
            written += store.put_collection(provider, collection)
        else:
            removed += store.remove_collection(provider)
    return written, removed


def _decide(
    spark: SparkSession,
    layout: LakehouseLayout,
    store: ManifestStore,
    object_ids: list[str],
    every_object: bool,
    base_url: str,
) -> tuple[_ManifestCounts, tuple[int, int]]:
    """Store or withdraw the manifest of each object (and of every object of the state
    table with ``every_object``), then rebuild the collections of their providers."""
    states = _read_table(spark, layout.governance_embargoes, EMBARGOES)
    curated = _read_table(spark, layout.curated_records, CURATED_RECORDS)
    images = _read_table(spark, layout.ml_images, ML_IMAGES)
    objects = F.broadcast(spark.createDataFrame([(i,) for i in object_ids], "object_id string"))
    if every_object:
        # Every object, and those named by events whose state row is gone.
        objects = objects.unionByName(states.select("object_id")).distinct()
    sources = select_manifest_sources(objects, states, curated, images).cache()
    try:
        counts = _store_manifests(store, sources.toLocalIterator(), base_url)
        providers = sources.filter(F.col("data_provider").isNotNull()).select("data_provider")
        provider_names = [str(r["data_provider"]) for r in providers.distinct().collect()]
    finally:
        sources.unpersist()
    member_rows = select_provider_members(
        F.broadcast(spark.createDataFrame([(p,) for p in provider_names], "data_provider string")),
        states,
        curated,
        images,
    ).collect()
    collections = _store_collections(store, provider_names, provider_members(member_rows), base_url)
    return counts, collections


def export_manifests(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    consumer_group: str | None = None,
    full: bool = False,
) -> ManifestExport:
    """Consume the publication events and bring the manifests and provider collections of
    the objects they name in line with governance/embargoes (every object with ``full``)."""
    ensure_topics(settings, (layout.publication_topic,))
    feed = PublicationFeed(
        settings, layout.publication_topic, consumer_group or default_consumer_group(layout)
    )
    try:
        events, object_ids = affected_objects(feed.read_to_end())
        if not object_ids and not full:
            feed.commit()
            return ManifestExport(events, 0, 0, 0, 0, 0, 0, 0)
        store = ManifestStore.open(settings, layout)
        base_url = iiif_base_url(settings)
        counts, (written, removed) = _decide(spark, layout, store, object_ids, full, base_url)
        # Only now: a crash before this point reads the same events again.
        feed.commit()
    finally:
        feed.close()
    result = ManifestExport(
        events_read=events,
        objects=counts.objects,
        manifests_written=counts.written,
        manifests_unchanged=counts.unchanged,
        manifests_withdrawn=counts.withdrawn,
        skipped=counts.skipped,
        collections_written=written,
        collections_removed=removed,
    )
    log.info("iiif manifests exported", extra={"summary": result.render()})
    return result
