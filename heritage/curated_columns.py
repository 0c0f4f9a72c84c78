"""The columns of a curated record, once: Delta type, PostgreSQL type, nullability.

The curated Delta table's schema (``heritage.table_schemas.CURATED_RECORDS``), the export's
staging table and COPY column list, and its upsert into ``heritage.objects`` are all derived
from ``CURATED_COLUMNS``; a test checks ``heritage/sql/schema.sql`` against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

_STRINGS = ArrayType(StringType())
# ISO 8601 with the offset, which PostgreSQL reads into timestamptz as the same instant.
TIMESTAMP_TEXT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"
# PostgreSQL types staged as JSON text (COPY's CSV has no array or object syntax of its own),
# with the JSON a null becomes unless the column says otherwise (``json_empty``).
_JSON_STAGED = {"jsonb": "{}", "text[]": "[]"}


@dataclass(frozen=True)
class CuratedColumn:
    """One column of curated/records and, when exported, of ``heritage.objects``."""

    name: str
    spark_type: DataType
    # Whether the Delta column may hold null.
    nullable: bool
    # Type of the ``heritage.objects`` column; None for a column kept in the lakehouse only.
    pg_type: str | None = None
    # Whether the ``heritage.objects`` column is NOT NULL (a null array or object is
    # written as an empty one).
    pg_not_null: bool = False
    # Whether a change of this column makes the export update the row (content_hash stands
    # for every column of the source record).
    decides_update: bool = False
    # For a JSON-staged column, the JSON value a null is written as ("[]" for a list);
    # None: the type's own ("{}" for jsonb, "[]" for text[]).
    json_empty: str | None = None

    @property
    def exported(self) -> bool:
        return self.pg_type is not None

    @property
    def staged_name(self) -> str:
        """The column's name in the export's staging table."""
        return f"{self.name}_json" if self.pg_type in _JSON_STAGED else self.name

    @property
    def staging_type(self) -> str:
        """The column's PostgreSQL type in the export's staging table."""
        if self.pg_type is None:
            raise ValueError(f"{self.name} is not exported")
        return "text" if self.pg_type in _JSON_STAGED else self.pg_type

    def staged_value(self) -> Column:
        """Spark expression of the value COPY writes into the staging table."""
        column = F.col(self.name)
        if isinstance(self.spark_type, (ArrayType, MapType)):
            column = F.to_json(column)
        elif isinstance(self.spark_type, DateType):
            column = column.cast("string")
        elif isinstance(self.spark_type, TimestampType):
            column = F.date_format(column, TIMESTAMP_TEXT)
        return column.alias(self.staged_name)

    def from_staging(self) -> str:
        """SQL expression turning the staged value into the ``heritage.objects`` value."""
        if self.pg_type not in _JSON_STAGED:
            return self.name
        empty = self.json_empty or _JSON_STAGED[self.pg_type]
        value = f"coalesce({self.staged_name}::jsonb, '{empty}'::jsonb)"
        return (
            value
            if self.pg_type == "jsonb"
            else f"ARRAY(SELECT jsonb_array_elements_text({value}))"
        )


def _text(name: str, nullable: bool = True, decides_update: bool = False) -> CuratedColumn:
    return CuratedColumn(name, StringType(), nullable, "text", not nullable, decides_update)


def _lakehouse_only(name: str, spark_type: DataType, nullable: bool = False) -> CuratedColumn:
    return CuratedColumn(name, spark_type, nullable)


# In the order of the Delta table: the cleansed record's columns first
# (heritage.table_schemas.CLEANSED_RECORD_FIELDS), then what curate adds.
CURATED_COLUMNS: tuple[CuratedColumn, ...] = (
    _text("record_id", nullable=False),
    _text("source", nullable=False),
    _text("title", nullable=False),
    CuratedColumn("titles", MapType(StringType(), _STRINGS), True, "jsonb", pg_not_null=True),
    CuratedColumn("creators", _STRINGS, True, "text[]", pg_not_null=True),
    _text("description"),
    _text("date_original"),
    CuratedColumn("date_start", DateType(), True, "date"),
    CuratedColumn("date_end", DateType(), True, "date"),
    _text("object_type", nullable=False),
    _lakehouse_only("rights_original", StringType(), nullable=True),
    _text("rights_uri", nullable=False),
    _text("image_url"),
    _text("data_provider", nullable=False),
    _text("provider"),
    _text("country"),
    CuratedColumn("languages", _STRINGS, True, "text[]", pg_not_null=True),
    _text("content_hash", nullable=False, decides_update=True),
    CuratedColumn("source_updated_at", TimestampType(), True, "timestamptz"),
    CuratedColumn("ingested_at", TimestampType(), False, "timestamptz", pg_not_null=True),
    _lakehouse_only("kafka_partition", IntegerType()),
    _lakehouse_only("kafka_offset", LongType()),
    # OCR (heritage.table_schemas.OCR_FIELDS). Each decides an update: OCR may be read after
    # its record (ml/record_ocr), leaving content_hash as it was. The lists are staged as
    # their JSON text, and a null one is written as [].
    _text("ocr_text", decides_update=True),
    CuratedColumn("ocr_confidence", DoubleType(), True, "double precision", decides_update=True),
    CuratedColumn(
        "ocr_pages", StringType(), True, "jsonb", True, decides_update=True, json_empty="[]"
    ),
    CuratedColumn(
        "ocr_fields", StringType(), True, "jsonb", True, decides_update=True, json_empty="[]"
    ),
    # The embargo (heritage.table_schemas.EMBARGO_FIELDS): the publication stage reads it;
    # PostgreSQL has it in heritage.embargoes.
    _lakehouse_only("embargo_until", StringType(), nullable=True),
    _lakehouse_only("embargo_zone", StringType(), nullable=True),
    _lakehouse_only("embargo_rule", StringType(), nullable=True),
    _lakehouse_only("embargo_end_utc", TimestampType(), nullable=True),
    _lakehouse_only("creator_death_year", IntegerType(), nullable=True),
    # Nullable in PostgreSQL: added after the first release, to tables that had rows.
    CuratedColumn("canonical_id", StringType(), False, "text", decides_update=True),
    CuratedColumn("tags", _STRINGS, False, "text[]", pg_not_null=True, decides_update=True),
    CuratedColumn(
        "comment_count", IntegerType(), False, "integer", pg_not_null=True, decides_update=True
    ),
    CuratedColumn(
        "annotation_count", IntegerType(), False, "integer", pg_not_null=True, decides_update=True
    ),
    _lakehouse_only("curated_hash", StringType()),
    # The curate run that last wrote the row (heritage.change_tracking.CURATE_RUN).
    _lakehouse_only("curate_run", LongType()),
)

EXPORTED_COLUMNS: tuple[CuratedColumn, ...] = tuple(c for c in CURATED_COLUMNS if c.exported)

# Columns of ``heritage.objects`` beyond the exported curated ones: (name, type, NOT NULL).
# delta_version: the curated table version the row was exported from; exported_at: when.
OBJECTS_EXPORT_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("delta_version", "bigint", True),
    ("exported_at", "timestamptz", True),
)


def curated_schema() -> StructType:
    """The Delta schema of curated/records."""
    return StructType([StructField(c.name, c.spark_type, c.nullable) for c in CURATED_COLUMNS])
