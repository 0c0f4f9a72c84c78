"""Removing an isolated namespace (benchmarks, tests, abandoned replays) from every store.

A namespace lives in six places: its Kafka topics (and the consumer groups that read only
them), the objects under ``ns/NAME/`` in the bucket (Delta tables, checkpoints with their
source positions, images, manifests, packages), its PostgreSQL database, its producer state
folder (publish ledgers, cursors, harvest state) and its Qdrant collection. Dropping removes
all six, so that the name can be used again from nothing; each part may already be gone.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient, TopicPartition
from kafka.errors import KafkaError
from minio.deleteobjects import DeleteObject
from qdrant_client import QdrantClient

from heritage.lakehouse_layout import PRODUCER_SOURCES, LakehouseLayout
from heritage.object_store import object_store_client
from heritage.postgres_db import connect
from heritage.settings import Settings

# What LakehouseLayout.namespaced makes of a name: nothing that could climb out of a folder
# or a prefix, or name one of the product's own files.
_NAMESPACE = re.compile(r"[a-z0-9_]+")
# Kafka deletes topics asynchronously; a producer that writes before the deletion ends would
# recreate the old topic or fail, so the drop waits (briefly) until they are gone.
_TOPIC_DELETION_WAIT_S = 30.0


@dataclass(frozen=True)
class DropSummary:
    """What dropping one namespace removed, and what it had to leave (with why)."""

    namespace: str
    topics: tuple[str, ...] = ()
    consumer_groups: tuple[str, ...] = ()
    objects: int = 0
    database: str | None = None
    local_state: tuple[Path, ...] = ()
    collection: str | None = None
    left: tuple[str, ...] = ()

    @property
    def removed_anything(self) -> bool:
        return bool(
            self.topics
            or self.consumer_groups
            or self.objects
            or self.database
            or self.local_state
            or self.collection
        )

    def lines(self) -> list[str]:
        """One line per kind of thing removed, then one per thing left."""
        shown = [
            f"topics: {', '.join(self.topics)}" if self.topics else "",
            f"consumer groups: {', '.join(self.consumer_groups)}" if self.consumer_groups else "",
            f"objects: {self.objects} under ns/{self.namespace}/" if self.objects else "",
            f"database: {self.database}" if self.database else "",
            f"producer state: {', '.join(map(str, self.local_state))}" if self.local_state else "",
            f"qdrant collection: {self.collection}" if self.collection else "",
        ]
        removed = [f"removed {line}" for line in shown if line]
        if not removed and not self.left:
            removed = [f"namespace {self.namespace}: nothing left to remove"]
        return removed + [f"left {line}" for line in self.left]


def namespace_of(settings: Settings, layout: LakehouseLayout) -> str:
    """The name of an isolated namespace's layout; ValueError for the product's own layout
    or any layout whose name could reach outside its own prefix, folder or database."""
    if layout == LakehouseLayout.default(settings) or "/ns/" not in layout.table_root:
        raise ValueError("drop_namespace: refusing to delete the product's own tables")
    namespace = layout.table_root.partition("/ns/")[2]
    own = LakehouseLayout.namespaced(settings, namespace)
    if not _NAMESPACE.fullmatch(namespace) or (layout.table_root, layout.pg_database) != (
        own.table_root,
        own.pg_database,
    ):
        raise ValueError(
            f"{namespace!r} is not a namespace name (lower-case letters, digits and underscores)"
        )
    return namespace


def namespace_topics(layout: LakehouseLayout, namespace: str) -> tuple[str, ...]:
    """Every topic the layout names that is the namespace's own (a layout reading another
    namespace's topics, ``--topics-from``, leaves those alone)."""
    topics = (
        layout.records_topic,
        layout.annotations_topic,
        layout.dead_letter_topic,
        layout.ingest_events_topic,
        layout.publication_topic,
    )
    return tuple(dict.fromkeys(t for t in topics if t.endswith(f".{namespace}")))


def groups_reading_only(
    committed: Mapping[str, Iterable[TopicPartition]], topics: Iterable[str]
) -> list[str]:
    """The consumer groups whose committed offsets are all on ``topics`` (and some are)."""
    doomed = set(topics)
    return sorted(
        group
        for group, partitions in committed.items()
        if (read := {p.topic for p in partitions}) and read <= doomed
    )


def drop_namespace(settings: Settings, layout: LakehouseLayout) -> DropSummary:
    """Delete the namespace's topics, objects, database, producer state and Qdrant
    collection. Never the product's own. Parts already gone are skipped."""
    namespace = namespace_of(settings, layout)
    topics, groups, topics_left = _drop_topics(settings, namespace_topics(layout, namespace))
    objects, objects_left = _drop_objects(settings, namespace)
    state, state_left = _drop_producer_state(settings, layout, namespace)
    collection, collection_left = _drop_collection(settings, layout.qdrant_collection)
    return DropSummary(
        namespace=namespace,
        topics=topics,
        consumer_groups=groups,
        objects=objects,
        database=_drop_database(settings, layout.pg_database),
        local_state=state,
        collection=collection,
        left=topics_left + objects_left + state_left + collection_left,
    )


def _drop_topics(
    settings: Settings, topics: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(topics deleted, consumer groups deleted, what was left)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        present = set(admin.list_topics())
        existing = [t for t in topics if t in present]
        readers = groups_reading_only(_committed_offsets(admin), existing) if existing else []
        if existing:
            admin.delete_topics(existing)
        lingering = _wait_until_gone(admin, existing)
        outcomes = admin.delete_groups(readers) if readers else {}
    finally:
        admin.close()
    # Each outcome is "OK" or the name of the broker's error (a group still has members).
    failed = {group: outcome for group, outcome in outcomes.items() if outcome != "OK"}
    left = [f"topic {t} (still being deleted)" for t in lingering]
    left += [f"consumer group {g} ({outcome})" for g, outcome in sorted(failed.items())]
    return (
        tuple(existing),
        tuple(g for g in readers if g not in failed),
        tuple(left),
    )


def _committed_offsets(admin: KafkaAdminClient) -> dict[str, list[TopicPartition]]:
    """The partitions each consumer group has committed offsets on (Kafka forgets them with
    their topics, so this is read before the deletion); empty when the broker will not say."""
    try:
        groups = [g["group_id"] for g in admin.list_groups()]
        committed = admin.list_group_offsets(groups) if groups else {}
    except KafkaError:
        return {}
    return {group: list(offsets) for group, offsets in committed.items()}


def _wait_until_gone(admin: KafkaAdminClient, topics: list[str]) -> list[str]:
    deadline = time.monotonic() + _TOPIC_DELETION_WAIT_S
    lingering = list(topics)
    while lingering and time.monotonic() < deadline:
        time.sleep(0.2)
        present = set(admin.list_topics())
        lingering = [t for t in lingering if t in present]
    return lingering


def _drop_objects(settings: Settings, namespace: str) -> tuple[int, tuple[str, ...]]:
    """(objects deleted, what was left) under the namespace's prefix of the bucket."""
    client = object_store_client(settings)
    prefix = f"ns/{namespace}/"
    names = [
        o.object_name
        for o in client.list_objects(settings.bucket, prefix=prefix, recursive=True)
        if o.object_name
    ]
    errors = list(client.remove_objects(settings.bucket, (DeleteObject(n) for n in names)))
    left = (f"{len(errors)} objects under {prefix} (could not be removed)",) if errors else ()
    return len(names) - len(errors), left


def _drop_database(settings: Settings, database: str) -> str | None:
    """The database's name when it existed (and is now dropped)."""
    connection = connect(settings, "postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            existed = cursor.fetchone() is not None
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        connection.close()
    return database if existed else None


def _drop_producer_state(
    settings: Settings, layout: LakehouseLayout, namespace: str
) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """(folders removed, what was left): the publish ledgers, cursors and harvest state of
    every producer of the namespace sit in its producer state folder."""
    folder = layout.producer_state_dir
    product = LakehouseLayout.default(settings)
    # A namespace named like a product producer's state subfolder ("europeana") would
    # otherwise take the product's resume state with it.
    if folder in {product.state_dir_for(s) for s in PRODUCER_SOURCES} or folder != (
        settings.state_dir / "producers" / namespace
    ):
        return (), (f"producer state {folder} (it is not the namespace's own folder)",)
    if not folder.exists():
        return (), ()
    shutil.rmtree(folder)
    return (folder,), ()


def _drop_collection(settings: Settings, collection: str) -> tuple[str | None, tuple[str, ...]]:
    """(the collection when it existed, what was left)."""
    # The embedded store keeps a folder per collection; without it there is nothing to
    # delete, and the store (one process at a time, slow to open) need not be opened.
    if not settings.qdrant_url and not (settings.qdrant_path / "collection" / collection).exists():
        return None, ()
    try:
        with _qdrant(settings) as client:
            if not client.collection_exists(collection):
                return None, ()
            client.delete_collection(collection)
    except RuntimeError as error:
        # Embedded Qdrant admits one process at a time (an ml stage may hold it).
        return None, (f"qdrant collection {collection} ({error})",)
    return collection, ()


@contextmanager
def _qdrant(settings: Settings) -> Iterator[QdrantClient]:
    """The Qdrant server when configured, else the embedded store (if there is one)."""
    if settings.qdrant_url:
        client = QdrantClient(url=settings.qdrant_url, timeout=30)
    else:
        client = QdrantClient(path=str(settings.qdrant_path))
    try:
        yield client
    finally:
        client.close()
