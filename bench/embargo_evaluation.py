"""Embargo evaluation at scale: N objects in governance/embargoes, DUE% of them active with an
end already reached, the rest active until a later year or published; one evaluation (each
due object moves active -> expired -> pending_review -> published or stays in review: the
rights check), then the same evaluation again (nothing to do). Also IIIF manifests built
per second.

    python bench/embargo_evaluation.py --objects 1000000 --due 1

Runs on the local stack (`heritage services up`) in an isolated namespace, removed after.
Prints each figure; exits 1 when the second evaluation changed anything.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.delta_tables import table_version
from heritage.embargo_states import NO_EMBARGO_END
from heritage.iiif.manifest_builder import ManifestObject, build_manifest
from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.pipeline import lakehouse_session, prepare
from heritage.services.stack import up
from heritage.spark_apps.embargo_rows import micros
from heritage.spark_apps.embargo_store import ensure_governance_tables
from heritage.spark_apps.publication_run import run_publication
from heritage.table_schemas import EMBARGOES

AS_OF = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
RIGHTS = (
    "http://creativecommons.org/publicdomain/mark/1.0/",
    "http://rightsstatements.org/vocab/InC/1.0/",
    "http://creativecommons.org/licenses/by/4.0/",
)


def write_states(spark: SparkSession, layout: LakehouseLayout, objects: int, due_pct: float) -> int:
    """N state rows: every (100 / due_pct)-th active and due, the others active until 2040
    or already published. Returns how many are due."""
    due_every = max(1, round(100 / due_pct))
    as_of = micros(AS_OF)
    year = 365 * 86_400 * 1_000_000
    index = F.col("id")
    is_due = index % due_every == 0
    published = ~is_due & (index % 2 == 0)
    frame = spark.range(objects).select(
        F.format_string("bench:/%d", index).alias("object_id"),
        F.lit(1).alias("episode"),
        F.when(published, "published").otherwise("active").alias("state"),
        F.when(published, F.lit(4)).otherwise(F.lit(1)).cast("long").alias("state_version"),
        F.timestamp_micros(
            F.when(is_due, F.lit(as_of) - (index % 1000) * 1_000_000)
            .when(published, F.lit(micros(NO_EMBARGO_END)))
            .otherwise(F.lit(as_of) + 10 * year)
        ).alias("embargo_end_utc"),
        F.when(published, "").otherwise("2030-05-31").alias("end_input"),
        F.lit("Europe/Amsterdam").alias("end_input_zone"),
        F.when(published, "none").otherwise("through_named_day").alias("end_rule"),
        F.element_at(F.array(*[F.lit(r) for r in RIGHTS]), (index % 3 + 1).cast("int")).alias(
            "rights_uri"
        ),
        F.lit("Bench Museum").alias("data_provider"),
        F.lit(None).cast("int").alias("creator_death_year"),
        F.lit(None).cast("string").alias("review_reason"),
        F.timestamp_micros(F.lit(as_of - year)).alias("updated_at"),
        F.lit(None).cast("string").alias("outbox"),
        F.lit(None).cast("string").alias("source_inputs"),
    )
    frame.select(*[F.col(f.name) for f in EMBARGOES.fields]).repartition(4).write.format(
        "delta"
    ).mode("append").save(layout.governance_embargoes)
    return (objects + due_every - 1) // due_every


def manifests_per_second(count: int) -> float:
    objects = [
        ManifestObject(
            object_id=f"bench:/{i}",
            titles={"en": [f"Object {i}"], "nl": [f"Object {i}"]},
            descriptions={"en": ["A bench object."]},
            metadata=[({"en": ["Creator"]}, {"none": ["Unknown"]})],
            rights_uri=RIGHTS[i % 3 if i % 3 != 1 else 0],
            data_provider="Bench Museum",
            image_url=f"http://localhost:8182/iiif/images/bench%3A%2F{i}",
            image_format="image/jpeg",
            width=1200,
            height=900,
            homepage=None,
            see_also=[],
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    for obj in objects:
        build_manifest(obj, "http://localhost:8182/iiif")
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--due", type=float, default=1.0, help="percent of objects due")
    parser.add_argument("--manifests", type=int, default=2000, help="manifests to build")
    args = parser.parse_args()
    settings = up(report=lambda _line: None)
    layout = LakehouseLayout.namespaced(settings, f"bench{uuid.uuid4().hex[:8]}")
    prepare(settings, layout)
    spark = lakehouse_session(settings)
    try:
        ensure_governance_tables(spark, layout)
        started = time.perf_counter()
        due = write_states(spark, layout, args.objects, args.due)
        elapsed = time.perf_counter() - started
        print(f"states written: {args.objects:,} ({due:,} due) in {elapsed:.1f} s")
        timings = []
        results = []
        for _ in range(2):
            started = time.perf_counter()
            results.append(
                run_publication(spark, settings, layout, AS_OF, sync=False, manifests=False)
            )
            timings.append(time.perf_counter() - started)
        first, second = results
        print(
            f"evaluation: {args.objects:,} objects, {first.due:,} due, {first.changed:,} changed,"
            f" {first.events:,} events, {first.sent:,} sent: {timings[0]:.1f} s"
        )
        print("  seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in first.seconds.items()))
        print(
            f"evaluation again at the same instant: {second.changed} changed, {second.events}"
            f" events: {timings[1]:.1f} s; state table at version"
            f" {table_version(spark, layout.governance_embargoes)}"
        )
        print(f"manifests built: {manifests_per_second(args.manifests):,.0f} per second")
        return 0 if second.changed == second.events == second.sent == 0 else 1
    finally:
        drop_namespace(settings, layout)


if __name__ == "__main__":
    sys.exit(main())
