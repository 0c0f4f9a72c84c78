"""`heritage lakehouse reconcile`: every input accounted for, per source.

For each source, every distinct record id that reached the raw table must be in exactly one
place: the cleansed table, the dead-letter table (and nowhere valid), or deleted (its
latest valid change was a tombstone). PostgreSQL must hold one row per cleansed record.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@dataclass(frozen=True)
class SourceReconciliation:
    source: str
    input_ids: int
    cleansed: int
    dead_lettered: int
    deleted: int
    unaccounted: int
    unaccounted_examples: tuple[str, ...]

    @property
    def balanced(self) -> bool:
        return self.unaccounted == 0


def input_ids(raw: DataFrame) -> DataFrame:
    """Distinct ids in raw; a message without an envelope counts under its Kafka key."""
    return raw.select(
        F.coalesce(
            "record_id", "kafka_key", F.concat(F.lit("unkeyed:"), F.col("kafka_offset"))
        ).alias("id"),
        F.col("deleted"),
    )


def reconcile(raw: DataFrame, cleansed: DataFrame, dead_letters: DataFrame) -> DataFrame:
    """One row per (source, id) with where the id ended: cleansed, dead_lettered, deleted
    or unaccounted. Pure: tables in, classification out."""
    ids = input_ids(raw).groupBy("id").agg(F.max(F.col("deleted").cast("int")).alias("tombstoned"))
    in_cleansed = cleansed.select(F.col("record_id").alias("id"), F.lit(True).alias("c"))
    in_dlq = (
        dead_letters.select(
            F.coalesce("record_id", F.concat(F.lit("unkeyed:"), F.col("kafka_offset"))).alias("id")
        )
        .distinct()
        .withColumn("d", F.lit(True))
    )
    joined = ids.join(in_cleansed, "id", how="left").join(in_dlq, "id", how="left")
    outcome = (
        F.when(F.col("c"), "cleansed")
        .when(F.col("tombstoned") == 1, "deleted")
        .when(F.col("d"), "dead_lettered")
        .otherwise("unaccounted")
    )
    return joined.select(
        F.coalesce(F.split("id", ":").getItem(0), F.lit("unknown")).alias("source"),
        "id",
        outcome.alias("outcome"),
    )


def summarise(classified: DataFrame) -> list[SourceReconciliation]:
    counts = (
        classified.groupBy("source")
        .pivot("outcome", ["cleansed", "dead_lettered", "deleted", "unaccounted"])
        .count()
        .na.fill(0)
        .collect()
    )
    examples = {
        row["source"]: tuple(row["ids"])
        for row in classified.filter(F.col("outcome") == "unaccounted")
        .groupBy("source")
        .agg(F.slice(F.sort_array(F.collect_list("id")), 1, 5).alias("ids"))
        .collect()
    }
    return sorted(
        (
            SourceReconciliation(
                source=row["source"],
                input_ids=row["cleansed"]
                + row["dead_lettered"]
                + row["deleted"]
                + row["unaccounted"],
                cleansed=row["cleansed"],
                dead_lettered=row["dead_lettered"],
                deleted=row["deleted"],
                unaccounted=row["unaccounted"],
                unaccounted_examples=examples.get(row["source"], ()),
            )
            for row in counts
        ),
        key=lambda r: r.source,
    )
