"""The image stage against the real stack: local HTTP server -> MinIO + ml/images -> PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from http_server import serve
from ml_test_images import Reply, image_bytes
from ml_test_records import MlRecord, write_cleansed
from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.image_fetch import original_key, run_image_fetch
from heritage.ml.image_url_policy import UrlPolicy, parse_allow_list
from heritage.object_store import object_store_client
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.source_settings import IMAGE_HTTP_POLICY, ImageFetchConfig
from heritage.spark_apps.ml_export import ml_export_specs
from heritage.spark_apps.postgres_export import export_table

pytestmark = pytest.mark.integration

JPEG = image_bytes("JPEG", (640, 480))
# One attempt per run and no wait before retrying on the next run.
CONFIG = ImageFetchConfig(
    retry_after_s=0.0,
    total_timeout_s=5.0,
    http=replace(IMAGE_HTTP_POLICY, max_attempts=1, read_timeout_s=2.0),
)


def delta_images(spark: SparkSession, layout: LakehouseLayout) -> dict[str, dict]:
    rows = spark.read.format("delta").load(layout.ml_images).collect()
    return {r.record_id: r.asDict() for r in rows}


def pg_images(settings: Settings, layout: LakehouseLayout) -> dict[str, tuple]:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT record_id, status, sha256, thumbnail_key, attempts, failure_reason "
            "FROM analytics.object_images"
        )
        rows = {r[0]: r[1:] for r in cursor.fetchall()}
    connection.close()
    return rows


def test_images_are_stored_failures_retried_and_changes_refetched(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout, tmp_path: Path
) -> None:
    settings = replace(live_settings, qdrant_path=tmp_path / "qdrant")
    routes = {
        "/ok.jpg": lambda _n: Reply(body=JPEG),
        "/ok2.png": lambda _n: Reply(body=image_bytes("PNG", (200, 100)), content_type="image/png"),
        "/flaky.jpg": lambda r: Reply(body=JPEG) if r.hit >= 2 else Reply(500, b"busy"),
        "/page.html": lambda _n: Reply(body=b"<html></html>", content_type="text/html"),
    }
    with serve(routes) as server:
        policy = UrlPolicy(parse_allow_list(server.base_url.removeprefix("http://")))
        records = [
            MlRecord("t:ok", f"{server.base_url}/ok.jpg"),
            MlRecord("t:flaky", f"{server.base_url}/flaky.jpg"),
            MlRecord("t:missing", f"{server.base_url}/missing.jpg"),
            MlRecord("t:html", f"{server.base_url}/page.html"),
            MlRecord("t:internal", "http://169.254.169.254/latest/meta-data/"),
            MlRecord("t:none", None),
        ]
        write_cleansed(spark, layout, records)
        first = run_image_fetch(spark, settings, layout, CONFIG, policy)
        images = delta_images(spark, layout)
        assert (first.attempted, first.stored, first.failed) == (5, 1, 4)
        assert set(images) == {"t:ok", "t:flaky", "t:missing", "t:html", "t:internal"}
        ok = images["t:ok"]
        assert (ok["status"], ok["width"], ok["height"], ok["attempts"]) == ("stored", 640, 480, 1)
        assert ok["thumbnail_key"] == f"{layout.image_prefix}/thumbnails/{ok['sha256']}.jpg"
        assert "HTTP 500" in images["t:flaky"]["failure_reason"]
        assert "HTTP 404" in images["t:missing"]["failure_reason"]
        assert "not image/" in images["t:html"]["failure_reason"]
        assert "link-local" in images["t:internal"]["failure_reason"]
        store = object_store_client(settings)
        original = store.get_object(settings.bucket, original_key(layout, ok["sha256"]))
        assert original.read() == JPEG
        original.close()
        assert store.stat_object(settings.bucket, ok["thumbnail_key"]).size > 0

        second = run_image_fetch(spark, settings, layout, CONFIG, policy)
        images = delta_images(spark, layout)
        assert (second.attempted, second.stored) == (4, 1)
        assert images["t:flaky"]["status"] == "stored" and images["t:flaky"]["attempts"] == 2
        assert images["t:missing"]["status"] == "failed" and images["t:missing"]["attempts"] == 2
        assert server.hits["/ok.jpg"] == 1

        changed = [MlRecord("t:ok", f"{server.base_url}/ok2.png"), *records[1:3], records[5]]
        write_cleansed(spark, layout, changed)
        third = run_image_fetch(spark, settings, layout, CONFIG, policy)
        images = delta_images(spark, layout)
    assert third.removed == 2 and set(images) == {"t:ok", "t:flaky", "t:missing"}
    assert images["t:ok"]["content_type"] == "image/png" and images["t:ok"]["attempts"] == 1
    assert images["t:missing"]["attempts"] == 3

    for spec in ml_export_specs(layout):
        export_table(spark, settings, layout.pg_database, spec)
    exported = pg_images(settings, layout)
    assert set(exported) == set(images)
    for record_id, row in images.items():
        assert exported[record_id][:4] == (
            row["status"],
            row["sha256"],
            row["thumbnail_key"],
            row["attempts"],
        )
