"""Benchmark of the package-ingest workflow: packages/s, MB/s and the seconds of each step.

    python bench/package_ingest.py --packages 200 --files 20 --workers 1 2
    python bench/package_ingest.py --dry-run        (build the packages, print count and MB)

Builds ``--packages`` mixed submission packages (in turn a DSpace item zip, a BagIt bag in a
tar.gz with a nested zip, a digitised volume zip with a METS; ``--files`` files each of TIFF,
JPEG, PNG, PDF, TXT, XML and CSV, a few MB a package) into a temporary folder; building is
not timed. Then, for each ``--workers`` count, runs

    HERITAGE_OCR=off heritage ingest packages --namespace <fresh> --workers N --json <packages>

against the running local stack, and prints packages/s and MB/s (of the files the workflow
stored, and of the archives as deposited), the seconds of each step from the command's JSON
report, and the share of virus scanning plus format identification in the summed step time.
Worker steps run in parallel, so with N workers the steps sum to more than the wall time.
Each run gets its own namespace, dropped afterwards. Needs `heritage services up` and a
ClamAV database (`heritage ingest test-signatures` writes the project's test signatures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.producers.packages.sample_packages import bench_packages
from heritage.settings import Settings, load_settings

# The workflow's steps in the order they run; a step the report adds is printed after them.
STEPS = (
    "startup",
    "unpack",
    "bag_validation",
    "mets_parsing",
    "resubmission_check",
    "digest",
    "format",
    "virus_scan",
    "ocr",
    "store",
    "commit",
    "publish",
)
SCAN_AND_FORMAT = ("virus_scan", "format")
MB = 1_000_000


def build(folder: Path, packages: int, files: int, seed: int) -> tuple[list[Path], int, float]:
    """The benchmark's packages in ``folder``, their total size and the seconds it took."""
    started = time.perf_counter()
    paths = bench_packages(folder, count=packages, files_per_package=files, seed=seed)
    return paths, sum(path.stat().st_size for path in paths), time.perf_counter() - started


def read_report(stdout: str) -> dict[str, Any]:
    """The JSON object the command printed (whatever else went to stdout before it)."""
    start = stdout.find("{")
    if start < 0:
        raise ValueError(f"no JSON report in the command's output: {stdout[-500:]!r}")
    report, _ = json.JSONDecoder().raw_decode(stdout[start:])
    return dict(report)


def step_lines(step_seconds: Mapping[str, float]) -> list[str]:
    """One line per step, in workflow order, with its share of the summed step time."""
    total = sum(step_seconds.values()) or 1.0
    ordered = [step for step in STEPS if step in step_seconds]
    ordered += sorted(set(step_seconds) - set(STEPS))
    return [
        f"    {step:<20} {step_seconds[step]:9.2f} s  {100 * step_seconds[step] / total:5.1f}%"
        for step in ordered
    ]


def figure_lines(report: Mapping[str, Any], archive_bytes: int, wall: float) -> list[str]:
    """The figures of one run: throughput, outcomes, steps, and the scan + format share."""
    seconds = float(report["seconds"]) or 1e-9
    packages = int(report["packages"])
    steps = {step: float(s) for step, s in report["step_seconds"].items()}
    scan_and_format = sum(steps.get(step, 0.0) for step in SCAN_AND_FORMAT)
    total = sum(steps.values()) or 1.0
    return [
        f"  {packages:,} packages in {seconds:.2f} s ({wall:.2f} s with the command's start): "
        f"{packages / seconds:.2f} packages/s",
        f"  {report['bytes'] / MB:,.1f} MB of files, {report['bytes'] / MB / seconds:.2f} MB/s; "
        f"{archive_bytes / MB:,.1f} MB of archives, {archive_bytes / MB / seconds:.2f} MB/s",
        f"  stored {report['stored']}, duplicate {report['duplicate']}, "
        f"quarantined {report['quarantined']}",
        "  seconds per step (summed over packages and workers):",
        *step_lines(steps),
        f"  virus scan + format identification: {scan_and_format:.2f} s, "
        f"{100 * scan_and_format / total:.1f}% of the summed step time",
    ]


def ingest(
    paths: Sequence[Path], namespace: str, workers: int, ocr: str
) -> tuple[dict[str, Any], float]:
    """Run the CLI on the packages; its JSON report and the wall time of the whole command."""
    command = [
        sys.executable,
        "-m",
        "heritage.cli",
        "ingest",
        "packages",
        "--namespace",
        namespace,
        "--workers",
        str(workers),
        "--json",
        *map(str, paths),
    ]
    started = time.perf_counter()
    environment = {**os.environ, "HERITAGE_OCR": ocr}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"heritage ingest packages exited {done.returncode}:\n{done.stderr[-3000:]}\n"
            "(no ClamAV database? `heritage ingest test-signatures` writes the test one)"
        )
    return read_report(done.stdout), wall


def _drop(settings: Settings, namespace: str) -> None:
    """The namespace's tables, objects, database and every topic the workflow made."""
    layout = LakehouseLayout.namespaced(settings, namespace)
    drop_namespace(settings, layout)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        leftover = {layout.ingest_events_topic, layout.dead_letter_topic} & set(admin.list_topics())
        if leftover:
            admin.delete_topics(sorted(leftover))
    finally:
        admin.close()


def run(
    packages: int, files: int, seed: int, workers: Sequence[int], dry_run: bool, ocr: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="package-bench-") as scratch:
        paths, archive_bytes, built = build(Path(scratch), packages, files, seed)
        print(
            f"package ingest benchmark: {len(paths):,} packages of {files} files, "
            f"{archive_bytes / MB:,.1f} MB (built in {built:.1f} s, not timed), seed {seed}, "
            f"{platform.node()}, {platform.machine()}, OCR {ocr}"
        )
        if dry_run:
            return
        settings = load_settings()
        for count in workers:
            namespace = f"benchpkg{uuid.uuid4().hex[:8]}"
            print(f"{count} worker{'s' if count != 1 else ''} (namespace {namespace}):", flush=True)
            try:
                report, wall = ingest(paths, namespace, count, ocr)
                for line in figure_lines(report, archive_bytes, wall):
                    print(line, flush=True)
            finally:
                _drop(settings, namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--packages", type=int, default=200, help="packages (default 200)")
    parser.add_argument("--files", type=int, default=20, help="files per package (default 20)")
    parser.add_argument("--seed", type=int, default=7, help="package generator seed (default 7)")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="worker processes, one run each (default 1 2)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="only build the packages and print their count and size (no services)",
    )
    parser.add_argument(
        "--ocr",
        choices=("on", "off"),
        default="off",
        help="the OCR step (HERITAGE_OCR; default off: its cost is measured by"
        " bench/ocr_quality.py, and the sample PDFs are word-shaped strokes)",
    )
    args = parser.parse_args()
    run(args.packages, args.files, args.seed, args.workers, args.dry_run, args.ocr)


if __name__ == "__main__":
    main()
