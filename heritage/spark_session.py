"""The one Spark session factory: Delta, S3A to the configured object store, the Kafka source.

``local[2]`` by default (HERITAGE_SPARK_MASTER changes it); the jars come from
``.state/jars/spark`` (fetched by ``make setup`` with Maven), not from ``--packages``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from heritage.services.processes import ServiceError
from heritage.settings import Settings


def spark_conf(settings: Settings) -> dict[str, str]:
    """Every Spark setting the pipeline relies on, as plain key/value pairs."""
    jars = sorted((settings.jars_dir / "spark").glob("*.jar"))
    if not any(jar.name.startswith("delta-spark") for jar in jars):
        raise ServiceError(
            f"spark: no Delta jars in {settings.jars_dir / 'spark'}; run `make setup` first"
        )
    return {
        **_jar_conf(settings.spark_master, jars),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        # Delta rebuilds a table's file list ("snapshot") in 50 partitions unless told
        # otherwise: on a few cores that is 50 tiny tasks, half a second, for every table a
        # query touches, and it dominated the incremental runs (docs/benchmarks.md).
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.default.parallelism": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Writes in this project are made idempotent by the pipeline itself (MERGE, txn ids).
        "spark.databricks.delta.merge.repartitionBeforeWrite.enabled": "true",
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint": settings.s3_endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
        "spark.hadoop.fs.s3a.access.key": settings.s3_access_key.reveal(),
        "spark.hadoop.fs.s3a.secret.key": settings.s3_secret_key.reveal(),
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(
            settings.s3_endpoint.startswith("https")
        ).lower(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        ),
        "spark.hadoop.fs.s3a.change.detection.mode": "none",
        "spark.hadoop.fs.s3a.committer.magic.enabled": "false",
        "spark.hadoop.fs.s3a.fast.upload": "true",
        "spark.hadoop.fs.s3a.connection.maximum": "64",
    }


def _jar_conf(master: str, jars: list[Path]) -> dict[str, str]:
    """How the jars reach the JVMs. In local mode the driver is the only JVM: the jars go on
    its class path as they are. ``spark.jars`` would copy all of them (681 MB, mostly the
    AWS SDK bundle) into a fresh ``/tmp/spark-*`` directory per session, which a killed
    process never removes. A cluster's executors need them shipped: ``spark.jars`` there."""
    if master.startswith("local"):
        return {"spark.driver.extraClassPath": os.pathsep.join(str(jar) for jar in jars)}
    return {"spark.jars": ",".join(str(jar) for jar in jars)}


def build_spark_session(
    settings: Settings, app_name: str, extra_conf: Mapping[str, str] | None = None
) -> SparkSession:
    """Get or create the process's Spark session configured for the lakehouse."""
    builder = SparkSession.builder.master(settings.spark_master).appName(app_name)
    for key, value in {**spark_conf(settings), **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
