"""Curators' duplicate decisions: which record pairs a review action stands for, which
decisions are in effect, and writing them to ``heritage.duplicate_decisions`` as the curator
role (which may only insert there). The ML job reads the decisions in effect on its next
run: 'same' joins a pair, 'different' parts it. An undo is a new 'undone' row naming the
decision it takes back, so the history stays whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg2

from heritage.settings import Settings

Decision = Literal["same", "different"]
VERDICTS = ("same", "different")

_INSERT_DECISION = (
    "INSERT INTO heritage.duplicate_decisions "
    "(record_id, other_record_id, decision, decided_by, note) VALUES (%s, %s, %s, %s, %s)"
)
# A second undo of the same decision meets the unique index on undoes (ON CONFLICT would
# need the SELECT privilege the curator role does not have: a savepoint catches it instead).
_INSERT_UNDO = (
    "INSERT INTO heritage.duplicate_decisions "
    "(record_id, other_record_id, decision, decided_by, note, undoes) "
    "VALUES (%s, %s, 'undone', %s, %s, %s)"
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


@dataclass(frozen=True)
class DecisionEntry:
    """One row of analytics.duplicate_decision_history."""

    decision_id: int
    record_id: str
    other_record_id: str
    decision: str  # 'same' | 'different' | 'undone'
    decided_by: str
    decided_at: datetime
    undoes: int | None = None  # an 'undone' row: the decision it takes back
    undone_by: int | None = None  # a decision taken back: the 'undone' row


def decision_entries(rows: Iterable[Mapping[str, Any]]) -> list[DecisionEntry]:
    return [
        DecisionEntry(
            int(row["decision_id"]),
            row["record_id"],
            row["other_record_id"],
            row["decision"],
            row["decided_by"],
            row["decided_at"],
            row.get("undoes"),
            row.get("undone_by"),
        )
        for row in rows
    ]


def effective_entries(history: Iterable[DecisionEntry]) -> list[DecisionEntry]:
    """The verdicts in effect: 'same' or 'different' decisions no undo takes back."""
    entries = list(history)
    undone = {e.undoes for e in entries if e.decision == "undone"}
    return [
        e
        for e in entries
        if e.decision in VERDICTS and e.undone_by is None and e.decision_id not in undone
    ]


def standing_decisions(history: Iterable[DecisionEntry]) -> dict[tuple[str, str], str]:
    """The verdict per pair: the latest decision in effect (as analytics.duplicate_decisions)."""
    latest: dict[tuple[str, str], DecisionEntry] = {}
    for entry in effective_entries(history):
        pair = (entry.record_id, entry.other_record_id)
        if pair not in latest or entry.decision_id > latest[pair].decision_id:
            latest[pair] = entry
    return {pair: entry.decision for pair, entry in latest.items()}


def latest_action(history: Iterable[DecisionEntry], decided_by: str) -> list[DecisionEntry]:
    """The decisions of ``decided_by``'s latest review action still in effect: one action
    stores its pairs in one transaction, so they share decided_at. Undoing them, then
    asking again, steps back one action at a time."""
    own = [e for e in effective_entries(history) if e.decided_by == decided_by]
    if not own:
        return []
    newest = max(e.decided_at for e in own)
    return sorted((e for e in own if e.decided_at == newest), key=lambda e: e.decision_id)


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


def record_undo(
    settings: Settings, entries: Iterable[DecisionEntry], decided_by: str, note: str | None
) -> int:
    """Take the decisions back in one transaction (an 'undone' row each); returns how many
    were undone now (one undone already by someone else is not counted)."""
    rows = [
        (
            e.record_id,
            e.other_record_id,
            decided_by.strip() or "curator",
            note or None,
            e.decision_id,
        )
        for e in entries
        if e.decision in VERDICTS
    ]
    if not rows:
        return 0
    connection = curator_connection(settings)
    stored = 0
    try:
        with connection, connection.cursor() as cursor:
            for row in rows:
                cursor.execute("SAVEPOINT undo")
                try:
                    cursor.execute(_INSERT_UNDO, row)
                except psycopg2.errors.UniqueViolation:
                    cursor.execute("ROLLBACK TO SAVEPOINT undo")
                else:
                    stored += 1
    finally:
        connection.close()
    return stored
