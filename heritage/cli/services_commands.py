"""``heritage services up|down|status|init|env``: the local stack."""

from __future__ import annotations

import argparse
from typing import Any

from heritage.services import stack
from heritage.settings import load_settings


def _up(args: argparse.Namespace) -> int:
    stack.up()
    print(stack.format_status(stack.status()))
    return 0


def _down(args: argparse.Namespace) -> int:
    stack.down()
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = stack.status()
    print(stack.format_status(rows))
    return 0 if all(row.healthy for row in rows) else 1


def _init(args: argparse.Namespace) -> int:
    stack.initialise(load_settings())
    print("init: bucket, topics, schema and roles in place")
    return 0


def _env(args: argparse.Namespace) -> int:
    print(stack.shell_exports(load_settings()))
    return 0


def add_commands(commands: Any) -> None:
    """Add the ``services`` group to the top-level subparsers."""
    services = commands.add_parser(
        "services",
        help="start, stop and inspect the local stack (Kafka, MinIO, PostgreSQL)",
        description="The local stack without Docker: an Apache Kafka broker (KRaft), MinIO "
        "and a PostgreSQL cluster on loopback, all state in .state/. Qdrant runs embedded "
        "unless QDRANT_URL is set.",
    )
    actions = services.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser(
        "up",
        help="start every service not running, then create bucket, topics, schema, roles",
        description="Start Kafka, MinIO and PostgreSQL (generating credentials on first use) "
        "and wait until each answers; idempotent.",
    ).set_defaults(handler=_up)
    actions.add_parser(
        "down",
        help="stop exactly the processes `up` started",
        description="Stop the processes recorded in .state/run; data is kept.",
    ).set_defaults(handler=_down)
    actions.add_parser(
        "status",
        help="print each service's health, address and version (exit 1 if any is down)",
        description="Health, address and version of each service.",
    ).set_defaults(handler=_status)
    actions.add_parser(
        "init",
        help="create bucket, topics, schema and roles on already running services",
        description="The one-shot init (what compose's `init` service runs): the bucket, "
        "the Kafka topics, the PostgreSQL schema and the read-only role. Idempotent.",
    ).set_defaults(handler=_init)
    actions.add_parser(
        "env",
        help='print shell exports: eval "$(heritage services env)"',
        description="Print `export` lines (PGHOST... KAFKA_BOOTSTRAP_SERVERS, AWS_*, the "
        "bucket, the Qdrant location) so psql, mc/aws and Kafka tools reach the stack.",
    ).set_defaults(handler=_env)
