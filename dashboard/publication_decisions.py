"""Curators' publication decisions: checking one, and writing it to
``heritage.publication_decisions`` as the curator role (which may only insert there). The
publication stage applies them at its next evaluation: 'clear' publishes an object waiting in
pending_review, 're_embargo' starts a new episode with a new end. A decision names the
state_version the curator saw; one made on a state that has changed since is not applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from heritage.dashboard.publication_queries import REVIEW_STATE
from heritage.dashboard.review_decisions import curator_connection
from heritage.embargo_time import EmbargoDateError, EmbargoEnd, embargo_end, is_expired
from heritage.settings import Settings

PublicationChoice = Literal["clear", "re_embargo"]

# No RETURNING: it needs SELECT on the table, which the curator role does not have.
_INSERT_DECISION = (
    "INSERT INTO heritage.publication_decisions "
    "(object_id, decision, embargo_until, embargo_zone, seen_version, decided_by, note) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


@dataclass(frozen=True)
class PublicationDecision:
    object_id: str
    decision: PublicationChoice
    seen_version: int
    decided_by: str
    note: str | None
    embargo_until: str | None = None  # re_embargo: the new end as written
    embargo_zone: str | None = None  # re_embargo: the IANA zone it is read in


def _who(decided_by: str) -> str:
    return decided_by.strip() or "curator"


def clear_decision(
    object_id: str, state: str, seen_version: int, decided_by: str, note: str | None
) -> PublicationDecision:
    """Clear an object for publication; only one waiting for review can be cleared."""
    if state != REVIEW_STATE:
        raise ValueError(
            f"{object_id} is {state}, not {REVIEW_STATE}: only an object waiting for review "
            "can be cleared for publication"
        )
    return PublicationDecision(object_id, "clear", seen_version, _who(decided_by), note or None)


def re_embargo_decision(
    object_id: str,
    until: str,
    zone: str,
    seen_version: int,
    decided_by: str,
    note: str | None,
    as_of: datetime,
) -> tuple[PublicationDecision, EmbargoEnd]:
    """A new embargo ending at ``until`` read in ``zone`` (a date lasts through that day,
    month or year there; a date and time without an offset is that wall clock there), and
    the end it means. Raises :class:`EmbargoDateError` for an end that cannot be read or that
    has already passed at ``as_of`` (it would only send the object back to review)."""
    text = until.strip()
    end = embargo_end(text, zone, zone, where=f"re-embargo of {object_id}")
    if is_expired(as_of, end.end_utc):
        raise EmbargoDateError(
            f"re-embargo of {object_id}: {text!r} in {zone} ends at "
            f"{end.end_utc.isoformat()}, which has already passed; give an end in the future"
        )
    decision = PublicationDecision(
        object_id, "re_embargo", seen_version, _who(decided_by), note or None, text, end.zone
    )
    return decision, end


def record_publication_decision(settings: Settings, decision: PublicationDecision) -> None:
    """Insert the decision as the curator role, in its own transaction."""
    connection = curator_connection(settings)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                _INSERT_DECISION,
                (
                    decision.object_id,
                    decision.decision,
                    decision.embargo_until,
                    decision.embargo_zone,
                    decision.seen_version,
                    decision.decided_by,
                    decision.note,
                ),
            )
    finally:
        connection.close()
