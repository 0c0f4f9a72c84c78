"""Qdrant: one collection per deployment with the named vectors ``image``, ``text`` and
``combined`` (cosine) and a payload for filtering (record_id, canonical_id, provider, type,
rights).

Point ids are ``uuid5(POINT_NAMESPACE, record_id)``, so an upsert replayed after a crash
overwrites the same point. Qdrant runs embedded in ``settings.qdrant_path`` unless
``settings.qdrant_url`` names a server; embedded Qdrant locks its folder to one process, so
every job opens the index for its run and closes it at the end (:func:`open_vector_index`).
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from qdrant_client import QdrantClient, models

from heritage.settings import Settings

log = logging.getLogger(__name__)

# Fixed forever: changing it would orphan every stored point.
POINT_NAMESPACE = uuid.UUID("5b0f3c0e-9d57-4a55-8f0b-6c1d2f7e4a91")
VECTOR_NAMES = ("image", "text", "combined")
PAYLOAD_FILTERS = {"provider": "provider", "type": "type", "rights": "rights"}


def point_id(record_id: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, record_id))


@dataclass(frozen=True)
class IndexedObject:
    """One record's vectors and payload, as upserted."""

    record_id: str
    canonical_id: str
    provider: str | None
    object_type: str | None
    rights: str | None
    image_vector: np.ndarray
    text_vector: np.ndarray
    combined_vector: np.ndarray


@dataclass(frozen=True)
class SimilarObject:
    record_id: str
    score: float
    canonical_id: str


@contextmanager
def open_vector_index(settings: Settings) -> Iterator[QdrantClient]:
    """A Qdrant client for one job run: the server when configured, else embedded."""
    if settings.qdrant_url:
        client = QdrantClient(url=settings.qdrant_url, timeout=30)
    else:
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)
        try:
            client = QdrantClient(path=str(settings.qdrant_path))
        except RuntimeError as error:
            raise RuntimeError(
                f"ml: cannot open the embedded Qdrant at {settings.qdrant_path}: {error}. "
                "Another heritage process holds it (one at a time); wait for it to finish, "
                "or set QDRANT_URL to use a Qdrant server."
            ) from None
    try:
        yield client
    finally:
        client.close()


class VectorIndex:
    """The collection of one deployment (``layout.qdrant_collection``)."""

    def __init__(self, client: QdrantClient, collection: str) -> None:
        self.client = client
        self.collection = collection

    def exists(self) -> bool:
        return bool(self.client.collection_exists(self.collection))

    def ensure(self, dimensions: Mapping[str, int]) -> None:
        """Create the collection; recreate it when the vector sizes changed (a new model:
        every record is embedded again anyway)."""
        wanted = {
            name: models.VectorParams(size=int(size), distance=models.Distance.COSINE)
            for name, size in dimensions.items()
        }
        if self.exists():
            current = self.client.get_collection(self.collection).config.params.vectors
            sizes = (
                {name: params.size for name, params in current.items()}
                if isinstance(current, dict)
                else {}
            )
            if sizes == {name: p.size for name, p in wanted.items()}:
                return
            log.warning(
                "vector sizes changed: recreating the collection",
                extra={"collection": self.collection, "was": str(sizes)},
            )
            self.client.delete_collection(self.collection)
        self.client.create_collection(self.collection, vectors_config=wanted)
        with warnings.catch_warnings():
            # Embedded Qdrant ignores payload indexes (and says so); a server uses them.
            warnings.simplefilter("ignore", UserWarning)
            for field in ("canonical_id", "provider", "type", "rights"):
                self.client.create_payload_index(
                    self.collection, field, field_schema=models.PayloadSchemaType.KEYWORD
                )

    def upsert(self, objects: Sequence[IndexedObject]) -> None:
        if not objects:
            return
        self.ensure(
            {
                "image": len(objects[0].image_vector),
                "text": len(objects[0].text_vector),
                "combined": len(objects[0].combined_vector),
            }
        )
        points = [
            models.PointStruct(
                id=point_id(o.record_id),
                vector={
                    "image": o.image_vector.astype(np.float32).tolist(),
                    "text": o.text_vector.astype(np.float32).tolist(),
                    "combined": o.combined_vector.astype(np.float32).tolist(),
                },
                payload={
                    "record_id": o.record_id,
                    "canonical_id": o.canonical_id,
                    "provider": o.provider,
                    "type": o.object_type,
                    "rights": o.rights,
                },
            )
            for o in objects
        ]
        self.client.upsert(self.collection, points=points, wait=True)

    def delete(self, record_ids: Iterable[str]) -> None:
        ids: list[int | str | uuid.UUID] = [point_id(r) for r in record_ids]
        if ids and self.exists():
            self.client.delete(
                self.collection, points_selector=models.PointIdsList(points=ids), wait=True
            )

    def set_canonical_ids(self, canonical_of: Mapping[str, str]) -> None:
        """Payload ``canonical_id`` of the given records (points that do not exist are
        skipped: a record without an embedding has no point)."""
        if not canonical_of or not self.exists():
            return
        present = {
            str(point.id)
            for point in self.client.retrieve(
                self.collection,
                ids=[point_id(r) for r in canonical_of],
                with_payload=False,
                with_vectors=False,
            )
        }
        operations: list[models.UpdateOperation] = [
            models.SetPayloadOperation(
                set_payload=models.SetPayload(
                    payload={"canonical_id": canonical}, points=[point_id(record)]
                )
            )
            for record, canonical in sorted(canonical_of.items())
            if point_id(record) in present
        ]
        for start in range(0, len(operations), 500):
            self.client.batch_update_points(
                self.collection, update_operations=operations[start : start + 500], wait=True
            )

    def count(self) -> int:
        if not self.exists():
            return 0
        return int(self.client.count(self.collection, exact=True).count)

    def record_ids(self) -> list[str]:
        """Every record id in the collection (payload), sorted."""
        if not self.exists():
            return []
        found: list[str] = []
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection, limit=1000, offset=offset, with_payload=["record_id"]
            )
            found.extend(str((p.payload or {})["record_id"]) for p in points)
            if offset is None:
                return sorted(found)

    def similar(
        self,
        record_id: str,
        k: int = 10,
        filters: Mapping[str, str] | None = None,
    ) -> list[SimilarObject]:
        """The ``k`` records most similar to ``record_id`` by the combined vector, outside
        its own duplicate group, matching ``filters`` (provider, type, rights); ties broken
        by record id."""
        if not self.exists():
            raise LookupError(f"no vector collection {self.collection}: run `heritage ml run`")
        found = self.client.retrieve(
            self.collection, ids=[point_id(record_id)], with_payload=True, with_vectors=True
        )
        if not found:
            raise LookupError(
                f"record {record_id} has no embedding (no stored image yet, or not embedded); "
                "check analytics.object_images and run `heritage ml run`"
            )
        point = found[0]
        vectors = point.vector
        assert isinstance(vectors, dict)
        canonical = str((point.payload or {}).get("canonical_id", record_id))
        must: list[models.Condition] = [
            models.FieldCondition(key=PAYLOAD_FILTERS[name], match=models.MatchValue(value=value))
            for name, value in sorted((filters or {}).items())
            if value
        ]
        query_filter = models.Filter(
            must=must or None,
            must_not=[
                models.FieldCondition(key="canonical_id", match=models.MatchValue(value=canonical))
            ],
        )
        hits = self.client.query_points(
            self.collection,
            query=list(vectors["combined"]),  # type: ignore[arg-type]
            using="combined",
            query_filter=query_filter,
            limit=k + 20,
            with_payload=["record_id", "canonical_id"],
        ).points
        ranked = sorted(
            (
                SimilarObject(
                    record_id=str((hit.payload or {})["record_id"]),
                    score=round(float(hit.score), 6),
                    canonical_id=str((hit.payload or {}).get("canonical_id", "")),
                )
                for hit in hits
            ),
            key=lambda s: (-s.score, s.record_id),
        )
        return ranked[:k]
