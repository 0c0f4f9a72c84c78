"""The `heritage` command line: every operation of the lakehouse, with --help at every level.

Each command group lives in its own module with an ``add_commands(subparsers)``; this one
builds the parser from them and runs the chosen command's handler inside one correlation
scope, turning service errors and Ctrl-C into an exit status and one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from heritage.cli import (
    bench_commands,
    dashboard_command,
    demo_command,
    embargo_commands,
    iiif_commands,
    ingest_commands,
    lakehouse_commands,
    metrics_commands,
    ml_commands,
    oai_commands,
    produce_commands,
    services_commands,
    validate_command,
)
from heritage.cli.common_options import Handler
from heritage.json_logging import (
    LOG_FORMAT_CHOICES,
    configure_logging,
    correlation_scope,
    is_terminal,
)
from heritage.services.processes import ServiceError

log = logging.getLogger("heritage.cli")

# In the order `heritage --help` lists them.
COMMAND_GROUPS = (
    services_commands,
    demo_command,
    produce_commands,
    ingest_commands,
    lakehouse_commands,
    oai_commands,
    dashboard_command,
    validate_command,
    bench_commands,
    ml_commands,
    embargo_commands,
    iiif_commands,
    metrics_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heritage",
        description="Cultural-heritage lakehouse: Kafka -> Delta on S3 -> PostgreSQL, "
        "with near-duplicates in Qdrant and a Streamlit explorer.",
        epilog="Start with `heritage services up`, then `heritage demo`. "
        "Logs go to stderr, each line with the run's correlation_id: human lines on a "
        "terminal, JSON lines otherwise (see --log-format).",
    )
    parser.add_argument(
        "--log-level",
        help="log level (default: WARNING on a terminal, where each command prints its own "
        "progress and summary; INFO otherwise, for log collectors)",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMAT_CHOICES,
        default="auto",
        help="log lines on stderr: json (one object a line, for tools), human (time, level, "
        "message, key=value, short correlation id) or auto: human on a terminal, else json "
        "(default: auto)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return parser


def default_log_level() -> str:
    return "WARNING" if is_terminal(sys.stderr) else "INFO"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, passthrough = parser.parse_known_args(argv)
    if passthrough and not getattr(args, "takes_passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(passthrough)}")
    args.passthrough = passthrough
    configure_logging(args.log_level or default_log_level(), args.log_format)
    handler: Handler = args.handler
    with correlation_scope() as correlation_id:
        log.debug("command started", extra={"command": args.command})
        try:
            return handler(args)
        except ServiceError as error:
            print(f"heritage {args.command}: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(
                f"heritage {args.command}: interrupted (correlation_id {correlation_id})",
                file=sys.stderr,
            )
            return 130
