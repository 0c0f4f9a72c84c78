"""When an embargo ends: one conversion of what a source wrote into a UTC instant, and one
rule for whether it has ended. Pure functions; no clock, no process time zone.

Every embargo end is stored four ways: the verbatim input, the IANA zone it was read in, the
rule that turned it into an instant, and that instant in UTC. The restriction holds on the
half-open interval ``[start, end_utc)``: :func:`is_expired` is ``as_of >= end_utc``, and the
evaluator, the access check and the user interface all ask it (two definitions of "expired",
an instant in one place and a calendar day in another, released embargoes a day late in
Hyrax; a time-zone round trip stored dates a day early in DSpace).

The rules (``EndRule``):

- ``instant``: a date and time with an offset (``2030-12-31T17:00:00+01:00``, ``...Z``) is
  that instant. A date and time without one is read in the zone the source declares for it
  (a CSV's ``embargo_zone``, an agreement's zone); with no declared zone it is rejected,
  never taken as UTC.
- ``through_named_day``: a date alone (``2030-12-31``) means the restriction lasts through
  that local day in the zone (the declared one, else the institution's): it ends at the next
  local midnight. Where a zone skips midnight for daylight saving time, the day ends at the
  first instant of the next day that exists.
- ``through_named_month`` and ``through_named_year``: a year and month (``2030-12``) or a year
  alone (``2030``) mean the restriction lasts through that whole month or year, local time:
  it ends when the next one begins. A coarse date never opens an object early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from heritage.source_rejections import SourceRejection

_YEAR = re.compile(r"^(\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
)


class EndRule(Enum):
    INSTANT = "instant"
    THROUGH_NAMED_DAY = "through_named_day"
    THROUGH_NAMED_MONTH = "through_named_month"
    THROUGH_NAMED_YEAR = "through_named_year"


class EmbargoDateError(SourceRejection):
    """An embargo end that cannot be turned into an instant; the message says why and what
    the sender can write instead."""


@dataclass(frozen=True)
class EmbargoEnd:
    # As the source wrote it.
    verbatim: str
    # The IANA zone it was read in (the declared one, else the institution's).
    zone: str
    rule: EndRule
    # The first instant at which the restriction no longer holds (timezone-aware, UTC).
    end_utc: datetime


def is_expired(as_of: datetime, end_utc: datetime) -> bool:
    """Whether an embargo ending at ``end_utc`` has ended at ``as_of``: ``as_of >= end_utc``
    (the interval is half-open). Both must be timezone-aware."""
    for name, moment in (("as_of", as_of), ("end_utc", end_utc)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(
                f"{name} {moment.isoformat()} has no time zone; pass an aware datetime"
            )
    return as_of >= end_utc


def embargo_end(
    text: str, default_zone: str, declared_zone: str | None = None, where: str = "embargo end"
) -> EmbargoEnd:
    """The end of an embargo written as ``text``. ``declared_zone`` is the zone the source
    names for this value (it may be blank); ``default_zone`` the institution's, used for
    dates without a time. ``where`` names the input in error messages (a file and line, a
    record id)."""
    try:
        return _embargo_end(text, default_zone, declared_zone, where)
    except EmbargoDateError:
        raise
    except (ValueError, OverflowError) as error:  # beyond the calendar: year 9999 and on
        raise EmbargoDateError(
            f"{where}: {text!r} ends beyond the last representable date ({error})"
        ) from error


def _embargo_end(text: str, default_zone: str, declared_zone: str | None, where: str) -> EmbargoEnd:
    value = text.strip()
    zone_name = (declared_zone or "").strip() or default_zone.strip()
    zone = _zone(zone_name, where)
    if match := _DATE.match(value):
        day = _date(int(match[1]), int(match[2]), int(match[3]), value, where)
        return EmbargoEnd(
            text, zone_name, EndRule.THROUGH_NAMED_DAY, _midnight(day + timedelta(days=1), zone)
        )
    if match := _YEAR_MONTH.match(value):
        year, month = int(match[1]), int(match[2])
        _date(year, month, 1, value, where)
        following = date(year + month // 12, month % 12 + 1, 1)
        return EmbargoEnd(text, zone_name, EndRule.THROUGH_NAMED_MONTH, _midnight(following, zone))
    if match := _YEAR.match(value):
        year = int(match[1])
        _date(year, 1, 1, value, where)
        return EmbargoEnd(
            text, zone_name, EndRule.THROUGH_NAMED_YEAR, _midnight(date(year + 1, 1, 1), zone)
        )
    if _DATETIME.match(value):
        return EmbargoEnd(text, zone_name, EndRule.INSTANT, _instant(value, declared_zone, where))
    raise EmbargoDateError(
        f"{where}: {text!r} is not a date (2030-12-31, 2030-12, 2030) or a date and time "
        "(2030-12-31T17:00:00+01:00); write it in one of those ISO 8601 forms"
    )


def _instant(value: str, declared_zone: str | None, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError as error:
        raise EmbargoDateError(
            f"{where}: {value!r} is not a valid date and time ({error})"
        ) from error
    if moment.tzinfo is None:
        declared = (declared_zone or "").strip()
        if not declared:
            raise EmbargoDateError(
                f"{where}: {value!r} has a time but no offset and no zone is declared for it; "
                "add the offset (2030-12-31T17:00:00+01:00 or ...Z) or declare its IANA zone "
                "(e.g. an embargo_zone column)"
            )
        moment = moment.replace(tzinfo=_zone(declared, where))
    return moment.astimezone(UTC)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC. A midnight that daylight saving time
    skips resolves (fold 0) to the offset before the change: the instant the day begins."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise EmbargoDateError(
            f"{where}: {name!r} is not an IANA time zone; use a name such as Europe/Amsterdam "
            "or UTC"
        ) from error


def _date(year: int, month: int, day: int, value: str, where: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as error:
        raise EmbargoDateError(f"{where}: {value!r} is not a calendar date ({error})") from error
