"""`heritage dashboard`: run the Streamlit app with the project's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

from heritage.settings import load_settings


def app_path() -> Path:
    return Path(__file__).with_name("app.py")


# The toolbar curators see: no Deploy button or developer entries, only what a viewer of a
# running app needs (rerun, settings, print).
TOOLBAR_MODE = "viewer"


def streamlit_argv(port: int, address: str, headless: bool) -> list[str]:
    """The command line that runs the app as `heritage dashboard` (and compose) serve it."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        str(headless).lower(),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        TOOLBAR_MODE,
        # The tables' own CSV export writes cells like "=HYPERLINK(...)" as they are, and a
        # spreadsheet runs them: each table has an escaping download button instead.
        "--client.disableDataExport",
        "true",
        # dashboard/static/ (the vendored OpenSeadragon's button images) at /app/static/.
        "--server.enableStaticServing",
        "true",
    ]


def launch_dashboard(port: int, address: str, headless: bool) -> NoReturn:
    settings = load_settings()
    # The app logs JSON lines like every other component (app.py reads this flag).
    env = {**os.environ, **settings.as_environment(), "HERITAGE_DASHBOARD_JSON_LOGS": "1"}
    print(f"dashboard: http://{address}:{port} (Ctrl-C to stop)", flush=True)
    # Become Streamlit rather than wait for it as a child: a supervisor's SIGTERM then
    # stops the server itself, where it used to stop only this process and leave the
    # server running as an orphan on its port.
    os.execve(sys.executable, streamlit_argv(port, address, headless), env)
