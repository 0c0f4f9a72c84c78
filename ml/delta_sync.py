"""Bring a small keyed Delta table to a desired set of rows, writing only the difference.

The duplicate stage recomputes its outputs from all current embeddings; this keeps a rerun
that changes nothing from writing a Delta version, and turns rows that disappeared into
deletes (which the change data feed carries on to PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

Key = tuple[Any, ...]


@dataclass(frozen=True)
class SyncResult:
    upserted: int
    deleted: int

    @property
    def changed(self) -> bool:
        return bool(self.upserted or self.deleted)


def _normal(value: Any) -> Any:
    """Floats as the float32 the table stores, so a stored row compares equal to its source."""
    return float(np.float32(value)) if isinstance(value, float) else value


def diff_rows(
    current: Iterable[Sequence[Any]], desired: Iterable[Sequence[Any]], key_size: int
) -> tuple[list[tuple[Any, ...]], list[Key]]:
    """(rows to upsert, keys to delete) turning ``current`` into ``desired``; the first
    ``key_size`` fields of a row are its key."""
    have = {tuple(row[:key_size]): tuple(_normal(v) for v in row) for row in current}
    want = {tuple(row[:key_size]): tuple(_normal(v) for v in row) for row in desired}
    upserts = [row for key, row in sorted(want.items()) if have.get(key) != row]
    deletes = sorted(key for key in have if key not in want)
    return upserts, deletes


def removal_rows(
    spark: SparkSession,
    keys: Sequence[Sequence[Any]],
    schema: StructType,
    key_columns: Sequence[str],
) -> DataFrame:
    """Rows of ``schema`` carrying only the given keys (other columns null) and ``_remove``
    true, to union with upserts in one MERGE source."""

    key_schema = StructType([f for f in schema.fields if f.name in key_columns])
    frame = spark.createDataFrame([tuple(k) for k in keys], key_schema)
    return frame.select(
        *(
            F.col(f.name) if f.name in key_columns else F.lit(None).cast(f.dataType).alias(f.name)
            for f in schema.fields
        ),
        F.lit(True).alias("_remove"),
    )


def sync_table(
    spark: SparkSession,
    path: str,
    schema: StructType,
    key_columns: Sequence[str],
    desired: Iterable[Sequence[Any]],
) -> SyncResult:
    """MERGE only the changed rows of ``desired`` into the table at ``path``, deleting rows
    whose key is no longer desired; no change, no commit."""

    names = [f.name for f in schema.fields]
    current = spark.read.format("delta").load(path).select(*names).collect()
    upserts, deletes = diff_rows(
        (tuple(r) for r in current), (tuple(r) for r in desired), len(key_columns)
    )
    if not upserts and not deletes:
        return SyncResult(0, 0)
    source: DataFrame | None = None
    if upserts:
        source = spark.createDataFrame(upserts, schema).withColumn("_remove", F.lit(False))
    if deletes:
        removed = removal_rows(spark, deletes, schema, key_columns)
        source = removed if source is None else source.unionByName(removed)
    assert source is not None
    condition = " AND ".join(f"t.{name} = s.{name}" for name in key_columns)
    columns: dict[str, str | Column] = {name: f"s.{name}" for name in names}
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(source.alias("s"), condition)
        .whenMatchedDelete(condition="s._remove")
        .whenMatchedUpdate(condition="NOT s._remove", set=columns)
        .whenNotMatchedInsert(condition="NOT s._remove", values=columns)
        .execute()
    )
    return SyncResult(len(upserts), len(deletes))
