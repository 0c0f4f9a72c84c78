"""Delta on s3a:// against the running MinIO: write, read, MERGE, idempotent MERGE."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.delta_tables import (
    USER_METADATA,
    append_once,
    commit_info,
    merge_then_append,
    run_idempotent,
    table_version,
)
from heritage.settings import Settings

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
            lambda merge: merge.whenMatchedDelete(condition="s.gone").whenMatchedUpdate(
                condition="NOT s.gone", set={"v": "s.v"}
            ),
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


def test_merge_then_append_appends_what_the_lookup_before_the_merge_found_new(
    spark: SparkSession, live_settings: Settings
) -> None:
    """A key the MERGE deletes is not appended again: the rows to append are decided by the
    lookup made before the MERGE, not by one Spark rebuilds from the table after it."""
    path = f"s3a://{live_settings.bucket}/tests/lookup-{uuid.uuid4().hex[:8]}"
    spark.createDataFrame([(1, "a"), (2, "b")], "k int, v string").write.format("delta").save(path)
    changes = spark.createDataFrame(
        [(2, None, True), (3, "c", False)], "k int, v string, gone boolean"
    ).persist()
    try:
        merge_then_append(
            spark,
            path,
            changes,
            ("k", "k"),
            lambda merge: merge.whenMatchedDelete(condition="s.gone"),
            insert_when=F.lit(True),
        )
    finally:
        changes.unpersist()
    rows = sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())
    assert rows == [(1, "a"), (3, "c")]


def test_commit_info_reads_a_commit_from_the_log(
    spark: SparkSession, live_settings: Settings
) -> None:
    path = f"s3a://{live_settings.bucket}/tests/commits-{uuid.uuid4().hex[:8]}"
    spark.createDataFrame([(1, "a"), (2, "b")], "k int, v string").write.format("delta").save(path)
    spark.conf.set(USER_METADATA, '{"run": 1}')
    try:
        spark.createDataFrame([(3, "c")], "k int, v string").write.format("delta").mode(
            "append"
        ).save(path)
    finally:
        spark.conf.unset(USER_METADATA)
    first, second = commit_info(spark, path, 0), commit_info(spark, path, 1)
    assert first is not None and second is not None
    assert second["userMetadata"] == '{"run": 1}' and "userMetadata" not in first
    assert second["operationMetrics"]["numOutputRows"] == "1"
    assert commit_info(spark, path, 2) is None


def test_writes_inside_foreach_batch_keep_their_guard_and_metadata(
    spark: SparkSession, live_settings: Settings, tmp_path: Path
) -> None:
    """foreachBatch hands each micro-batch over in the stream's own clone of the session,
    where settings made on the outer session are not seen: the append's guard and commit
    metadata must still take effect there."""
    base = f"s3a://{live_settings.bucket}/tests/stream-{uuid.uuid4().hex[:8]}"
    source, target, listed = f"{base}/source", f"{base}/target", f"{base}/listed"
    spark.createDataFrame([(1, "a"), (2, "b")], "k int, v string").write.format("delta").save(
        source
    )
    spark.createDataFrame([], "k int, v string").write.format("delta").save(target)
    spark.createDataFrame([], "k int, v string").write.format("delta").save(listed)

    def handle(batch: DataFrame, batch_id: int) -> None:
        rows = batch.persist()
        try:
            for _ in range(2):  # the second time is a replay of the same batch: skipped
                append_once(rows, listed, ("test-stream:listed", batch_id))
            merge_then_append(
                spark,
                target,
                rows,
                ("k", "k"),
                lambda merge: merge.whenMatchedUpdate(set={"v": "s.v"}),
                insert_when=F.lit(True),
                guard=("test-stream", batch_id),
                last_commit_metadata=f'{{"batch": {batch_id}}}',
            )
        finally:
            rows.unpersist()

    (
        spark.readStream.format("delta")
        .load(source)
        .writeStream.foreachBatch(handle)
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .trigger(availableNow=True)
        .start()
        .awaitTermination()
    )
    assert spark.read.format("delta").load(listed).count() == 2
    newest = commit_info(spark, target, table_version(spark, target))
    assert newest is not None and newest["userMetadata"] == '{"batch": 0}'
