"""Table downloads escape cells a spreadsheet would run as formulas; no services needed."""

from __future__ import annotations

from typing import NoReturn

import pytest
from streamlit.testing.v1 import AppTest

from heritage.dashboard import launch


def table_page() -> None:
    from heritage.dashboard.page_support import table_with_download

    table_with_download(
        [{"record_id": "csv:rijks:1", "title": '=HYPERLINK("https://evil.example")'}],
        "dead-letters-by-reason",
    )


def test_a_table_comes_with_its_escaping_download() -> None:
    app = AppTest.from_function(table_page).run()
    assert not app.exception
    (table,) = app.dataframe
    assert table.value["title"][0] == '=HYPERLINK("https://evil.example")'  # shown as received
    (button,) = app.get("download_button")
    assert button.proto.label == "Download CSV"


class Started(Exception):
    pass


def test_the_dashboard_starts_with_the_unescaped_table_export_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def execve(path: str, argv: list[str], env: dict[str, str]) -> NoReturn:
        raise Started(argv)

    monkeypatch.setattr(launch.os, "execve", execve)
    with pytest.raises(Started) as started:
        launch.launch_dashboard(8501, "127.0.0.1", headless=True)
    argv = started.value.args[0]
    assert argv[argv.index("--client.disableDataExport") + 1] == "true"
