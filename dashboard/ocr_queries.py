"""SQL of the OCR review page, run as the read-only role against the OCR views.

Pure query builders, as in :mod:`heritage.dashboard.explorer_queries`: each returns
``(sql, params)`` with ``%s`` placeholders only; the SQL text is assembled from constant
fragments, never from user input. Every query is bounded by a LIMIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from heritage.dashboard.explorer_queries import Query

# How many pages the counts at the top of the page count before they say "10,000+".
COUNT_CAP = 10_000
# How many distinct providers or languages a filter offers at most.
OPTIONS_LIMIT = 500
# How many extracted fields one page lists at most.
FIELDS_LIMIT = 500
# The sort key of a page without a confidence (blank, unreadable): before every other page.
NO_CONFIDENCE = -1.0

# The queue's source: the flagged pages, or every page (the threshold then picks).
_FLAGGED_PAGES = "analytics.ocr_review p"
_ALL_PAGES = "analytics.ocr_pages p"
# The view reads a value of the wrong JSON type as null; the key coalesces each part so such
# a page still has its place in the order and the keyset comparison never meets a null.
_SORT_KEY = "(coalesce(p.confidence, -1), p.record_id, coalesce(p.file, ''), coalesce(p.page, -1))"
_QUEUE_COLUMNS = (
    "SELECT p.record_id, p.title, p.data_provider, p.source, p.file, p.page, p.confidence, "
    "p.language, p.rotation, p.characters, p.words, p.flagged, p.reason, p.text_key, "
    "p.hocr_key"
)
# ts_headline's markers around a match: characters a page of text hardly ever holds, so the
# page can bold the matches after escaping the rest (ts_headline's own <b> would be HTML).
MATCH_START, MATCH_END = "\u27e6", "\u27e7"
HEADLINE_OPTIONS = (
    'MaxFragments=2, MinWords=5, MaxWords=18, FragmentDelimiter=" … ", '
    "StartSel=" + MATCH_START + ", StopSel=" + MATCH_END
)


@dataclass(frozen=True)
class OcrReviewFilters:
    """What the curator asked for; empty means no restriction."""

    providers: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    # Pages at or above this confidence (0..100) are left out; None: any confidence.
    below: float | None = None
    # Only the pages the OCR stage flagged (low confidence, blank, unreadable).
    flagged_only: bool = True


@dataclass(frozen=True)
class QueueCursor:
    """Where a page of the review queue ended: its last row's sort key."""

    confidence: float
    record_id: str
    file: str
    page: int


def queue_cursor(row: dict[str, Any]) -> QueueCursor:
    """The cursor after ``row`` (a queue row), for the next page."""
    confidence = row["confidence"]
    return QueueCursor(
        NO_CONFIDENCE if confidence is None else float(confidence),
        row["record_id"],
        row["file"] or "",
        -1 if row["page"] is None else row["page"],
    )


def _source(filters: OcrReviewFilters) -> str:
    return _FLAGGED_PAGES if filters.flagged_only else _ALL_PAGES


def queue_conditions(filters: OcrReviewFilters) -> tuple[list[str], list[Any]]:
    """WHERE fragments (constant text) and their parameters, in order."""
    conditions: list[str] = []
    params: list[Any] = []
    if filters.providers:
        conditions.append("p.data_provider = ANY(%s)")
        params.append(list(filters.providers))
    if filters.languages:
        conditions.append("p.language = ANY(%s)")
        params.append(list(filters.languages))
    if filters.below is not None:
        # A page without a confidence (blank, unreadable) stays when the OCR flagged it.
        conditions.append("(p.confidence < %s OR (p.confidence IS NULL AND p.flagged))")
        params.append(filters.below)
    return conditions, params


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def review_queue_query(
    filters: OcrReviewFilters, after: QueueCursor | None, page_size: int
) -> Query:
    """One page of the queue, lowest confidence first (pages without one before all), keyset-
    paginated on that order; one row more than ``page_size`` tells if more follow."""
    conditions, params = queue_conditions(filters)
    if after is not None:
        conditions.append(_SORT_KEY + " > (%s, %s, %s, %s)")
        params += [after.confidence, after.record_id, after.file, after.page]
    text = (
        _QUEUE_COLUMNS
        + " FROM "
        + _source(filters)
        + _where(conditions)
        + " ORDER BY "
        + _SORT_KEY
        + " LIMIT %s"
    )
    return text, (*params, page_size + 1)


def review_counts_query(filters: OcrReviewFilters, cap: int = COUNT_CAP) -> Query:
    """How many pages the filters list, and why, counted up to ``cap`` + 1 pages."""
    conditions, params = queue_conditions(filters)
    text = (
        "SELECT count(*) AS pages,"
        " count(*) FILTER (WHERE q.confidence IS NOT NULL) AS low_confidence,"
        " count(*) FILTER (WHERE q.confidence IS NULL AND q.page > 0) AS blank,"
        " count(*) FILTER (WHERE q.page = 0) AS unreadable"
        " FROM (SELECT p.confidence, p.page FROM "
        + _source(filters)
        + _where(conditions)
        + " LIMIT %s) AS q"
    )
    return text, (*params, cap + 1)


def provider_options_query(flagged_only: bool, limit: int = OPTIONS_LIMIT) -> Query:
    source = _FLAGGED_PAGES if flagged_only else _ALL_PAGES
    return (
        "SELECT DISTINCT p.data_provider AS value FROM "
        + source
        + " WHERE p.data_provider IS NOT NULL ORDER BY 1 LIMIT %s",
        (limit,),
    )


def language_options_query(flagged_only: bool, limit: int = OPTIONS_LIMIT) -> Query:
    source = _FLAGGED_PAGES if flagged_only else _ALL_PAGES
    return (
        "SELECT DISTINCT p.language AS value FROM "
        + source
        + " WHERE p.language IS NOT NULL AND p.language <> '' ORDER BY 1 LIMIT %s",
        (limit,),
    )


def page_fields_query(
    record_id: str, file: str | None, page: int | None, limit: int = FIELDS_LIMIT
) -> Query:
    """The fields extracted from one page, in the order they stand on it."""
    return (
        "SELECT kind, value, normalised, start_offset, end_offset, confidence, rule, uri, "
        "flagged FROM analytics.ocr_fields WHERE record_id = %s "
        "AND file IS NOT DISTINCT FROM %s AND page IS NOT DISTINCT FROM %s "
        "ORDER BY start_offset, end_offset, kind LIMIT %s",
        (record_id, file, page, limit),
    )


def text_search_query(words: str, providers: tuple[str, ...], limit: int) -> Query:
    """Records whose OCR text matches ``words`` (all of them, as plain words), with a snippet
    of the text around the matches.

    The matches are gathered from the full-text index first (OFFSET 0 keeps the planner from
    walking the record_id index instead, which reads the whole table for a rare word), then
    sorted; the snippets are made for the listed rows only, as ts_headline reads all the text."""
    conditions = [
        "o.search_document @@ plainto_tsquery('simple', %s)",
        "o.ocr_text IS NOT NULL",
    ]
    params: list[Any] = [words]
    if providers:
        conditions.append("o.data_provider = ANY(%s)")
        params.append(list(providers))
    text = (
        "SELECT m.record_id, m.title, m.data_provider, m.ocr_confidence,"
        " ts_headline('simple', m.ocr_text, plainto_tsquery('simple', %s), %s) AS snippet"
        " FROM (SELECT f.* FROM (SELECT o.record_id, o.title, o.data_provider,"
        " o.ocr_confidence, o.ocr_text FROM analytics.objects o"
        + _where(conditions)
        + " OFFSET 0) AS f ORDER BY f.record_id LIMIT %s) AS m ORDER BY m.record_id"
    )
    return text, (words, HEADLINE_OPTIONS, *params, limit)
