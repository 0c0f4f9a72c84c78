"""A small collection produced by the real pipeline for the dashboard's tests, with ML
outputs seeded the way the ML job's export writes them, so every page has something to show."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from dashboard_fixtures import (
    RECORDS,
    SEED,
    DashboardData,
    publish_annotations,
    publish_every_object,
    seed_ml_outputs,
)
from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.settings import Settings


@pytest.fixture(scope="session")
def dashboard_data(live_settings: Settings, spark: SparkSession) -> Iterator[DashboardData]:
    """One pipeline run per test session (Spark is the slow part)."""
    from heritage.lakehouse_namespaces import drop_namespace
    from heritage.pipeline import prepare, produce_sample, run_stages

    layout = LakehouseLayout.namespaced(live_settings, f"d{uuid.uuid4().hex[:10]}")
    prepare(live_settings, layout)
    manifest = generate_sample_collection(RECORDS, SEED).manifest
    annotated = sorted(manifest.valid_record_ids)[0]
    produce_sample(live_settings, layout, RECORDS, SEED, progress=False)
    publish_annotations(live_settings, layout, annotated)
    # The ML stage's outputs are seeded below, so these tests do not wait for embeddings.
    for stage in ("raw", "cleanse", "curate", "export"):
        run_stages(live_settings, layout, stage=stage, spark=spark)
    groups = seed_ml_outputs(live_settings, layout, manifest)
    publish_every_object(live_settings, layout.pg_database)
    yield DashboardData(layout, manifest, groups, annotated)
    drop_namespace(live_settings, layout)


@pytest.fixture
def app_env(live_settings: Settings) -> Iterator[None]:
    """The app reads its settings from the environment, as `heritage dashboard` passes them."""
    from heritage.dashboard.connection_pool import cached_rows

    saved = dict(os.environ)
    os.environ.update(live_settings.as_environment())
    cached_rows.clear()
    yield
    cached_rows.clear()
    os.environ.clear()
    os.environ.update(saved)
