"""Fine hashes in ``ml/embeddings``: stored as 32 signed bigints, read back by the duplicate
stage, which checks them for every pair of records that both have them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from PIL import Image
from pyspark.sql import SparkSession

from heritage.ml.duplicate_stage import candidate_pairs, embedded_records, find_duplicates
from heritage.ml.embedding_job import filter_records_to_embed, state_rows
from heritage.ml.image_features import (
    fine_hashes_from_stored,
    image_features,
    stored_fine_hashes,
)
from heritage.ml.image_hashes import FINE_WORDS, ORIENTATIONS
from heritage.ml.near_duplicates import DuplicateThresholds
from heritage.table_schemas import ML_EMBEDDINGS

# Hash matches need the fine hashes within 20 bits; the image vectors are orthogonal, so
# only hash evidence can make a pair (and it needs no cosine).
GATED = DuplicateThresholds(
    hash_max_distance=4,
    dhash_max_distance=4,
    fine_max_distance=20,
    turned_fine_max_distance=20,
    hash_confirm_cosine=-1.0,
    turned_confirm_cosine=-1.0,
)
MODEL = "open_clip:tiny-random"


def noise_image(seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def test_fine_hashes_survive_their_signed_storage() -> None:
    fine = image_features(noise_image(1)).fine_hashes
    assert fine is not None
    stored = stored_fine_hashes(fine)
    assert stored is not None and len(stored) == ORIENTATIONS * FINE_WORDS
    assert all(-(2**63) <= value < 2**63 for value in stored)
    back = fine_hashes_from_stored(stored)
    assert back is not None and back.dtype == np.uint64
    assert np.array_equal(back, fine)
    # Orientation-major, and the top bit of a word survives as a negative bigint.
    high = np.zeros((ORIENTATIONS, FINE_WORDS), dtype=np.uint64)
    high[2, 1] = np.uint64(2**63 + 5)
    flat = stored_fine_hashes(high)
    assert flat is not None and flat[2 * FINE_WORDS + 1] == -(2**63) + 5
    assert np.array_equal(fine_hashes_from_stored(flat), high)
    assert fine_hashes_from_stored(None) is None
    assert fine_hashes_from_stored([1, 2, 3]) is None
    assert stored_fine_hashes(None) is None


def test_an_embedded_row_carries_the_32_fine_hash_values() -> None:
    features = [image_features(noise_image(2))]
    vectors = np.eye(1, 4, dtype=np.float32)
    rows = state_rows(
        [{"record_id": "r", "content_hash": "c", "sha256": "s"}],
        features,
        vectors,
        vectors,
        MODEL,
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    names = [field.name for field in ML_EMBEDDINGS.fields]
    assert len(rows[0]) == len(names)
    row = dict(zip(names, rows[0], strict=True))
    assert row["fine_hashes"] == stored_fine_hashes(features[0].fine_hashes)
    assert len(row["fine_hashes"]) == 32


def state_row(record_id: str, index: int, fine: np.ndarray | None) -> dict[str, Any]:
    """A state row whose 64-bit hashes match every other such row's exactly."""
    vector = np.eye(1, 4, index, dtype=np.float32)[0].tolist()
    return {
        "record_id": record_id,
        "model": MODEL,
        "phash": 0x0F0F,
        "dhash": 0x3333,
        "image_vector": vector,
        "combined_vector": vector,
        "phash_orientations": [0x0F0F] * ORIENTATIONS,
        "dhash_orientations": [0x3333] * ORIENTATIONS,
        "page_signature": None,
        "fine_hashes": stored_fine_hashes(fine),
    }


def fine_words(seed: int) -> np.ndarray:
    """Random fine hashes, the same in every orientation (about 128 bits from another's)."""
    words = np.random.default_rng(seed).integers(0, 2**63, size=FINE_WORDS, dtype=np.uint64)
    return np.tile(words, (ORIENTATIONS, 1))


def pairs_of(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (p.record_id, p.other_record_id) for p in candidate_pairs(embedded_records(rows), GATED)
    ]


def test_the_stage_checks_fine_hashes_and_exempts_records_without_them() -> None:
    first, second = fine_words(1), fine_words(2)
    # Equal pHash and dHash, fine hashes far apart: not duplicates.
    apart = [state_row("a", 0, first), state_row("b", 1, second)]
    found = find_duplicates(embedded_records(apart), [], GATED)
    assert found.pairs == [] and found.canonical_rows == []
    # Fine hashes that agree: duplicates.
    assert pairs_of([state_row("a", 0, first), state_row("b", 1, first)]) == [("a", "b")]
    # A row from before the fine hashes were stored is exempt; the others are still checked.
    mixed = [*apart, state_row("c", 2, None)]
    assert pairs_of(mixed) == [("a", "c"), ("b", "c")]
    assert pairs_of([state_row("a", 0, None), state_row("b", 1, None)]) == [("a", "b")]


def test_a_row_without_fine_hashes_is_embedded_again(spark: SparkSession) -> None:
    images = spark.createDataFrame(
        [("r1", "s1", "stored"), ("r2", "s2", "stored")],
        "record_id string, sha256 string, status string",
    )
    cleansed = spark.createDataFrame(
        [(r, "c", "t", None, [], "p", "IMAGE", "u") for r in ("r1", "r2")],
        "record_id string, content_hash string, title string, description string, "
        "creators array<string>, data_provider string, object_type string, rights_uri string",
    )
    done = state_rows(
        [{"record_id": "r1", "content_hash": "c", "sha256": "s1"}],
        [image_features(noise_image(3))],
        np.eye(1, 4, dtype=np.float32),
        np.eye(1, 4, dtype=np.float32),
        MODEL,
        datetime(2026, 1, 1, tzinfo=UTC),
    )[0]
    names = [field.name for field in ML_EMBEDDINGS.fields]
    older = {**dict(zip(names, done, strict=True)), "record_id": "r2", "sha256": "s2"}
    older["fine_hashes"] = None
    embeddings = spark.createDataFrame([done, tuple(older[name] for name in names)], ML_EMBEDDINGS)
    pending = filter_records_to_embed(images, cleansed, embeddings, MODEL)
    assert [r.record_id for r in pending.collect()] == ["r2"]
