"""When an embargo ends: the instant, the rules for dates, months and years, daylight saving
time, naive datetimes, and the one expiry rule. Pure: no services."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heritage.embargo_time import EmbargoDateError, EndRule, embargo_end, is_expired

# Results that must not depend on the process's or Spark's time zone (`make test`).
pytestmark = pytest.mark.zones

AMSTERDAM = "Europe/Amsterdam"
MICROSECOND = timedelta(microseconds=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_date_lasts_through_that_local_day() -> None:
    end = embargo_end("2030-12-31", AMSTERDAM)
    assert end.rule is EndRule.THROUGH_NAMED_DAY
    assert end.zone == AMSTERDAM and end.verbatim == "2030-12-31"
    # Midnight at the start of 1 January in Amsterdam (UTC+1) is 23:00 UTC on 31 December.
    assert end.end_utc == utc(2030, 12, 31, 23)
    assert not is_expired(end.end_utc - MICROSECOND, end.end_utc)
    assert is_expired(end.end_utc, end.end_utc)
    assert is_expired(end.end_utc + MICROSECOND, end.end_utc)


@pytest.mark.parametrize(
    ("day", "end"),
    [
        # The spring change (02:00 -> 03:00 on 31 March 2030): the next midnight is UTC+2.
        ("2030-03-31", utc(2030, 3, 31, 22)),
        ("2030-03-30", utc(2030, 3, 30, 23)),
        # The autumn change (03:00 -> 02:00 on 27 October 2030): back to UTC+1 at midnight.
        ("2030-10-27", utc(2030, 10, 27, 23)),
        ("2030-10-26", utc(2030, 10, 26, 22)),
    ],
)
def test_days_around_daylight_saving_changes_end_at_their_local_midnight(
    day: str, end: datetime
) -> None:
    assert embargo_end(day, AMSTERDAM).end_utc == end


def test_a_zone_that_skips_midnight_ends_the_day_when_the_next_one_begins() -> None:
    # Chile moved its clocks from 00:00 to 01:00 on 11 September 2022: that day began at
    # 04:00 UTC (00:00 at UTC-4, the same instant as 01:00 at UTC-3).
    end = embargo_end("2022-09-10", "America/Santiago")
    assert end.end_utc == utc(2022, 9, 11, 4)


def test_months_and_years_last_through_the_whole_period() -> None:
    month = embargo_end("2030-12", AMSTERDAM)
    assert month.rule is EndRule.THROUGH_NAMED_MONTH
    assert month.end_utc == utc(2030, 12, 31, 23)
    assert embargo_end("2030-02", "UTC").end_utc == utc(2030, 3, 1)
    year = embargo_end("2030", "Asia/Tokyo")
    assert year.rule is EndRule.THROUGH_NAMED_YEAR
    assert year.end_utc == utc(2030, 12, 31, 15)


def test_an_instant_with_an_offset_is_that_instant() -> None:
    end = embargo_end("2030-12-31T17:00:00+01:00", AMSTERDAM)
    assert end.rule is EndRule.INSTANT and end.end_utc == utc(2030, 12, 31, 16)
    assert embargo_end("2030-12-31T16:00:00Z", "UTC").end_utc == utc(2030, 12, 31, 16)
    assert embargo_end("2030-12-31 16:00Z", "UTC").end_utc == utc(2030, 12, 31, 16)


def test_a_naive_datetime_needs_a_declared_zone_and_is_never_taken_as_utc() -> None:
    with pytest.raises(EmbargoDateError, match="no offset and no zone"):
        embargo_end("2030-12-31T17:00:00", AMSTERDAM, where="embargoes.csv:7")
    declared = embargo_end("2030-12-31T17:00:00", "UTC", declared_zone=AMSTERDAM)
    assert declared.end_utc == utc(2030, 12, 31, 16)
    assert declared.zone == AMSTERDAM


@pytest.mark.parametrize(
    ("text", "zone", "message"),
    [
        ("31/12/2030", "UTC", "not a date"),
        ("2030-02-30", "UTC", "not a calendar date"),
        ("2030-13", "UTC", "not a calendar date"),
        ("2030-12-31", "Mars/Olympus", "not an IANA time zone"),
        ("9999-12-31", "UTC", "beyond the last representable date"),
        ("", "UTC", "not a date"),
    ],
)
def test_what_cannot_be_read_is_rejected_with_the_input_and_the_fix(
    text: str, zone: str, message: str
) -> None:
    with pytest.raises(EmbargoDateError, match=message) as error:
        embargo_end(text, zone, where="record lido:42")
    assert "record lido:42" in str(error.value)


def test_expiry_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        is_expired(datetime(2030, 1, 1), utc(2030, 1, 1))


def test_the_process_time_zone_changes_nothing(process_zone: str) -> None:
    assert embargo_end("2030-12-31", AMSTERDAM).end_utc == utc(2030, 12, 31, 23)
    assert embargo_end("2030", "UTC").end_utc == utc(2031, 1, 1)
    assert embargo_end("2030-12-31T17:00", "UTC", AMSTERDAM).end_utc == utc(2030, 12, 31, 16)


ZONES = ["UTC", AMSTERDAM, "America/Santiago", "Pacific/Kiritimati", "Pacific/Pago_Pago"]


@pytest.mark.fuzz
@settings(max_examples=int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200")), deadline=None)
@given(
    day=st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2200, 1, 1).date()),
    zone=st.sampled_from(ZONES),
    seconds=st.integers(min_value=0, max_value=86_399),
)
def test_every_instant_of_the_named_local_day_is_still_under_embargo(
    day: object, zone: str, seconds: int
) -> None:
    end = embargo_end(str(day), zone)
    start_of_day = embargo_end(str(day - timedelta(days=1)), zone).end_utc  # type: ignore[operator]
    moment = min(start_of_day + timedelta(seconds=seconds), end.end_utc - MICROSECOND)
    assert not is_expired(moment, end.end_utc)
    assert is_expired(end.end_utc, end.end_utc)
    assert end.end_utc.tzinfo is UTC


@pytest.mark.fuzz
@settings(max_examples=int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200")), deadline=None)
@given(
    text=st.one_of(st.text(max_size=40), st.from_regex(r"\A\d{4}(-\d{2}){0,2}\Z")),
    zone=st.one_of(st.sampled_from([*ZONES, "Nowhere/City", ""]), st.text(max_size=12)),
)
def test_any_text_is_an_end_or_a_rejection(text: str, zone: str) -> None:
    try:
        end = embargo_end(text, "UTC", declared_zone=zone)
    except EmbargoDateError as error:
        assert "embargo end" in str(error)
    else:
        assert end.end_utc.tzinfo is UTC
