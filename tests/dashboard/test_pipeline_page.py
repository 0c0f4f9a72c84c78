"""The Pipeline and SQL pages with Streamlit's AppTest: stage runs with their own end times
and runs with nothing new, an empty database, and a database that is down."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from heritage.dashboard.analyst_connection import PSQL_AS_READER
from heritage.dashboard.launch import app_path
from heritage.dashboard.pipeline_chart import NO_NEW_RECORDS
from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline_runs import StageTiming, pipeline_run_rows, write_stage_runs
from heritage.settings import Settings

pytestmark = pytest.mark.integration

PAGES = ("pipeline_page.py", "sql_page.py")
# Two runs of raw and cleanse a few minutes apart, the second one with nothing new.
FIRST_RUN_END = 1_765_000_000.0
RUNS = (
    StageTiming("raw", 1000, 4.0, FIRST_RUN_END),
    StageTiming("cleanse", 990, 9.0, FIRST_RUN_END + 9.5),
    StageTiming("raw", 0, 1.0, FIRST_RUN_END + 300),
    StageTiming("cleanse", 0, 0.5, FIRST_RUN_END + 301),
)


def open_page(page: str, database: str | None = None) -> AppTest:
    if database:
        os.environ["PGDATABASE"] = database
    app = AppTest.from_file(str(app_path()), default_timeout=60).run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def the_chart(app: AppTest) -> Any:
    charts = app.get("vega_lite_chart") or app.get("arrow_vega_lite_chart")
    assert charts, "the throughput chart is shown"
    return charts[0].proto


def chart_spec(app: AppTest) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(the_chart(app).spec)
    return spec


def chart_data(app: AppTest) -> pd.DataFrame:
    """The rows the chart draws (Streamlit sends them as a named Arrow dataset)."""
    chart = the_chart(app)
    arrow = chart.datasets[0].data if chart.datasets else chart.data
    frame: pd.DataFrame = pa.ipc.open_stream(arrow.data).read_pandas()
    return frame


def test_each_stage_shows_its_own_times_and_idle_runs_are_marked(
    app_env: None, live_settings: Settings, layout: LakehouseLayout
) -> None:
    write_stage_runs(live_settings, layout.pg_database, pipeline_run_rows(RUNS, None))
    app = open_page("pipeline_page.py", layout.pg_database)
    last = app.dataframe[0].value.set_index("stage")
    assert last.loc["raw", "finished (UTC)"] == utc(FIRST_RUN_END + 300)
    assert last.loc["cleanse", "finished (UTC)"] == utc(FIRST_RUN_END + 301)
    assert last.loc["cleanse", "started (UTC)"] == utc(FIRST_RUN_END + 300.5)
    assert set(last["outcome"]) == {NO_NEW_RECORDS}
    spec = json.dumps(chart_spec(app))
    assert '"%H:%M"' in spec and '"utc"' in spec and NO_NEW_RECORDS in spec
    drawn = chart_data(app)
    idle = drawn[drawn["outcome"] == NO_NEW_RECORDS]
    # Drawn at the stage's last throughput, not at zero.
    assert idle.set_index("stage")["plotted_rows_per_second"].to_dict() == {
        "raw": 250.0,
        "cleanse": 110.0,
    }
    assert "Hollow points" in " ".join(c.value for c in app.caption)


def test_the_chart_shows_as_many_runs_per_stage_as_asked(
    app_env: None, live_settings: Settings, layout: LakehouseLayout
) -> None:
    write_stage_runs(live_settings, layout.pg_database, pipeline_run_rows(RUNS, None))
    app = open_page("pipeline_page.py", layout.pg_database)
    app.number_input(key="throughput_runs").set_value(1).run()
    assert not app.exception
    assert "last 1 runs" in " ".join(c.value for c in app.caption)
    drawn = chart_data(app)
    assert sorted(drawn["stage"]) == ["cleanse", "raw"]
    assert set(drawn["outcome"]) == {NO_NEW_RECORDS}
    app.number_input(key="throughput_runs").set_value(2).run()
    assert len(chart_data(app)) == len(RUNS)


def test_a_single_run_already_draws_the_chart(
    app_env: None, live_settings: Settings, layout: LakehouseLayout
) -> None:
    write_stage_runs(
        live_settings,
        layout.pg_database,
        pipeline_run_rows([StageTiming("raw", 10, 1.0, time.time())], None),
    )
    app = open_page("pipeline_page.py", layout.pg_database)
    assert chart_data(app)["rows_per_second"].tolist() == [10.0]
    assert all("No pipeline runs" not in i.value for i in app.info)


@pytest.mark.parametrize("page", PAGES)
def test_on_an_empty_database(app_env: None, layout: LakehouseLayout, page: str) -> None:
    app = open_page(page, layout.pg_database)
    assert not app.error
    text = " ".join(str(e.value) for e in (*app.info, *app.caption, *app.markdown, *app.code))
    assert "Traceback" not in text
    if page == "pipeline_page.py":
        assert "No pipeline runs recorded yet" in text
    else:
        assert PSQL_AS_READER in text and "30s" in text


@pytest.mark.parametrize("page", PAGES)
def test_when_the_database_is_down(
    app_env: None, page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPORT", "1")  # nothing listens there
    app = open_page(page)
    assert "cannot be reached" in app.error[0].value
    assert "Traceback" not in " ".join(e.value for e in app.error)
