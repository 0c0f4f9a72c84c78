"""``heritage ingest packages|watch|test-signatures``: submission packages into the store.

The workflow starts Spark (for the Delta commit) and worker processes; both are imported by
the command that runs them, so that `heritage --help` does not load pyspark.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from heritage.cli.common_options import add_namespace_option, deployment_layout, progress_bars_shown
from heritage.settings import load_settings


def _context(args: argparse.Namespace) -> Any:
    from heritage.pipeline import stage_context

    settings = load_settings()
    return stage_context(
        settings, deployment_layout(settings, args), progress=progress_bars_shown()
    )


def _config(context: Any) -> Any:
    from heritage.producers.packages.ingest_settings import load_examination_config
    from heritage.producers.packages.virus_scan import ScannerUnavailable, engine_version

    config = load_examination_config(context.settings)
    try:
        engine_version(config.clamav)
    except ScannerUnavailable as error:
        raise SystemExit(f"heritage ingest: {error}") from error
    return config


def _packages(args: argparse.Namespace) -> int:
    from heritage.producers.packages.package_workflow import ingest_packages

    missing = [str(path) for path in args.paths if not path.exists()]
    if missing:
        print(
            f"heritage ingest packages: no such file or folder: {', '.join(missing)}",
            file=sys.stderr,
        )
        return 2
    context = _context(args)
    report = ingest_packages(context, args.paths, _config(context), workers=args.workers)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        for outcome in report.outcomes:
            print(outcome.render())
        print(report.summary())
    return 0


def _watch(args: argparse.Namespace) -> int:
    from heritage.producers.packages.submission_watch import (
        ingest_submissions_once,
        watch_submissions,
    )

    context = _context(args)
    config = _config(context)
    where = f"s3://{context.settings.bucket}/{context.layout.submissions_prefix}/"
    if args.once:
        report = ingest_submissions_once(context, config, args.workers)
        print(report.summary() if report else f"nothing waiting in {where}")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"watching {where} every {args.interval:g} s; Ctrl-C or SIGTERM stops", flush=True)
    watch_submissions(
        context,
        config,
        args.interval,
        args.workers,
        on_report=lambda report: print(report.summary(), flush=True),
        should_stop=stop.is_set,
    )
    return 0


def _test_signatures(args: argparse.Namespace) -> int:
    from heritage.producers.packages.scanner_signatures import write_test_signatures
    from heritage.source_settings import load_clamav_settings

    folder = args.dir or load_clamav_settings(load_settings()).database_dir
    written = write_test_signatures(folder)
    print(f"wrote {len(written)} test signature files to {folder}")
    print(
        "these detect ClamAV's and EICAR's test files only; a deployment scans with the "
        "official databases (freshclam), pointed to by HERITAGE_CLAMAV_DB"
    )
    return 0


def add_commands(commands: Any) -> None:
    ingest = commands.add_parser(
        "ingest",
        help="submission packages (zip, tar, BagIt, METS) into the package store",
        description="Each package is unpacked (recursively), its bag validated, its METS "
        "parsed, checked for resubmission, and every file hashed, identified (PRONOM) and "
        "virus-scanned; the images and PDFs of a clean package are read by OCR (page texts "
        "and hOCR beside the files; HERITAGE_OCR=off skips it); then stored in one commit, or "
        "quarantined with a reason. Every step (each OCR page too) is an event in "
        "audit/ingest_events and on the ingest events topic.",
    )
    sub = ingest.add_subparsers(dest="ingest_command", required=True, metavar="COMMAND")
    packages = sub.add_parser(
        "packages",
        help="ingest package files or folders",
        description="Run the workflow on each PATH (a zip, tar, tar.gz/tgz, tar.bz2, tar.xz, "
        "gzip of one file, or a folder such as a BagIt bag), in the order given. Prints one "
        "line per package (stored, duplicate or quarantined) and a summary. Exit 0 when every "
        "package went through the workflow (quarantined ones included); 2 when a path does "
        "not exist; 1 when the run failed (the services, the scanner).",
    )
    packages.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _common(packages)
    packages.add_argument(
        "--json", action="store_true", help="print the report as one JSON object instead"
    )
    packages.set_defaults(handler=_packages)
    watch = sub.add_parser(
        "watch",
        help="ingest packages dropped under submissions/ in the object store",
        description="Poll the submissions/ prefix of the bucket (ns/NAME/submissions/ with "
        "--namespace); each object is one package. Processed objects are deleted: the "
        "package is then in the store or in the quarantine.",
    )
    _common(watch)
    watch.add_argument(
        "--interval", type=float, default=30.0, help="seconds between polls (default 30)"
    )
    watch.add_argument("--once", action="store_true", help="one poll, then exit")
    watch.set_defaults(handler=_watch)
    signatures = sub.add_parser(
        "test-signatures",
        help="write the project's ClamAV test signatures (EICAR, ClamAV test files)",
        description="For a local stack without the official ClamAV databases: writes "
        "signatures that detect only the EICAR test file and ClamAV's own test files.",
    )
    signatures.add_argument(
        "--dir", type=Path, help="database folder (default: HERITAGE_CLAMAV_DB, .state/clamav)"
    )
    signatures.set_defaults(handler=_test_signatures)


def _common(parser: argparse.ArgumentParser) -> None:
    add_namespace_option(parser)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="packages examined in parallel, one process each, beside the process that "
        "uploads and commits (default 1: on 2 cores one worker and that process fill both; "
        "see docs/benchmarks.md)",
    )
