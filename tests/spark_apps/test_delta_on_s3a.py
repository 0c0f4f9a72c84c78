"""Delta on s3a:// against the running MinIO: write, read, MERGE, idempotent MERGE."""

from __future__ import annotations

import uuid

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from heritage.settings import Settings
from heritage.spark_apps.delta_tables import run_idempotent, table_version

pytestmark = pytest.mark.integration


def test_write_read_and_merge_a_delta_table_on_minio(
    spark: SparkSession, live_settings: Settings
) -> None:
    path = f"s3a://{live_settings.bucket}/tests/delta-{uuid.uuid4().hex[:8]}"
    spark.createDataFrame([(1, "a"), (2, "b")], "k int, v string").write.format("delta").save(path)
    assert sorted(spark.read.format("delta").load(path).collect()) == [(1, "a"), (2, "b")]

    updates = spark.createDataFrame([(2, "B"), (3, "c")], "k int, v string")

    def merge() -> None:
        (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(updates.alias("s"), "t.k = s.k")
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )

    run_idempotent(spark, "test-merge", 0, merge)
    assert table_version(spark, path) == 1
    assert sorted(spark.read.format("delta").load(path).collect()) == [(1, "a"), (2, "B"), (3, "c")]

    run_idempotent(spark, "test-merge", 0, merge)  # a replayed batch: skipped
    assert table_version(spark, path) == 1
    run_idempotent(spark, "test-merge", 1, merge)  # the next batch: applied (a no-op change)
    assert table_version(spark, path) == 2
    assert spark.read.format("delta").load(path).count() == 3
