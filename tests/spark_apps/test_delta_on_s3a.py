"""Delta on s3a:// against the running MinIO: write, read, MERGE, idempotent MERGE."""

from __future__ import annotations

import uuid

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from heritage.settings import Settings
from heritage.spark_apps.delta_tables import (
    ChangeLog,
    ensure_delta_table,
    merge_then_append,
    run_idempotent,
    table_version,
)
from heritage.spark_apps.table_schemas import change_log_schema

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


def test_merge_then_append_upserts_once_per_guard_and_tags_its_last_commit(
    spark: SparkSession, live_settings: Settings
) -> None:
    path = f"s3a://{live_settings.bucket}/tests/upsert-{uuid.uuid4().hex[:8]}"
    spark.createDataFrame([(1, "a"), (2, "b"), (4, "d")], "k int, v string").write.format(
        "delta"
    ).save(path)
    changes = spark.createDataFrame(
        [(2, "B", False), (3, "c", False), (4, None, True), (5, None, True)],
        "k int, v string, gone boolean",
    )

    def upsert(guard: tuple[str, int]) -> None:
        merge_then_append(
            spark,
            path,
            changes,
            ("k", "k"),
            delete_when="s.gone",
            update_when="NOT s.gone",
            update_set={"v": "s.v"},
            insert_when=~F.col("gone"),
            guard=guard,
            last_commit_metadata='{"batch": 0}',
        )

    upsert(("test-upsert", 0))
    rows = sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())
    assert rows == [(1, "a"), (2, "B"), (3, "c")]  # updated, inserted, deleted; 5 never existed
    history = DeltaTable.forPath(spark, path).history().orderBy("version").collect()
    assert [h["operation"] for h in history[1:]] == ["MERGE", "WRITE"]
    assert [h["userMetadata"] for h in history[1:]] == [None, '{"batch": 0}']

    upsert(("test-upsert", 0))  # the same batch replayed: both commits skipped
    assert table_version(spark, path) == 2

    # A crash after the first commit: the replay makes only the second.
    spark.createDataFrame([(1, "a"), (2, "b")], "k int, v string").write.format("delta").mode(
        "overwrite"
    ).save(path)
    run_idempotent(  # the first commit of batch 1, made before the crash
        spark,
        "test-upsert",
        1,
        lambda: (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(changes.alias("s"), "t.k = s.k")
            .whenMatchedUpdate(set={"v": "'X'"})
            .execute()
        ),
    )
    upsert(("test-upsert", 1))
    rows = sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())
    assert rows == [(1, "a"), (2, "X"), (3, "c")]  # the update was not applied again


def test_merge_then_append_logs_exactly_the_changes_it_applies(
    spark: SparkSession, live_settings: Settings
) -> None:
    root = f"s3a://{live_settings.bucket}/tests/logged-{uuid.uuid4().hex[:8]}"
    path, log = f"{root}/table", f"{root}/changes"
    schema = StructType([StructField("k", IntegerType()), StructField("v", StringType())])
    spark.createDataFrame([(1, "a"), (2, "b"), (4, "d")], schema).write.format("delta").save(path)
    ensure_delta_table(spark, log, change_log_schema(schema, "k"), change_data_feed=True)
    changes = spark.createDataFrame(
        [(1, "a", False), (2, "B", False), (3, "c", False), (4, "x", True), (5, None, True)],
        "k int, v string, gone boolean",
    )

    def upsert(guard: tuple[str, int]) -> None:
        merge_then_append(
            spark,
            path,
            changes,
            ("k", "k"),
            delete_when="s.gone",
            update_when="NOT s.gone AND s.v <> t.v",
            insert_when=~F.col("gone"),
            guard=guard,
            change_log=ChangeLog(log, ("v",)),
        )

    upsert(("test-logged", 0))
    table = sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())
    assert table == [(1, "a"), (2, "B"), (3, "c")]
    logged = sorted(tuple(r) for r in spark.read.format("delta").load(log).collect())
    # 1 is unchanged and 5 never existed: neither is a change. A delete keeps only its key.
    assert logged == [(2, "B", False), (3, "c", False), (4, None, True)]
    assert table_version(spark, log) == 1

    upsert(("test-logged", 0))  # a replay: no second log commit
    upsert(("test-logged", 1))  # the same rows as a new batch: nothing changes, nothing logged
    assert table_version(spark, log) == 1
