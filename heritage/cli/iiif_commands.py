"""``heritage iiif serve|manifests``: the public IIIF endpoints and the manifest export.

Spark loads only inside ``manifests``; ``serve`` needs PostgreSQL and the object store.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from heritage.cli.common_options import add_namespace_option, deployment_layout
from heritage.iiif.manifest_store import BASE_URL_SETTING, DEFAULT_BASE_URL
from heritage.settings import load_settings


def _serve(args: argparse.Namespace) -> int:
    from heritage.iiif.iiif_server import make_server

    settings = load_settings()
    server = make_server(settings, deployment_layout(settings, args), args.host, args.port)
    print(
        f"serving IIIF on http://{args.host}:{server.server_port}{server.base_path}/ "
        "(Ctrl-C stops)",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _manifests(args: argparse.Namespace) -> int:
    from heritage import pipeline
    from heritage.spark_apps.iiif_manifest_export import export_manifests

    settings = load_settings()
    layout = deployment_layout(settings, args)
    pipeline.prepare(settings, layout)
    result = export_manifests(
        pipeline.lakehouse_session(settings), settings, layout, full=args.full
    )
    print(json.dumps(asdict(result), sort_keys=True) if args.json else result.render())
    return 0


def add_commands(commands: Any) -> None:
    """Add the ``iiif`` group to the top-level subparsers."""
    iiif = commands.add_parser(
        "iiif",
        help="IIIF manifests of published objects and the server that answers for them",
        description="IIIF Presentation 3.0 manifests of published objects (governance/"
        f"embargoes state 'published') and their public endpoints under {BASE_URL_SETTING} "
        f"(default {DEFAULT_BASE_URL}).",
    )
    actions = iiif.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve manifests, collections, images and the access probe",
        description="Serve, under the path of the base URL: probe/ID (the Authorization Flow "
        "2.0 probe: HTTP 200 only while the object is published, else 401), manifests/ID.json "
        "and images/ID (published objects only), collections/PROVIDER.json. IDs are "
        "percent-encoded. The state is read from PostgreSQL on every request.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8182, help="port (default 8182)")
    add_namespace_option(serve)
    serve.set_defaults(handler=_serve)
    manifests = actions.add_parser(
        "manifests",
        help="store or withdraw manifests after the publication events",
        description="Read the new publication events (Kafka), then store the manifest of each "
        "object they name that is published now and withdraw it otherwise; rebuild those "
        "objects' provider collections. Safe to rerun: unchanged manifests are not written "
        "again. A published object whose image is not stored yet is skipped; --full "
        "reconciles every object, which picks those up.",
    )
    manifests.add_argument(
        "--full",
        action="store_true",
        help="reconcile every object of governance/embargoes and every provider collection, "
        "not only those the new events name",
    )
    manifests.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_namespace_option(manifests)
    manifests.set_defaults(handler=_manifests)
