"""``heritage metrics serve``: Prometheus metrics of a deployment, read at scrape time."""

from __future__ import annotations

import argparse
from typing import Any

from heritage.cli.common_options import add_namespace_option, deployment_layout
from heritage.metrics_exporter import metrics_server
from heritage.settings import load_settings


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    layout = deployment_layout(settings, args)
    server = metrics_server(settings, layout, args.host, args.port)
    print(
        f"metrics of {layout.pg_database} on http://{args.host}:{server.server_port}/metrics; "
        "Ctrl-C stops",
        flush=True,
    )
    with server:
        server.serve_forever()
    return 0


def add_commands(commands: Any) -> None:
    """Add the ``metrics`` group to the top-level subparsers."""
    metrics = commands.add_parser(
        "metrics",
        help="Prometheus metrics: Kafka lag, stage runs, dead letters, image and producer counts",
        description="Expose the deployment's queue depth, stage runs and failures for "
        "Prometheus; every scrape reads Kafka, PostgreSQL and the producers' ledgers afresh.",
    )
    actions = metrics.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve /metrics until Ctrl-C",
        description="Serve /metrics in the Prometheus text format. A store that is down or "
        "slower than 4 s reports heritage_source_up{source} 0; the others still report.",
    )
    serve.add_argument("--port", type=int, default=9464, help="port (default 9464)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    add_namespace_option(serve)
    serve.set_defaults(handler=_serve)
