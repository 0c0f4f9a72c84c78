"""How the publication page and the object page show an embargo: its end in UTC and in the
zone it was read in, whether it has ended, and table rows. Pure functions; "now" is a
parameter, and whether an embargo has ended is always :func:`heritage.embargo_time.is_expired`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from heritage.embargo_time import is_expired

# end_rule of an object whose source sent no embargo (its end is 1970-01-01 00:00 UTC).
NO_EMBARGO_RULE = "none"


def _clock(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{moment.microsecond:06d}" if moment.microsecond else text


def end_utc_text(end_utc: datetime) -> str:
    """``2031-01-01 00:00:00 UTC``."""
    return f"{_clock(end_utc.astimezone(UTC))} UTC"


def end_in_zone_text(end_utc: datetime, zone: str) -> str:
    """The instant as a wall clock in ``zone`` with its offset and the zone's name:
    ``2031-01-01 01:00:00+01:00 Europe/Amsterdam``."""
    try:
        local = end_utc.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return f"— ({zone!r} is not an IANA time zone)"
    return f"{_clock(local)}{local.strftime('%z')[:3]}:{local.strftime('%z')[3:]} {zone}"


def has_ended_text(as_of: datetime, end_utc: datetime, end_rule: str) -> str:
    if end_rule == NO_EMBARGO_RULE:
        return "yes (no embargo)"
    return "yes" if is_expired(as_of, end_utc) else "no"


def rule_text(end_input: str, end_rule: str) -> str:
    """What the source wrote and the rule that turned it into an instant."""
    if end_rule == NO_EMBARGO_RULE:
        return "no embargo sent"
    return f"{end_input!r} read as {end_rule.replace('_', ' ')}"


def embargo_rows(embargo: Mapping[str, Any], as_of: datetime) -> list[dict[str, str]]:
    """The object's embargo as field/value rows; whether it has ended is asked of
    heritage.embargo_time.is_expired at ``as_of``."""
    end = embargo["embargo_end_utc"]
    values = (
        ("state", embargo["state"]),
        ("state version", str(embargo["state_version"])),
        ("episode", str(embargo["episode"])),
        ("end (UTC)", end_utc_text(end)),
        ("end (source zone)", end_in_zone_text(end, embargo["end_input_zone"])),
        ("source wrote", rule_text(embargo["end_input"], embargo["end_rule"])),
        ("ended now", has_ended_text(as_of, end, embargo["end_rule"])),
        ("review reason", embargo["review_reason"] or "—"),
        ("rights checked", embargo["rights_uri"] or "—"),
        ("updated", end_utc_text(embargo["updated_at"])),
    )
    return [{"field": name, "value": value} for name, value in values]


def queue_rows(rows: Sequence[Mapping[str, Any]], as_of: datetime) -> list[dict[str, Any]]:
    """The publication page's table: one row per object."""
    return [
        {
            "Object": row["object_id"],
            "Title": row["title"] or "—",
            "State": row["state"],
            "Version": row["state_version"],
            "Reason": row["review_reason"] or "—",
            "Rights": row["rights_uri"] or "—",
            "Provider": row["data_provider"] or "—",
            "End (UTC)": end_utc_text(row["embargo_end_utc"]),
            "End (source zone)": end_in_zone_text(row["embargo_end_utc"], row["end_input_zone"]),
            "Source wrote": rule_text(row["end_input"], row["end_rule"]),
            "Ended": has_ended_text(as_of, row["embargo_end_utc"], row["end_rule"]),
        }
        for row in rows
    ]


def event_rows(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Publication events for a table: the transition, when, by whom, and the end it left."""
    return [
        {
            "Object": event["object_id"],
            "Version": f"{event['from_version']} → {event['to_version']}",
            "Transition": f"{event['from_state'] or 'registered'} → {event['to_state']}",
            "Episode": event["episode"],
            "As of (UTC)": end_utc_text(event["as_of"]),
            "Actor": event["actor"],
            "Reason": event["review_reason"] or "—",
            "End (UTC)": end_utc_text(event["embargo_end_utc"]),
            "End (source zone)": end_in_zone_text(
                event["embargo_end_utc"], event["end_input_zone"]
            ),
            "Decision": event["decision_id"],
        }
        for event in events
    ]


@cache
def _all_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zone_options(current: str) -> tuple[list[str], int]:
    """Every IANA zone for a selectbox, and the index of ``current`` (added when the zone
    database lacks it, so the default is always the row's zone)."""
    zones = list(_all_zones())
    if current not in zones:
        zones.insert(0, current)
    return zones, zones.index(current)
