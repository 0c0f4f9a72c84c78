"""SQL of the duplicates review, run as the read-only role against the analytics views.

Pure query builders like those in explorer_queries: ``(sql, params)`` with ``%s``
placeholders only, the text assembled from constants."""

from __future__ import annotations

from heritage.dashboard.explorer_queries import Query


def group_members_detail_query(canonical_id: str) -> Query:
    """The records of one group with what a curator compares them by: title, creators,
    date, description, provider, and the stored image's thumbnail and pixel size."""
    return (
        "SELECT o.record_id, o.title, o.creators, o.date_original, o.description, "
        "o.data_provider, o.canonical_id, i.thumbnail_key, i.width, i.height "
        "FROM analytics.objects o "
        "LEFT JOIN analytics.object_images i ON i.record_id = o.record_id AND i.status = 'stored' "
        "WHERE o.canonical_id = %s ORDER BY o.record_id <> o.canonical_id, o.record_id",
        (canonical_id,),
    )


def group_titles_query(canonical_ids: list[str]) -> Query:
    """The title of each group's canonical record, for the merge choices."""
    return (
        "SELECT o.record_id, o.title FROM analytics.objects o WHERE o.record_id = ANY(%s)",
        (canonical_ids,),
    )


def curator_history_query(decided_by: str, limit: int) -> Query:
    """A curator's latest decisions, undone ones and undos included, newest first."""
    return (
        "SELECT decision_id, record_id, other_record_id, decision, decided_by, decided_at, "
        "undoes, undone_by FROM analytics.duplicate_decision_history "
        "WHERE decided_by = %s ORDER BY decision_id DESC LIMIT %s",
        (decided_by, limit),
    )


def decision_history_query(limit: int) -> Query:
    """Every decision, newest first, with whether it still stands."""
    return (
        "SELECT h.decided_at, h.decided_by, h.decision, h.record_id, h.other_record_id, "
        "h.note, CASE WHEN h.decision = 'undone' THEN 'undoes #' || h.undoes "
        "WHEN h.undone_by IS NOT NULL THEN 'undone' "
        "WHEN EXISTS (SELECT 1 FROM analytics.duplicate_decisions s "
        " WHERE s.decision_id = h.decision_id) THEN 'in effect' ELSE 'superseded' END AS status, "
        "h.decision_id FROM analytics.duplicate_decision_history h "
        "ORDER BY h.decision_id DESC LIMIT %s",
        (limit,),
    )
