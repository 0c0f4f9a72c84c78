"""The duplicate stage: current embeddings + curator decisions -> canonical ids, duplicate
pairs and similar objects (Delta), and canonical ids in the Qdrant payload.

It recomputes from all current state rows (``ml/embeddings``, independent of Qdrant) and
the curators' decisions in PostgreSQL, so an incremental run and a full rebuild agree and
the arrival order does not matter; it then writes only what changed
(:func:`heritage.ml.delta_sync.sync_table`): a rerun with nothing new writes no Delta
version. ``curated/canonical_ids`` holds a row only for records whose canonical id is not
their own (the curate stage treats a record without a row as its own canonical).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.similar_objects import SCORE_DECIMALS, top_k_similar
from heritage.settings import Settings

log = logging.getLogger(__name__)

SIMILAR_K = 10


@dataclass(frozen=True)
class DuplicateSummary:
    records: int
    pairs: int
    groups: int
    canonical_changed: int
    pairs_changed: int
    similar_changed: int
    # Nothing changed since the last run (embeddings version, decisions, thresholds).
    skipped: bool = False


@dataclass(frozen=True)
class EmbeddedRecords:
    """The current state rows as arrays, sorted by record id."""

    model: str
    record_ids: list[str]
    phashes: np.ndarray  # uint64
    dhashes: np.ndarray  # uint64
    image_vectors: np.ndarray  # float32, one row per record
    combined_vectors: np.ndarray


def embedded_records(rows: Sequence[Mapping[str, Any]]) -> EmbeddedRecords:
    """State rows (record_id, phash, dhash, image_vector, combined_vector) -> arrays; rows of
    the model most records use (a model change re-embeds every record, so a mix is
    transient)."""
    from heritage.ml.image_hashes import from_signed64

    models: dict[str, int] = {}
    for row in rows:
        models[row["model"]] = models.get(row["model"], 0) + 1
    if len(models) > 1:
        log.warning(
            "embeddings of several models: using the most common until all are re-embedded",
            extra={"stage": "ml.duplicates", "models": str(models)},
        )
    model = max(sorted(models), key=lambda m: models[m]) if models else ""
    current = sorted((r for r in rows if r["model"] == model), key=lambda r: r["record_id"])
    if not current:
        empty = np.zeros((0, 0), dtype=np.float32)
        return EmbeddedRecords(
            model, [], np.zeros(0, np.uint64), np.zeros(0, np.uint64), empty, empty
        )
    return EmbeddedRecords(
        model=model,
        record_ids=[r["record_id"] for r in current],
        phashes=np.array([from_signed64(int(r["phash"])) for r in current], dtype=np.uint64),
        dhashes=np.array([from_signed64(int(r["dhash"])) for r in current], dtype=np.uint64),
        image_vectors=np.asarray([r["image_vector"] for r in current], dtype=np.float32),
        combined_vectors=np.asarray([r["combined_vector"] for r in current], dtype=np.float32),
    )


def read_curator_decisions(settings: Settings, database: str) -> list[Any]:
    """Every curator decision (the latest per pair wins inside ``assign_canonical_ids``)."""
    from heritage.ml.near_duplicates import CuratorDecision
    from heritage.postgres_db import connect

    connection = connect(settings, database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT record_id, other_record_id, decision, decision_id "
                "FROM heritage.duplicate_decisions ORDER BY decision_id"
            )
            rows = cursor.fetchall()
    finally:
        connection.close()
    return [CuratorDecision(r[0], r[1], r[2], int(r[3])) for r in rows]


def pair_rows(pairs: Sequence[Any], decisions: Sequence[Any], known: set[str]) -> list[tuple]:
    """Detector pairs plus pairs a curator declared 'same' that the detector missed
    (method 'curator'), as ``ML_DUPLICATE_PAIRS`` rows."""
    rows: dict[tuple[str, str], tuple] = {}
    for pair in pairs:
        first, second = sorted((pair.record_id, pair.other_record_id))
        rows[(first, second)] = (
            first,
            second,
            None if pair.hash_distance is None else int(pair.hash_distance),
            None if pair.cosine is None else round(float(pair.cosine), SCORE_DECIMALS),
            round(float(pair.score), SCORE_DECIMALS),
            str(pair.method),
        )
    latest: dict[tuple[str, str], Any] = {}
    for decision in sorted(decisions, key=lambda d: d.decision_id):
        latest[tuple(sorted((decision.record_id, decision.other_record_id)))] = decision
    for (first, second), decision in latest.items():
        detected = (first, second) in rows
        if decision.decision == "same" and not detected and {first, second} <= known:
            rows[(first, second)] = (first, second, None, None, 1.0, "curator")
    return [rows[key] for key in sorted(rows)]


def _fingerprint_key(settings: Settings, layout: LakehouseLayout) -> str:
    root = layout.table_root.removeprefix(f"s3a://{settings.bucket}").strip("/")
    return f"{root}/ml/_state/duplicate_stage.json" if root else "ml/_state/duplicate_stage.json"


def _inputs_fingerprint(embeddings_version: int, decisions: Sequence[Any], thresholds: str) -> str:
    """What the stage's outputs depend on: a rerun with the same inputs writes nothing."""
    import hashlib
    import json

    text = json.dumps(
        {
            "embeddings_version": embeddings_version,
            "decisions": [
                [d.record_id, d.other_record_id, d.decision, d.decision_id] for d in decisions
            ],
            "thresholds": thresholds,
            "thresholds_file": _thresholds_text(thresholds),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _thresholds_text(configured: str) -> str:
    from heritage.ml.near_duplicates import DEFAULT_THRESHOLDS_PATH

    path = Path(configured) if configured and not configured.startswith("Duplicate") else None
    try:
        return (path or DEFAULT_THRESHOLDS_PATH).read_text(encoding="utf-8")
    except OSError:
        return ""


def _stored_fingerprint(settings: Settings, layout: LakehouseLayout) -> str | None:
    from minio.error import S3Error

    from heritage.object_store import object_store_client

    try:
        response = object_store_client(settings).get_object(
            settings.bucket, _fingerprint_key(settings, layout)
        )
    except S3Error:
        return None
    try:
        return response.read().decode("utf-8").strip()
    finally:
        response.close()
        response.release_conn()


def _store_fingerprint(settings: Settings, layout: LakehouseLayout, fingerprint: str) -> None:
    import io

    from heritage.object_store import object_store_client

    data = fingerprint.encode("utf-8")
    object_store_client(settings).put_object(
        settings.bucket, _fingerprint_key(settings, layout), io.BytesIO(data), len(data)
    )


def run_duplicate_stage(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    thresholds: Any | None = None,
) -> DuplicateSummary:
    """Recompute duplicates from all current embeddings; thresholds from
    ``HERITAGE_ML_THRESHOLDS`` (a TOML file) or ``config/near_duplicates.toml``."""
    from heritage.delta_tables import ensure_delta_table, table_version
    from heritage.ml.delta_sync import sync_table
    from heritage.ml.near_duplicates import (
        assign_canonical_ids,
        duplicate_groups,
        find_candidate_pairs,
        load_thresholds,
    )
    from heritage.ml.vector_index import VectorIndex, open_vector_index
    from heritage.table_schemas import (
        CANONICAL_IDS,
        ML_DUPLICATE_PAIRS,
        ML_EMBEDDINGS,
        ML_SIMILAR_OBJECTS,
    )

    for path, schema in (
        (layout.ml_embeddings, ML_EMBEDDINGS),
        (layout.canonical_ids, CANONICAL_IDS),
        (layout.ml_duplicate_pairs, ML_DUPLICATE_PAIRS),
        (layout.ml_similar_objects, ML_SIMILAR_OBJECTS),
    ):
        ensure_delta_table(spark, path, schema, change_data_feed=True)
    decisions = read_curator_decisions(settings, layout.pg_database)
    configured = os.environ.get("HERITAGE_ML_THRESHOLDS")
    inputs = _inputs_fingerprint(
        table_version(spark, layout.ml_embeddings),
        decisions,
        repr(thresholds) if thresholds is not None else configured or "",
    )
    if inputs == _stored_fingerprint(settings, layout):
        return DuplicateSummary(0, 0, 0, 0, 0, 0, skipped=True)
    state = spark.read.format("delta").load(layout.ml_embeddings)
    records = embedded_records(
        [
            row.asDict()
            for row in state.select(
                "record_id", "model", "phash", "dhash", "image_vector", "combined_vector"
            ).collect()
        ]
    )
    if thresholds is None:
        thresholds = load_thresholds(
            Path(configured) if configured else None, encoder=records.model or None
        )
    if records.record_ids:
        pairs = find_candidate_pairs(
            records.record_ids,
            records.phashes,
            records.dhashes,
            records.image_vectors,
            thresholds,
        )
    else:
        pairs = []
    canonical_of = assign_canonical_ids(records.record_ids, pairs, decisions)
    desired_canonical = sorted(
        (record, canonical) for record, canonical in canonical_of.items() if record != canonical
    )
    previous_canonical = {
        r.record_id: r.canonical_id
        for r in spark.read.format("delta").load(layout.canonical_ids).collect()
    }
    canonical_sync = sync_table(
        spark, layout.canonical_ids, CANONICAL_IDS, ("record_id",), desired_canonical
    )
    pairs_sync = sync_table(
        spark,
        layout.ml_duplicate_pairs,
        ML_DUPLICATE_PAIRS,
        ("record_id", "other_record_id"),
        pair_rows(pairs, decisions, set(records.record_ids)),
    )
    similar = top_k_similar(records.record_ids, records.combined_vectors, canonical_of, k=SIMILAR_K)
    similar_sync = sync_table(
        spark,
        layout.ml_similar_objects,
        ML_SIMILAR_OBJECTS,
        ("record_id", "rank"),
        [(s.record_id, s.rank, s.similar_record_id, s.score) for s in similar],
    )
    if canonical_sync.changed:
        now = dict(desired_canonical)
        changed = {
            record: now.get(record, record)
            for record in set(now) | set(previous_canonical)
            if now.get(record, record) != previous_canonical.get(record, record)
        }
        with open_vector_index(settings) as client:
            VectorIndex(client, layout.qdrant_collection).set_canonical_ids(changed)
    groups = duplicate_groups(canonical_of)
    _store_fingerprint(settings, layout, inputs)
    summary = DuplicateSummary(
        records=len(records.record_ids),
        pairs=len(pairs),
        groups=len(groups),
        canonical_changed=canonical_sync.upserted + canonical_sync.deleted,
        pairs_changed=pairs_sync.upserted + pairs_sync.deleted,
        similar_changed=similar_sync.upserted + similar_sync.deleted,
    )
    log.info(
        "duplicates found",
        extra={"stage": "ml.duplicates", **summary.__dict__},
    )
    return summary


def current_canonical_ids(spark: SparkSession, layout: LakehouseLayout) -> dict[str, str]:
    """record_id -> canonical_id of records in a group (others are their own canonical)."""
    table = spark.read.format("delta").load(layout.canonical_ids)
    return {
        r.record_id: r.canonical_id
        for r in table.select(F.col("record_id"), "canonical_id").collect()
    }
