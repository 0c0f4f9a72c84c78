"""Benchmark of the Europeana harvest: records/s from a local replay server into Kafka.

    python bench/europeana_replay.py --records 20000

Starts the replay API in its own process (as the real API is remote, it does not share this
process's interpreter) serving N synthetic items from the sample collection, then runs
`publish_europeana` (HTTP paging, key redaction, envelopes, kafka-python with acks=all,
ledger, cursor state) into a fresh topic on the running local stack, and prints records/s
for a first run and for a rerun (everything already published: fetch + ledger only). The
topic is deleted afterwards. Needs `heritage services up`. Goal: >= 2,000 records/s.
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
from heritage.producers.europeana_client import ClientConfig, EuropeanaQuery, publish_europeana
from heritage.services.stack import up
from heritage.settings import Secret


def _start_replay_server(records: int, seed: int) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "heritage.producers.simulators.europeana_replay",
            "--synthetic",
            str(records),
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    if not base_url.startswith("http://"):
        server.kill()
        raise RuntimeError(f"replay server did not start (printed {base_url!r})")
    return server, base_url


def run(records: int, rows: int, seed: int, commit_every: int, requests_per_second: float) -> None:
    settings = up(report=lambda _line: None)
    topic = f"heritage.bench.europeana.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, (topic,))
    server, base_url = _start_replay_server(records, seed)
    print(
        f"europeana replay benchmark: {records:,} records, rows={rows}, "
        f"commit every {commit_every:,}, {requests_per_second or 'unlimited'} requests/s, "
        f"{platform.node()}, {platform.machine()}, Python {platform.python_version()}"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="europeana-bench-") as work:
            # The benchmark's own topic, ledger and cursor state.
            layout = replace(
                LakehouseLayout.default(settings),
                records_topic=topic,
                producer_state_dir=Path(work),
            )
            for label in ("first run", "rerun"):
                started = time.perf_counter()
                result = publish_europeana(
                    settings,
                    layout,
                    EuropeanaQuery(rows=rows),
                    Secret("BenchKey2026"),
                    base_url=base_url,
                    client_config=ClientConfig(requests_per_second=requests_per_second),
                    commit_every=commit_every,
                    progress=False,
                )
                seconds = time.perf_counter() - started
                print(
                    f"  {label:<10} {result.records:>8,} records {result.pages:>5} pages "
                    f"{result.published:>8,} published {result.skipped:>8,} skipped "
                    f"{seconds:7.2f} s {result.records / seconds:>9,.0f} records/s"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        try:
            admin.delete_topics([topic])
        finally:
            admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="items (default 20000)")
    parser.add_argument("--rows", type=int, default=100, help="items per page (default 100)")
    parser.add_argument("--seed", type=int, default=7, help="sample seed (default 7)")
    parser.add_argument(
        "--commit-every",
        type=int,
        default=1000,
        help="records per publish + cursor commit (default 1000)",
    )
    parser.add_argument(
        "--requests-per-second",
        type=float,
        default=0,
        help="client pacing; 0 = off, as for a local server (default 0)",
    )
    args = parser.parse_args()
    run(args.records, args.rows, args.seed, args.commit_every, args.requests_per_second)


if __name__ == "__main__":
    main()
