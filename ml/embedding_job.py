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

import io
import logging
import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.env_values import env_number
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings

if TYPE_CHECKING:
    from heritage.ml.encoders import Encoder, EncoderConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingJobConfig:
    """Batching and threads of the job; each field has an ``HERITAGE_ML_*`` variable.
    Images per forward pass and torch threads are the encoder's (``HERITAGE_ML_BATCH_SIZE``,
    ``HERITAGE_ML_THREADS``: :class:`heritage.ml.encoders.EncoderConfig`)."""

    # Records per committed batch (one Qdrant upsert and one Delta MERGE each); a restart
    # re-embeds at most the batches in flight.
    commit_every: int = 256
    # Threads decoding and hashing images in the loader.
    decode_threads: int = 2
    # Weight of the image vector in the combined vector (text gets the rest).
    image_weight: float = 0.7


def load_job_config(environ: Mapping[str, str] | None = None) -> EmbeddingJobConfig:
    env = os.environ if environ is None else environ
    defaults = EmbeddingJobConfig()

    number = partial(env_number, env)
    return EmbeddingJobConfig(
        commit_every=max(1, int(number("HERITAGE_ML_COMMIT_EVERY", defaults.commit_every))),
        decode_threads=max(1, int(number("HERITAGE_ML_DECODE_THREADS", defaults.decode_threads))),
        image_weight=number("HERITAGE_ML_IMAGE_WEIGHT", defaults.image_weight),
    )


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
    done = embeddings.filter(F.col("model") == model).select("record_id", "content_hash", "sha256")
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


@dataclass
class _Prepared:
    rows: list[dict[str, Any]]
    hashes: list[tuple[int, int]]
    pixels: Any  # torch.Tensor of the encoder's preprocessed batch
    batch_end: bool


def _read_original(client: Any, bucket: str, key: str) -> bytes:
    response = client.get_object(bucket, key)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


class _Loader(threading.Thread):
    """Reads, decodes, hashes and preprocesses sub-batches ahead of the forward pass."""

    def __init__(
        self,
        settings: Settings,
        layout: LakehouseLayout,
        batches: Sequence[Sequence[dict[str, Any]]],
        encoder: Encoder,
        config: EmbeddingJobConfig,
        batch_size: int,
    ) -> None:
        super().__init__(name="embedding-loader", daemon=True)
        from heritage.object_store import object_store_client

        self.settings = settings
        self.layout = layout
        self.batches = batches
        self.encoder = encoder
        self.config = config
        self.batch_size = batch_size
        self.client = object_store_client(settings)
        self.output: queue.Queue[_Prepared | BaseException | None] = queue.Queue(maxsize=3)
        self.skipped: list[str] = []
        self.stop = threading.Event()

    def _load(self, row: dict[str, Any]) -> tuple[Image.Image, tuple[int, int]] | None:
        from heritage.ml.image_fetch import original_key
        from heritage.ml.image_hashes import perceptual_hashes

        key = original_key(self.layout, str(row["sha256"]))
        try:
            data = _read_original(self.client, self.settings.bucket, key)
            image = Image.open(io.BytesIO(data))
            image.load()
            rgb = image.convert("RGB")
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
        hashes = perceptual_hashes(rgb)
        return rgb, (hashes.phash, hashes.dhash)

    def run(self) -> None:
        try:
            with ThreadPoolExecutor(self.config.decode_threads) as pool:
                for batch in self.batches:
                    for start in range(0, len(batch), self.batch_size):
                        if self.stop.is_set():
                            return
                        chunk = batch[start : start + self.batch_size]
                        loaded = list(pool.map(self._load, chunk))
                        rows = [r for r, got in zip(chunk, loaded, strict=True) if got]
                        self.skipped.extend(
                            str(r["record_id"])
                            for r, got in zip(chunk, loaded, strict=True)
                            if not got
                        )
                        images = [got[0] for got in loaded if got]
                        pixels = self.encoder.prepare_images(images) if images else None
                        self.output.put(
                            _Prepared(
                                rows=rows,
                                hashes=[got[1] for got in loaded if got],
                                pixels=pixels,
                                batch_end=start + self.batch_size >= len(batch),
                            )
                        )
            self.output.put(None)
        except BaseException as error:  # surfaced by the consumer
            self.output.put(error)


def _state_rows(
    rows: Sequence[dict[str, Any]],
    hashes: Sequence[tuple[int, int]],
    image_vectors: np.ndarray,
    combined: np.ndarray,
    model: str,
) -> list[tuple[Any, ...]]:
    from heritage.ml.image_hashes import to_signed64

    now = datetime.now(UTC)
    return [
        (
            row["record_id"],
            row["content_hash"],
            row["sha256"],
            model,
            to_signed64(phash),
            to_signed64(dhash),
            image_vectors[i].astype(np.float32).tolist(),
            combined[i].astype(np.float32).tolist(),
            now,
        )
        for i, (row, (phash, dhash)) in enumerate(zip(rows, hashes, strict=True))
    ]


def merge_embedding_state(
    spark: SparkSession, layout: LakehouseLayout, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Upsert state rows (MERGE on record_id): one row per record, whatever the replays."""
    from delta.tables import DeltaTable

    from heritage.table_schemas import ML_EMBEDDINGS

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
    from delta.tables import DeltaTable

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


def _batches(rows: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


def run_embedding_job(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    encoder: Encoder | None = None,
    config: EmbeddingJobConfig | None = None,
    progress: bool = False,
    encoder_config: EncoderConfig | None = None,
) -> EmbedSummary:
    """Embed every record whose content has no current embedding; see the module doc."""
    from heritage.delta_tables import ensure_delta_table
    from heritage.ml.encoders import combined_vectors, load_encoder, load_encoder_config
    from heritage.ml.vector_index import IndexedObject, VectorIndex, open_vector_index
    from heritage.table_schemas import CANONICAL_IDS, ML_EMBEDDINGS, ML_IMAGES

    config = config or load_job_config()
    ensure_delta_table(spark, layout.ml_images, ML_IMAGES, change_data_feed=True)
    ensure_delta_table(spark, layout.ml_embeddings, ML_EMBEDDINGS, change_data_feed=True)
    ensure_delta_table(spark, layout.canonical_ids, CANONICAL_IDS, change_data_feed=True)
    images = spark.read.format("delta").load(layout.ml_images)
    cleansed = spark.read.format("delta").load(layout.cleansed_records)
    embeddings = spark.read.format("delta").load(layout.ml_embeddings)
    gone = sorted(
        r.record_id
        for r in filter_embeddings_without_stored_image(images, cleansed, embeddings).collect()
    )
    stored_count = images.filter(F.col("status") == "stored").limit(1).count()
    if not gone and stored_count == 0:
        return EmbedSummary(0, 0, 0, 0, model="")
    encoder_config = encoder_config or load_encoder_config()
    encoder = encoder or load_encoder(encoder_config)
    model = encoder.name
    pending = [
        row.asDict()
        for row in filter_records_to_embed(images, cleansed, embeddings, model)
        .orderBy("record_id")
        .collect()
    ]
    if not pending and not gone:
        return EmbedSummary(0, 0, 0, 0, model=model)
    canonical_of = {
        r.record_id: r.canonical_id
        for r in spark.read.format("delta").load(layout.canonical_ids).collect()
    }
    encoded = committed = 0
    with open_vector_index(settings) as client:
        index = VectorIndex(client, layout.qdrant_collection)
        if gone:
            # Delta first: a crash in between leaves a point without state, which the next
            # run's embedding overwrites or a later removal deletes again.
            delete_embedding_state(spark, layout, gone)
            index.delete(gone)
        batches = list(_batches(pending, config.commit_every))
        loader = _Loader(settings, layout, batches, encoder, config, encoder_config.batch_size)

        def commit(objects: list[IndexedObject], state: list[tuple[Any, ...]]) -> int:
            index.upsert(objects)
            merge_embedding_state(spark, layout, state)
            return len(state)

        from tqdm import tqdm

        bar = tqdm(total=len(pending), desc="embeddings", unit="img", disable=not progress)
        writer = ThreadPoolExecutor(1, thread_name_prefix="embedding-writer")
        in_flight: Future[int] | None = None
        objects: list[IndexedObject] = []
        state: list[tuple[Any, ...]] = []
        loader.start()
        try:
            while True:
                item = loader.output.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                if item.rows:
                    image_vectors = encoder.encode_prepared(item.pixels)
                    text_vectors = encoder.encode_texts(
                        [
                            embedding_text(r["title"], r["description"], r["creators"])
                            for r in item.rows
                        ]
                    )
                    combined = combined_vectors(
                        image_vectors, text_vectors, image_weight=config.image_weight
                    )
                    encoded += len(item.rows)
                    bar.update(len(item.rows))
                    objects.extend(
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
                        for i, r in enumerate(item.rows)
                    )
                    state.extend(
                        _state_rows(item.rows, item.hashes, image_vectors, combined, model)
                    )
                if item.batch_end and state:
                    if in_flight is not None:
                        committed += in_flight.result()
                    in_flight = writer.submit(commit, objects, state)
                    objects, state = [], []
            if in_flight is not None:
                committed += in_flight.result()
                in_flight = None
        finally:
            loader.stop.set()
            bar.close()
            if in_flight is not None:
                in_flight.cancel()
            writer.shutdown(wait=True)
    summary = EmbedSummary(
        encoded=encoded,
        committed=committed,
        removed=len(gone),
        skipped=len(loader.skipped),
        model=model,
    )
    log.info(
        "embeddings committed",
        extra={
            "stage": "ml.embed",
            "encoded": summary.encoded,
            "committed": summary.committed,
            "removed": summary.removed,
            "skipped": summary.skipped,
            "model": model,
        },
    )
    return summary
