"""Pure transforms of the annotation cleanse: parse, validate with every reason, and keep
the latest version per annotation id."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from heritage.table_schemas import ANNOTATION_PAYLOAD

ANNOTATION_KINDS = ("tag", "comment")


def validate_annotations(raw: DataFrame) -> DataFrame:
    """raw annotation rows -> the same rows with parsed fields and ``reasons``."""
    parsed = raw.withColumn(
        "payload_is_object", F.json_object_keys(F.col("payload")).isNotNull()
    ).withColumn(
        "annotation",
        F.when(F.col("payload_is_object"), F.from_json("payload", ANNOTATION_PAYLOAD)),
    )
    a = F.col("annotation")
    fields = (
        parsed.withColumn("annotation_id", F.coalesce(a["annotation_id"], F.col("record_id")))
        .withColumn("target_record_id", F.trim(a["target_record_id"]))
        .withColumn("kind", F.lower(F.trim(a["kind"])))
        .withColumn("body", F.trim(a["body"]))
        .withColumn("user", a["user"])
        .withColumn("created_at", F.try_to_timestamp(a["created"]))
    )
    item_reasons = F.array_compact(
        F.array(
            F.when(
                F.col("target_record_id").isNull() | (F.col("target_record_id") == ""),
                F.lit("annotation has no target_record_id"),
            ),
            F.when(
                ~F.coalesce(F.col("kind").isin(*ANNOTATION_KINDS), F.lit(False)),
                F.concat(
                    F.lit("kind '"),
                    F.coalesce(a["kind"], F.lit("")),
                    F.lit(f"' is not one of {', '.join(ANNOTATION_KINDS)}"),
                ),
            ),
            F.when(
                F.col("body").isNull() | (F.col("body") == ""), F.lit("annotation body is empty")
            ),
            F.when(
                a["created"].isNotNull() & F.col("created_at").isNull(),
                F.concat(F.lit("created '"), a["created"], F.lit("' is not an ISO 8601 time")),
            ),
        )
    )
    reasons = (
        F.when(
            F.col("record_id").isNull(),
            F.array(F.lit("message is not a heritage envelope (JSON with record_id, payload)")),
        )
        .when(
            ~F.col("payload_is_object"),
            F.array(F.lit("payload is not a JSON object (truncated, or not JSON)")),
        )
        .otherwise(item_reasons)
    )
    return fields.withColumn("reasons", reasons)


def select_cleansed_annotations(validated: DataFrame) -> DataFrame:
    """Valid annotations, the newest per annotation id, in the cleansed table's columns."""
    newest_first = Window.partitionBy("annotation_id").orderBy(
        F.col("ingested_at").desc(), F.col("kafka_partition").desc(), F.col("kafka_offset").desc()
    )
    return (
        validated.filter(F.size("reasons") == 0)
        .withColumn("_rank", F.row_number().over(newest_first))
        .filter(F.col("_rank") == 1)
        .select(
            "annotation_id",
            "target_record_id",
            "kind",
            "body",
            "user",
            "created_at",
            "content_hash",
            "ingested_at",
            "kafka_partition",
            "kafka_offset",
        )
    )
