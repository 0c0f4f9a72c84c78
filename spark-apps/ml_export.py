"""Export of the ML tables (images, duplicate pairs, similar objects) into PostgreSQL.

The same pattern as the records' export (:mod:`heritage.spark_apps.postgres_export`): the
change data feed since the last exported version, the last change per key, COPY into a
staging table, upsert; keys whose last change is a delete are deleted in PostgreSQL too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from heritage.curated_columns import TIMESTAMP_TEXT
from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.export_spec import ExportSpec


def latest_keyed_changes(
    keys: Sequence[str], columns: Sequence[str | Column]
) -> Callable[[DataFrame], DataFrame]:
    """Change-feed rows -> the last change per key: ``columns`` then ``is_delete``."""

    def to_rows(changes: DataFrame) -> DataFrame:
        relevant = changes.filter(
            F.col("_change_type").isin("insert", "update_postimage", "delete")
        )
        newest = Window.partitionBy(*keys).orderBy(
            F.col("_commit_version").desc(), (F.col("_change_type") == "delete").asc()
        )
        return (
            relevant.withColumn("_rank", F.row_number().over(newest))
            .filter(F.col("_rank") == 1)
            .select(*columns, (F.col("_change_type") == "delete").alias("is_delete"))
        )

    return to_rows


def _apply(
    table: str, columns: Sequence[str], keys: Sequence[str], casts: dict[str, str]
) -> tuple[str, str]:
    """The upsert and the delete statement of one staged table."""
    selected = ", ".join(f"{c}::{casts[c]}" if c in casts else c for c in columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in columns if c not in keys)
    upsert = (
        f"INSERT INTO {table} AS t ({', '.join(columns)}) SELECT {selected} FROM export_staging"
        f" WHERE NOT is_delete ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        f" WHERE {changed}"
    )
    match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    delete = f"DELETE FROM {table} t USING export_staging s WHERE s.is_delete AND {match}"
    return upsert, delete


IMAGE_COLUMNS = (
    ("record_id", "text"),
    ("image_url", "text"),
    ("status", "text"),
    ("sha256", "text"),
    ("thumbnail_key", "text"),
    ("content_type", "text"),
    ("width", "integer"),
    ("height", "integer"),
    ("failure_reason", "text"),
    ("attempts", "integer"),
    ("last_attempt_at", "text"),
)
PAIR_COLUMNS = (
    ("record_id", "text"),
    ("other_record_id", "text"),
    ("hash_distance", "integer"),
    ("cosine", "real"),
    ("score", "real"),
    ("method", "text"),
)
SIMILAR_COLUMNS = (
    ("record_id", "text"),
    ("rank", "smallint"),
    ("similar_record_id", "text"),
    ("score", "real"),
)


def _spec(
    source: str,
    table: str,
    columns: tuple[tuple[str, str], ...],
    keys: Sequence[str],
    select: Sequence[str | Column],
    casts: dict[str, str] | None = None,
) -> ExportSpec:
    names = [name for name, _ in columns]
    return ExportSpec(
        source=source,
        table=table,
        to_rows=latest_keyed_changes(keys, select),
        staging=(*columns, ("is_delete", "boolean")),
        apply=_apply(table, names, keys, casts or {}),
        optional=True,
    )


def ml_export_specs(layout: LakehouseLayout) -> tuple[ExportSpec, ...]:
    images = _spec(
        layout.ml_images,
        "heritage.object_images",
        IMAGE_COLUMNS,
        ("record_id",),
        [
            *(name for name, _ in IMAGE_COLUMNS if name != "last_attempt_at"),
            F.date_format("last_attempt_at", TIMESTAMP_TEXT).alias("last_attempt_at"),
        ],
        casts={"last_attempt_at": "timestamptz"},
    )
    pairs = _spec(
        layout.ml_duplicate_pairs,
        "heritage.duplicate_pairs",
        PAIR_COLUMNS,
        ("record_id", "other_record_id"),
        [name for name, _ in PAIR_COLUMNS],
    )
    similar = _spec(
        layout.ml_similar_objects,
        "heritage.similar_objects",
        SIMILAR_COLUMNS,
        ("record_id", "rank"),
        [name for name, _ in SIMILAR_COLUMNS],
    )
    return images, pairs, similar
