"""Small Delta helpers shared by the stages: create from a schema, read the version, and
run a MERGE under an idempotency guard."""

from __future__ import annotations

from collections.abc import Callable

from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from heritage.spark_apps.hadoop_paths import delete_tree, exists

TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
TXN_VERSION = "spark.databricks.delta.write.txnVersion"


def ensure_delta_table(
    spark: SparkSession,
    path: str,
    schema: StructType,
    change_data_feed: bool = False,
    deletion_vectors: bool = False,
) -> None:
    """Create the table at ``path`` with ``schema`` if absent (version 0); else nothing.

    ``deletion_vectors`` suits MERGE targets: a MERGE that changes a few rows then marks
    them in small deletion-vector files instead of rewriting every Parquet file holding one
    of them, so an incremental run costs in proportion to the change, not to the table.
    """
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
    if change_data_feed:
        builder = builder.property("delta.enableChangeDataFeed", "true")
    if deletion_vectors:
        builder = builder.property("delta.enableDeletionVectors", "true")
    try:
        builder.execute()
    except AnalysisException as error:
        if "DELTA_TABLE_NOT_FOUND" not in str(error) or not _remove_uncommitted_table(spark, path):
            raise
        builder.execute()


def _remove_uncommitted_table(spark: SparkSession, path: str) -> bool:
    """A process killed while creating a table can leave files at its location but no first
    commit; Delta then neither reads nor creates it. With no commit there is nothing to
    keep: remove the leftovers. Returns False (and removes nothing) if a commit exists."""
    if exists(spark, f"{path}/_delta_log/{0:020d}.json"):
        return False
    delete_tree(spark, path)
    return True


def table_version(spark: SparkSession, path: str) -> int:
    last = DeltaTable.forPath(spark, path).history(1).select("version").first()
    return int(last[0]) if last else -1


def run_idempotent(
    spark: SparkSession, app_id: str, version: int, write: Callable[[], None]
) -> None:
    """Run a Delta write (a MERGE, say) at most once per (app_id, version).

    Delta records the pair in the commit and skips any later write that carries the same
    pair, so a micro-batch replayed after a crash does not apply twice.
    """
    spark.conf.set(TXN_APP_ID, app_id)
    spark.conf.set(TXN_VERSION, str(version))
    try:
        write()
    finally:
        spark.conf.unset(TXN_APP_ID)
        spark.conf.unset(TXN_VERSION)
