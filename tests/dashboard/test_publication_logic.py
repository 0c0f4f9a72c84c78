"""The publication page's pure parts without services: its queries, how an embargo end is
shown, whether it has ended (always heritage.embargo_time.is_expired), and checking a
curator's decision before it is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heritage.dashboard.publication_decisions import (
    PublicationDecision,
    clear_decision,
    re_embargo_decision,
)
from heritage.dashboard.publication_labels import (
    embargo_rows,
    end_in_zone_text,
    end_utc_text,
    has_ended_text,
    rule_text,
    zone_options,
)
from heritage.dashboard.publication_queries import (
    object_events_query,
    publication_count_query,
    publication_rows_query,
)
from heritage.embargo_time import EmbargoDateError

END = datetime(2030, 12, 31, 23, 0, tzinfo=UTC)  # 2030-12-31 through the day in Amsterdam
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_the_queue_reads_its_view_and_other_states_read_the_embargoes() -> None:
    sql, params = publication_rows_query("pending_review", (), 50)
    assert "FROM analytics.publication_queue q" in sql and params == (50,)
    sql, params = publication_rows_query("active", ("Rijksmuseum",), 10)
    assert "analytics.embargoes e" in sql and "WHERE e.state = %s" in sql
    assert sql.count("%s") == len(params) and params == ("active", ["Rijksmuseum"], 10)
    assert sql.endswith("ORDER BY q.updated_at, q.object_id LIMIT %s")
    count_sql, count_params = publication_count_query("pending_review", ("P",))
    assert "q.data_provider = ANY(%s)" in count_sql and count_params == (["P"],)
    with pytest.raises(ValueError, match="not one of"):
        publication_rows_query("published'; DROP TABLE x; --", (), 5)
    history_sql, history_params = object_events_query("e:/1")
    assert history_sql.endswith("ORDER BY to_version, event_id") and history_params == ("e:/1",)


def test_an_end_is_shown_in_utc_and_in_the_zone_it_was_read_in() -> None:
    assert end_utc_text(END) == "2030-12-31 23:00:00 UTC"
    assert end_in_zone_text(END, "Europe/Amsterdam") == (
        "2031-01-01 00:00:00+01:00 Europe/Amsterdam"
    )
    assert end_in_zone_text(END, "America/New_York") == (
        "2030-12-31 18:00:00-05:00 America/New_York"
    )
    summer = datetime(2031, 6, 30, 22, 0, 0, 1, tzinfo=UTC)
    assert end_in_zone_text(summer, "Europe/Amsterdam") == (
        "2031-07-01 00:00:00.000001+02:00 Europe/Amsterdam"
    )
    assert "not an IANA time zone" in end_in_zone_text(END, "Mars/Olympus")
    assert rule_text("2030-12-31", "through_named_day") == "'2030-12-31' read as through named day"
    assert rule_text("", "none") == "no embargo sent"


def test_an_embargo_has_ended_from_its_end_instant_on() -> None:
    assert has_ended_text(END - timedelta(microseconds=1), END, "through_named_day") == "no"
    assert has_ended_text(END, END, "through_named_day") == "yes"
    assert has_ended_text(NOW, datetime(1970, 1, 1, tzinfo=UTC), "none") == "yes (no embargo)"
    with pytest.raises(ValueError, match="no time zone"):
        has_ended_text(datetime(2031, 1, 1), END, "instant")  # naive "now" is refused


def test_embargo_rows_name_every_part_of_the_end() -> None:
    embargo = {
        "state": "pending_review",
        "state_version": 3,
        "episode": 1,
        "embargo_end_utc": END,
        "end_input": "2030-12-31",
        "end_input_zone": "Europe/Amsterdam",
        "end_rule": "through_named_day",
        "review_reason": "In Copyright",
        "rights_uri": "http://rightsstatements.org/vocab/InC/1.0/",
        "updated_at": NOW,
    }
    rows = {row["field"]: row["value"] for row in embargo_rows(embargo, NOW)}
    assert rows["end (UTC)"] == "2030-12-31 23:00:00 UTC"
    assert rows["end (source zone)"] == "2031-01-01 00:00:00+01:00 Europe/Amsterdam"
    assert rows["ended now"] == "no" and rows["review reason"] == "In Copyright"
    assert {row["value"] for row in embargo_rows(embargo, END)} >= {"yes"}


def test_the_zone_choice_defaults_to_the_rows_zone() -> None:
    zones, index = zone_options("Europe/Amsterdam")
    assert zones[index] == "Europe/Amsterdam" and "Asia/Tokyo" in zones
    zones, index = zone_options("Etc/Unknown-Zone")
    assert (zones[index], index) == ("Etc/Unknown-Zone", 0)


def test_only_an_object_waiting_for_review_can_be_cleared() -> None:
    assert clear_decision("e:/1", "pending_review", 3, "  ", "") == PublicationDecision(
        "e:/1", "clear", 3, "curator", None
    )
    with pytest.raises(ValueError, match="only an object waiting for review"):
        clear_decision("e:/1", "active", 3, "ada", None)


def test_a_re_embargo_is_read_in_the_chosen_zone() -> None:
    decision, end = re_embargo_decision(
        "e:/1", " 2031-06-30 ", "Europe/Amsterdam", 5, "ada", "new agreement", NOW
    )
    assert decision == PublicationDecision(
        "e:/1", "re_embargo", 5, "ada", "new agreement", "2031-06-30", "Europe/Amsterdam"
    )
    assert end.end_utc == datetime(2031, 6, 30, 22, 0, tzinfo=UTC)
    _, wall_clock = re_embargo_decision("e:/1", "2031-06-30T12:00", "Asia/Tokyo", 5, "", None, NOW)
    assert wall_clock.end_utc == datetime(2031, 6, 30, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("until", "zone", "message"),
    [
        ("31/12/2031", "UTC", "is not a date"),
        ("2031-02-30", "UTC", "is not a calendar date"),
        ("2031", "Mars/Olympus", "is not an IANA time zone"),
        ("2001-01-01", "Europe/Amsterdam", "has already passed"),
        ("2026-12-06T10:00:00Z", "UTC", "has already passed"),  # ends exactly now
    ],
)
def test_a_re_embargo_that_cannot_be_read_or_has_passed_is_refused(
    until: str, zone: str, message: str
) -> None:
    with pytest.raises(EmbargoDateError, match=message):
        re_embargo_decision("e:/1", until, zone, 5, "ada", None, NOW)
