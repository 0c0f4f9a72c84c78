"""``heritage services up|down|status|init|env``: the local stack."""

from __future__ import annotations

import argparse
import sys
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
    try:
        print(stack.env_for_role(load_settings(), args.role))
    except stack.MissingRolePassword as error:
        print(f"heritage services env: {error}", file=sys.stderr)
        return 1
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
    env = actions.add_parser(
        "env",
        help='print a role\'s shell settings: eval "$(heritage services env --role reader)"',
        description="Print shell lines for eval. reader (the default) and curator: PGHOST, "
        "PGPORT, PGDATABASE, and PGSERVICEFILE, PGSERVICE and PGPASSFILE naming the role's "
        "service and password files (.state/psql/, only you may read them), so plain psql "
        "connects as that role; the password itself is never printed. admin: the schema "
        "owner's settings and every service's (PGUSER, PGPASSWORD, KAFKA_BOOTSTRAP_SERVERS, "
        "AWS_*, the bucket, the Qdrant location) for psql, mc/aws and Kafka tools. Roles: "
        "reader reads the analytics views (statements stop after 30 s); curator reads them "
        "and adds duplicate and publication decisions; admin owns the schema.",
    )
    env.add_argument(
        "--role",
        choices=stack.ROLES,
        default="reader",
        help="the PostgreSQL role to connect as (default: reader, read-only)",
    )
    env.set_defaults(handler=_env)
