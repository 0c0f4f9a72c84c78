"""Where an incremental lakehouse run spends its time: Spark jobs per stage.

    HERITAGE_SPARK_DRIVER_MEMORY=8g python bench/lakehouse_profile.py --records 1000000

Builds a namespace with N sample records once (kept between calls, so later calls go
straight to the rounds; `--drop` removes it at the end), then runs rounds of 1% changed
records, chosen at random each round. For every stage it prints the wall time, the time
inside Spark jobs (from the Spark UI's REST API), and each job that took 0.1 s or more,
with Delta's description of it ("MERGE operation - scanning files for matches", "Writing
modified data", "Compute snapshot", ...). Wall time minus job time is driver work: query
planning, Delta log reads and commits. The first round pays JVM warm-up; read the later
ones. Needs `heritage services up`.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.pipeline import prepare, produce_sample, publish_records
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.record_model import SourceRecord
from heritage.services.stack import up
from heritage.settings import Settings
from heritage.spark_session import build_spark_session

UI_PORT = 4077
_UI_TIME = "%Y-%m-%dT%H:%M:%S.%fGMT"


def _jobs(app_id: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{UI_PORT}/api/v1/applications/{app_id}/jobs"
    with urllib.request.urlopen(url, timeout=10) as response:
        jobs: list[dict[str, Any]] = json.load(response)
    return jobs


def _seconds(job: dict[str, Any]) -> float:
    if "completionTime" not in job:
        return 0.0
    done = datetime.strptime(job["completionTime"], _UI_TIME)
    return (done - datetime.strptime(job["submissionTime"], _UI_TIME)).total_seconds()


def _profile_stage(app_id: str, name: str, stage: Callable[[], object], detail: bool) -> float:
    seen = {job["jobId"] for job in _jobs(app_id)}
    started = time.perf_counter()
    stage()
    wall = time.perf_counter() - started
    new = sorted((j for j in _jobs(app_id) if j["jobId"] not in seen), key=lambda j: j["jobId"])
    in_jobs = sum(_seconds(j) for j in new)
    print(f"  {name}: {wall:.2f} s wall, {len(new)} jobs, {in_jobs:.2f} s in jobs", flush=True)
    if detail:
        for job in new:
            if _seconds(job) >= 0.1:
                text = " ".join(str(job.get("description") or job["name"]).split())
                label = text.split(" id = ")[0][:90]  # a streaming query: its name
                print(f"      {_seconds(job):6.2f} s  {job['numTasks']:>4} tasks  {label}")
    return wall


def _publish_changes(settings: Settings, layout: LakehouseLayout, records: int, seed: int) -> int:
    collection = generate_sample_collection(records, seed)
    valid = [m for m in collection.messages if m.record_id in collection.manifest.valid_record_ids]
    changed = random.Random(time.time_ns()).sample(valid, max(1, records // 100))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    items = [
        SourceRecord(
            m.record_id,
            dict(m.payload, dcDescription=[f"Re-catalogued {stamp}."], timestamp_update=stamp),
        )
        for m in changed
    ]
    return publish_records(settings, layout, items, progress=False).published


def run(records: int, rounds: int, namespace: str, seed: int, drop: bool) -> None:
    from delta.tables import DeltaTable

    from heritage.spark_apps.cleanse import run_cleanse
    from heritage.spark_apps.curate import run_curate
    from heritage.spark_apps.postgres_export import run_postgres_export
    from heritage.spark_apps.raw_ingest import run_raw_ingest

    settings = up(report=lambda _line: None)
    layout = LakehouseLayout.namespaced(settings, namespace)
    prepare(settings, layout)
    spark = build_spark_session(
        settings,
        "heritage-lakehouse-profile",
        {"spark.ui.enabled": "true", "spark.ui.port": str(UI_PORT)},
    )
    app_id = spark.sparkContext.applicationId
    stages: tuple[tuple[str, Callable[[], object]], ...] = (
        ("raw", lambda: run_raw_ingest(spark, settings, layout)),
        ("cleanse", lambda: run_cleanse(spark, layout)),
        ("curate", lambda: run_curate(spark, layout)),
        ("export", lambda: run_postgres_export(spark, settings, layout)),
    )
    try:
        if not DeltaTable.isDeltaTable(spark, layout.curated_records):
            published = produce_sample(settings, layout, records, seed, progress=False).published
            print(f"building {namespace}: {published:,} messages", flush=True)
            total = sum(_profile_stage(app_id, name, stage, False) for name, stage in stages)
            print(f"full run: {total:.2f} s", flush=True)
        for number in range(1, rounds + 1):
            changed = _publish_changes(settings, layout, records, seed)
            print(f"round {number}: {changed:,} changed records", flush=True)
            total = sum(_profile_stage(app_id, name, stage, True) for name, stage in stages)
            print(f"round {number}: {total:.2f} s", flush=True)
    finally:
        spark.stop()
        if drop:
            drop_namespace(settings, layout)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--records", type=int, default=100_000, help="records; the same on every call (100000)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="incremental rounds (default 2)")
    parser.add_argument(
        "--namespace", default="lakeprofile", help="namespace, kept between calls (lakeprofile)"
    )
    parser.add_argument("--seed", type=int, default=13, help="generator seed (default 13)")
    parser.add_argument("--drop", action="store_true", help="remove the namespace at the end")
    args = parser.parse_args()
    run(args.records, args.rounds, args.namespace, args.seed, args.drop)


if __name__ == "__main__":
    main()
