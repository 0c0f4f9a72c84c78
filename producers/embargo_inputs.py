"""The embargo fields of the common record, as every producer writes them. Pure.

A producer reads an embargo end from its source (a LIDO rightsWorkSet, a CSV column, a
PREMIS rightsGranted) and hands the text here: :func:`embargo_record_fields` turns it into
``embargo_until`` (as written), ``embargo_zone`` (the IANA zone it was read in),
``embargo_rule`` and ``embargo_end_utc`` through :func:`heritage.embargo_time.embargo_end`,
the one conversion of an end into an instant. A value that cannot be turned into one raises
:class:`~heritage.embargo_time.EmbargoDateError` (a SourceRejection) naming the input, and
the producer rejects the record with it. A restriction its source states without an end
is written as ending on :data:`INDEFINITE_EMBARGO_UNTIL` (never published early; a curator's
re-embargo sets the real end). :func:`death_year` reads the year a creator died.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from heritage.embargo_time import EmbargoEnd, embargo_end
from heritage.publication_settings import PublicationPolicy

EMBARGO_UNTIL = "embargo_until"
EMBARGO_ZONE = "embargo_zone"
EMBARGO_RULE = "embargo_rule"
EMBARGO_END_UTC = "embargo_end_utc"
CREATOR_DEATH_YEAR = "creator_death_year"
EMBARGO_FIELDS = (EMBARGO_UNTIL, EMBARGO_ZONE, EMBARGO_RULE, EMBARGO_END_UTC)
# The end written for a restriction its source gives no end (a PREMIS endDate "OPEN", an
# embargo statement without a date): the last day embargo_end can represent the day after
# of in every zone, so the object stays restricted until a curator sets a real end.
INDEFINITE_EMBARGO_UNTIL = "9998-12-31"

# A year, optionally signed (LIDO writes years before the common era as -0044), alone or
# starting an ISO 8601 date or date and time: 1880, 1510-05-17, 1880-03, 1945-04-30T15:30Z.
_YEAR_OF_DATE = re.compile(r"^([+-]?\d{1,4})(?:-\d{2}(?:-\d{2}(?:[T ]\S*)?)?)?$")


def utc_text(moment: datetime) -> str:
    """An aware instant as ISO 8601 in UTC with ``Z``; microseconds only when not zero
    (``2031-01-01T00:00:00Z``, ``2031-01-01T00:00:00.000001Z``)."""
    moment = moment.astimezone(UTC)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def embargo_fields(end: EmbargoEnd) -> dict[str, str]:
    """The four embargo fields of the common record for one computed end."""
    return {
        EMBARGO_UNTIL: end.verbatim,
        EMBARGO_ZONE: end.zone,
        EMBARGO_RULE: end.rule.value,
        EMBARGO_END_UTC: utc_text(end.end_utc),
    }


def source_embargo_end(
    text: str | None,
    policy: PublicationPolicy,
    data_provider: str | None,
    declared_zone: str | None,
    where: str,
) -> EmbargoEnd | None:
    """The end of an embargo written as ``text`` (None when it is blank), read in
    ``declared_zone`` when the source names one, else in the data provider's zone from the
    publication policy. Raises EmbargoDateError, naming ``where``, for a value that is no
    date, a date and time without an offset or a declared zone, or an unknown zone."""
    if text is None or not text.strip():
        return None
    return embargo_end(
        text,
        default_zone=policy.zone_for(data_provider),
        declared_zone=declared_zone,
        where=where,
    )


def latest_end_fields(ends: Iterable[EmbargoEnd | None]) -> dict[str, str]:
    """The embargo fields of the end that comes last (none when there is no end): where a
    source states several embargoes, the object stays restricted until all have ended."""
    known = [end for end in ends if end is not None]
    return embargo_fields(max(known, key=lambda end: end.end_utc)) if known else {}


def death_year(text: str | None) -> int | None:
    """The year of a death date written as a year or an ISO 8601 date (``1880``,
    ``1510-05-17``, ``-0044``); None for anything else (``ca. 1880``, ``19th century``)."""
    if text is None:
        return None
    match = _YEAR_OF_DATE.match(text.strip())
    return int(match.group(1)) if match else None


def latest_year(years: Iterable[int | None]) -> int | None:
    """The latest of the known years (None when none is known)."""
    known = [year for year in years if year is not None]
    return max(known) if known else None
