"""Curators' publication decisions (PostgreSQL heritage.publication_decisions, written by
the dashboard's Publication page) as the evaluator applies them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg2
import psycopg2.errors

from heritage.embargo_states import CuratorDecision
from heritage.embargo_time import EmbargoDateError, embargo_end
from heritage.postgres_db import connect
from heritage.publication_settings import PublicationPolicy
from heritage.settings import Settings

_LOG = logging.getLogger(__name__)
_QUERY = (
    "SELECT d.decision_id, d.object_id, d.decision, d.embargo_until, d.embargo_zone,"
    " d.seen_version, d.decided_by, d.note, e.data_provider"
    " FROM heritage.publication_decisions d"
    " LEFT JOIN heritage.embargoes e ON e.object_id = d.object_id"
    " WHERE d.decision_id > %s ORDER BY d.decision_id"
)


def read_decisions(settings: Settings, database: str, after: int) -> list[Sequence[Any]]:
    """The decision rows after decision id ``after`` (none while the table is absent)."""
    connection = connect(settings, database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(_QUERY, (after,))
            return list(cursor.fetchall())
    except psycopg2.errors.UndefinedTable:
        return []
    finally:
        connection.close()


def curator_decisions(
    rows: Sequence[Sequence[Any]], policy: PublicationPolicy
) -> list[CuratorDecision]:
    """Decision rows -> decisions; a re-embargo whose end cannot be read is logged and left
    out (the dashboard checks the end before writing it)."""
    decisions = []
    for decision_id, object_id, kind, until, zone, seen, by, note, provider in rows:
        end = None
        if kind == "re_embargo":
            where = f"publication decision {decision_id} on {object_id}"
            try:
                end = embargo_end(until or "", policy.zone_for(provider), zone or None, where)
            except EmbargoDateError as error:
                _LOG.warning("decision ignored: %s", error)
                continue
        decisions.append(
            CuratorDecision(
                decision_id=int(decision_id),
                object_id=str(object_id),
                decision=str(kind),
                embargo=end,
                seen_version=int(seen),
                decided_by=str(by),
                note=note,
            )
        )
    return decisions
