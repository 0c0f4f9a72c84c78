"""Every page of the dashboard with Streamlit's AppTest: real data from the pipeline, an empty
database, and a database that is down (a clear message, never a traceback)."""

from __future__ import annotations

import dataclasses
import os

import psycopg2
import pytest
from dashboard_fixtures import DashboardData
from streamlit.testing.v1 import AppTest

from heritage.dashboard.launch import app_path
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings

PAGES = (
    "explore_page.py",
    "object_page.py",
    "duplicates_page.py",
    "pipeline_page.py",
    "sql_page.py",
    "packages_page.py",
    "publication_page.py",
)


def open_page(page: str, database: str | None = None, **query: str) -> AppTest:
    if database:
        os.environ["PGDATABASE"] = database
    app = AppTest.from_file(str(app_path()), default_timeout=60).run()
    if page != "explore_page.py":
        for key, value in query.items():
            app.query_params[key] = value
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def all_text(app: AppTest) -> str:
    parts = [e.value for e in (*app.markdown, *app.caption, *app.title, *app.header)]
    parts += [e.value for e in (*app.subheader, *app.info, *app.warning, *app.error)]
    parts += [e.value for e in (*app.success, *app.code)]
    return "\n".join(str(p) for p in parts)


pytestmark = pytest.mark.integration


def shown_record_ids(app: AppTest) -> list[str]:
    return [b.help.removeprefix("Show ") for b in app.button if b.key and b.key.startswith("open-")]


def open_explore(database: str, **query: str | list[str]) -> AppTest:
    """The explore page opened from a URL with these query parameters."""
    os.environ["PGDATABASE"] = database
    app = AppTest.from_file(str(app_path()), default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


def test_explore_searches_filters_and_pages(app_env: None, dashboard_data: DashboardData) -> None:
    app = open_page("explore_page.py", dashboard_data.layout.pg_database)
    valid = len(dashboard_data.manifest.valid_record_ids)
    assert f"{valid:,} matching records of {valid:,}" in app.caption[0].value
    first_page = set(shown_record_ids(app))
    assert len(first_page) == 20
    assert app.get("image"), "thumbnails from the object store and rights badges are shown"
    app.button(key="next").click().run()
    second_page = set(shown_record_ids(app))
    assert second_page and first_page.isdisjoint(second_page)
    assert app.query_params["page"] == "2"

    app.checkbox(key="has_duplicates").check().run()
    grouped = {m for members in dashboard_data.groups.values() for m in members}
    shown = set(shown_record_ids(app))
    assert shown and shown <= grouped
    assert f"{len(grouped):,} matching" in app.caption[0].value
    assert "page" not in app.query_params, "a new facet starts again at the first page"
    app.checkbox(key="has_duplicates").uncheck().run()

    app.checkbox(key="has_annotations").check().run()
    assert "1 matching" in app.caption[0].value
    app.checkbox(key="has_annotations").uncheck().run()

    app.text_input(key="search").input("zzzznotaword").run()
    assert "0 matching" in app.caption[0].value
    assert "Nothing matches" in app.info[0].value
    assert app.query_params["q"] == "zzzznotaword"


def test_explore_facets_count_the_current_search(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    database = dashboard_data.layout.pg_database
    connection = connect(live_settings, database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_type, count(*) FROM heritage.objects GROUP BY 1 ORDER BY 2 DESC"
        )
        by_type = cursor.fetchall()
    connection.close()
    app = open_explore(database)
    labels = app.multiselect(key="types").options
    assert labels[0] == f"{by_type[0][0]} ({by_type[0][1]:,})"
    assert {f"{kind} ({count:,})" for kind, count in by_type} == set(labels)
    app.multiselect(key="types").select(by_type[-1][0]).run()
    assert f"{by_type[-1][1]:,} matching" in app.caption[0].value
    assert app.query_params["type"] == by_type[-1][0]


def test_explore_opens_the_view_a_url_names(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    database = dashboard_data.layout.pg_database
    app = open_explore(database)
    assert app.multiselect(key="providers").value == []
    provider = app.multiselect(key="providers").options[0].rsplit(" (", 1)[0]
    shared = {"provider": [provider], "sort": "title", "view": "grid", "page": "1"}
    opened = open_explore(database, **shared)
    assert opened.multiselect(key="providers").value == [provider]
    assert opened.selectbox(key="sort").value == "title"
    assert "sorted by title a-z" in opened.caption[0].value
    assert opened.query_params["view"] == "grid"
    # The same URL opens the same results, in the same order.
    again = open_explore(database, **shared)
    assert shown_record_ids(again) == shown_record_ids(opened) != []
    # A link with a later page opens that page.
    paged = open_explore(database, page="2")
    assert "page 2" in paged.caption[0].value
    assert set(shown_record_ids(paged)).isdisjoint(shown_record_ids(open_explore(database)))
    # A hand-edited link with nonsense falls back to defaults instead of failing.
    broken = open_explore(database, sort="random()", page="x", provider=["no such provider"])
    assert "sorted by relevance" in broken.caption[0].value
    assert broken.multiselect(key="providers").value == []


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("title", "title, record_id"),
        ("date", "date_start ASC NULLS LAST, record_id"),
        ("date_desc", "date_start DESC NULLS LAST, record_id DESC"),
        ("provider", "data_provider, title, record_id"),
    ],
)
def test_explore_sorts(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData, sort: str, order: str
) -> None:
    database = dashboard_data.layout.pg_database
    connection = connect(live_settings, database)
    with connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT record_id FROM heritage.objects ORDER BY {order} LIMIT 20")
        expected = [row[0] for row in cursor.fetchall()]
    connection.close()
    app = open_explore(database)
    app.selectbox(key="sort").set_value(sort).run()
    assert not app.exception, app.exception
    assert shown_record_ids(app) == expected
    assert app.query_params["sort"] == sort


def test_explore_ranks_by_relevance(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    database = dashboard_data.layout.pg_database
    connection = connect(live_settings, database)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT title FROM heritage.objects ORDER BY record_id LIMIT 1")
        word = max(cursor.fetchone()[0].replace(".", " ").split(), key=len)  # type: ignore[index]
        cursor.execute(
            "SELECT record_id FROM heritage.objects "
            "WHERE search_document @@ websearch_to_tsquery('simple', %s) "
            "ORDER BY ts_rank(search_document, websearch_to_tsquery('simple', %s)) DESC, "
            "record_id LIMIT 20",
            (word, word),
        )
        expected = [row[0] for row in cursor.fetchall()]
    connection.close()
    app = open_explore(database, q=word)
    assert app.selectbox(key="sort").value == "relevance"
    assert shown_record_ids(app) == expected


def test_object_page_links_back_to_the_results(
    app_env: None, dashboard_data: DashboardData
) -> None:
    from heritage.dashboard.explore_state import ExploreView, object_params

    record_id = sorted(dashboard_data.manifest.valid_record_ids)[0]
    back = object_params(record_id, ExploreView(search="portrait", sort="date", page=2))
    app = open_page("object_page.py", dashboard_data.layout.pg_database, **back)
    links = app.get("page_link")
    assert links and "Back to results" in str(links[0].proto)
    assert "q=portrait" in str(links[0].proto) or "portrait" in str(links[0].proto)
    plain = open_page("object_page.py", dashboard_data.layout.pg_database, record_id=record_id)
    assert not plain.get("page_link"), "no way back when not opened from the explore page"


def test_object_page_shows_fields_rights_group_and_similar(
    app_env: None, dashboard_data: DashboardData
) -> None:
    canonical, members = next(iter(sorted(dashboard_data.groups.items())))
    app = open_page("object_page.py", dashboard_data.layout.pg_database, record_id=canonical)
    text = all_text(app)
    assert "Rights:" in text
    assert "rightsstatements.org" in text or "creativecommons.org" in text
    fields = {row["field"]: row["value"] for row in app.table[-1].value.to_dict("records")}
    assert fields["Identifier"] == canonical
    assert fields["Duplicate group (canonical record)"] == canonical
    assert f"{len(members)} members" in text
    member_buttons = [b for b in app.button if b.key and b.key.startswith("member-")]
    assert len(member_buttons) == len(members) - 1

    annotated = open_page(
        "object_page.py",
        dashboard_data.layout.pg_database,
        record_id=dashboard_data.annotated_record_id,
    )
    annotations = annotated.dataframe[0].value
    assert len(annotations) == 2 and "Compare the Louvre copy." in set(annotations["body"])
    assert "Similar objects" in all_text(annotated)
    assert len([b for b in annotated.button if b.key and b.key.startswith("similar-")]) == 3


def test_object_page_for_an_unknown_record(app_env: None, dashboard_data: DashboardData) -> None:
    app = open_page("object_page.py", dashboard_data.layout.pg_database, record_id="nope:1")
    assert "No record 'nope:1'" in app.warning[0].value


def test_duplicates_review_stores_a_confirmation_as_the_curator(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    app = open_page("duplicates_page.py", dashboard_data.layout.pg_database)
    assert "confidence 93%" in all_text(app)
    canonical_of_first = app.markdown[0].value.split("`")[1]
    members = dashboard_data.groups[canonical_of_first]
    app.text_input(key="decided_by").input("ada").run()
    app.button(key="confirm-0").click().run()
    assert not app.exception
    assert f"stored {len(members) - 1} pair decision(s)" in app.success[0].value
    connection = connect(live_settings, dashboard_data.layout.pg_database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT record_id, other_record_id, decision, decided_by "
            "FROM heritage.duplicate_decisions"
        )
        stored = set(cursor.fetchall())
    connection.close()
    expected = {(*sorted((canonical_of_first, m)), "same", "ada") for m in members[1:]}
    assert expected <= stored
    assert "ada" in str(app.dataframe[-1].value["decided_by"].tolist())


def test_pipeline_page_counts_lag_throughput_and_dead_letters(
    app_env: None, dashboard_data: DashboardData
) -> None:
    app = open_page("pipeline_page.py", dashboard_data.layout.pg_database)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["objects"] == f"{len(dashboard_data.manifest.valid_record_ids):,}"
    assert metrics["rejections"] == f"{len(dashboard_data.manifest.malformed):,}"
    assert metrics.get("messages waiting for the raw stage") == "0", [w.value for w in app.warning]
    assert set(app.dataframe[0].value["stage"]) == {"raw", "cleanse", "curate", "export"}
    assert app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart")
    reasons = app.dataframe[2].value
    assert set(reasons["stage"]) == {"cleanse"}
    app.selectbox(key="dead_letter_choice").select_index(0).run()
    assert app.expander, "the chosen reason's messages are listed with their payloads"
    assert app.json or app.code


def test_pipeline_page_when_kafka_is_down(app_env: None, dashboard_data: DashboardData) -> None:
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:1"
    app = open_page("pipeline_page.py", dashboard_data.layout.pg_database)
    assert "Kafka cannot be reached at 127.0.0.1:1" in app.warning[0].value
    assert app.metric[0].label == "objects"


def test_sql_page_lists_views_and_runs_examples(
    app_env: None, dashboard_data: DashboardData
) -> None:
    app = open_page("sql_page.py", dashboard_data.layout.pg_database)
    labels = {e.label for e in app.expander}
    assert {"analytics.objects", "analytics.duplicate_decisions", "analytics.pipeline_runs"} <= (
        labels
    )
    app.button(key="run-example-0").click().run()
    assert not app.exception
    assert len(app.dataframe[0].value) > 0


@pytest.mark.parametrize("page", PAGES)
def test_every_page_on_an_empty_database(app_env: None, layout: LakehouseLayout, page: str) -> None:
    app = open_page(page, layout.pg_database)
    assert not app.error
    assert "Traceback" not in all_text(app)
    assert app.info or app.caption


@pytest.mark.parametrize("page", PAGES)
def test_every_page_when_the_database_is_down(
    app_env: None, page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPORT", "1")  # nothing listens there
    app = open_page(page, record_id="europeana:/1/x")
    assert "cannot be reached" in app.error[0].value
    assert "Traceback" not in all_text(app)


def test_pages_recover_after_the_backends_are_terminated(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    from heritage.dashboard.connection_pool import DatabaseAddress, cached_rows, run_query

    database = dashboard_data.layout.pg_database
    address = DatabaseAddress.reader(dataclasses.replace(live_settings, pg_database=database))
    # Fill the pool: several connections idle in it, as after a busy page.
    for _ in range(3):
        assert run_query(address, "SELECT count(*) AS n FROM analytics.objects")[0]["n"] > 0
    admin = connect(live_settings, database)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'heritage-dashboard'",
            (database,),
        )
        assert cursor.fetchone()[0] >= 1  # type: ignore[index]
    admin.close()
    # The broken connections are discarded and the query runs on a fresh one.
    assert run_query(address, "SELECT count(*) AS n FROM analytics.objects")[0]["n"] > 0
    cached_rows.clear()
    app = open_page("explore_page.py", database)
    assert not app.error
    assert "matching records" in app.caption[0].value


def test_curator_role_may_only_add_decisions(
    live_settings: Settings, layout: LakehouseLayout
) -> None:
    from heritage.dashboard.review_decisions import (
        confirm_group,
        curator_connection,
        record_decisions,
    )

    settings = dataclasses.replace(live_settings, pg_database=layout.pg_database)
    assert record_decisions(settings, confirm_group("a:1", ["a:1", "a:2"]), "ada", None) == 1
    forbidden = (
        "INSERT INTO heritage.objects (record_id) VALUES ('x')",
        "UPDATE heritage.duplicate_decisions SET decision = 'different'",
        "DELETE FROM heritage.duplicate_decisions",
        "SELECT * FROM heritage.objects",
        "INSERT INTO heritage.pipeline_runs (stage, rows, seconds) VALUES ('raw', 1, 1)",
        "CREATE TABLE analytics.sneaky (x int)",
    )
    connection = curator_connection(settings)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM analytics.duplicate_decisions")
            assert cursor.fetchone() == (1,)
            for statement in forbidden:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(statement)
    finally:
        connection.close()
