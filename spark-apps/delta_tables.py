"""Small Delta helpers shared by the stages: create from a schema, read the version, and
run a MERGE under an idempotency guard."""

from __future__ import annotations

from collections.abc import Callable

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
TXN_VERSION = "spark.databricks.delta.write.txnVersion"


def ensure_delta_table(
    spark: SparkSession, path: str, schema: StructType, change_data_feed: bool = False
) -> None:
    """Create the table at ``path`` with ``schema`` if absent (version 0); else nothing."""
    builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
    if change_data_feed:
        builder = builder.property("delta.enableChangeDataFeed", "true")
    builder.execute()


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
