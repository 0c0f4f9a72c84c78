"""SIGKILL `heritage ml embed` at a random point, restart: nothing lost, nothing embedded twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from ml_test_records import MlRecord, write_cleansed
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.demo_image_server import serve_demo_images
from heritage.ml.embedding_job import filter_records_to_embed, run_embedding_job
from heritage.ml.encoders import TINY_ENCODER_NAME
from heritage.ml.image_fetch import run_image_fetch
from heritage.ml.image_url_policy import UrlPolicy, parse_allow_list
from heritage.ml.vector_index import VectorIndex, open_vector_index
from heritage.object_store import object_store_client
from heritage.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.integration

RECORDS = 40
COMMIT_EVERY = 4


def committed_versions(settings: Settings, layout: LakehouseLayout) -> int:
    """Commits in ml/embeddings' Delta log (read from the store, without Spark)."""
    prefix = layout.ml_embeddings.removeprefix(f"s3a://{settings.bucket}/") + "/_delta_log/"
    objects = object_store_client(settings).list_objects(settings.bucket, prefix=prefix)
    return sum(1 for o in objects if (o.object_name or "").endswith(".json"))


def pending_count(spark: SparkSession, layout: LakehouseLayout) -> int:
    read = spark.read.format("delta")
    return filter_records_to_embed(
        read.load(layout.ml_images),
        read.load(layout.cleansed_records),
        read.load(layout.ml_embeddings),
        TINY_ENCODER_NAME,
    ).count()


def test_killed_embedding_job_resumes_without_loss_or_double_work(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout, tmp_path: Path
) -> None:
    settings = replace(live_settings, qdrant_path=tmp_path / "qdrant")
    with serve_demo_images(port=0) as base:
        records = [
            MlRecord(
                f"europeana:/2021672/k{i:03d}",
                f"{base}/media/2021672/iiif/k{i:03d}/full/max/0/default.jpg",
                title=f"Study {i}",
            )
            for i in range(RECORDS)
        ]
        write_cleansed(spark, layout, records)
        policy = UrlPolicy(parse_allow_list(base.removeprefix("http://")))
        assert run_image_fetch(spark, settings, layout, policy=policy).stored == RECORDS

    namespace = layout.table_root.partition("/ns/")[2]
    env = {
        **os.environ,
        "HERITAGE_QDRANT_PATH": str(settings.qdrant_path),
        "HERITAGE_ML_ENCODER": "tiny",
        "HERITAGE_ML_COMMIT_EVERY": str(COMMIT_EVERY),
        "HERITAGE_ML_BATCH_SIZE": "2",
    }
    rng = random.Random()
    kill_after_commits = rng.randint(1, RECORDS // COMMIT_EVERY - 3)
    job = subprocess.Popen(
        [sys.executable, "-m", "heritage.cli", "ml", "embed", "--namespace", namespace, "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        # Version 0 creates the table; each later commit is one batch of state.
        while committed_versions(settings, layout) < 1 + kill_after_commits:
            assert job.poll() is None, "the embedding job ended before it could be killed"
            assert time.monotonic() < deadline, "the embedding job committed nothing in time"
            time.sleep(0.2)
        time.sleep(rng.uniform(0, 1.5))
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()

    without_state = pending_count(spark, layout)
    assert 0 < without_state < RECORDS
    restarted = run_embedding_job(spark, settings, layout)
    assert restarted.encoded == without_state
    assert pending_count(spark, layout) == 0

    state = spark.read.format("delta").load(layout.ml_embeddings)
    assert state.count() == RECORDS
    assert state.select(F.countDistinct("record_id")).first()[0] == RECORDS
    with open_vector_index(settings) as client:
        index = VectorIndex(client, layout.qdrant_collection)
        assert index.count() == RECORDS
        assert index.record_ids() == sorted(r.record_id for r in records)
