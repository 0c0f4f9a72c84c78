"""``heritage oai serve``: the project's own OAI-PMH test repository."""

from __future__ import annotations

import argparse
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    # The server's record generator and mappings load only for this command.
    from heritage.producers.simulators.oai_pmh_server import config_from_arguments, serve

    serve(config_from_arguments(args.passthrough, prog="heritage oai serve"))
    return 0


def add_commands(commands: Any) -> None:
    """Add the ``oai`` group to the top-level subparsers."""
    oai_server = commands.add_parser(
        "oai",
        help="the project's own OAI-PMH test repository",
        description="A local OAI-PMH 2.0 repository of generated records, for tests, the "
        "demo and benchmarks.",
    )
    actions = oai_server.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        add_help=False,
        help="serve N generated records in oai_dc, lido, edm and iso19139 (--help for options)",
        description="Serve generated records; options: `heritage oai serve --help`.",
    )
    # Its options belong to the server's own parser: main() passes them through.
    serve.set_defaults(handler=_serve, takes_passthrough=True)
