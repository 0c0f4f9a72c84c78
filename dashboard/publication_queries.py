"""SQL of the publication page and the object page's embargo section, run as the read-only
role against analytics.embargoes, analytics.publication_queue, analytics.publication_events
and analytics.publication_decisions.

Pure query builders, as in :mod:`heritage.dashboard.explorer_queries`: each returns
``(sql, params)`` with ``%s`` placeholders only; the SQL text is assembled from constant
fragments, never from user input.
"""

from __future__ import annotations

from heritage.dashboard.explorer_queries import Query

# The embargo states, in the order an object passes through them.
STATES = ("active", "expired", "pending_review", "published")
REVIEW_STATE = "pending_review"

_ROW_COLUMNS = (
    "q.object_id, q.title, q.state, q.episode, q.state_version, q.review_reason, q.rights_uri, "
    "q.data_provider, q.embargo_end_utc, q.end_input, q.end_input_zone, q.end_rule, "
    "q.updated_at"
)
# The curators' queue is its own view; other states read the embargoes with their titles.
_QUEUE_SOURCE = " FROM analytics.publication_queue q"
_STATE_SOURCE = (
    " FROM (SELECT e.*, o.title FROM analytics.embargoes e "
    "LEFT JOIN analytics.objects o ON o.record_id = e.object_id WHERE e.state = %s) q"
)


def _source(state: str, providers: tuple[str, ...]) -> tuple[str, list[object]]:
    """The FROM clause (as ``q``) and its parameters."""
    if state not in STATES:
        raise ValueError(f"state {state!r} is not one of {', '.join(STATES)}")
    params: list[object] = [] if state == REVIEW_STATE else [state]
    text = _QUEUE_SOURCE if state == REVIEW_STATE else _STATE_SOURCE
    if providers:
        text += " WHERE q.data_provider = ANY(%s)"
        params.append(list(providers))
    return text, params


def publication_rows_query(state: str, providers: tuple[str, ...], limit: int) -> Query:
    """Objects in ``state`` (of the given providers; all when none), the longest waiting
    first."""
    text, params = _source(state, providers)
    return (
        "SELECT " + _ROW_COLUMNS + text + " ORDER BY q.updated_at, q.object_id LIMIT %s",
        (*params, limit),
    )


def publication_count_query(state: str, providers: tuple[str, ...]) -> Query:
    text, params = _source(state, providers)
    return "SELECT count(*) AS objects" + text, tuple(params)


STATE_COUNTS_QUERY: Query = (
    "SELECT state, count(*) AS objects FROM analytics.embargoes GROUP BY state",
    (),
)
EMBARGO_PROVIDERS_QUERY: Query = (
    "SELECT DISTINCT data_provider AS value FROM analytics.embargoes "
    "WHERE data_provider IS NOT NULL ORDER BY 1",
    (),
)

_EVENT_COLUMNS = (
    "object_id, episode, from_state, to_state, from_version, to_version, as_of, "
    "embargo_end_utc, end_input, end_input_zone, end_rule, rights_uri, review_reason, actor, "
    "rights_check, decision_id, created_at"
)


def recent_events_query(limit: int) -> Query:
    return (
        "SELECT " + _EVENT_COLUMNS + " FROM analytics.publication_events "
        "ORDER BY created_at DESC NULLS LAST, as_of DESC, object_id, to_version DESC LIMIT %s",
        (limit,),
    )


def recent_decisions_query(limit: int) -> Query:
    return (
        "SELECT decision_id, object_id, decision, embargo_until, embargo_zone, seen_version, "
        "decided_by, note, decided_at, outcome "
        "FROM analytics.publication_decisions ORDER BY decision_id DESC LIMIT %s",
        (limit,),
    )


def object_embargo_query(record_id: str) -> Query:
    return (
        "SELECT object_id, episode, state, state_version, embargo_end_utc, end_input, "
        "end_input_zone, end_rule, rights_uri, data_provider, creator_death_year, "
        "review_reason, updated_at FROM analytics.embargoes WHERE object_id = %s",
        (record_id,),
    )


def object_events_query(record_id: str) -> Query:
    """The object's history, oldest transition first."""
    return (
        "SELECT " + _EVENT_COLUMNS + " FROM analytics.publication_events "
        "WHERE object_id = %s ORDER BY to_version, event_id",
        (record_id,),
    )
