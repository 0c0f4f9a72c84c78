"""Benchmark of OAI-PMH harvest-and-publish: records/s from the local test repository to Kafka.

    python bench/oai_harvest.py --records 20000 --page-size 100 --prefix oai_dc

Starts the test repository (``python -m heritage.producers.simulators.oai_pmh_server``) as its own
process, harvests every record once into a fresh topic with fresh state and ledger, and
prints records/s (fetch, parse, map, envelope, publish with acks=all, state commits). Then
harvests again and prints what the incremental rerun published (0 expected). Needs the
local stack (`heritage services up`); the topic is deleted afterwards.

Where the time goes: mapping (metadata_mapping.map_record) and kafka-python's record-batch
CRC-32C, which is pure Python unless the optional C package ``crc32c`` is importable.
``--mapping-workers 2`` moves mapping into processes; it pays off for LIDO and ISO 19139,
whose mappings are the slowest, when cores are free.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from kafka import KafkaAdminClient

from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.oai_pmh_harvester import OaiEndpointConfig, harvest
from heritage.settings import Settings, load_settings


def _start_repository(records: int, page_size: int, seed: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "heritage.producers.simulators.oai_pmh_server",
            "--records",
            str(records),
            "--page-size",
            str(page_size),
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("serving "):
        process.kill()
        raise RuntimeError(f"the test repository did not start (said {line!r})")
    return process, line.split()[-1]


def _delete_topic(settings: Settings, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        admin.delete_topics([topic])
    finally:
        admin.close()


def run(records: int, page_size: int, prefix: str, mapping_workers: int, seed: int) -> float:
    settings = load_settings()
    topic = f"heritage.bench.oai.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, (topic,))
    repository, base_url = _start_repository(records, page_size, seed)
    print(
        f"oai harvest benchmark: {records:,} records, page size {page_size}, {prefix}, "
        f"{mapping_workers} mapping workers, {platform.node()}, {platform.machine()}"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="oai-bench-") as state:
            endpoint = OaiEndpointConfig(
                base_url, metadata_prefixes=(prefix,), mapping_workers=mapping_workers
            )
            # The benchmark's own topic, ledger and harvest state.
            layout = replace(
                LakehouseLayout.default(settings),
                records_topic=topic,
                producer_state_dir=Path(state),
            )
            started = time.perf_counter()
            first = harvest(settings, layout, endpoint)
            seconds = time.perf_counter() - started
            rate = first.published / seconds
            print(
                f"  harvest      {first.published:>9,} records  {seconds:8.2f} s  "
                f"{rate:>10,.0f} records/s"
            )
            started = time.perf_counter()
            again = harvest(settings, layout, endpoint)
            print(
                f"  incremental  {again.published:>9,} records  "
                f"{time.perf_counter() - started:8.2f} s  (nothing changed: 0 expected)"
            )
            return rate
    finally:
        repository.terminate()
        repository.wait(timeout=30)
        _delete_topic(settings, topic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="records (default 20000)")
    parser.add_argument("--page-size", type=int, default=100, help="records per page (100)")
    parser.add_argument("--prefix", default="oai_dc", help="metadataPrefix (default oai_dc)")
    parser.add_argument(
        "--mapping-workers", type=int, default=0, help="mapping processes (default 0)"
    )
    parser.add_argument("--seed", type=int, default=7, help="repository seed (default 7)")
    args = parser.parse_args()
    run(args.records, args.page_size, args.prefix, args.mapping_workers, args.seed)


if __name__ == "__main__":
    main()
