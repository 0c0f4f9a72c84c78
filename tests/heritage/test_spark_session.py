"""The Spark settings: where the jars go (pure; no JVM is started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from heritage.services.processes import ServiceError
from heritage.settings import load_settings
from heritage.spark_session import LOG4J2_PROPERTIES, spark_conf, spark_log_file


def _settings_with_jars(state: Path, master: str):  # type: ignore[no-untyped-def]
    jars = state / "jars" / "spark"
    jars.mkdir(parents=True)
    for name in ("delta-spark_2.13-4.4.1.jar", "hadoop-aws-3.4.2.jar"):
        (jars / name).write_bytes(b"")
    return load_settings({"HERITAGE_STATE_DIR": str(state), "HERITAGE_SPARK_MASTER": master})


def test_local_mode_puts_the_jars_on_the_driver_class_path_without_copying_them(
    tmp_path: Path,
) -> None:
    conf = spark_conf(_settings_with_jars(tmp_path, "local[2]"))
    # spark.jars would copy every jar into a /tmp/spark-* directory per session.
    assert "spark.jars" not in conf
    assert conf["spark.driver.extraClassPath"].split(os.pathsep) == [
        str(tmp_path / "jars" / "spark" / "delta-spark_2.13-4.4.1.jar"),
        str(tmp_path / "jars" / "spark" / "hadoop-aws-3.4.2.jar"),
    ]


def test_a_cluster_master_ships_the_jars_to_its_executors(tmp_path: Path) -> None:
    conf = spark_conf(_settings_with_jars(tmp_path, "spark://spark-master:7077"))
    assert "spark.driver.extraClassPath" not in conf
    assert conf["spark.jars"].split(",")[0].endswith("delta-spark_2.13-4.4.1.jar")


def test_missing_jars_name_the_fix(tmp_path: Path) -> None:
    settings = load_settings({"HERITAGE_STATE_DIR": str(tmp_path)})
    with pytest.raises(ServiceError, match="make setup"):
        spark_conf(settings)


def test_no_setting_carries_a_secret_because_pyspark_puts_them_on_the_command_line(
    tmp_path: Path,
) -> None:
    _settings_with_jars(tmp_path, "local[2]")
    with_keys = load_settings(
        {
            "HERITAGE_STATE_DIR": str(tmp_path),
            "HERITAGE_SPARK_MASTER": "spark://spark-master:7077",
            "AWS_ACCESS_KEY_ID": "heritage-key-id",
            "AWS_SECRET_ACCESS_KEY": "not-on-any-command-line",
        }
    )
    conf = spark_conf(with_keys)
    assert not [key for key, value in conf.items() if "not-on-any-command-line" in value]
    assert not [key for key, value in conf.items() if "heritage-key-id" in value]
    # S3A finds the keys set in the running JVM first, then the JVM's environment.
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].split(",") == [
        "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
    ]


def test_the_driver_logs_to_a_file_per_application_in_the_state_folder(tmp_path: Path) -> None:
    settings = _settings_with_jars(tmp_path, "local[2]")
    options = spark_conf(settings, "heritage tests/1")["spark.driver.extraJavaOptions"].split()
    log_file = spark_log_file(settings, "heritage tests/1")
    assert log_file == tmp_path / "logs" / "spark-heritage_tests_1.log"
    assert f"-Dheritage.spark.log={log_file}" in options
    assert f"-Dlog4j2.configurationFile={tmp_path / 'logs' / 'spark-log4j2.properties'}" in options
    assert "${sys:heritage.spark.log}" in LOG4J2_PROPERTIES
