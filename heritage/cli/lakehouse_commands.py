"""``heritage lakehouse run|reconcile|maintain|history|drop``: the Spark stages and Delta tables.

The runner and the table tools start Spark; they are imported by the command that runs
them, so that `heritage --help` and the other commands do not load pyspark.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from typing import Any

from heritage.cli.common_options import (
    add_namespace_option,
    deployment_layout,
    progress_bars_shown,
)
from heritage.json_logging import is_terminal
from heritage.lakehouse_layout import TABLE_NAMES, LakehouseLayout
from heritage.settings import Settings, load_settings
from heritage.stage_registry import stage_names

# Exit status of a continuous run that gave up on a service that stayed down (EX_TEMPFAIL:
# the same command works once the service is back).
SERVICE_UNREACHABLE_EXIT = 75


def _run(args: argparse.Namespace) -> int:
    # pyspark takes a while to import: only for the commands that run stages.
    from heritage import pipeline
    from heritage.spark_session import spark_log_file

    settings = load_settings()
    layout = deployment_layout(settings, args)
    if args.continuous:
        return _run_continuously(settings, layout, args)
    pipeline.prepare(settings, layout)
    print(f"logs: Spark and the JVM in {spark_log_file(settings)}", flush=True)
    report = pipeline.run_stages(
        settings,
        layout,
        args.stage,
        skip=args.skip,
        progress=progress_bars_shown(),
        on_stage=lambda run: print(run.render(), flush=True),
    )
    total = sum(run.seconds for run in report.runs)
    idle = all(run.result.nothing_new for run in report.runs)
    print(f"{len(report.runs)} stages in {total:.1f}s" + ("; nothing new" if idle else ""))
    return 0


def _run_continuously(settings: Settings, layout: LakehouseLayout, args: argparse.Namespace) -> int:
    from heritage import pipeline
    from heritage.spark_session import spark_log_file
    from heritage.transient_faults import ServiceUnreachable

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        faults = pipeline.FaultPolicy.from_settings(settings, args.give_up_after)
    except ValueError as error:
        print(f"heritage lakehouse run: {error}", file=sys.stderr)
        return 2
    only = None if args.stage == "all" else args.stage
    try:
        pipeline.retrying(lambda: pipeline.prepare(settings, layout), "prepare", faults, stop)
        if stop.is_set():
            return 0
        print(f"logs: Spark and the JVM in {spark_log_file(settings)}", flush=True)
        print(f"running continuously every {args.interval:g} s; Ctrl-C or SIGTERM stops")
        pipeline.run_continuously(
            settings, layout, args.interval, stop, skip=args.skip, only=only, faults=faults
        )
    except ServiceUnreachable as error:
        print(f"heritage lakehouse run: {error}", file=sys.stderr, flush=True)
        return SERVICE_UNREACHABLE_EXIT
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from heritage.lakehouse_reconcile import reconcile_lakehouse

    settings = load_settings()
    report = reconcile_lakehouse(settings, deployment_layout(settings, args))
    print(report.render())
    return 0 if report.balanced else 1


def _maintain(args: argparse.Namespace) -> int:
    from heritage.pipeline import lakehouse_session
    from heritage.spark_apps.table_maintenance import maintain_table

    settings = load_settings()
    spark = lakehouse_session(settings)
    for name, path in deployment_layout(settings, args).tables().items():
        result = maintain_table(spark, name, path, args.retention_hours)
        print(
            f"{name:<20} compacted {result.files_compacted} files into {result.files_added}; "
            f"vacuumed files older than {args.retention_hours} h"
        )
    return 0


def _history(args: argparse.Namespace) -> int:
    from heritage.pipeline import lakehouse_session
    from heritage.spark_apps.table_maintenance import table_history

    settings = load_settings()
    path = deployment_layout(settings, args).tables()[args.table]
    for commit in table_history(lakehouse_session(settings), path, args.limit):
        metrics: dict[str, str] = commit["operationMetrics"] or {}  # type: ignore[assignment]
        shown = ", ".join(f"{k}={v}" for k, v in sorted(metrics.items()) if v not in ("0", None))
        print(f"v{commit['version']:<5} {commit['timestamp']}  {commit['operation']:<18} {shown}")
    return 0


def _drop(args: argparse.Namespace) -> int:
    # Kafka, MinIO and Qdrant clients: only for the command that removes a namespace.
    from heritage.lakehouse_namespaces import drop_namespace, namespace_of

    settings = load_settings()
    layout = LakehouseLayout.namespaced(settings, args.namespace)
    try:
        namespace = namespace_of(settings, layout)
    except ValueError as error:
        print(f"heritage lakehouse drop: {error}", file=sys.stderr)
        return 2
    if not args.yes:
        if not is_terminal(sys.stdin):
            print(
                f"heritage lakehouse drop: not a terminal; pass --yes to drop {namespace}",
                file=sys.stderr,
            )
            return 2
        print(
            f"This deletes namespace {namespace}: its topics, tables, database "
            f"{layout.pg_database}, producer ledgers and Qdrant collection."
        )
        if input("Type the namespace name to confirm: ").strip() not in (args.namespace, namespace):
            print("not confirmed; nothing dropped")
            return 1
    summary = drop_namespace(settings, layout)
    for line in summary.lines():
        print(line)
    return 1 if summary.left else 0


def _add_drop(actions: Any) -> None:
    drop = actions.add_parser(
        "drop",
        help="remove an isolated namespace from every store, so its name can be used again",
        description="Delete everything of one namespace (--namespace NAME of the other "
        "commands): its Kafka topics (records, annotations, dead letters, ingest events, "
        "publication) and the consumer groups reading only them, its Delta tables, checkpoints "
        "and objects under ns/NAME/, its PostgreSQL database heritage_NAME, its producer "
        "ledgers and state, and its Qdrant collection. Never the product's own deployment. "
        "Parts already gone are skipped, so a second drop succeeds. Asks for the name on a "
        "terminal; elsewhere --yes is required. Exit 0 when everything is gone, 1 when "
        "something was left (listed), 2 on bad usage.",
    )
    drop.add_argument("namespace", metavar="NAMESPACE", help="the namespace to remove")
    drop.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (required without a TTY)"
    )
    drop.set_defaults(handler=_drop)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 or more seconds")
    return value


def _add_run(actions: Any) -> None:
    run = actions.add_parser(
        "run",
        help="run stages once over all new input (availableNow)",
        description="Run raw ingest, cleanse, ml (images, embeddings, duplicates), curate and "
        "export once over whatever input is "
        "new (Structured Streaming with an availableNow trigger; each stage is idempotent).",
    )
    run.add_argument(
        "--stage",
        choices=("all", *stage_names()),
        default="all",
        help="which stage (default: all)",
    )
    run.add_argument(
        "--skip",
        action="append",
        choices=stage_names(),
        default=[],
        help="leave a stage out (repeatable; compose runs ml in its own service)",
    )
    run.add_argument(
        "--continuous",
        action="store_true",
        help="keep running: raw and cleanse as processingTime streaming queries, curate and "
        "export every --interval seconds (default: availableNow, once)",
    )
    run.add_argument(
        "--interval", type=float, default=30.0, help="seconds between micro-batches (default 30)"
    )
    run.add_argument(
        "--give-up-after",
        type=_seconds,
        metavar="SECONDS",
        help="with --continuous: a stage that cannot reach PostgreSQL, Kafka or the object "
        "store is retried with backoff (one status line per wait) for this long without a "
        "success, then the run exits with status 75 and says what to start "
        "(default: $HERITAGE_TRANSIENT_GIVE_UP_S, else 900)",
    )
    add_namespace_option(run)
    run.add_argument(
        "--topics-from",
        metavar="NAMESPACE",
        help="read the topics of another namespace (replay its input into this deployment)",
    )
    run.set_defaults(handler=_run)


def _add_table_commands(actions: Any) -> None:
    reconcile = actions.add_parser(
        "reconcile",
        help="check that every input ended in exactly one place (exit 1 if not)",
        description="Per source: every record id in raw is cleansed, dead-lettered or deleted, "
        "and PostgreSQL holds one row per cleansed record. Exits 1 when anything does not "
        "reconcile, printing examples.",
    )
    add_namespace_option(reconcile)
    reconcile.set_defaults(handler=_reconcile)
    maintain = actions.add_parser(
        "maintain",
        help="OPTIMIZE and VACUUM every table (safe retention)",
        description="Compact small files (OPTIMIZE) and remove files no longer referenced and "
        "older than the retention (VACUUM). The retention cannot go below 168 hours.",
    )
    maintain.add_argument(
        "--retention-hours", type=int, default=168, help="VACUUM retention (default/min 168)"
    )
    add_namespace_option(maintain)
    maintain.set_defaults(handler=_maintain)
    history = actions.add_parser(
        "history",
        help="the commits of one table: version, time, operation, metrics",
        description="The Delta log of one table, newest first.",
    )
    history.add_argument("table", choices=TABLE_NAMES, help="which table")
    history.add_argument("--limit", type=int, default=20, help="commits to show (default 20)")
    add_namespace_option(history)
    history.set_defaults(handler=_history)


def add_commands(commands: Any) -> None:
    """Add the ``lakehouse`` group to the top-level subparsers."""
    lakehouse = commands.add_parser(
        "lakehouse",
        help="run the Spark stages (raw, cleanse, ml, curate, export)",
        description="The Delta tables on the object store and their export to PostgreSQL.",
    )
    actions = lakehouse.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_run(actions)
    _add_table_commands(actions)
    _add_drop(actions)
