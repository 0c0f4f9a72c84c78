"""Publish ledger lookups against a growing ledger: the cost must not grow with its size.

    python bench/publish_ledger.py --sizes 100000 1000000 2000000

Every publish asks the ledger which of a chunk's (record_id, content_hash) pairs Kafka has
already confirmed. This fills a scratch ledger (SQLite, in a temporary folder) to each size
and times one lookup of 5,000 pairs that are not in it, then their recording. No services.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

from heritage.producers.publish_ledger import PublishLedger

TOPIC = "heritage.records"


def _pairs(start: int, stop: int) -> list[tuple[str, str]]:
    return [(f"rec-{i}", hashlib.sha256(str(i).encode()).hexdigest()) for i in range(start, stop)]


def run(sizes: list[int], chunk: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = PublishLedger(Path(folder) / "ledger.sqlite")
        try:
            filled = 0
            for size in sorted(sizes):
                ledger.record(TOPIC, _pairs(filled, size))
                fresh = _pairs(size, size + chunk)
                started = time.perf_counter()
                found = ledger.already_published(TOPIC, fresh)
                lookup = time.perf_counter() - started
                started = time.perf_counter()
                ledger.record(TOPIC, fresh)
                record = time.perf_counter() - started
                filled = size + chunk
                print(
                    f"  ledger of {size:>10,} pairs: lookup of {chunk:,} new pairs "
                    f"{lookup * 1000:7.1f} ms ({len(found)} found), recording them "
                    f"{record * 1000:6.1f} ms",
                    flush=True,
                )
        finally:
            ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000, 2_000_000],
        help="ledger sizes to time a lookup at (default 100000 1000000 2000000)",
    )
    parser.add_argument("--chunk", type=int, default=5000, help="pairs per lookup (5000)")
    args = parser.parse_args()
    run(args.sizes, args.chunk)


if __name__ == "__main__":
    main()
