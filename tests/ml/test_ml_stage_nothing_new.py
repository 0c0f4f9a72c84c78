"""The ml stage's adapter on the real stack: a second run with nothing new stops before any
work (no encoder loaded, no table version written), and new input is picked up again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from ml_test_records import MlRecord, write_cleansed
from pyspark.sql import SparkSession

from heritage.delta_tables import table_version
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml import ml_stage
from heritage.ml.demo_image_server import serve_demo_images
from heritage.ml.encoders import encoder_loads
from heritage.settings import Settings
from heritage.stage_contract import StageContext, StageResult

pytestmark = pytest.mark.integration

THRESHOLDS = Path(__file__).with_name("tiny_encoder_thresholds.toml")


def run_stage(spark: SparkSession, settings: Settings, layout: LakehouseLayout) -> StageResult:
    """One pipeline run's view of the stage: a fresh context, configuration loaded anew."""
    return ml_stage.run(StageContext(settings, layout, lambda _settings: spark))


def ml_versions(spark: SparkSession, layout: LakehouseLayout) -> list[int]:
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


def test_a_rerun_with_nothing_new_is_idle_and_loads_no_encoder(
    spark: SparkSession,
    live_settings: Settings,
    layout: LakehouseLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve_demo_images(port=0) as base:
        allow = base.removeprefix("http://")
        monkeypatch.setenv("HERITAGE_IMAGE_FETCH_ALLOW", allow)
        environment = {
            **live_settings.environment,
            "HERITAGE_ML_ENCODER": "tiny",
            "HERITAGE_ML_THRESHOLDS": str(THRESHOLDS),
            "HERITAGE_IMAGE_FETCH_ALLOW": allow,
        }
        settings = replace(live_settings, qdrant_path=tmp_path / "qdrant", environment=environment)

        def record(i: int, image: bool = True) -> MlRecord:
            url = f"{base}/media/2021672/iiif/n{i}/full/max/0/default.jpg" if image else None
            return MlRecord(f"europeana:/2021672/n{i}", url, title=f"Study {i}")

        records = [record(i) for i in range(4)]
        write_cleansed(spark, layout, records)
        first = run_stage(spark, settings, layout)
        assert not first.nothing_new and first.rows == 8  # 4 images fetched, 4 encoded

        loads, versions = encoder_loads(), ml_versions(spark, layout)
        second = run_stage(spark, settings, layout)
        assert second.nothing_new
        assert encoder_loads() == loads
        assert ml_versions(spark, layout) == versions

        # New cleansed rows without an image: the stage looks, finds nothing to embed, and
        # still loads no encoder (it knows the model from its last run).
        write_cleansed(spark, layout, [*records, record(10, image=False)])
        assert run_stage(spark, settings, layout).nothing_new
        assert encoder_loads() == loads

        # A new record with an image is fetched and embedded.
        write_cleansed(spark, layout, [*records, record(10, image=False), record(4)])
        third = run_stage(spark, settings, layout)
        assert (third.nothing_new, third.rows) == (False, 2)
        assert encoder_loads() == loads + 1
        assert run_stage(spark, settings, layout).nothing_new
