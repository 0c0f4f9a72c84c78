"""Curators' duplicate decisions: which record pairs a review action stands for, and writing
them to ``heritage.duplicate_decisions`` as the curator role (the only write the dashboard
makes). The ML job reads them on its next run: 'same' joins a pair, 'different' parts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import psycopg2

from heritage.settings import Settings

Decision = Literal["same", "different"]

_INSERT_DECISION = (
    "INSERT INTO heritage.duplicate_decisions "
    "(record_id, other_record_id, decision, decided_by, note) VALUES (%s, %s, %s, %s, %s)"
)


@dataclass(frozen=True)
class PairDecision:
    record_id: str  # always < other_record_id, as the table requires
    other_record_id: str
    decision: Decision


def pair_decision(first: str, second: str, decision: Decision) -> PairDecision:
    if first == second:
        raise ValueError(f"a record cannot be paired with itself: {first!r}")
    low, high = sorted((first, second))
    return PairDecision(low, high, decision)


def confirm_group(canonical_id: str, members: Sequence[str]) -> list[PairDecision]:
    """Confirm a group: 'same' between its canonical record and every other member."""
    return [pair_decision(canonical_id, m, "same") for m in members if m != canonical_id]


def split_member(member: str, members: Sequence[str]) -> list[PairDecision]:
    """Split one record off its group: 'different' between it and every other member."""
    if member not in members:
        raise ValueError(f"{member!r} is not a member of the group {list(members)!r}")
    return [pair_decision(member, m, "different") for m in members if m != member]


def merge_groups(canonical_id: str, other_canonical_id: str) -> list[PairDecision]:
    """Merge two groups: 'same' between their canonical records."""
    return [pair_decision(canonical_id, other_canonical_id, "same")]


def curator_connection(settings: Settings) -> psycopg2.extensions.connection:
    return psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_curator_user,
        password=settings.pg_curator_password.reveal(),
        dbname=settings.pg_database,
        connect_timeout=3,
        application_name="heritage-dashboard-review",
    )


def record_decisions(
    settings: Settings, decisions: Iterable[PairDecision], decided_by: str, note: str | None
) -> int:
    """Insert the decisions in one transaction; returns how many were stored."""
    rows = [
        (d.record_id, d.other_record_id, d.decision, decided_by.strip() or "curator", note or None)
        for d in decisions
    ]
    if not rows:
        return 0
    connection = curator_connection(settings)
    try:
        with connection, connection.cursor() as cursor:
            cursor.executemany(_INSERT_DECISION, rows)
    finally:
        connection.close()
    return len(rows)
