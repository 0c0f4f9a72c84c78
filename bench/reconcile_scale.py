"""Reconciliation at scale: N generated records (5% malformed, 2% updated later, 1% deleted)
with annotations arriving both before and after their records, through every stage, then
`reconcile`. Exits 0 only when everything reconciles and the tables hold what the
generator says they must.

    python bench/reconcile_scale.py --records 200000

Runs on the local stack (`heritage services up`) in an isolated namespace, removed after.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.lakehouse_reconcile import reconcile_lakehouse
from heritage.lakehouse_summary import count_tables
from heritage.pipeline import lakehouse_session, prepare, produce_sample, run_stages
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.producers.simulators.sample_collection import generate_sample_collection
from heritage.record_model import SourceRecord
from heritage.services.stack import up
from heritage.settings import Settings


def publish_annotations(
    settings: Settings, layout: LakehouseLayout, targets: list[str], label: str
) -> int:
    items = [
        SourceRecord(
            f"annotation:{label}:{index}",
            {
                "annotation_id": f"annotation:{label}:{index}",
                "target_record_id": target,
                "kind": "tag" if index % 3 else "comment",
                "body": f"{label} note {index % 17}",
                "user": f"user-{index % 50}",
                "created": "2026-11-01T10:00:00Z",
            },
        )
        for index, target in enumerate(targets)
    ]
    producer = create_producer(settings)
    ledger = PublishLedger(layout.producer_state_dir / "annotations.sqlite")
    try:
        return publish_envelopes(
            producer,
            ledger,
            layout.annotations_topic,
            envelopes_from("annotations", items),
            progress=False,
        ).published
    finally:
        producer.close()
        ledger.close()


def run(records: int, seed: int) -> bool:
    settings = up(report=lambda _line: None)
    layout = LakehouseLayout.namespaced(settings, f"recon{uuid.uuid4().hex[:8]}")
    prepare(settings, layout)
    manifest = generate_sample_collection(records, seed, 0.02, 0.01).manifest
    ids = sorted(manifest.valid_record_ids)
    share = max(1, len(ids) // 50)
    try:
        started = time.perf_counter()
        early = publish_annotations(settings, layout, ids[:share], "early")
        published = produce_sample(settings, layout, records, seed, False, 0.02, 0.01).published
        late = publish_annotations(settings, layout, ids[share : 2 * share], "late")
        spark = lakehouse_session(settings)
        report = run_stages(settings, layout, spark=spark)
        reconciliation = reconcile_lakehouse(settings, layout, spark)
        counts = count_tables(spark, settings, layout)
        elapsed = time.perf_counter() - started
        print(
            f"{records:,} records: {published:,} messages "
            f"({len(manifest.malformed):,} malformed, {len(manifest.updated_record_ids):,} "
            f"updated, {len(manifest.deleted_record_ids):,} deleted), annotations "
            f"{early:,} before and {late:,} after their records; {elapsed:.0f} s in all"
        )
        print(report.render())
        print(reconciliation.render())
        checks = {
            "cleansed = live records": counts.cleansed_rows == len(manifest.live_record_ids),
            "curated = live records": counts.curated_rows == len(manifest.live_record_ids),
            "PostgreSQL = live records": counts.postgres_objects == len(manifest.live_record_ids),
            "annotations cleansed": counts.rows["cleansed_annotations"] == early + late,
            "dead letters = malformed": counts.dead_letter_rows == len(manifest.malformed),
            "reconcile balanced": reconciliation.balanced,
        }
        for name, ok in checks.items():
            print(f"  {name:<28} {'ok' if ok else 'FAILED'}")
        return all(checks.values())
    finally:
        drop_namespace(settings, layout)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000, help="records (default 200000)")
    parser.add_argument("--seed", type=int, default=17, help="generator seed (default 17)")
    args = parser.parse_args()
    sys.exit(0 if run(args.records, args.seed) else 1)


if __name__ == "__main__":
    main()
