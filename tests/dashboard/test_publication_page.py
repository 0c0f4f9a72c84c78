"""The publication page, the object page's embargo section and the explorer's published-only
listing with Streamlit's AppTest, against objects in every embargo state written to
PostgreSQL as the export writes them; and what the curator role may write."""

from __future__ import annotations

import dataclasses
import os
import re

import psycopg2
import pytest
from publication_sample import (
    ATLAS,
    DIARY,
    LETTERS,
    MAP,
    OBJECTS,
    ORPHAN,
    UNEVALUATED,
    insert_publication_sample,
)
from streamlit.testing.v1 import AppTest

from heritage.dashboard.launch import app_path
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def sample_database(app_env: None, live_settings: Settings, layout: LakehouseLayout) -> str:
    insert_publication_sample(live_settings, layout.pg_database)
    os.environ["PGDATABASE"] = layout.pg_database
    return layout.pg_database


def open_app_page(page: str, **query: str) -> AppTest:
    app = AppTest.from_file(str(app_path()), default_timeout=60).run()
    if page != "explore_page.py":
        for key, value in query.items():
            app.query_params[key] = value
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def page_text(app: AppTest) -> str:
    parts = [e.value for e in (*app.markdown, *app.caption, *app.info, *app.success, *app.error)]
    text = "\n".join(str(p) for p in parts).replace("**", "")  # bold and escapes off
    return re.sub(r"\\(.)", r"\1", text)


def stored_decisions(settings: Settings, database: str) -> list[tuple[object, ...]]:
    connection = connect(settings, database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_id, decision, embargo_until, embargo_zone, seen_version, decided_by, "
            "note FROM heritage.publication_decisions ORDER BY decision_id"
        )
        rows = cursor.fetchall()
    connection.close()
    return rows


def test_the_queue_lists_objects_waiting_for_review(sample_database: str) -> None:
    app = open_app_page("publication_page.py")
    assert "Decisions apply at the next evaluation" in app.info[0].value
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"active": "1", "expired": "0", "pending review": "3", "published": "1"}
    queue = app.dataframe[0].value
    assert list(queue["Object"]) == [LETTERS, ATLAS, ORPHAN]  # the longest waiting first
    letters = queue.iloc[0]
    assert letters["Title"] == "Letters to the mayor"
    assert letters["Reason"] == "In Copyright: the creator died in 1990"
    assert letters["Rights"] == "http://rightsstatements.org/vocab/InC/1.0/"
    assert letters["End (UTC)"] == "2025-12-31 23:00:00 UTC"
    assert letters["End (source zone)"] == "2026-01-01 00:00:00+01:00 Europe/Amsterdam"
    assert letters["Ended"] == "yes" and letters["Version"] == 3
    assert queue.iloc[1]["End (source zone)"] == "2026-07-01 00:00:00-04:00 America/New_York"
    assert queue.iloc[2]["Title"] == "—"  # not exported yet
    assert app.button(key="publication_clear").label == "Clear for publication"
    events = app.dataframe[-1].value
    assert len(events) == 3 and set(events["Object"]) == {LETTERS}


def test_the_queue_filters_by_provider_and_state(sample_database: str) -> None:
    app = open_app_page("publication_page.py")
    app.multiselect(key="publication_providers").select("Map Library").run()
    assert list(app.dataframe[0].value["Object"]) == [ATLAS]
    assert "1 of 1 objects in pending_review" in page_text(app)

    app.multiselect(key="publication_providers").unselect("Map Library").run()
    app.selectbox(key="publication_state").set_value("active").run()
    assert not app.exception, app.exception
    assert list(app.dataframe[0].value["Object"]) == [DIARY]
    assert app.dataframe[0].value.iloc[0]["Ended"] == "no"
    assert not [b for b in app.button if b.key == "publication_clear"]  # only in review
    assert app.button(key="publication_re_embargo")

    app.selectbox(key="publication_state").set_value("expired").run()
    assert "No objects are expired." in page_text(app)


def test_clearing_an_object_stores_a_decision_as_the_curator(
    sample_database: str, live_settings: Settings
) -> None:
    app = open_app_page("publication_page.py")
    app.text_input(key="decided_by").input("ada").run()
    app.text_input(key="publication_note").input("rights holder agreed").run()
    app.selectbox(key="publication_object").set_value(ATLAS).run()
    app.button(key="publication_clear").click().run()
    assert not app.exception, app.exception
    assert f"Cleared {ATLAS} for publication (seen version 3)" in app.success[0].value
    assert stored_decisions(live_settings, sample_database) == [
        (ATLAS, "clear", None, None, 3, "ada", "rights holder agreed")
    ]
    decisions = app.dataframe[1].value
    assert list(decisions["object_id"]) == [ATLAS]
    assert list(decisions["outcome"]) == ["waiting"]
    # Nothing changes until the next evaluation applies it.
    assert ATLAS in list(app.dataframe[0].value["Object"])


def test_a_re_embargo_is_checked_then_stored_in_the_zone_it_is_read_in(
    sample_database: str, live_settings: Settings
) -> None:
    app = open_app_page("publication_page.py")
    app.text_input(key="decided_by").input("ada").run()
    zone = app.selectbox(key=f"publication_zone-{LETTERS}")
    assert zone.value == "Europe/Amsterdam"  # the zone the source's end was read in

    app.text_input(key=f"publication_until-{LETTERS}").input("31/12/2031").run()
    app.button(key="publication_re_embargo").click().run()
    assert "'31/12/2031' is not a date" in app.error[0].value
    app.text_input(key=f"publication_until-{LETTERS}").input("2001-05").run()
    app.button(key="publication_re_embargo").click().run()
    assert "has already passed" in app.error[0].value
    assert stored_decisions(live_settings, sample_database) == []

    app.text_input(key=f"publication_until-{LETTERS}").input("2031-06-30").run()
    app.button(key="publication_re_embargo").click().run()
    assert not app.exception, app.exception
    assert (
        "until 2031-06-30 22:00:00 UTC (2031-07-01 00:00:00+02:00 Europe/Amsterdam, "
        "through_named_day) stored" in app.success[0].value
    )

    app.selectbox(key=f"publication_zone-{LETTERS}").set_value("Asia/Tokyo").run()
    app.text_input(key=f"publication_until-{LETTERS}").input("2031-06-30T12:00").run()
    app.button(key="publication_re_embargo").click().run()
    assert "until 2031-06-30 03:00:00 UTC" in app.success[0].value
    assert stored_decisions(live_settings, sample_database) == [
        (LETTERS, "re_embargo", "2031-06-30", "Europe/Amsterdam", 3, "ada", None),
        (LETTERS, "re_embargo", "2031-06-30T12:00", "Asia/Tokyo", 3, "ada", None),
    ]


def test_the_curator_role_may_only_insert_publication_decisions(
    live_settings: Settings, layout: LakehouseLayout
) -> None:
    from heritage.dashboard.publication_decisions import (
        clear_decision,
        record_publication_decision,
    )
    from heritage.dashboard.review_decisions import curator_connection

    insert_publication_sample(live_settings, layout.pg_database)
    settings = dataclasses.replace(live_settings, pg_database=layout.pg_database)
    record_publication_decision(settings, clear_decision(LETTERS, "pending_review", 3, "ada", None))
    forbidden = (
        "UPDATE heritage.publication_decisions SET decision = 're_embargo'",
        "DELETE FROM heritage.publication_decisions",
        "SELECT * FROM heritage.publication_decisions",
        "UPDATE heritage.embargoes SET state = 'published'",
        "DELETE FROM heritage.embargoes",
        "INSERT INTO heritage.embargoes (object_id) VALUES ('x')",
        "INSERT INTO heritage.publication_events (event_id) VALUES ('x')",
        # A decision's id and time are not the curator's to choose.
        "INSERT INTO heritage.publication_decisions (decision_id, object_id, decision,"
        " seen_version, decided_by) VALUES (999999, 'x', 'clear', 1, 'ada')",
        "DELETE FROM heritage.publication_events",
    )
    connection = curator_connection(settings)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT object_id, outcome FROM analytics.publication_decisions")
            assert cursor.fetchall() == [(LETTERS, "waiting")]
            for statement in forbidden:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(statement)
            cursor.execute("SELECT state FROM analytics.embargoes WHERE object_id = %s", (MAP,))
            assert cursor.fetchone() == ("published",)
    finally:
        connection.close()


def test_the_object_page_shows_the_embargo_and_its_history(sample_database: str) -> None:
    app = open_app_page("object_page.py", record_id=LETTERS)
    text = page_text(app)
    assert "Publication: pending_review" in text
    for line in (
        "state: pending_review",
        "state version: 3",
        "episode: 1",
        "end (UTC): 2025-12-31 23:00:00 UTC",
        "end (source zone): 2026-01-01 00:00:00+01:00 Europe/Amsterdam",
        "source wrote: '2025-12-31' read as through named day",
        "ended now: yes",
        "review reason: In Copyright: the creator died in 1990",
    ):
        assert line in text, line
    history = app.dataframe[0].value
    assert list(history["Transition"]) == [
        "registered → active",
        "active → expired",
        "expired → pending_review",
    ]
    assert list(history["Version"]) == ["0 → 1", "1 → 2", "2 → 3"]

    diary = page_text(open_app_page("object_page.py", record_id=DIARY))
    assert "ended now: no" in diary and "No publication events yet." in diary
    unevaluated = page_text(open_app_page("object_page.py", record_id=UNEVALUATED))
    assert "Publication: not evaluated yet" in unevaluated
    assert "Not evaluated yet" in unevaluated


def test_explore_lists_only_published_objects_unless_asked(sample_database: str) -> None:
    app = open_app_page("explore_page.py")
    assert "1 matching records of 1" in app.caption[0].value
    shown = {b.help for b in app.button if b.key and b.key.startswith("open-")}
    assert shown == {f"Show {MAP}"}
    # A facet's options read "value (count)".
    assert app.multiselect(key="providers").options == ["Map Library (1)"]

    app.toggle(key="show_unpublished").set_value(True).run()
    assert not app.exception, app.exception
    assert f"{len(OBJECTS)} matching records of {len(OBJECTS)}" in app.caption[0].value
    assert {option.rsplit(" (", 1)[0] for option in app.multiselect(key="providers").options} == {
        "Map Library",
        "Photo Archive",
        "Stadsarchief",
    }
    app.text_input(key="search").input("diary").run()
    assert "1 matching" in app.caption[0].value

    app.toggle(key="show_unpublished").set_value(False).run()
    assert "0 matching" in app.caption[0].value


def test_explore_queries_follow_the_published_filter(
    live_settings: Settings, layout: LakehouseLayout
) -> None:
    from heritage.dashboard.connection_pool import DatabaseAddress, run_query
    from heritage.dashboard.explorer_queries import (
        ExploreFilters,
        date_bounds_query,
        explore_count_query,
        explore_query,
        facet_values_query,
        languages_query,
        total_query,
    )

    insert_publication_sample(live_settings, layout.pg_database)
    reader = DatabaseAddress.reader(
        dataclasses.replace(live_settings, pg_database=layout.pg_database)
    )

    def ids(filters: ExploreFilters, few: bool) -> list[str]:
        return [r["record_id"] for r in run_query(reader, *explore_query(filters, None, 20, few))]

    published, everything = ExploreFilters(), ExploreFilters(include_unpublished=True)
    for few in (False, True):
        assert ids(published, few) == [MAP]
        assert ids(everything, few) == sorted(record for record, *_ in OBJECTS)
        assert ids(dataclasses.replace(everything, languages=("nl",)), few) == [DIARY, LETTERS]
        assert ids(dataclasses.replace(published, languages=("nl",)), few) == []
    assert run_query(reader, *explore_count_query(published))[0]["count"] == 1
    assert run_query(reader, *explore_count_query(everything))[0]["count"] == len(OBJECTS)
    assert run_query(reader, *total_query())[0]["total"] == 1
    assert run_query(reader, *total_query(True))[0]["total"] == len(OBJECTS)
    assert [r["value"] for r in run_query(reader, *facet_values_query("data_provider"))] == [
        "Map Library"
    ]
    assert [r["value"] for r in run_query(reader, *facet_values_query("data_provider", True))] == [
        "Map Library",
        "Photo Archive",
        "Stadsarchief",
    ]
    assert [r["value"] for r in run_query(reader, *languages_query())] == ["en"]
    assert [r["value"] for r in run_query(reader, *languages_query(True))] == ["en", "fr", "nl"]
    bounds = run_query(reader, *date_bounds_query())[0]
    assert (bounds["earliest"].year, bounds["latest"].year) == (1650, 1650)
    bounds = run_query(reader, *date_bounds_query(True))[0]
    assert (bounds["earliest"].year, bounds["latest"].year) == (1650, 1960)
