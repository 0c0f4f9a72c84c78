"""``heritage dashboard``: the Streamlit explorer."""

from __future__ import annotations

import argparse
from typing import Any


def _dashboard(args: argparse.Namespace) -> int:
    # The dashboard component (Streamlit) loads only for this command.
    from heritage.dashboard.launch import launch_dashboard

    return launch_dashboard(port=args.port, address=args.address, headless=args.headless)


def add_commands(commands: Any) -> None:
    """Add ``dashboard`` to the top-level subparsers."""
    dashboard = commands.add_parser(
        "dashboard",
        help="open the Streamlit explorer",
        description="Run the Streamlit explorer against PostgreSQL's analytics views.",
    )
    dashboard.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    dashboard.add_argument(
        "--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    dashboard.add_argument("--headless", action="store_true", help="do not open a browser window")
    dashboard.set_defaults(handler=_dashboard)
