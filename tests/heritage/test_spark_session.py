"""The Spark settings: where the jars go (pure; no JVM is started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from heritage.services.processes import ServiceError
from heritage.settings import load_settings
from heritage.spark_session import spark_conf


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
