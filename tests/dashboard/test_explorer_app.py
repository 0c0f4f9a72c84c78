"""The explorer page with Streamlit's AppTest: data, an empty database, a database that is down."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from heritage.dashboard.explorer_queries import page_query
from heritage.dashboard.launch import app_path
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings


def test_first_page_and_later_pages_use_keyset_pagination() -> None:
    sql, params = page_query(None, 25)
    assert "LIMIT %s" in sql and params == (26,)
    sql, params = page_query("europeana:/1/x", 25)
    assert "record_id > %s" in sql and params == ("europeana:/1/x", 26)


@pytest.fixture
def app_env(live_settings: Settings) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(live_settings.as_environment())
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.integration
def test_explorer_lists_records_and_pages(
    app_env: None, live_settings: Settings, layout: LakehouseLayout
) -> None:
    from heritage.pipeline import produce_sample, run_stages

    produce_sample(live_settings, layout, 120, 9, progress=False)
    run_stages(live_settings, layout)
    os.environ["PGDATABASE"] = layout.pg_database
    app = AppTest.from_file(str(app_path()), default_timeout=30).run()
    assert not app.exception
    assert "records" in app.caption[0].value
    first_page = app.dataframe[0].value
    assert len(first_page) == 25
    app.button(key="next").click().run()
    second_page = app.dataframe[0].value
    assert len(second_page) == 25
    assert set(first_page["record_id"]).isdisjoint(second_page["record_id"])


@pytest.mark.integration
def test_explorer_on_an_empty_database(app_env: None, layout: LakehouseLayout) -> None:
    os.environ["PGDATABASE"] = layout.pg_database
    app = AppTest.from_file(str(app_path()), default_timeout=30).run()
    assert not app.exception
    assert "No records yet" in app.info[0].value


def test_explorer_when_the_database_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", "1")  # nothing listens there
    app = AppTest.from_file(str(app_path()), default_timeout=30).run()
    assert not app.exception
    assert "cannot be reached" in app.error[0].value
    assert "Traceback" not in app.error[0].value
