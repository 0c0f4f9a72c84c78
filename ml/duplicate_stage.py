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

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.change_tracking import table_position
from heritage.delta_tables import add_missing_columns, ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.delta_sync import SyncResult, sync_table
from heritage.ml.image_features import fine_hashes_from_stored
from heritage.ml.image_hashes import FINE_WORDS, ORIENTATIONS, from_signed64
from heritage.ml.ml_state_store import read_state, write_state
from heritage.ml.near_duplicates import (
    DEFAULT_THRESHOLDS_PATH,
    CuratorDecision,
    DuplicatePair,
    DuplicateThresholds,
    assign_canonical_ids,
    duplicate_groups,
    find_candidate_pairs,
    load_thresholds,
)
from heritage.ml.similar_objects import SCORE_DECIMALS, top_k_similar
from heritage.ml_settings import DuplicateThresholdsSource, load_duplicate_thresholds_source
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.table_schemas import (
    CANONICAL_IDS,
    ML_DUPLICATE_PAIRS,
    ML_EMBEDDINGS,
    ML_SIMILAR_OBJECTS,
)

log = logging.getLogger(__name__)

SIMILAR_K = 10
FINGERPRINT_STATE = "duplicate_stage"


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
    phashes: np.ndarray  # uint64 (n, 8): the hashes in every orientation
    dhashes: np.ndarray  # uint64 (n, 8)
    image_vectors: np.ndarray  # float32, one row per record
    combined_vectors: np.ndarray
    page_signatures: np.ndarray | None = None  # float32 (n, dim); zero rows: not pages
    # uint64 (n, 8, 4), zero rows where has_fine is False; None when no record has them.
    fine_hashes: np.ndarray | None = None
    has_fine: np.ndarray | None = None  # bool (n,)


def embedded_records(rows: Sequence[Mapping[str, Any]]) -> EmbeddedRecords:
    """State rows (record_id, model, hashes, vectors, page signature, fine hashes) -> arrays;
    rows of the model most records use (a model change re-embeds every record, so a mix is
    transient)."""
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
        no_hashes = np.zeros((0, ORIENTATIONS), np.uint64)
        return EmbeddedRecords(model, [], no_hashes, no_hashes, empty, empty)
    fine_hashes, has_fine = _fine_hashes(current)
    return EmbeddedRecords(
        model=model,
        record_ids=[r["record_id"] for r in current],
        phashes=_oriented(current, "phash"),
        dhashes=_oriented(current, "dhash"),
        image_vectors=np.asarray([r["image_vector"] for r in current], dtype=np.float32),
        combined_vectors=np.asarray([r["combined_vector"] for r in current], dtype=np.float32),
        page_signatures=_page_signatures(current),
        fine_hashes=fine_hashes,
        has_fine=has_fine,
    )


def _oriented(rows: Sequence[Mapping[str, Any]], name: str) -> np.ndarray:
    """(n, 8) unsigned hashes; a row from before the orientations were stored repeats its
    upright hash (it matches as stored only, until it is embedded again)."""
    values = [row.get(f"{name}_orientations") or [row[name]] * ORIENTATIONS for row in rows]
    return np.array(
        [[from_signed64(int(value)) for value in hashes] for hashes in values], dtype=np.uint64
    )


def _page_signatures(rows: Sequence[Mapping[str, Any]]) -> np.ndarray | None:
    """(n, dim) page signatures with zero rows for non-pages; None when no row is a page."""
    dims = {len(row["page_signature"]) for row in rows if row.get("page_signature")}
    if not dims:
        return None
    dim = max(dims)
    signatures = np.zeros((len(rows), dim), dtype=np.float32)
    for index, row in enumerate(rows):
        signature = row.get("page_signature")
        if signature and len(signature) == dim:
            signatures[index] = signature
    return signatures


def _fine_hashes(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(n, 8, 4) fine hashes, zero rows for rows written before they were stored, and which
    rows have them; (None, None) when no row has them."""
    found = [fine_hashes_from_stored(row.get("fine_hashes")) for row in rows]
    has_fine = np.array([fine is not None for fine in found], dtype=bool)
    if not has_fine.any():
        return None, None
    matrix = np.zeros((len(rows), ORIENTATIONS, FINE_WORDS), dtype=np.uint64)
    for index, fine in enumerate(found):
        if fine is not None:
            matrix[index] = fine
    return matrix, has_fine


def candidate_pairs(
    records: EmbeddedRecords, thresholds: DuplicateThresholds
) -> list[DuplicatePair]:
    """The detector's pairs; a record without fine hashes (a row from before they were
    stored, until it is embedded again) is exempt from the fine check, one with them is not.

    ``find_candidate_pairs`` takes fine hashes for all records or none, and judges each pair
    on its two records alone: so the pairs among records with fine hashes come from a run
    with them, the pairs involving a record without from a run without."""
    everyone = np.arange(len(records.record_ids))
    if records.fine_hashes is None or records.has_fine is None:
        return _pairs_among(records, everyone, thresholds, None)
    if records.has_fine.all():
        return _pairs_among(records, everyone, thresholds, records.fine_hashes)
    checked_rows = np.flatnonzero(records.has_fine)
    checked = _pairs_among(records, checked_rows, thresholds, records.fine_hashes[checked_rows])
    fine_of = dict(zip(records.record_ids, records.has_fine.tolist(), strict=True))
    exempt = [
        pair
        for pair in _pairs_among(records, everyone, thresholds, None)
        if not (fine_of[pair.record_id] and fine_of[pair.other_record_id])
    ]
    return sorted(checked + exempt, key=lambda pair: (pair.record_id, pair.other_record_id))


def _pairs_among(
    records: EmbeddedRecords,
    rows: np.ndarray,
    thresholds: DuplicateThresholds,
    fine_hashes: np.ndarray | None,
) -> list[DuplicatePair]:
    if not len(rows):
        return []
    pages = records.page_signatures
    return find_candidate_pairs(
        [records.record_ids[row] for row in rows],
        records.phashes[rows],
        records.dhashes[rows],
        records.image_vectors[rows],
        thresholds,
        page_signatures=None if pages is None else pages[rows],
        fine_hashes=fine_hashes,
    )


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


def decisions_fingerprint(decisions: Sequence[CuratorDecision]) -> str:
    """sha256 of the curators' decisions: any new, changed or removed decision changes it."""
    rows = [[d.record_id, d.other_record_id, d.decision, d.decision_id] for d in decisions]
    return hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()


def thresholds_fingerprint(label: str, file_text: str) -> str:
    """sha256 of where the thresholds come from and the text of their file."""
    text = json.dumps({"thresholds": label, "thresholds_file": file_text}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inputs_fingerprint(embeddings_version: int, decisions: str, thresholds: str) -> str:
    """What the stage's outputs depend on: a rerun with the same inputs writes nothing."""
    text = json.dumps(
        {"embeddings": embeddings_version, "decisions": decisions, "thresholds": thresholds},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def changed_canonical_ids(
    desired: Mapping[str, str], previous: Mapping[str, str]
) -> dict[str, str]:
    """record -> its new canonical id, for every record whose canonical id changed (a record
    without an entry is its own canonical)."""
    return {
        record: desired.get(record, record)
        for record in set(desired) | set(previous)
        if desired.get(record, record) != previous.get(record, record)
    }


@dataclass(frozen=True)
class Duplicates:
    """The stage's outputs, computed from the embeddings and the decisions."""

    pairs: list[DuplicatePair]
    canonical_of: dict[str, str]
    # (record_id, canonical_id) of records whose canonical id is not their own.
    canonical_rows: list[tuple[str, str]]
    pair_rows: list[tuple]
    similar_rows: list[tuple]


def find_duplicates(
    records: EmbeddedRecords,
    decisions: Sequence[CuratorDecision],
    thresholds: DuplicateThresholds,
) -> Duplicates:
    """Pairs, canonical ids and similar objects of ``records`` (pure)."""
    pairs = candidate_pairs(records, thresholds)
    canonical_of = assign_canonical_ids(records.record_ids, pairs, decisions, thresholds)
    similar = top_k_similar(records.record_ids, records.combined_vectors, canonical_of, k=SIMILAR_K)
    return Duplicates(
        pairs=pairs,
        canonical_of=canonical_of,
        canonical_rows=sorted((r, c) for r, c in canonical_of.items() if r != c),
        pair_rows=pair_rows(pairs, decisions, set(records.record_ids)),
        similar_rows=[(s.record_id, s.rank, s.similar_record_id, s.score) for s in similar],
    )


# --- reading and writing ----------------------------------------------------------------


def read_curator_decisions(settings: Settings, database: str) -> list[CuratorDecision]:
    """Every curator decision (the latest per pair wins inside ``assign_canonical_ids``)."""
    connection = connect(settings, database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT record_id, other_record_id, decision, decision_id "
                "FROM heritage.effective_duplicate_decisions ORDER BY decision_id"
            )
            rows = cursor.fetchall()
    finally:
        connection.close()
    return [CuratorDecision(r[0], r[1], r[2], int(r[3])) for r in rows]


def thresholds_file_text(source: DuplicateThresholdsSource) -> str:
    try:
        return (source.path or DEFAULT_THRESHOLDS_PATH).read_text(encoding="utf-8")
    except OSError:
        return ""


def read_thresholds_fingerprint(
    source: DuplicateThresholdsSource, thresholds: DuplicateThresholds | None = None
) -> str:
    """The fingerprint of the thresholds in use: ``thresholds`` when given, else the file."""
    label = repr(thresholds) if thresholds is not None else str(source.path or "")
    return thresholds_fingerprint(label, thresholds_file_text(source))


def ensure_duplicate_tables(spark: SparkSession, layout: LakehouseLayout) -> None:
    for path, schema in (
        (layout.ml_embeddings, ML_EMBEDDINGS),
        (layout.canonical_ids, CANONICAL_IDS),
        (layout.ml_duplicate_pairs, ML_DUPLICATE_PAIRS),
        (layout.ml_similar_objects, ML_SIMILAR_OBJECTS),
    ):
        ensure_delta_table(spark, path, schema, change_data_feed=True)
    add_missing_columns(spark, layout.ml_embeddings, ML_EMBEDDINGS)


def read_embedded_records(spark: SparkSession, layout: LakehouseLayout) -> EmbeddedRecords:
    state = spark.read.format("delta").load(layout.ml_embeddings)
    columns = (
        "record_id",
        "model",
        "phash",
        "dhash",
        "image_vector",
        "combined_vector",
        "phash_orientations",
        "dhash_orientations",
        "page_signature",
        "fine_hashes",
    )
    return embedded_records([row.asDict() for row in state.select(*columns).collect()])


def write_duplicates(
    spark: SparkSession, settings: Settings, layout: LakehouseLayout, found: Duplicates
) -> tuple[SyncResult, SyncResult, SyncResult]:
    """Write only what changed (canonical ids, pairs, similar objects; canonical ids in the
    Qdrant payload): (canonical, pairs, similar) sync results."""
    previous = current_canonical_ids(spark, layout)
    canonical = sync_table(
        spark, layout.canonical_ids, CANONICAL_IDS, ("record_id",), found.canonical_rows
    )
    pairs = sync_table(
        spark,
        layout.ml_duplicate_pairs,
        ML_DUPLICATE_PAIRS,
        ("record_id", "other_record_id"),
        found.pair_rows,
    )
    similar = sync_table(
        spark,
        layout.ml_similar_objects,
        ML_SIMILAR_OBJECTS,
        ("record_id", "rank"),
        found.similar_rows,
    )
    if canonical.changed:
        changed = changed_canonical_ids(dict(found.canonical_rows), previous)
        _set_indexed_canonical_ids(settings, layout, changed)
    return canonical, pairs, similar


def _set_indexed_canonical_ids(
    settings: Settings, layout: LakehouseLayout, changed: Mapping[str, str]
) -> None:
    # qdrant_client takes about a second to import: only when a canonical id changed.
    from heritage.ml.vector_index import VectorIndex, open_vector_index

    with open_vector_index(settings) as client:
        VectorIndex(client, layout.qdrant_collection).set_canonical_ids(changed)


# --- the stage ----------------------------------------------------------------------------


def run_duplicate_stage(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    thresholds: DuplicateThresholds | None = None,
    thresholds_source: DuplicateThresholdsSource | None = None,
) -> DuplicateSummary:
    """Recompute duplicates from all current embeddings; thresholds: ``thresholds`` when
    given, else the file ``thresholds_source`` names (``HERITAGE_ML_THRESHOLDS``) or
    ``config/near_duplicates.toml``."""
    source = thresholds_source or load_duplicate_thresholds_source(settings)
    ensure_duplicate_tables(spark, layout)
    decisions = read_curator_decisions(settings, layout.pg_database)
    inputs = inputs_fingerprint(
        table_position(spark, layout.ml_embeddings),
        decisions_fingerprint(decisions),
        read_thresholds_fingerprint(source, thresholds),
    )
    if inputs == read_state(settings, layout, FINGERPRINT_STATE):
        return DuplicateSummary(0, 0, 0, 0, 0, 0, skipped=True)
    records = read_embedded_records(spark, layout)
    if thresholds is None:
        # The stage stores no keypoints: its pairs are judged without verification.
        thresholds = load_thresholds(source.path, encoder=records.model or None, verified=False)
    found = find_duplicates(records, decisions, thresholds)
    canonical, pairs, similar = write_duplicates(spark, settings, layout, found)
    write_state(settings, layout, FINGERPRINT_STATE, inputs)
    summary = DuplicateSummary(
        records=len(records.record_ids),
        pairs=len(found.pairs),
        groups=len(duplicate_groups(found.canonical_of)),
        canonical_changed=canonical.upserted + canonical.deleted,
        pairs_changed=pairs.upserted + pairs.deleted,
        similar_changed=similar.upserted + similar.deleted,
    )
    log.info("duplicates found", extra={"stage": "ml.duplicates", **summary.__dict__})
    return summary


def current_canonical_ids(spark: SparkSession, layout: LakehouseLayout) -> dict[str, str]:
    """record_id -> canonical_id of records in a group (others are their own canonical)."""
    table = spark.read.format("delta").load(layout.canonical_ids)
    return {
        r.record_id: r.canonical_id
        for r in table.select(F.col("record_id"), "canonical_id").collect()
    }
