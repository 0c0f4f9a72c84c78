"""``heritage demo``: the walking skeleton end to end on a generated sample collection."""

from __future__ import annotations

import argparse
from typing import Any


def _demo(args: argparse.Namespace) -> int:
    # The demo pulls in Spark and every stage; only this command needs them.
    from heritage.demo import run_demo

    return run_demo(records=args.records, seed=args.seed, annotations=args.annotations)


def add_commands(commands: Any) -> None:
    """Add ``demo`` to the top-level subparsers."""
    demo = commands.add_parser(
        "demo",
        help="run the walking skeleton end to end on a generated sample collection",
        description="Start the stack, generate a Europeana-shaped sample collection, publish "
        "it and simulated user annotations (tags and comments) to Kafka, run raw -> cleansed "
        "(+ dead letters) -> PostgreSQL, and print a summary. Running it again changes nothing.",
    )
    demo.add_argument("--records", type=int, default=1000, help="sample size (default 1000)")
    demo.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    demo.add_argument(
        "--annotations",
        type=int,
        default=200,
        help="user annotations the simulator makes on the sample's records (default 200)",
    )
    demo.set_defaults(handler=_demo)
