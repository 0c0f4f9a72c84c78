"""What one 1% MERGE costs on a table the size of a namespace's cleansed records, by variant.

    HERITAGE_SPARK_DRIVER_MEMORY=8g python bench/merge_cost.py --namespace lakeprofile

Copies the cleansed records of a namespace built by `bench/lakehouse_profile.py` into two
scratch Delta tables with deletion vectors on, one with the change data feed and one
without, then runs rounds of MERGEs of a random 1% of the rows (their content_hash
changed, so every matched row applies), the variants alternating:

- `update, CDF on`: what cleanse and curate run today (WHEN MATCHED UPDATE);
- `update, CDF off`: the same on the table without the change data feed;
- `delete only, CDF off`: WHEN MATCHED DELETE of the same keys, then an append of the new
  rows (a replacement for an update that some designs propose);
- `update, no source copy`: the first variant with
  `spark.databricks.delta.merge.materializeSource=none` (Delta otherwise copies the MERGE
  source first, although the stages pass it already materialised).

Prints the wall time and Delta's own operation metrics per MERGE (scanTimeMs: phase 1,
finding the touched files; rewriteTimeMs: phase 2, writing the changed rows and the
deletion vectors). The scratch tables are removed at the end. The first round pays JVM
warm-up; read the later ones. Needs `heritage services up`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.delta_tables import commit_info, table_version
from heritage.hadoop_paths import delete_tree
from heritage.lakehouse_layout import LakehouseLayout
from heritage.services.stack import up
from heritage.settings import Settings
from heritage.spark_apps.record_validation import CLEANSED_COLUMNS
from heritage.spark_session import build_spark_session

_METRICS = ("executionTimeMs", "materializeSourceTimeMs", "scanTimeMs", "rewriteTimeMs")
_MATERIALIZE_SOURCE = "spark.databricks.delta.merge.materializeSource"


def _copy(spark: SparkSession, source: str, target: str, change_data_feed: bool) -> None:
    delete_tree(spark, target)
    (
        spark.read.format("delta")
        .load(source)
        .write.format("delta")
        .option("delta.enableDeletionVectors", "true")
        .option("delta.enableChangeDataFeed", str(change_data_feed).lower())
        .save(target)
    )


def _changed_sample(spark: SparkSession, path: str, fraction: float, seed: int) -> DataFrame:
    sample = (
        spark.read.format("delta")
        .load(path)
        .sample(fraction, seed=seed)
        .withColumn("content_hash", F.sha2(F.concat("content_hash", F.lit(str(seed))), 256))
    )
    checkpointed = sample.localCheckpoint()
    checkpointed.count()
    return checkpointed


def _update(spark: SparkSession, path: str, rows: DataFrame) -> None:
    columns = {name: f"s.{name}" for name in CLEANSED_COLUMNS}
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(rows.alias("s"), "t.record_id = s.record_id")
        .whenMatchedUpdate(condition="s.content_hash <> t.content_hash", set=columns)
        .execute()
    )


def _delete_then_append(spark: SparkSession, path: str, rows: DataFrame) -> None:
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(rows.select("record_id").alias("s"), "t.record_id = s.record_id")
        .whenMatchedDelete()
        .execute()
    )
    rows.select(*CLEANSED_COLUMNS).write.format("delta").mode("append").save(path)


def _update_without_source_copy(spark: SparkSession, path: str, rows: DataFrame) -> None:
    spark.conf.set(_MATERIALIZE_SOURCE, "none")
    try:
        _update(spark, path, rows)
    finally:
        spark.conf.unset(_MATERIALIZE_SOURCE)


def _merge_metrics(spark: SparkSession, path: str) -> str:
    """Delta's timings of the newest MERGE on ``path``, read from its commit file."""
    for version in range(table_version(spark, path), -1, -1):
        info = commit_info(spark, path, version) or {}
        if info.get("operation") == "MERGE":
            metrics = info.get("operationMetrics", {})
            return "  ".join(f"{name} {metrics.get(name, '?'):>6}" for name in _METRICS)
    return "no MERGE commit found"


def run(settings: Settings, namespace: str, rounds: int, fraction: float) -> None:
    layout = LakehouseLayout.namespaced(settings, namespace)
    spark = build_spark_session(settings, "heritage-merge-cost")
    scratch = f"{layout.cleansed_records}_merge_cost"
    with_cdf, without_cdf = f"{scratch}/cdf_on", f"{scratch}/cdf_off"
    try:
        if table_version(spark, layout.cleansed_records) < 0:
            raise SystemExit(
                f"merge_cost: namespace {namespace!r} has no cleansed table; build it first "
                f"with bench/lakehouse_profile.py --namespace {namespace} --rounds 0"
            )
        started = time.perf_counter()
        _copy(spark, layout.cleansed_records, with_cdf, change_data_feed=True)
        _copy(spark, layout.cleansed_records, without_cdf, change_data_feed=False)
        rows = spark.read.format("delta").load(with_cdf).count()
        print(f"copied {rows:,} rows twice in {time.perf_counter() - started:.1f} s", flush=True)
        variants: tuple[tuple[str, str, Callable[[SparkSession, str, DataFrame], None]], ...] = (
            ("update, CDF on", with_cdf, _update),
            ("update, CDF off", without_cdf, _update),
            ("delete only, CDF off", without_cdf, _delete_then_append),
            ("update, no source copy", with_cdf, _update_without_source_copy),
        )
        for number in range(1, rounds + 1):
            for offset, (label, path, merge) in enumerate(variants):
                changed = _changed_sample(spark, path, fraction, seed=100 * number + offset)
                started = time.perf_counter()
                merge(spark, path, changed)
                wall = time.perf_counter() - started
                print(
                    f"round {number}  {label:<22} {wall:6.2f} s wall  "
                    f"{_merge_metrics(spark, path)}",
                    flush=True,
                )
    finally:
        delete_tree(spark, scratch)
        spark.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--namespace", default="lakeprofile", help="namespace built by lakehouse_profile.py"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the variants (3)")
    parser.add_argument(
        "--fraction", type=float, default=0.01, help="share of the rows changed (0.01)"
    )
    args = parser.parse_args()
    run(up(report=lambda _line: None), args.namespace, args.rounds, args.fraction)


if __name__ == "__main__":
    main()
