"""Small files and directories on the lakehouse's file system (s3a://, or a local path in
tests), through the Hadoop FileSystem of the Spark session."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession


def _filesystem(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    location = jvm.org.apache.hadoop.fs.Path(path)
    return location.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), location


def exists(spark: SparkSession, path: str) -> bool:
    filesystem, location = _filesystem(spark, path)
    return bool(filesystem.exists(location))


def delete_tree(spark: SparkSession, path: str) -> None:
    filesystem, location = _filesystem(spark, path)
    filesystem.delete(location, True)


def read_text(spark: SparkSession, path: str) -> str | None:
    """The UTF-8 text of the file at ``path``; None when there is none."""
    filesystem, location = _filesystem(spark, path)
    if not filesystem.exists(location):
        return None
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    stream = filesystem.open(location)
    try:
        return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write (or replace) the file at ``path``; on S3 the object appears whole or not at all."""
    filesystem, location = _filesystem(spark, path)
    stream = filesystem.create(location, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()
