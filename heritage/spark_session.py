"""The one Spark session factory: Delta, S3A to the configured object store, the Kafka source.

``local[2]`` by default; HERITAGE_SPARK_MASTER points it at a standalone cluster
(``spark://host:7077``) or Kubernetes (``k8s://https://...``), docs/spark_cluster.md. The jars
come from ``.state/jars/spark`` (fetched by ``make setup`` with Maven), not from
``--packages``.

Two things never reach a command line: pyspark starts the driver JVM with every builder
setting as a ``--conf`` argument, readable by every user in ``ps``, so the object store's
keys are set inside the running JVM instead (see :func:`_hand_over_object_store_keys`).
Spark's log4j output and the JVM's own warnings go to ``.state/logs/spark-<app>.log``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from heritage.services.processes import ServiceError
from heritage.settings import Settings

# S3A tries these in order: the keys this module sets in the running JVM's configuration
# (fs.s3a.access.key / fs.s3a.secret.key, never on a command line), then AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY in the JVM's environment, for deployments that give the executors
# the keys that way (a Kubernetes secret as environment, a worker's spark-env.sh).
S3A_CREDENTIAL_PROVIDERS = ",".join(
    (
        "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
    )
)

# How long S3A keeps trying an object store that does not answer before the call fails.
# Hadoop's defaults (5 SDK attempts inside each of 7 S3A retries, a 30 s connect and a 200 s
# read timeout) stall a stage silently for half a minute and more while the store is down;
# with these a refused connection fails the call in a few seconds, and the continuous runner
# (heritage.pipeline) reports the store as unreachable and retries the stage, which is
# idempotent. A dropped connection or one slow answer is still retried here: normal work
# does not get more fragile.
S3A_RETRY_CONF = {
    # AWS SDK retries of one request inside each S3A try (3 attempts in all).
    "spark.hadoop.fs.s3a.attempts.maximum": "2",
    # S3A's own retries of a call after a connection failure, with exponential backoff from
    # this interval (about 0.5 s, then 1 s).
    "spark.hadoop.fs.s3a.retry.limit": "2",
    "spark.hadoop.fs.s3a.retry.interval": "250ms",
    # Setting up a TCP connection; S3A raises anything lower to 15 s.
    "spark.hadoop.fs.s3a.connection.establish.timeout": "15s",
    # Silence allowed on an open connection: a hung store fails a call after a minute.
    "spark.hadoop.fs.s3a.connection.timeout": "60s",
}

# The driver's log4j2 configuration; the file it appends to comes from a system property
# so that one configuration serves every application name.
LOG4J2_PROPERTIES = """\
# Written by heritage.spark_session: Spark's driver logs go to the file named by the
# heritage.spark.log system property, never to the terminal.
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:heritage.spark.log}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss.SSS} %p %c{1}: %m%n%ex
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
# Known-noisy loggers, as in Spark's own log4j2 template.
logger.jetty.name = org.sparkproject.jetty
logger.jetty.level = warn
logger.parquet.name = org.apache.parquet
logger.parquet.level = error
logger.hadoop_native.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop_native.level = error
logger.metrics.name = org.apache.hadoop.metrics2
logger.metrics.level = error
"""


def spark_conf(settings: Settings, app_name: str = "heritage-lakehouse") -> dict[str, str]:
    """Every Spark setting the pipeline relies on, as plain key/value pairs (no secrets:
    pyspark puts each of them on the driver's command line)."""
    jars = sorted((settings.jars_dir / "spark").glob("*.jar"))
    if not any(jar.name.startswith("delta-spark") for jar in jars):
        raise ServiceError(
            f"spark: no Delta jars in {settings.jars_dir / 'spark'}; run `make setup` first"
        )
    return {
        **_jar_conf(settings.spark_master, jars),
        **_driver_log_conf(settings, app_name),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        # Every instant the pipeline keeps is UTC and no result may depend on this zone:
        # HERITAGE_SPARK_TIMEZONE lets the tests prove it under another one.
        "spark.sql.session.timeZone": settings.value("HERITAGE_SPARK_TIMEZONE", "UTC"),
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
        **_s3a_conf(settings),
    }


def _s3a_conf(settings: Settings) -> dict[str, str]:
    return {
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint": settings.s3_endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(
            settings.s3_endpoint.startswith("https")
        ).lower(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": S3A_CREDENTIAL_PROVIDERS,
        "spark.hadoop.fs.s3a.change.detection.mode": "none",
        "spark.hadoop.fs.s3a.committer.magic.enabled": "false",
        "spark.hadoop.fs.s3a.fast.upload": "true",
        "spark.hadoop.fs.s3a.connection.maximum": "64",
        **S3A_RETRY_CONF,
    }


def _jar_conf(master: str, jars: list[Path]) -> dict[str, str]:
    """How the jars reach the JVMs. In local mode the driver is the only JVM: the jars go on
    its class path as they are. ``spark.jars`` would copy all of them (681 MB, mostly the
    AWS SDK bundle) into a fresh ``/tmp/spark-*`` directory per session, which a killed
    process never removes. A cluster's executors need them shipped: ``spark.jars`` there
    (the driver serves them; each executor fetches them once per application)."""
    if master.startswith("local"):
        return {"spark.driver.extraClassPath": os.pathsep.join(str(jar) for jar in jars)}
    return {"spark.jars": ",".join(str(jar) for jar in jars)}


def spark_log_file(settings: Settings, app_name: str = "heritage-lakehouse") -> Path:
    """Where the driver of ``app_name`` writes Spark's log and the JVM's warnings."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", app_name)
    return settings.state_dir / "logs" / f"spark-{safe}.log"


def log4j2_properties_file(settings: Settings) -> Path:
    return settings.state_dir / "logs" / "spark-log4j2.properties"


def _driver_log_conf(settings: Settings, app_name: str) -> dict[str, str]:
    return {
        "spark.driver.extraJavaOptions": (
            f"-Dlog4j2.configurationFile={log4j2_properties_file(settings)} "
            f"-Dheritage.spark.log={spark_log_file(settings, app_name)}"
        )
    }


def _write_log4j2_properties(settings: Settings) -> None:
    path = log4j2_properties_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != LOG4J2_PROPERTIES:
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(LOG4J2_PROPERTIES, encoding="utf-8")
        os.replace(temporary, path)


@contextmanager
def _standard_error_to(log_file: Path) -> Iterator[None]:
    """Point this process's file descriptor 2 at ``log_file`` while the block runs: the JVM
    that pyspark starts inside it inherits that descriptor, so the JVM's own warnings (not
    log4j's: module access, SLF4J bindings) land in the log instead of the terminal."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    target = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    saved = os.dup(2)
    try:
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def _hand_over_object_store_keys(spark: SparkSession, settings: Settings) -> None:
    """Give S3A the object store's keys inside the running driver JVM (through py4j), never
    as a ``--conf`` argument. The SQL configuration is copied into the Hadoop configuration
    that every read and write serialises into its tasks, so a cluster's executors get the
    keys with their tasks; the SparkContext's own configuration serves direct FileSystem
    calls (heritage.hadoop_paths)."""
    keys = {
        "fs.s3a.access.key": settings.s3_access_key.reveal(),
        "fs.s3a.secret.key": settings.s3_secret_key.reveal(),
    }
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in keys.items():
        if value:
            hadoop_conf.set(key, value)
            spark.conf.set(key, value)


def quiet_python_spark_loggers() -> None:
    """py4j logs every gateway call at INFO/DEBUG; only warnings are worth a terminal line."""
    for name in ("py4j", "py4j.clientserver", "py4j.java_gateway", "pyspark"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_spark_session(
    settings: Settings, app_name: str, extra_conf: Mapping[str, str] | None = None
) -> SparkSession:
    """Get or create the process's Spark session configured for the lakehouse."""
    quiet_python_spark_loggers()
    _write_log4j2_properties(settings)
    builder = SparkSession.builder.master(settings.spark_master).appName(app_name)
    for key, value in {**spark_conf(settings, app_name), **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    log_file = spark_log_file(settings, app_name)
    try:
        with _standard_error_to(log_file):
            spark = builder.getOrCreate()
    except Exception as error:
        raise ServiceError(
            f"spark: could not start a session on {settings.spark_master} ({error}); see {log_file}"
        ) from error
    _hand_over_object_store_keys(spark, settings)
    spark.sparkContext.setLogLevel("WARN")
    return spark
