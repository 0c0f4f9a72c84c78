"""Benchmark of the walking skeleton: records/s for each hop and end to end.

    heritage bench skeleton --records 10000      (or: python bench/skeleton.py --records N)

Runs produce -> raw -> cleanse -> export on N generated records in an isolated namespace
(its own topic, Delta tables and database) against the running local stack, prints one line
per hop, then removes the namespace. Needs `heritage services up`.
"""

from __future__ import annotations

import argparse
import platform
import time
import uuid

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.pipeline import lakehouse_session, prepare, produce_sample
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.services.stack import up


def run(records: int, seed: int) -> None:
    from heritage.spark_apps.cleanse import run_cleanse
    from heritage.spark_apps.curate import run_curate
    from heritage.spark_apps.postgres_export import run_postgres_export
    from heritage.spark_apps.raw_ingest import run_raw_ingest

    settings = up(report=lambda _line: None)
    layout = LakehouseLayout.namespaced(settings, f"bench{uuid.uuid4().hex[:8]}")
    prepare(settings, layout)
    messages = generate_sample_collection(records, seed).manifest.message_count
    spark = lakehouse_session(settings)
    spark.range(1).count()  # JVM start-up is not a hop
    print(
        f"skeleton benchmark: {records:,} records ({messages:,} messages), "
        f"{platform.node()}, {platform.machine()}, Spark {spark.version} "
        f"{settings.spark_master}"
    )
    rows: list[tuple[str, int, float]] = []
    started = time.perf_counter()
    try:
        t0 = time.perf_counter()
        published = produce_sample(settings, layout, records, seed, progress=False)
        rows.append(("produce", published.published, time.perf_counter() - t0))
        t0 = time.perf_counter()
        rows.append(("raw", run_raw_ingest(spark, settings, layout), time.perf_counter() - t0))
        t0 = time.perf_counter()
        run_cleanse(spark, layout)
        rows.append(("cleanse", messages, time.perf_counter() - t0))
        t0 = time.perf_counter()
        curated = run_curate(spark, layout)
        rows.append(("curate", curated.touched_ids, time.perf_counter() - t0))
        t0 = time.perf_counter()
        exported = run_postgres_export(spark, settings, layout)
        rows.append(("export", exported.rows_staged, time.perf_counter() - t0))
        total = time.perf_counter() - started
        for hop, count, seconds in rows:
            print(
                f"  {hop:<12} {count:>9,} rows  {seconds:8.2f} s  {count / seconds:>10,.0f} rows/s"
            )
        print(
            f"  {'end to end':<12} {messages:>9,} msgs  {total:8.2f} s  "
            f"{messages / total:>10,.0f} msgs/s"
        )
    finally:
        drop_namespace(settings, layout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="records (default 10000)")
    parser.add_argument("--seed", type=int, default=11, help="generator seed (default 11)")
    args = parser.parse_args()
    run(args.records, args.seed)


if __name__ == "__main__":
    main()
