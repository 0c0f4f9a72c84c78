"""The ml stage end to end on the real stack: demo images -> embeddings -> duplicates.

Three arrival orders (all at once = a full rebuild, and two incremental orders) give the same
canonical ids, pairs and similar objects; a rerun writes nothing; PostgreSQL follows Delta,
deletes included.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from ml_test_records import MlRecord, write_cleansed
from pyspark.sql import SparkSession

from heritage.delta_tables import table_version
from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.ml.demo_image_server import serve_demo_images
from heritage.ml.ml_stage import run_ml_stage
from heritage.ml.vector_index import VectorIndex, open_vector_index
from heritage.pipeline import prepare
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.spark_apps.ml_export import ml_export_specs
from heritage.spark_apps.postgres_export import export_table

pytestmark = pytest.mark.integration

THRESHOLDS = Path(__file__).with_name("tiny_encoder_thresholds.toml")


def collection(base: str) -> list[MlRecord]:
    def url(local_id: str, size: str = "max") -> str:
        return f"{base}/media/2021672/iiif/{local_id}/full/{size}/0/default.jpg"

    originals = [
        MlRecord(f"europeana:/2021672/o{i}", url(f"o{i}"), title=f"Subject {i}") for i in range(7)
    ]
    return [
        *originals,
        MlRecord("europeana:/2021672/a_near0", url("o0", "1200,"), title="SUBJECT 0."),
        MlRecord("europeana:/2021672/b_near1", url("o1", "1200,"), title="Subject 1"),
        MlRecord("europeana:/2021672/c_copy2", url("o2"), title="Subject 2 (copy)"),
    ]


EXPECTED_CANONICAL = {
    "europeana:/2021672/o0": "europeana:/2021672/a_near0",
    "europeana:/2021672/o1": "europeana:/2021672/b_near1",
    "europeana:/2021672/o2": "europeana:/2021672/c_copy2",
}


def snapshot(spark: SparkSession, layout: LakehouseLayout) -> dict[str, object]:
    def rows(path: str) -> list[tuple]:
        return sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())

    return {
        "canonical": dict(rows(layout.canonical_ids)),
        "pairs": [(r[0], r[1], r[2], r[5]) for r in rows(layout.ml_duplicate_pairs)],
        "similar": [(r[0], r[1], r[2]) for r in rows(layout.ml_similar_objects)],
    }


def versions(spark: SparkSession, layout: LakehouseLayout) -> list[int]:
    return [
        table_version(spark, path)
        for path in (
            layout.ml_images,
            layout.ml_embeddings,
            layout.canonical_ids,
            layout.ml_duplicate_pairs,
            layout.ml_similar_objects,
        )
    ]


def ml_settings(live_settings: Settings, tmp_path: Path, allow: str) -> Settings:
    """The live stack with the tiny encoder, its thresholds and small commits."""
    environment = {
        **live_settings.environment,
        "HERITAGE_ML_THRESHOLDS": str(THRESHOLDS),
        "HERITAGE_ML_ENCODER": "tiny",
        "HERITAGE_ML_COMMIT_EVERY": "4",
        "HERITAGE_IMAGE_FETCH_ALLOW": allow,
    }
    return replace(live_settings, qdrant_path=tmp_path / "qdrant", environment=environment)


def export_ml(spark: SparkSession, settings: Settings, layout: LakehouseLayout) -> None:
    for spec in ml_export_specs(layout):
        export_table(spark, settings, layout.pg_database, spec)


def pg_rows(settings: Settings, layout: LakehouseLayout, query: str) -> list[tuple]:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        rows = sorted(cursor.fetchall())
    connection.close()
    return rows


@pytest.fixture
def namespaces(live_settings: Settings) -> Iterator[list[LakehouseLayout]]:
    import uuid

    made = []
    for name in ("full", "reverse", "shuffled"):
        layout = LakehouseLayout.namespaced(live_settings, f"t{uuid.uuid4().hex[:8]}{name}")
        prepare(live_settings, layout)
        made.append(layout)
    yield made
    for layout in made:
        drop_namespace(live_settings, layout)


def run_in_batches(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    records: Sequence[MlRecord],
    batches: int,
) -> None:
    arrived: list[MlRecord] = []
    size = -(-len(records) // batches)
    for start in range(0, len(records), size):
        arrived.extend(records[start : start + size])
        write_cleansed(spark, layout, arrived)
        run_ml_stage(spark, settings, layout)


def test_any_arrival_order_gives_the_same_duplicates_and_reruns_write_nothing(
    spark: SparkSession,
    live_settings: Settings,
    namespaces: list[LakehouseLayout],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve_demo_images(port=0) as base:
        allow = base.removeprefix("http://")
        monkeypatch.setenv("HERITAGE_IMAGE_FETCH_ALLOW", allow)
        settings = ml_settings(live_settings, tmp_path, allow)
        records = collection(base)
        shuffled = list(records)
        random.Random(5).shuffle(shuffled)
        full, reverse, mixed = namespaces
        run_in_batches(spark, settings, full, records, batches=1)
        run_in_batches(spark, settings, reverse, list(reversed(records)), batches=2)
        run_in_batches(spark, settings, mixed, shuffled, batches=2)

        expected = snapshot(spark, full)
        assert expected["canonical"] == EXPECTED_CANONICAL
        assert len(expected["similar"]) == len(records) * 9 - 6  # own group left out
        assert snapshot(spark, reverse) == expected
        assert snapshot(spark, mixed) == expected

        before = versions(spark, mixed)
        again = run_ml_stage(spark, settings, mixed)
        assert (again.fetch.attempted, again.embed.encoded) == (0, 0)
        assert versions(spark, mixed) == before

        export_ml(spark, settings, mixed)
        pairs = pg_rows(
            settings, mixed, "SELECT record_id, other_record_id FROM analytics.duplicate_pairs"
        )
        assert pairs == sorted((b, a) for a, b in EXPECTED_CANONICAL.items())
        similar = pg_rows(
            settings,
            mixed,
            "SELECT record_id, rank, similar_record_id FROM analytics.similar_objects",
        )
        assert similar == expected["similar"]

        # The near-duplicate of o0 is deleted: its group, pair and similar rows go, everywhere.
        remaining = [r for r in records if r.record_id != "europeana:/2021672/a_near0"]
        write_cleansed(spark, mixed, remaining)
        after = run_ml_stage(spark, settings, mixed)
        assert after.embed.removed == 1
        export_ml(spark, settings, mixed)
    canonical = snapshot(spark, mixed)["canonical"]
    assert canonical == {
        k: v for k, v in EXPECTED_CANONICAL.items() if k != "europeana:/2021672/o0"
    }
    assert len(pg_rows(settings, mixed, "SELECT * FROM analytics.duplicate_pairs")) == 2
    gone = pg_rows(
        settings,
        mixed,
        "SELECT record_id FROM analytics.similar_objects "
        "WHERE 'europeana:/2021672/a_near0' IN (record_id, similar_record_id)",
    )
    assert gone == []
    with open_vector_index(settings) as client:
        index = VectorIndex(client, mixed.qdrant_collection)
        assert index.record_ids() == sorted(r.record_id for r in remaining)
        similar = index.similar("europeana:/2021672/o1", k=3)
    assert len(similar) == 3
    assert all(s.record_id != "europeana:/2021672/b_near1" for s in similar)
