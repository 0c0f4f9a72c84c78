"""What the demo's ml stage produced, compared with the sample collection's manifest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.lakehouse_layout import LakehouseLayout


def _components(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Member -> smallest member of its connected component (pairs as edges)."""
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {item: find(item) for item in parent}


@dataclass(frozen=True)
class DuplicateComparison:
    groups_found: int
    groups_expected: int
    pairs_expected: int
    pairs_recovered: int
    # Found pairs (record, its canonical) that the manifest does not group together.
    wrongly_grouped: int


def compare_with_manifest(
    canonical_of: Mapping[str, str], duplicates: Mapping[str, str], live: set[str]
) -> DuplicateComparison:
    """``canonical_of``: records in a group -> canonical; ``duplicates``: copy -> original."""
    expected_pairs = [(c, o) for c, o in duplicates.items() if c in live and o in live]
    expected = _components(expected_pairs)
    recovered = sum(
        1 for c, o in expected_pairs if canonical_of.get(c, c) == canonical_of.get(o, o)
    )
    wrong = sum(
        1
        for record, canonical in canonical_of.items()
        if expected.get(record, record) != expected.get(canonical, canonical)
    )
    return DuplicateComparison(
        groups_found=len(set(canonical_of.values())),
        groups_expected=len(set(expected.values())),
        pairs_expected=len(expected_pairs),
        pairs_recovered=recovered,
        wrongly_grouped=wrong,
    )


def image_counts(spark: SparkSession, layout: LakehouseLayout) -> dict[str, int]:
    """Rows of ml/images per status ('stored', 'failed')."""

    if not DeltaTable.isDeltaTable(spark, layout.ml_images):
        return {"stored": 0, "failed": 0}
    rows = spark.read.format("delta").load(layout.ml_images).groupBy("status").count().collect()
    return {"stored": 0, "failed": 0, **{r["status"]: int(r["count"]) for r in rows}}


def canonical_ids(spark: SparkSession, layout: LakehouseLayout) -> dict[str, str]:

    if not DeltaTable.isDeltaTable(spark, layout.canonical_ids):
        return {}
    table = spark.read.format("delta").load(layout.canonical_ids)
    return {r[0]: r[1] for r in table.select(F.col("record_id"), F.col("canonical_id")).collect()}
