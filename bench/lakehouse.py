"""Lakehouse benchmark: records/s per stage and end to end, against a bare Spark
Kafka-to-Delta append of the same messages, and the cost of an incremental run.

    python bench/lakehouse.py --records 100000

On the running local stack (`heritage services up`), in an isolated namespace removed
afterwards: publish N sample records (5% malformed, about 5% later updates); time a bare
`readStream(kafka) -> writeStream(delta)` append of the topic; time raw, cleanse, curate and
export; then, `--rounds` times, publish changes to another 1% of the records and time the
same stages again. Prints each figure and the ratios (stage time / bare append time;
incremental / full, per round and the median: one round alone varies by a few seconds).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import uuid

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.pipeline import (
    lakehouse_session,
    prepare,
    produce_sample,
    publish_records,
    run_stages,
)
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.record_model import SourceRecord
from heritage.services.stack import up


def _bare_append_seconds(spark, settings, layout: LakehouseLayout) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
        .option("subscribe", layout.records_topic)
        .option("startingOffsets", "earliest")
        .load()
        .writeStream.format("delta")
        .option("checkpointLocation", layout.checkpoint("bare_append"))
        .trigger(availableNow=True)
        .start(f"{layout.table_root}/bare/records")
        .awaitTermination()
    )
    return time.perf_counter() - started


def _stage_seconds(spark, settings, layout: LakehouseLayout) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Each registered stage but ml, through the runner; printed as it goes, so a long run
    that fails late still leaves its figures."""
    report = run_stages(
        settings,
        layout,
        spark=spark,
        skip=("ml",),
        on_stage=lambda run: print(f"    ({run.stage} done in {run.seconds:.2f} s)", flush=True),
    )
    return {run.stage: run.seconds for run in report.runs}


def _publish_changes(settings, layout: LakehouseLayout, valid: list, round_number: int) -> int:  # type: ignore[no-untyped-def]
    """Change 1% of the records, a different 1% each round, each round newer than the last."""
    size = max(1, len(valid) // 100)
    changed = valid[round_number * size : (round_number + 1) * size]
    items = [
        SourceRecord(
            m.record_id,
            dict(
                m.payload,
                dcDescription=[f"Re-catalogued ({round_number + 1})."],
                timestamp_update=f"2026-01-{round_number + 1:02d}T00:00:00Z",
            ),
        )
        for m in changed
    ]
    return publish_records(settings, layout, items, progress=False).published


def run(records: int, seed: int, rounds: int) -> None:
    settings = up(report=lambda _line: None)
    layout = LakehouseLayout.namespaced(settings, f"lakebench{uuid.uuid4().hex[:8]}")
    prepare(settings, layout)
    spark = lakehouse_session(settings)
    spark.range(1).count()
    messages = produce_sample(settings, layout, records, seed, progress=False).published
    print(
        f"lakehouse benchmark: {records:,} records ({messages:,} messages), {platform.node()}, "
        f"Spark {spark.version} {settings.spark_master}",
        flush=True,
    )
    try:
        bare = _bare_append_seconds(spark, settings, layout)
        print(f"    (bare append done in {bare:.2f} s)", flush=True)
        full = _stage_seconds(spark, settings, layout)
        collection = generate_sample_collection(records, seed)
        valid = [
            m for m in collection.messages if m.record_id in collection.manifest.valid_record_ids
        ]
        incremental_rounds = []
        for number in range(rounds):
            changed = _publish_changes(settings, layout, valid, number)
            incremental_rounds.append((changed, _stage_seconds(spark, settings, layout)))
        print(f"  {'bare Kafka->Delta append':<28} {bare:8.2f} s  {messages / bare:>10,.0f} msgs/s")
        for name, seconds in full.items():
            print(
                f"  {name:<28} {seconds:8.2f} s  {messages / seconds:>10,.0f} msgs/s"
                f"  ({seconds / bare:.2f}x bare)"
            )
        total = sum(full.values())
        label = f"end to end ({len(full)} stages)"
        print(
            f"  {label:<28} {total:8.2f} s  {messages / total:>10,.0f} msgs/s"
            f"  ({total / bare:.2f}x bare)"
        )
        ratios = []
        for number, (changed, incremental) in enumerate(incremental_rounds, start=1):
            incremental_total = sum(incremental.values())
            ratios.append(incremental_total / total)
            print(
                f"  incremental run {number}, {changed:,} changed records (1%): "
                f"{incremental_total:.2f} s = {incremental_total / total:.1%} of the full run "
                f"({', '.join(f'{k} {v:.1f} s' for k, v in incremental.items())})"
            )
        print(f"  incremental / full, median of {len(ratios)}: {statistics.median(ratios):.1%}")
    finally:
        drop_namespace(settings, layout)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records (default 100000)")
    parser.add_argument("--seed", type=int, default=13, help="generator seed (default 13)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="incremental rounds of 1%% each (default 3)"
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.rounds > 100:
        parser.error("--rounds must be between 1 and 100 (each changes another 1%)")
    run(args.records, args.seed, args.rounds)


if __name__ == "__main__":
    main()
