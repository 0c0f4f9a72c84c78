"""Where one deployment of the pipeline keeps its topics, tables, checkpoints and database.

The default layout is the product's (``heritage.records``, ``s3a://heritage/raw/...``,
database ``heritage``). Tests and benchmarks use a namespaced layout so they never touch
the demo's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from heritage.kafka_topics import (
    ANNOTATIONS_TOPIC,
    DEAD_LETTER_TOPIC,
    INGEST_EVENTS_TOPIC,
    PUBLICATION_TOPIC,
    RECORDS_TOPIC,
)
from heritage.settings import Settings

# Short table names (as the CLI takes them) -> the LakehouseLayout property of each path.
_TABLE_ATTRIBUTES = {
    "raw": "raw_records",
    "raw_annotations": "raw_annotations",
    "raw_dead_letters": "raw_dead_letters",
    "cleansed": "cleansed_records",
    "cleansed_annotations": "cleansed_annotations",
    "cleansed_deletes": "cleansed_record_deletes",
    "curated": "curated_records",
    "dlq": "dead_letters",
}
TABLE_NAMES = tuple(_TABLE_ATTRIBUTES)

PRODUCER_SOURCES = (
    "sample",
    "europeana",
    "lido",
    "csv",
    "oai",
    "annotations",
    "package",
    "scan",
)
# Producers with a ledger file of their own (the others share published.sqlite); the names
# are those earlier releases wrote, so a rerun still finds what it already published.
_OWN_LEDGER_FILES = {
    "lido": "lido.sqlite",
    "csv": "csv.sqlite",
    "annotations": "annotations.sqlite",
    "package": "packages.sqlite",
}
# Producers whose resume state sits in a subfolder of the producer state folder.
_STATE_SUBFOLDERS = {"europeana": "europeana"}


@dataclass(frozen=True)
class LakehouseLayout:
    records_topic: str
    annotations_topic: str
    # Where producers send input they rejected before Kafka's records topic (with reasons).
    dead_letter_topic: str
    # s3a:// root holding raw/, cleansed/, dlq/ and _checkpoints/.
    table_root: str
    pg_database: str
    # Local folder for producer state (the publish ledger).
    producer_state_dir: Path

    @classmethod
    def default(cls, settings: Settings) -> LakehouseLayout:
        return cls(
            records_topic=RECORDS_TOPIC,
            annotations_topic=ANNOTATIONS_TOPIC,
            dead_letter_topic=DEAD_LETTER_TOPIC,
            table_root=f"s3a://{settings.bucket}",
            pg_database=settings.pg_database,
            producer_state_dir=settings.state_dir / "producers",
        )

    @classmethod
    def namespaced(cls, settings: Settings, namespace: str) -> LakehouseLayout:
        """An isolated deployment: its own topic, table prefix and database."""
        safe = namespace.replace("-", "_").lower()
        return cls(
            records_topic=f"{RECORDS_TOPIC}.{safe}",
            annotations_topic=f"{ANNOTATIONS_TOPIC}.{safe}",
            dead_letter_topic=f"{DEAD_LETTER_TOPIC}.{safe}",
            table_root=f"s3a://{settings.bucket}/ns/{safe}",
            pg_database=f"heritage_{safe}",
            producer_state_dir=settings.state_dir / "producers" / safe,
        )

    @property
    def raw_records(self) -> str:
        return f"{self.table_root}/raw/records"

    @property
    def cleansed_records(self) -> str:
        return f"{self.table_root}/cleansed/records"

    @property
    def cleansed_record_deletes(self) -> str:
        """Append-only: the record ids each cleanse micro-batch deleted (tombstones)."""
        return f"{self.table_root}/cleansed/record_deletes"

    @property
    def dead_letters(self) -> str:
        return f"{self.table_root}/dlq/records"

    @property
    def raw_annotations(self) -> str:
        return f"{self.table_root}/raw/annotations"

    @property
    def raw_dead_letters(self) -> str:
        """Messages of the dead-letter topic, as received (producers' rejections)."""
        return f"{self.table_root}/raw/dead_letters"

    @property
    def cleansed_annotations(self) -> str:
        return f"{self.table_root}/cleansed/annotations"

    @property
    def canonical_ids(self) -> str:
        """Written by the embedding job (record_id -> canonical_id); may not exist yet."""
        return f"{self.table_root}/curated/canonical_ids"

    @property
    def curated_records(self) -> str:
        return f"{self.table_root}/curated/records"

    @property
    def ml_images(self) -> str:
        """One row per record with an image URL: stored (sha256, thumbnail) or failed."""
        return f"{self.table_root}/ml/images"

    @property
    def ml_embeddings(self) -> str:
        """Current embedding state per record (hashes, vectors, model)."""
        return f"{self.table_root}/ml/embeddings"

    @property
    def ml_duplicate_pairs(self) -> str:
        return f"{self.table_root}/ml/duplicate_pairs"

    @property
    def ml_similar_objects(self) -> str:
        return f"{self.table_root}/ml/similar_objects"

    @property
    def ml_record_ocr(self) -> str:
        """What OCR read from the image of each record of a read type (MERGE on record_id);
        curate fills the OCR columns of records whose source sent none from it."""
        return f"{self.table_root}/ml/record_ocr"

    @property
    def image_prefix(self) -> str:
        """Object-key prefix (in the settings' bucket) of original images and thumbnails."""
        bucket_root = self.table_root.removeprefix("s3a://").partition("/")[2]
        return f"{bucket_root}/images" if bucket_root else "images"

    @property
    def ingest_events(self) -> str:
        """Append-only: every step of every submission-package workflow (the package store's
        commit log: a version exists once its storing event is committed)."""
        return f"{self.table_root}/audit/ingest_events"

    @property
    def ingest_events_topic(self) -> str:
        """Where the ingest events are published after their commit."""
        namespace = self.table_root.partition("/ns/")[2]
        return f"{INGEST_EVENTS_TOPIC}.{namespace}" if namespace else INGEST_EVENTS_TOPIC

    @property
    def governance_embargoes(self) -> str:
        """One row per object: its embargo and publication state (MERGE on object_id with
        the state_version it was read at)."""
        return f"{self.table_root}/governance/embargoes"

    @property
    def governance_embargo_events(self) -> str:
        """Append-only: every embargo and publication transition (insert-if-absent on
        event_id)."""
        return f"{self.table_root}/governance/embargo_events"

    @property
    def publication_topic(self) -> str:
        """Where the embargo events are published after their commit."""
        namespace = self.table_root.partition("/ns/")[2]
        return f"{PUBLICATION_TOPIC}.{namespace}" if namespace else PUBLICATION_TOPIC

    @property
    def iiif_prefix(self) -> str:
        """Object-key prefix (in the settings' bucket) of the IIIF manifests and collections."""
        bucket_root = self.table_root.removeprefix("s3a://").partition("/")[2]
        return f"{bucket_root}/iiif" if bucket_root else "iiif"

    @property
    def package_prefix(self) -> str:
        """Object-key prefix (in the settings' bucket) of the package store: ``blobs/sha256/``
        (content-addressed files) and ``quarantine/<workflow_id>/``."""
        bucket_root = self.table_root.removeprefix("s3a://").partition("/")[2]
        return f"{bucket_root}/packages" if bucket_root else "packages"

    @property
    def submissions_prefix(self) -> str:
        """Object-key prefix (in the settings' bucket) that ``heritage ingest watch`` polls."""
        bucket_root = self.table_root.removeprefix("s3a://").partition("/")[2]
        return f"{bucket_root}/submissions" if bucket_root else "submissions"

    @property
    def qdrant_collection(self) -> str:
        """The Qdrant collection of this deployment's vectors."""
        namespace = self.table_root.partition("/ns/")[2]
        return f"heritage_objects_{namespace}" if namespace else "heritage_objects"

    def tables(self) -> dict[str, str]:
        """Short table names (as the CLI takes them, ``TABLE_NAMES``) -> Delta paths."""
        return {name: getattr(self, attribute) for name, attribute in _TABLE_ATTRIBUTES.items()}

    def checkpoint(self, query: str) -> str:
        return f"{self.table_root}/_checkpoints/{query}"

    @property
    def ledger_path(self) -> Path:
        return self.producer_state_dir / "published.sqlite"

    def ledger_for(self, source: str) -> Path:
        """The publish ledger of one producer (``PRODUCER_SOURCES``): the shared one, or the
        file the lido, csv and annotations producers have always kept to themselves."""
        _check_producer(source)
        own_file = _OWN_LEDGER_FILES.get(source)
        return self.producer_state_dir / own_file if own_file else self.ledger_path

    def state_dir_for(self, source: str) -> Path:
        """The folder of one producer's resume state (cursors, harvest lists, CSV row hashes)."""
        _check_producer(source)
        subfolder = _STATE_SUBFOLDERS.get(source)
        return self.producer_state_dir / subfolder if subfolder else self.producer_state_dir


def _check_producer(source: str) -> None:
    if source not in PRODUCER_SOURCES:
        raise ValueError(f"no producer named {source!r}; producers: {', '.join(PRODUCER_SOURCES)}")
