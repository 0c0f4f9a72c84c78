"""The incremental embedding job: stored images -> perceptual hashes, image/text/combined
vectors -> Qdrant and the ``ml/embeddings`` Delta table.

A record needs embedding when no state row matches its (content_hash, image sha256, model):
new records, changed text, a new image, or a new encoder — in whatever order they arrived.
Records are processed in record-id order, in batches: a loader thread reads originals from the
object store, decodes, hashes and preprocesses the next sub-batch while the main thread runs
the encoder's forward pass, and a writer thread upserts the previous batch into Qdrant and
commits its state to Delta (one MERGE per batch, never per record).

Restart safety: Qdrant first (idempotent, point id ``uuid5(record_id)``), then the Delta
state of the batch. A process killed at any point leaves every committed batch in both
stores; a restart re-embeds only records without committed state (at most the batches in
flight), and re-upserting their points overwrites them, so each record ends with one state
row and one point. The job returns how many records it encoded, which makes "nothing
embedded twice" checkable.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from delta.tables import DeltaTable
from PIL import Image
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from tqdm import tqdm

from heritage.delta_tables import add_missing_columns, ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.image_decode import decode_image_bytes
from heritage.ml.image_features import ImageFeatures, image_features
from heritage.ml.image_fetch import original_key
from heritage.ml.vector_index import IndexedObject, VectorIndex, open_vector_index
from heritage.ml_settings import (
    EmbeddingJobConfig,
    EncoderConfig,
    load_embedding_job_config,
    load_encoder_config,
)
from heritage.object_store import object_store_client
from heritage.settings import Settings
from heritage.table_schemas import CANONICAL_IDS, ML_EMBEDDINGS, ML_IMAGES

if TYPE_CHECKING:
    from heritage.ml.encoders import Encoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedSummary:
    # Records whose image and text went through the encoder in this run.
    encoded: int
    # Records whose batch was committed (Qdrant and Delta) in this run.
    committed: int
    # State rows and points removed (record deleted, image gone).
    removed: int
    # Records skipped because their original could not be read (retried next run).
    skipped: int
    model: str


def embedding_text(
    title: str | None, description: str | None, creators: Sequence[str] | None
) -> str:
    """What the text tower reads: title, description and creators."""
    parts = [title or "", description or "", ", ".join(c for c in creators or () if c)]
    return " \n".join(p.strip() for p in parts if p and p.strip())


def filter_records_to_embed(
    images: DataFrame, cleansed: DataFrame, embeddings: DataFrame, model: str
) -> DataFrame:
    """Records with a stored image and no state row for (content_hash, sha256, model)."""
    stored = images.filter(F.col("status") == "stored").select("record_id", "sha256")
    records = cleansed.select(
        "record_id",
        "content_hash",
        "title",
        "description",
        "creators",
        "data_provider",
        "object_type",
        "rights_uri",
    )
    # A row written before the oriented hashes, page signatures or fine hashes existed is
    # done again.
    done = embeddings.filter(
        (F.col("model") == model)
        & F.col("phash_orientations").isNotNull()
        & F.col("fine_hashes").isNotNull()
    ).select("record_id", "content_hash", "sha256")
    return (
        stored.join(records, "record_id", how="inner")
        .join(done, ["record_id", "content_hash", "sha256"], how="left_anti")
        .select(
            "record_id",
            "content_hash",
            "sha256",
            "title",
            "description",
            "creators",
            "data_provider",
            "object_type",
            "rights_uri",
        )
    )


def filter_embeddings_without_stored_image(
    images: DataFrame, cleansed: DataFrame, embeddings: DataFrame
) -> DataFrame:
    """State rows whose record is gone or no longer has a stored image."""
    live = (
        images.filter(F.col("status") == "stored")
        .select("record_id")
        .join(cleansed.select("record_id"), "record_id", how="inner")
    )
    return embeddings.join(live, "record_id", how="left_anti").select("record_id")


def state_rows(
    rows: Sequence[Mapping[str, Any]],
    features: Sequence[ImageFeatures],
    image_vectors: np.ndarray,
    combined: np.ndarray,
    model: str,
    embedded_at: datetime,
) -> list[tuple[Any, ...]]:
    """``ML_EMBEDDINGS`` rows of one encoded sub-batch."""
    rows_out = []
    for i, (row, found) in enumerate(zip(rows, features, strict=True)):
        stored = found.stored()
        rows_out.append(
            (
                row["record_id"],
                row["content_hash"],
                row["sha256"],
                model,
                stored.phashes[0],
                stored.dhashes[0],
                image_vectors[i].astype(np.float32).tolist(),
                combined[i].astype(np.float32).tolist(),
                embedded_at,
                stored.phashes,
                stored.dhashes,
                stored.page_signature,
                stored.fine_hashes,
            )
        )
    return rows_out


def indexed_objects(
    rows: Sequence[Mapping[str, Any]],
    image_vectors: np.ndarray,
    text_vectors: np.ndarray,
    combined: np.ndarray,
    canonical_of: Mapping[str, str],
) -> list[IndexedObject]:
    """The Qdrant points of one encoded sub-batch (a record outside a group is its own
    canonical)."""
    return [
        IndexedObject(
            record_id=r["record_id"],
            canonical_id=canonical_of.get(r["record_id"], r["record_id"]),
            provider=r["data_provider"],
            object_type=r["object_type"],
            rights=r["rights_uri"],
            image_vector=image_vectors[i],
            text_vector=text_vectors[i],
            combined_vector=combined[i],
        )
        for i, r in enumerate(rows)
    ]


def batches_of(rows: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


# --- reading and writing ----------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingInputs:
    images: DataFrame
    cleansed: DataFrame
    embeddings: DataFrame


def read_embedding_inputs(spark: SparkSession, layout: LakehouseLayout) -> EmbeddingInputs:
    ensure_delta_table(spark, layout.ml_images, ML_IMAGES, change_data_feed=True)
    ensure_delta_table(spark, layout.ml_embeddings, ML_EMBEDDINGS, change_data_feed=True)
    add_missing_columns(spark, layout.ml_embeddings, ML_EMBEDDINGS)
    ensure_delta_table(spark, layout.canonical_ids, CANONICAL_IDS, change_data_feed=True)
    read = spark.read.format("delta")
    return EmbeddingInputs(
        images=read.load(layout.ml_images),
        cleansed=read.load(layout.cleansed_records),
        embeddings=read.load(layout.ml_embeddings),
    )


def read_pending(inputs: EmbeddingInputs, model: str) -> list[dict[str, Any]]:
    """The records to embed with ``model``, in record-id order."""
    pending = filter_records_to_embed(inputs.images, inputs.cleansed, inputs.embeddings, model)
    return [row.asDict() for row in pending.orderBy("record_id").collect()]


def read_canonical_ids(spark: SparkSession, layout: LakehouseLayout) -> dict[str, str]:
    table = spark.read.format("delta").load(layout.canonical_ids)
    return {r.record_id: r.canonical_id for r in table.collect()}


def merge_embedding_state(
    spark: SparkSession, layout: LakehouseLayout, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Upsert state rows (MERGE on record_id): one row per record, whatever the replays."""
    if not rows:
        return
    source = spark.createDataFrame(list(rows), ML_EMBEDDINGS)
    columns: dict[str, str | Column] = {f.name: f"s.{f.name}" for f in ML_EMBEDDINGS.fields}
    (
        DeltaTable.forPath(spark, layout.ml_embeddings)
        .alias("t")
        .merge(source.alias("s"), "t.record_id = s.record_id")
        .whenMatchedUpdate(set=columns)
        .whenNotMatchedInsert(values=columns)
        .execute()
    )


def delete_embedding_state(
    spark: SparkSession, layout: LakehouseLayout, record_ids: Sequence[str]
) -> None:
    if not record_ids:
        return
    source = spark.createDataFrame([(r,) for r in record_ids], "record_id string")
    (
        DeltaTable.forPath(spark, layout.ml_embeddings)
        .alias("t")
        .merge(source.alias("s"), "t.record_id = s.record_id")
        .whenMatchedDelete()
        .execute()
    )


def _read_original(client: Any, bucket: str, key: str) -> bytes:
    response = client.get_object(bucket, key)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


@dataclass
class _Prepared:
    rows: list[dict[str, Any]]
    features: list[ImageFeatures]
    pixels: Any  # torch.Tensor of the encoder's preprocessed batch
    batch_end: bool


class _Loader(threading.Thread):
    """Reads, decodes, hashes and preprocesses sub-batches ahead of the forward pass."""

    def __init__(
        self,
        settings: Settings,
        layout: LakehouseLayout,
        batches: Sequence[Sequence[dict[str, Any]]],
        encoder: Encoder,
        decode_threads: int,
        batch_size: int,
    ) -> None:
        super().__init__(name="embedding-loader", daemon=True)
        self.settings = settings
        self.layout = layout
        self.batches = batches
        self.encoder = encoder
        self.decode_threads = decode_threads
        self.batch_size = batch_size
        self.client = object_store_client(settings)
        self.output: queue.Queue[_Prepared | BaseException | None] = queue.Queue(maxsize=3)
        self.skipped: list[str] = []
        self.stop = threading.Event()

    def _load(self, row: dict[str, Any]) -> tuple[Image.Image, ImageFeatures] | None:
        key = original_key(self.layout, str(row["sha256"]))
        try:
            data = _read_original(self.client, self.settings.bucket, key)
            # Upright, sRGB, at the working size: what the hashes and the encoder see.
            rgb = decode_image_bytes(data)
            features = image_features(rgb)
        except Exception as error:  # a missing or unreadable original: retried next run
            log.warning(
                "original image unreadable; the record is retried on the next run",
                extra={
                    "stage": "ml.embed",
                    "record_id": row["record_id"],
                    "key": key,
                    "error": str(error)[:300],
                },
            )
            return None
        return rgb, features

    def _prepare(self, pool: ThreadPoolExecutor, chunk: Sequence[dict[str, Any]]) -> _Prepared:
        loaded = list(pool.map(self._load, chunk))
        self.skipped.extend(
            str(r["record_id"]) for r, got in zip(chunk, loaded, strict=True) if not got
        )
        images = [got[0] for got in loaded if got]
        return _Prepared(
            rows=[r for r, got in zip(chunk, loaded, strict=True) if got],
            features=[got[1] for got in loaded if got],
            pixels=self.encoder.prepare_images(images) if images else None,
            batch_end=False,
        )

    def run(self) -> None:
        try:
            with ThreadPoolExecutor(self.decode_threads) as pool:
                for batch in self.batches:
                    for start in range(0, len(batch), self.batch_size):
                        if self.stop.is_set():
                            return
                        prepared = self._prepare(pool, batch[start : start + self.batch_size])
                        prepared.batch_end = start + self.batch_size >= len(batch)
                        self.output.put(prepared)
            self.output.put(None)
        except BaseException as error:  # surfaced by the consumer
            self.output.put(error)

    def prepared(self) -> Iterator[_Prepared]:
        """The sub-batches in order; a loader failure is raised here."""
        while True:
            item = self.output.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class _BatchWriter:
    """Commits batches (Qdrant first, then Delta) in a writer thread, one in flight, so the
    next batch's forward pass overlaps the previous batch's writes."""

    def __init__(self, commit: Callable[[list[IndexedObject], list[tuple[Any, ...]]], int]):
        self._commit = commit
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="embedding-writer")
        self._in_flight: Future[int] | None = None
        self.committed = 0

    def submit(self, objects: list[IndexedObject], state: list[tuple[Any, ...]]) -> None:
        self.wait()
        self._in_flight = self._pool.submit(self._commit, objects, state)

    def wait(self) -> None:
        if self._in_flight is not None:
            self.committed += self._in_flight.result()
            self._in_flight = None

    def close(self) -> None:
        if self._in_flight is not None:
            self._in_flight.cancel()
        self._pool.shutdown(wait=True)


# --- the job ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoded:
    objects: list[IndexedObject]
    state: list[tuple[Any, ...]]


def _encode(
    encoder: Encoder,
    item: _Prepared,
    image_weight: float,
    canonical_of: Mapping[str, str],
) -> _Encoded:
    # torch loads in seconds: imported only once there is something to embed.
    from heritage.ml.encoders import combined_vectors

    image_vectors = encoder.encode_prepared(item.pixels)
    text_vectors = encoder.encode_texts(
        [embedding_text(r["title"], r["description"], r["creators"]) for r in item.rows]
    )
    combined = combined_vectors(image_vectors, text_vectors, image_weight=image_weight)
    return _Encoded(
        indexed_objects(item.rows, image_vectors, text_vectors, combined, canonical_of),
        state_rows(
            item.rows, item.features, image_vectors, combined, encoder.name, datetime.now(UTC)
        ),
    )


@dataclass(frozen=True)
class _EmbedTarget:
    spark: SparkSession
    settings: Settings
    layout: LakehouseLayout
    index: VectorIndex


def _embed_pending(
    target: _EmbedTarget,
    encoder: Encoder,
    pending: Sequence[dict[str, Any]],
    config: EmbeddingJobConfig,
    batch_size: int,
    progress: bool,
) -> tuple[int, int, int]:
    """Encode and commit ``pending`` in batches: (encoded, committed, skipped)."""
    canonical_of = read_canonical_ids(target.spark, target.layout)
    batches = list(batches_of(pending, config.commit_every))
    loader = _Loader(
        target.settings, target.layout, batches, encoder, config.decode_threads, batch_size
    )

    def commit(objects: list[IndexedObject], state: list[tuple[Any, ...]]) -> int:
        target.index.upsert(objects)
        merge_embedding_state(target.spark, target.layout, state)
        return len(state)

    bar = tqdm(total=len(pending), desc="embeddings", unit="img", disable=not progress)
    writer = _BatchWriter(commit)
    encoded = 0
    objects: list[IndexedObject] = []
    state: list[tuple[Any, ...]] = []
    loader.start()
    try:
        for item in loader.prepared():
            if item.rows:
                done = _encode(encoder, item, config.image_weight, canonical_of)
                objects.extend(done.objects)
                state.extend(done.state)
                encoded += len(item.rows)
                bar.update(len(item.rows))
            if item.batch_end and state:
                writer.submit(objects, state)
                objects, state = [], []
        writer.wait()
    finally:
        loader.stop.set()
        bar.close()
        writer.close()
    return encoded, writer.committed, len(loader.skipped)


def _load_encoder(config: EncoderConfig) -> Encoder:
    # torch and the model libraries load in seconds: only when there is something to embed.
    from heritage.ml.encoders import load_encoder

    return load_encoder(config)


def run_embedding_job(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    encoder: Encoder | None = None,
    config: EmbeddingJobConfig | None = None,
    progress: bool = False,
    encoder_config: EncoderConfig | None = None,
    model_hint: str | None = None,
) -> EmbedSummary:
    """Embed every record whose content has no current embedding; see the module doc.

    The encoder loads only when a record needs it. ``model_hint`` is the name the configured
    encoder had last time: with it, finding that nothing needs embedding loads no encoder.
    """
    config = config or load_embedding_job_config(settings)
    encoder_config = encoder_config or load_encoder_config(settings)
    inputs = read_embedding_inputs(spark, layout)
    gone = sorted(
        r.record_id
        for r in filter_embeddings_without_stored_image(
            inputs.images, inputs.cleansed, inputs.embeddings
        ).collect()
    )
    if not gone and inputs.images.filter(F.col("status") == "stored").limit(1).count() == 0:
        return EmbedSummary(0, 0, 0, 0, model="")
    model = encoder.name if encoder is not None else model_hint
    if model is None:
        encoder = _load_encoder(encoder_config)
        model = encoder.name
    pending = read_pending(inputs, model)
    if pending and encoder is None:
        encoder = _load_encoder(encoder_config)
        if encoder.name != model:  # the hint is stale (CLIP became available, say)
            model = encoder.name
            pending = read_pending(inputs, model)
    if not pending and not gone:
        return EmbedSummary(0, 0, 0, 0, model=model)
    encoded = committed = skipped = 0
    with open_vector_index(settings) as client:
        index = VectorIndex(client, layout.qdrant_collection)
        if gone:
            # Delta first: a crash in between leaves a point without state, which the next
            # run's embedding overwrites or a later removal deletes again.
            delete_embedding_state(spark, layout, gone)
            index.delete(gone)
        if pending and encoder is not None:
            target = _EmbedTarget(spark, settings, layout, index)
            encoded, committed, skipped = _embed_pending(
                target, encoder, pending, config, encoder_config.batch_size, progress
            )
    summary = EmbedSummary(encoded, committed, len(gone), skipped, model=model)
    log.info("embeddings committed", extra={"stage": "ml.embed", **summary.__dict__})
    return summary
