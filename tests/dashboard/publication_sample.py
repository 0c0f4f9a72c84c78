"""Objects in every embargo state, written to PostgreSQL the way the export of the governance
tables writes heritage.embargoes and heritage.publication_events, for the publication page's
and the explorer's tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from heritage.postgres_db import connect
from heritage.settings import Settings

IN_COPYRIGHT = "http://rightsstatements.org/vocab/InC/1.0/"
PUBLIC_DOMAIN = "http://creativecommons.org/publicdomain/mark/1.0/"
REGISTERED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

# Waiting for review: an Amsterdam day, read through that day (ends 23:00 UTC).
LETTERS = "csv:/letters/1"
# Waiting for review, from another provider, read in New York.
ATLAS = "csv:/atlas/7"
# Waiting for review, but its record has not been exported (no title).
ORPHAN = "csv:/orphan/9"
# Under embargo until 2099.
DIARY = "csv:/diary/3"
# Published.
MAP = "csv:/maps/2"
# Exported, but never evaluated: no embargo row, so not published either.
UNEVALUATED = "csv:/new/5"


@dataclass(frozen=True)
class Embargo:
    object_id: str
    state: str
    state_version: int
    end_utc: datetime
    end_input: str
    zone: str
    rule: str
    provider: str
    rights_uri: str
    reason: str | None
    updated_at: datetime


EMBARGOES = (
    Embargo(
        LETTERS,
        "pending_review",
        3,
        datetime(2025, 12, 31, 23, 0, tzinfo=UTC),
        "2025-12-31",
        "Europe/Amsterdam",
        "through_named_day",
        "Stadsarchief",
        IN_COPYRIGHT,
        "In Copyright: the creator died in 1990",
        datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
    ),
    Embargo(
        ATLAS,
        "pending_review",
        3,
        datetime(2026, 7, 1, 4, 0, tzinfo=UTC),
        "2026-06",
        "America/New_York",
        "through_named_month",
        "Map Library",
        IN_COPYRIGHT,
        "no creator death year to check the statutory term",
        datetime(2026, 7, 2, 0, 0, tzinfo=UTC),
    ),
    Embargo(
        ORPHAN,
        "pending_review",
        3,
        datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
        "2026-01-01T00:00:00Z",
        "UTC",
        "instant",
        "Stadsarchief",
        IN_COPYRIGHT,
        "In Copyright",
        datetime(2026, 7, 3, 0, 0, tzinfo=UTC),
    ),
    Embargo(
        DIARY,
        "active",
        1,
        datetime(2099, 12, 31, 23, 0, tzinfo=UTC),
        "2099-12-31",
        "Europe/Amsterdam",
        "through_named_day",
        "Stadsarchief",
        IN_COPYRIGHT,
        None,
        REGISTERED,
    ),
    Embargo(
        MAP,
        "published",
        4,
        datetime(1970, 1, 1, tzinfo=UTC),
        "",
        "UTC",
        "none",
        "Map Library",
        PUBLIC_DOMAIN,
        None,
        REGISTERED,
    ),
)
# Exported objects: (record_id, title, provider, language, year).
OBJECTS = (
    (LETTERS, "Letters to the mayor", "Stadsarchief", "nl", 1901),
    (ATLAS, "Atlas of the coast", "Map Library", "en", 1750),
    (DIARY, "Diary of a clerk", "Stadsarchief", "nl", 1960),
    (MAP, "Map of the harbour", "Map Library", "en", 1650),
    (UNEVALUATED, "Photograph of a bridge", "Photo Archive", "fr", 1920),
)
# The states LETTERS passed through: (from_state, to_state, from_version, actor, reason).
LETTERS_HISTORY = (
    (None, "active", 0, "source", None),
    ("active", "expired", 1, "evaluator", None),
    ("expired", "pending_review", 2, "evaluator", "In Copyright: the creator died in 1990"),
)


def insert_publication_sample(settings: Settings, database: str) -> None:
    with connect(settings, database) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO heritage.objects (record_id, source, title, object_type, rights_uri, "
            "data_provider, content_hash, ingested_at, delta_version, languages, date_start) "
            "VALUES (%s, 'csv', %s, 'IMAGE', %s, %s, md5(%s), now(), 1, %s, make_date(%s, 1, 1))",
            [
                (record, title, IN_COPYRIGHT, provider, record, [language], year)
                for record, title, provider, language, year in OBJECTS
            ],
        )
        cursor.executemany(
            "INSERT INTO heritage.embargoes (object_id, episode, state, state_version, "
            "embargo_end_utc, end_input, end_input_zone, end_rule, rights_uri, data_provider, "
            "review_reason, updated_at) VALUES (%s, 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    e.object_id,
                    e.state,
                    e.state_version,
                    e.end_utc,
                    e.end_input,
                    e.zone,
                    e.rule,
                    e.rights_uri,
                    e.provider,
                    e.reason,
                    e.updated_at,
                )
                for e in EMBARGOES
            ],
        )
        letters = EMBARGOES[0]
        cursor.executemany(
            "INSERT INTO heritage.publication_events (event_id, object_id, episode, from_state, "
            "to_state, from_version, to_version, as_of, embargo_end_utc, end_input, "
            "end_input_zone, end_rule, rights_uri, review_reason, actor, rights_check, "
            "correlation_id, created_at) "
            "VALUES (%s, %s, 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'run-1', %s)",
            [
                (
                    f"event-{version}",
                    LETTERS,
                    from_state,
                    to_state,
                    version,
                    version + 1,
                    letters.updated_at if version else REGISTERED,
                    letters.end_utc,
                    letters.end_input,
                    letters.zone,
                    letters.rule,
                    IN_COPYRIGHT,
                    reason,
                    actor,
                    json.dumps({"cleared": False, "rule": "in_copyright"}) if reason else None,
                    letters.updated_at if version else REGISTERED,
                )
                # Inserted newest first: the page orders them, not the table.
                for from_state, to_state, version, actor, reason in reversed(LETTERS_HISTORY)
            ],
        )
    connection.close()
