"""``heritage embargo evaluate``: embargo evaluation, the rights check before release,
publication events and IIIF manifests, as of an instant.

Spark loads only inside the command.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from heritage.cli.common_options import add_namespace_option, deployment_layout
from heritage.settings import load_settings


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset (``2030-01-01T00:00:00Z``); a naive one is refused:
    it would be read in whatever zone this process runs in."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"--as-of {text!r} is not an ISO 8601 instant; write e.g. 2030-01-01T00:00:00Z"
        ) from error
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"--as-of {text!r} has no offset; add Z (UTC) or +hh:mm, e.g. {text.strip()}Z"
        )
    return moment.astimezone(UTC)


def _evaluate(args: argparse.Namespace) -> int:
    from heritage import pipeline
    from heritage.spark_apps.publication_run import run_publication

    settings = load_settings()
    layout = deployment_layout(settings, args)
    pipeline.prepare(settings, layout)
    spark = pipeline.lakehouse_session(settings)
    stop = threading.Event()
    while True:
        started = time.monotonic()
        result = run_publication(
            spark,
            settings,
            layout,
            args.as_of or datetime.now(UTC),
            sync=not args.no_sync,
            manifests=not args.no_manifests,
        )
        _print(result, args.json)
        if args.every is None or args.as_of is not None:
            return 0
        stop.wait(max(0.0, args.every - (time.monotonic() - started)))


def _print(result: Any, as_json: bool) -> None:
    if as_json:
        figures = {
            "as_of": result.as_of.isoformat(),
            "synced": result.synced,
            "decisions": result.decisions,
            "due": result.due,
            "changed": result.changed,
            "events": result.events,
            "sent": result.sent,
            "seconds": result.seconds,
        }
        print(json.dumps(figures, sort_keys=True), flush=True)
        return
    print(
        f"embargo evaluation as of {result.as_of.isoformat()}: {result.synced:,} objects read "
        f"from their sources, {result.due:,} due, {result.decisions:,} curator decisions; "
        f"{result.changed:,} objects changed, {result.events:,} events committed, "
        f"{result.sent:,} sent"
        + (f"; manifests: {result.manifests.render()}" if result.manifests else ""),
        flush=True,
    )


def add_commands(commands: Any) -> None:
    """Add the ``embargo`` group to the top-level subparsers."""
    embargo = commands.add_parser(
        "embargo",
        help="evaluate embargoes and publish what has cleared",
        description="Embargo states: active -> expired (the end is reached: as_of >= end, "
        "in UTC) -> pending_review (the rights check) -> published (cleared) or active "
        "again (re-embargo). Every transition is an event in governance/embargo_events and "
        "on the publication topic.",
    )
    actions = embargo.add_subparsers(dest="action", required=True, metavar="ACTION")
    evaluate = actions.add_parser(
        "evaluate",
        help="run the evaluator once (or every --every seconds)",
        description="Read the sources' embargo inputs and the curators' decisions, move "
        "every object whose end is reached, check rights before release, commit the "
        "transitions with their events, publish the events and regenerate IIIF manifests. "
        "Running it again at the same instant changes nothing.",
    )
    evaluate.add_argument(
        "--as-of",
        type=parse_instant,
        default=None,
        metavar="INSTANT",
        help="evaluate as of this ISO 8601 instant with offset (default: now, UTC)",
    )
    evaluate.add_argument(
        "--every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run again every SECONDS (as of the time of each run) until interrupted",
    )
    evaluate.add_argument(
        "--no-sync",
        action="store_true",
        help="do not read new curated records first (evaluate the known states only)",
    )
    evaluate.add_argument(
        "--no-manifests", action="store_true", help="do not regenerate IIIF manifests"
    )
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_namespace_option(evaluate)
    evaluate.set_defaults(handler=_evaluate)
