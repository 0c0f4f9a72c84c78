"""The export of curated/records into ``heritage.objects``: staged rows and SQL, all derived
from the curated column specification (heritage.curated_columns)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.change_tracking import curated_changes_since
from heritage.curated_columns import EXPORTED_COLUMNS
from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.export_spec import ExportSpec
from heritage.table_schemas import CURATED_RECORDS, with_absent_columns

OBJECTS_TABLE = "heritage.objects"
# (column, PostgreSQL type) of the staging table, in the order ``object_rows`` selects.
OBJECTS_STAGING: tuple[tuple[str, str], ...] = (
    *((c.staged_name, c.staging_type) for c in EXPORTED_COLUMNS),
    ("delta_version", "bigint"),
    ("is_delete", "boolean"),
)


def object_rows(curated: DataFrame, version: int, is_delete: bool) -> DataFrame:
    """Curated rows -> staged rows (``OBJECTS_STAGING`` order), from table version ``version``.
    A column the version predates (written before the column was added) is staged as null."""
    return with_absent_columns(curated, CURATED_RECORDS).select(
        *(c.staged_value() for c in EXPORTED_COLUMNS),
        F.lit(version).cast("long").alias("delta_version"),
        F.lit(is_delete).alias("is_delete"),
    )


def deleted_object_rows(record_ids: DataFrame, version: int) -> DataFrame:
    """Staged delete rows for the ids in ``record_ids`` (column ``record_id``)."""
    nulls = [
        F.lit(None).cast(f.dataType).alias(f.name)
        for f in CURATED_RECORDS.fields
        if f.name != "record_id"
    ]
    return object_rows(record_ids.select("record_id", *nulls), version, is_delete=True)


def objects_upsert() -> str:
    """INSERT ... ON CONFLICT of the staged rows that are not deletes; a row is updated only
    when a column that decides it (``decides_update``) differs."""
    names = [*(c.name for c in EXPORTED_COLUMNS), "delta_version", "exported_at"]
    values = [*(c.from_staging() for c in EXPORTED_COLUMNS), "delta_version", "now()"]
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names if name != "record_id")
    changed = " OR ".join(
        f"o.{c.name} IS DISTINCT FROM EXCLUDED.{c.name}"
        for c in EXPORTED_COLUMNS
        if c.decides_update
    )
    return (
        f"INSERT INTO {OBJECTS_TABLE} AS o ({', '.join(names)})"
        f" SELECT {', '.join(values)} FROM export_staging WHERE NOT is_delete"
        f" ON CONFLICT (record_id) DO UPDATE SET {updates} WHERE {changed}"
    )


OBJECTS_DELETE = (
    f"DELETE FROM {OBJECTS_TABLE} o USING export_staging s "
    "WHERE s.is_delete AND o.record_id = s.record_id"
)


def changed_objects(
    spark: SparkSession, layout: LakehouseLayout, done: int
) -> tuple[DataFrame, int] | None:
    """Staged rows of what curate changed after curated version ``done`` (the newest
    exported), and the version they bring PostgreSQL to; None when nothing is newer."""
    changes = curated_changes_since(spark, layout, done)
    if changes is None:
        return None
    rows = object_rows(changes.written, changes.version, is_delete=False)
    if changes.gone is None:
        return rows, changes.version
    return rows.unionByName(deleted_object_rows(changes.gone, changes.version)), changes.version


# A trigger copies each inserted object's published flag from heritage.embargoes, and the
# embargo writers' trigger updates the objects already there (schema.sql). An embargo row and
# its object written by two transactions at once would each miss the other's uncommitted row;
# under this lock embargo writers wait for the export, and the export for them.
EMBARGOES_LOCK = "LOCK TABLE heritage.embargoes IN SHARE MODE"


def objects_spec(layout: LakehouseLayout) -> ExportSpec:
    return ExportSpec(
        source=layout.curated_records,
        table=OBJECTS_TABLE,
        to_rows=lambda rows: rows,  # unused: ``changes`` reads what changed
        changes=lambda spark, done: changed_objects(spark, layout, done),
        staging=OBJECTS_STAGING,
        apply=(EMBARGOES_LOCK, objects_upsert(), OBJECTS_DELETE),
    )
