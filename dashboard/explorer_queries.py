"""SQL of the dashboard's pages, run as the read-only role against the analytics views.

Pure query builders: each returns ``(sql, params)`` with ``%s`` placeholders only; the SQL
text is assembled from constant fragments, never from user input. The pages, the tests and
bench/explore_latency.py call the same builders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg2 import sql

Query = tuple[str, tuple[Any, ...]]

# How many matches the explore page counts exactly; above it, it shows an estimate.
COUNT_CAP = 10_000
# At most this many rows go into an export of the current results.
EXPORT_LIMIT = COUNT_CAP

EXPLORE_COLUMNS = (
    "record_id",
    "title",
    "creators",
    "date_original",
    "object_type",
    "data_provider",
    "rights_uri",
    "languages",
    "annotation_count",
    "canonical_id",
    "thumbnail_key",
)

_EXPLORE_SELECT = (
    "SELECT o.record_id, o.title, o.creators, o.date_original, o.object_type, "
    "o.data_provider, o.rights_uri, o.languages, o.annotation_count, o.canonical_id, "
    "i.thumbnail_key "
    "FROM analytics.objects o "
    "LEFT JOIN analytics.object_images i ON i.record_id = o.record_id AND i.status = 'stored'"
)

# Columns a facet may list the values of (a whitelist: the column name becomes an identifier).
FACET_COLUMNS = ("data_provider", "object_type", "rights_uri")

# Only published objects are shown unless a curator asks for the others: an object without
# a row in analytics.embargoes (not evaluated yet) is not published either. The flag is the
# object's own column, kept equal to its embargo state by the schema's triggers.
PUBLISHED_CONDITION = "o.published"


# In a duplicate group of more than one record: a flag the schema's triggers keep, with a
# partial index of the flagged records.
DUPLICATES_CONDITION = "o.has_duplicates"


@dataclass(frozen=True)
class ExploreFilters:
    """What the curator asked for on the explore page; empty means no restriction."""

    search: str = ""
    providers: tuple[str, ...] = ()
    object_types: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    has_duplicates: bool = False
    has_annotations: bool = False
    # Curators may list objects under embargo or waiting for review as well.
    include_unpublished: bool = False


def explore_conditions(filters: ExploreFilters) -> tuple[list[str], list[Any]]:
    """WHERE fragments (constant text) and their parameters, in order."""
    conditions: list[str] = []
    params: list[Any] = []
    if filters.search.strip():
        conditions.append("o.search_document @@ websearch_to_tsquery('simple', %s)")
        params.append(filters.search.strip())
    for column, values in (
        ("o.data_provider = ANY(%s)", filters.providers),
        ("o.object_type = ANY(%s)", filters.object_types),
        ("o.rights_uri = ANY(%s)", filters.rights),
    ):
        if values:
            conditions.append(column)
            params.append(list(values))
    if filters.languages:
        conditions.append("o.languages && %s::text[]")
        params.append(list(filters.languages))
    if filters.date_from is not None:
        conditions.append("o.date_start >= %s")
        params.append(filters.date_from)
    if filters.date_to is not None:
        conditions.append("o.date_start <= %s")
        params.append(filters.date_to)
    if filters.has_duplicates:
        conditions.append(DUPLICATES_CONDITION)
    if filters.has_annotations:
        conditions.append("o.annotation_count > 0")
    if not filters.include_unpublished:
        conditions.append(PUBLISHED_CONDITION)
    return conditions, params


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


# Orders of the explore page's sort choices (relevance is ts_rank, below); record_id last
# so that equal keys still give stable pages. Each has an index that walks it in order.
SORT_ORDERS = {
    "date": "o.date_start ASC NULLS LAST, o.record_id",
    "date_desc": "o.date_start DESC NULLS LAST, o.record_id DESC",
    "title": "o.title, o.record_id",
    "provider": "o.data_provider, o.title, o.record_id",
}
RELEVANCE_ORDER = "ts_rank(o.search_document, websearch_to_tsquery('simple', %s)) DESC, o.record_id"


def _order(filters: ExploreFilters, sort: str | None) -> tuple[str, tuple[Any, ...]]:
    """ORDER BY text and its parameters. Relevance without search words has nothing to rank:
    record id order then, as for ``sort=None``."""
    if sort in SORT_ORDERS:
        return SORT_ORDERS[sort], ()
    if sort == "relevance" and filters.search.strip():
        return RELEVANCE_ORDER, (filters.search.strip(),)
    if sort not in (None, "relevance"):
        raise ValueError(f"sort {sort!r} is not one of relevance, {', '.join(SORT_ORDERS)}")
    return "o.record_id", ()


def ranks_by_relevance(filters: ExploreFilters, sort: str | None) -> bool:
    """Whether ``sort`` ranks the matches (relevance with search words) rather than walking
    an index's order."""
    return bool(_order(filters, sort)[1])


# A sample of the records: those with (hashtext(record_id) & 1023) < n, an indexed
# expression, so a sample is a bitmap ANDed with the search's and costs a fraction of
# reading every match.
SAMPLE_BUCKETS = 1024
SAMPLE_CONDITION = "(hashtext(o.record_id) & 1023) < %s"


# With many matches, relevance ranks about this many of them: those in a sample of the
# records (SAMPLE_CONDITION), the same on every run. Ranking every match of a broad search
# reads most of the table (bench/explore_latency.py).
RANK_CANDIDATES = 1_000


def explore_query(
    filters: ExploreFilters,
    after_record_id: str | None,
    page_size: int,
    few_matches: bool = False,
    *,
    sort: str | None = None,
    offset: int = 0,
    walk_limit: int | None = None,
    rank_buckets: int = SAMPLE_BUCKETS,
) -> Query:
    """One page of matches (one row more tells if more follow), in ``sort`` order from
    ``offset``; without a sort, keyset-paginated on record_id after ``after_record_id``.

    With ``few_matches`` (the capped count said so) the matches are gathered first from the
    search and facet indexes and then sorted (relevance: every match ranked): walking an
    order's index and filtering would read the whole table before it gave up on a rare
    combination. With many matches the order's index is walked and a page is found after a
    few hundred rows; relevance then ranks the matches in the sample of ``rank_buckets``
    buckets (sample_counts_query's), about RANK_CANDIDATES of them.

    ``walk_limit`` (an order's index, no keyset) looks for the page among the first that
    many records of the order only: a prefix of the order, so the rows it gives are the
    page whenever it gives all of them (page_size + 1); when it does not, the caller sorts
    every match (sorted_matches_query) instead of walking on through an order whose
    matches sit late in it (the titles of one language start with the same few words)."""
    conditions, params = explore_conditions(filters)
    if after_record_id is not None:
        conditions.append("o.record_id > %s")
        params.append(after_record_id)
    order, order_params = _order(filters, sort)
    tail = " ORDER BY " + order + " LIMIT %s" + (" OFFSET %s" if offset else "")
    tail_params = (*order_params, page_size + 1, *((offset,) if offset else ()))
    if walk_limit is not None and not few_matches and not order_params and not after_record_id:
        walked = "(SELECT o.* FROM analytics.objects o ORDER BY " + order + " LIMIT %s) o"
        text = _EXPLORE_SELECT.replace("FROM analytics.objects o", "FROM " + walked)
        return text + _where(conditions) + tail, (walk_limit, *params, *tail_params)
    if few_matches:
        # OFFSET 0 keeps the subquery from being merged into the outer ORDER BY ... LIMIT.
        gathered = "(SELECT o.* FROM analytics.objects o" + _where(conditions) + " OFFSET 0) o"
    elif order_params:
        conditions.append(SAMPLE_CONDITION)
        params.append(rank_buckets)
        gathered = "(SELECT o.* FROM analytics.objects o" + _where(conditions) + " OFFSET 0) o"
    else:
        return _EXPLORE_SELECT + _where(conditions) + tail, (*params, *tail_params)
    text = _EXPLORE_SELECT.replace("FROM analytics.objects o", "FROM " + gathered) + tail
    return text, (*params, *tail_params)


def sorted_matches_query(
    filters: ExploreFilters, sort: str | None, offset: int, page_size: int
) -> Query:
    """One page in an index's order (not relevance) from every match gathered by the
    filters' indexes and sorted: the ids and sort keys of the matches first, then the page's
    rows by id, so the sort carries narrow rows and only the page meets the images."""
    if ranks_by_relevance(filters, sort):
        raise ValueError("relevance ranks the matches: use explore_query")
    conditions, params = explore_conditions(filters)
    order, _ = _order(filters, sort)
    text = (
        "WITH matches AS MATERIALIZED (SELECT o.record_id, o.title, o.data_provider, "
        "o.date_start FROM analytics.objects o" + _where(conditions) + "), "
        "listed AS (SELECT o.record_id FROM matches o ORDER BY " + order + " LIMIT %s OFFSET %s) "
        + _EXPLORE_SELECT + " WHERE o.record_id IN (SELECT record_id FROM listed) ORDER BY " + order
    )  # fmt: skip
    return text, (*params, page_size + 1, offset)


def export_query(
    filters: ExploreFilters, sort: str, few_matches: bool, rank_buckets: int = SAMPLE_BUCKETS
) -> Query:
    """The current results for a download: the page's query from the first row, at most
    EXPORT_LIMIT rows (relevance over many matches: the ranked sample the page shows)."""
    return explore_query(
        filters, None, EXPORT_LIMIT - 1, few_matches, sort=sort, rank_buckets=rank_buckets
    )


def explore_count_query(filters: ExploreFilters, cap: int = COUNT_CAP) -> Query:
    """How many records match, counted up to ``cap`` + 1 so a broad filter stays cheap."""
    conditions, params = explore_conditions(filters)
    text = (
        "SELECT count(*) FROM (SELECT 1 FROM analytics.objects o"
        + _where(conditions)
        + " LIMIT %s) AS matches"
    )
    return text, (*params, cap + 1)


# The facets the page counts, by the column (or array of values) each counts.
COUNTED_FACETS = ("data_provider", "object_type", "rights_uri", "languages")


_FACET_BRANCHES = (
    " UNION ALL SELECT 'data_provider', data_provider, count(*), NULL FROM matches GROUP BY 2"
    " UNION ALL SELECT 'object_type', object_type, count(*), NULL FROM matches GROUP BY 2"
    " UNION ALL SELECT 'rights_uri', rights_uri, count(*), NULL FROM matches GROUP BY 2"
    # The matches share a few sets of languages: counted per set first, the sets unnested.
    " UNION ALL SELECT 'languages', language, sum(sets.n)::bigint, NULL FROM (SELECT languages, "
    "count(*) AS n FROM matches GROUP BY languages) AS sets, unnest(sets.languages) AS language "
    "GROUP BY 2"
)


def _counts_sql(
    conditions: list[str],
    columns: str = "o.data_provider, o.object_type, o.rights_uri, o.languages",
    more: str = "",
) -> str:
    """Facet counts over the matches of ``conditions``, at most %s of them (the parameter
    after the conditions'); ``more`` adds a CTE after ``matches`` and rows at the end."""
    listed, page_rows = more.split("|") if more else ("", "")
    return (
        "WITH matches AS MATERIALIZED (SELECT " + columns + " FROM analytics.objects o"
        + _where(conditions) + " LIMIT %s)" + listed
        + " SELECT '' AS facet, NULL::text AS value, count(*) AS matches, NULL::text AS page"
        " FROM matches" + _FACET_BRANCHES + page_rows
    )  # fmt: skip


def facet_counts_query(filters: ExploreFilters, cap: int = COUNT_CAP) -> Query:
    """Rows (facet, value, matches) for every value of every counted facet among the current
    matches, and one row ('', NULL, n) with how many matched, all counted among the first
    ``cap`` + 1 matches: exact up to ``cap``. One scan of the matches serves them all."""
    conditions, params = explore_conditions(filters)
    return _counts_sql(conditions), (*params, cap + 1)


def _results_sql(
    conditions: list[str], params: list[Any], filters: ExploreFilters, sort: str
) -> tuple[str, tuple[Any, ...]]:
    """The counts-and-page query over the matches of ``conditions`` and the parameters that
    come before its matches' LIMIT, its page's LIMIT and its OFFSET."""
    order, order_params = _order(filters, sort)
    rank = "ts_rank(o.search_document, websearch_to_tsquery('simple', %s))" if order_params else "0"
    order = order.replace(RELEVANCE_ORDER.split(" DESC")[0], "o.rank")
    columns = (
        "o.record_id, o.title, o.creators, o.date_original, o.date_start, o.object_type, "
        f"o.data_provider, o.rights_uri, o.languages, o.annotation_count, o.canonical_id, "
        f"{rank} AS rank"
    )
    listed = (
        ", listed AS (SELECT o.*, i.thumbnail_key FROM (SELECT * FROM matches o ORDER BY "
        + order + " LIMIT %s OFFSET %s) o LEFT JOIN analytics.object_images i "
        "ON i.record_id = o.record_id AND i.status = 'stored')"
    )  # fmt: skip
    page_rows = (
        " UNION ALL SELECT 'page', NULL, count(*), json_agg(o ORDER BY " + order + ")::text"
        " FROM listed o"
    )
    return _counts_sql(conditions, columns, listed + "|" + page_rows), (*order_params, *params)


def exact_results_query(
    filters: ExploreFilters, sort: str, offset: int, page_size: int, cap: int = COUNT_CAP
) -> Query:
    """facet_counts_query's rows and, in the row of facet 'page', one page of the matches in
    ``sort`` order from ``offset`` as a JSON array (one row more tells if more follow): one
    pass over the first ``cap`` + 1 matches serves the count, every facet and the page, so
    with at most ``cap`` matches they are all exact and each match is read once."""
    conditions, params = explore_conditions(filters)
    text, leading = _results_sql(conditions, params, filters, sort)
    return text, (*leading, cap + 1, page_size + 1, offset)


def sample_counts_query(
    filters: ExploreFilters, buckets: int, page: tuple[str, int, int] | None = None
) -> Query:
    """Rows as facet_counts_query's, among the matches in a sample of ``buckets`` /
    SAMPLE_BUCKETS of all records: each record is in it or not by a hash of its id, a
    uniform random sample, the same on every run. With ``page`` (sort, offset, page size)
    also, as exact_results_query's, that page of the sample's matches."""
    conditions, params = explore_conditions(filters)
    conditions.append(SAMPLE_CONDITION)
    params.append(buckets)
    if page is None:
        return _counts_sql(conditions), (*params, None)
    sort, offset, page_size = page
    text, leading = _results_sql(conditions, params, filters, sort)
    return text, (*leading, None, page_size + 1, offset)


def estimate_query(filters: ExploreFilters) -> Query:
    """The planner's estimate of how many records match: EXPLAIN, nothing is read."""
    conditions, params = explore_conditions(filters)
    text = "EXPLAIN (FORMAT JSON) SELECT 1 FROM analytics.objects o" + _where(conditions)
    return text, tuple(params)


def _shown(include_unpublished: bool, joiner: str) -> str:
    """The published-only condition, led by ``joiner`` (" WHERE " or " AND "), or nothing."""
    return "" if include_unpublished else joiner + PUBLISHED_CONDITION


def facet_values_query(
    column: str, include_unpublished: bool = False
) -> tuple[sql.Composed, tuple[Any, ...]]:
    """Distinct values of an indexed column by a loose index scan (fast on millions of rows),
    among the objects the explorer shows."""
    if column not in FACET_COLUMNS:
        raise ValueError(f"facet column {column!r} is not one of {', '.join(FACET_COLUMNS)}")
    name = sql.Identifier(column)
    shown = sql.SQL(_shown(include_unpublished, " AND "))
    text = sql.SQL(
        "WITH RECURSIVE facet(value) AS ("
        " (SELECT o.{c} FROM analytics.objects o WHERE o.{c} IS NOT NULL{shown}"
        " ORDER BY o.{c} LIMIT 1)"
        " UNION ALL"
        " SELECT (SELECT o.{c} FROM analytics.objects o WHERE o.{c} > facet.value{shown}"
        " ORDER BY o.{c} LIMIT 1)"
        " FROM facet WHERE facet.value IS NOT NULL)"
        " SELECT value FROM facet WHERE value IS NOT NULL"
    ).format(c=name, shown=shown)
    return text, ()


def languages_query(include_unpublished: bool = False) -> Query:
    return (
        "SELECT DISTINCT unnest(o.languages) AS value FROM analytics.objects o"
        + _shown(include_unpublished, " WHERE ")
        + " ORDER BY 1",
        (),
    )


def date_bounds_query(include_unpublished: bool = False) -> Query:
    return (
        "SELECT min(o.date_start) AS earliest, max(o.date_start) AS latest "
        "FROM analytics.objects o" + _shown(include_unpublished, " WHERE "),
        (),
    )


def total_query(include_unpublished: bool = False) -> Query:
    """How many objects the explorer shows at all (published ones, unless asked otherwise)."""
    return (
        "SELECT count(*) AS total FROM analytics.objects o"
        + _shown(include_unpublished, " WHERE "),
        (),
    )


def object_query(record_id: str) -> Query:
    return (
        "SELECT o.record_id, o.source, o.title, o.titles, o.creators, o.description, "
        "o.date_original, o.date_start, o.date_end, o.object_type, o.rights_uri, o.image_url, "
        "o.data_provider, o.provider, o.country, o.languages, o.source_updated_at, "
        "o.ingested_at, o.canonical_id, o.tags, o.comment_count, o.annotation_count, "
        "i.status AS image_status, i.thumbnail_key, i.failure_reason, i.width, i.height "
        "FROM analytics.objects o "
        "LEFT JOIN analytics.object_images i ON i.record_id = o.record_id "
        "WHERE o.record_id = %s",
        (record_id,),
    )


def annotations_query(record_id: str) -> Query:
    return (
        "SELECT kind, body, user_name, created_at, target_record_id "
        "FROM analytics.annotations WHERE target_record_id = %s OR attached_to = %s "
        "ORDER BY created_at NULLS LAST, annotation_id",
        (record_id, record_id),
    )


def group_members_query(canonical_id: str) -> Query:
    """The records of one duplicate group, with their thumbnails, canonical first."""
    return (
        "SELECT o.record_id, o.title, o.data_provider, o.canonical_id, i.thumbnail_key "
        "FROM analytics.objects o "
        "LEFT JOIN analytics.object_images i ON i.record_id = o.record_id AND i.status = 'stored' "
        "WHERE o.canonical_id = %s ORDER BY o.record_id <> o.canonical_id, o.record_id",
        (canonical_id,),
    )


def similar_objects_query(record_id: str) -> Query:
    return (
        "SELECT s.rank, s.similar_record_id AS record_id, s.score, o.title, i.thumbnail_key "
        "FROM analytics.similar_objects s "
        "LEFT JOIN analytics.objects o ON o.record_id = s.similar_record_id "
        "LEFT JOIN analytics.object_images i "
        "  ON i.record_id = s.similar_record_id AND i.status = 'stored' "
        "WHERE s.record_id = %s ORDER BY s.rank",
        (record_id,),
    )


def duplicate_groups_query(
    limit: int, unreviewed_only: bool, least_certain_first: bool = True
) -> Query:
    """Groups with their confidence: the lowest probability among the pairs that joined
    them (a group is as doubtful as its weakest link). Least certain first by default, so
    the groups most likely to be wrong are the first a curator sees."""
    review_filter = (
        " WHERE NOT EXISTS (SELECT 1 FROM analytics.duplicate_decisions dd "
        "JOIN analytics.objects m ON m.record_id IN (dd.record_id, dd.other_record_id) "
        "WHERE m.canonical_id = g.canonical_id)"
        if unreviewed_only
        else ""
    )
    order = "ASC NULLS LAST" if least_certain_first else "DESC NULLS LAST"
    return (
        "SELECT g.canonical_id, g.members, g.record_ids, g.providers, "
        "(SELECT min(p.score) FROM analytics.duplicate_pairs p "
        " JOIN analytics.objects m ON m.record_id = p.record_id "
        " JOIN analytics.objects o ON o.record_id = p.other_record_id "
        " WHERE m.canonical_id = g.canonical_id AND o.canonical_id = g.canonical_id) "
        "AS confidence, "
        "(SELECT count(*) FROM analytics.duplicate_decisions dd "
        " JOIN analytics.objects m ON m.record_id = dd.record_id "
        " WHERE m.canonical_id = g.canonical_id) AS decisions "
        "FROM analytics.duplicate_groups g"
        + review_filter
        + f" ORDER BY confidence {order}, g.canonical_id LIMIT %s",
        (limit,),
    )


def pair_scores_query(canonical_id: str) -> Query:
    return (
        "SELECT p.record_id, p.other_record_id, p.hash_distance, p.cosine, p.score, p.method "
        "FROM analytics.duplicate_pairs p JOIN analytics.objects m ON m.record_id = p.record_id "
        "WHERE m.canonical_id = %s ORDER BY p.score DESC",
        (canonical_id,),
    )


def decisions_query(limit: int) -> Query:
    return (
        "SELECT record_id, other_record_id, decision, decided_by, note, decided_at "
        "FROM analytics.duplicate_decisions ORDER BY decision_id DESC LIMIT %s",
        (limit,),
    )


STAGE_COUNTS_QUERY: Query = (
    "SELECT 'objects' AS table_name, count(*) AS rows FROM analytics.objects "
    "UNION ALL SELECT 'annotations', count(*) FROM analytics.annotations "
    "UNION ALL SELECT 'rejections', count(*) FROM analytics.rejections "
    "UNION ALL SELECT 'images stored', count(*) FROM analytics.object_images "
    "  WHERE status = 'stored' "
    "UNION ALL SELECT 'images failed', count(*) FROM analytics.object_images "
    "  WHERE status = 'failed' "
    "UNION ALL SELECT 'duplicate pairs', count(*) FROM analytics.duplicate_pairs "
    "UNION ALL SELECT 'curator decisions', count(*) FROM analytics.duplicate_decisions",
    (),
)
LAST_RUNS_QUERY: Query = (
    "SELECT DISTINCT ON (stage) stage, rows, seconds, finished_at "
    "FROM analytics.pipeline_runs ORDER BY stage, finished_at DESC",
    (),
)
LATEST_RAW_OFFSETS_QUERY: Query = (
    "SELECT kafka_offsets, finished_at FROM analytics.pipeline_runs "
    "WHERE stage = 'raw' AND kafka_offsets IS NOT NULL ORDER BY finished_at DESC LIMIT 1",
    (),
)


def throughput_query(limit: int) -> Query:
    return (
        "SELECT finished_at, stage, rows, seconds, "
        "CASE WHEN seconds > 0 THEN rows / seconds END AS rows_per_second "
        "FROM analytics.pipeline_runs ORDER BY finished_at DESC LIMIT %s",
        (limit,),
    )


REJECTION_REASONS_QUERY: Query = (
    "SELECT stage, reason, count(*) AS rejections "
    "FROM analytics.rejections, unnest(reasons) AS reason "
    "GROUP BY stage, reason ORDER BY count(*) DESC, stage, reason",
    (),
)


def rejections_query(stage: str, reason: str, limit: int) -> Query:
    return (
        "SELECT dead_letter_id, record_id, reasons, kafka_topic, kafka_partition, "
        "kafka_offset, kafka_timestamp, payload "
        "FROM analytics.rejections WHERE stage = %s AND %s = ANY(reasons) "
        "ORDER BY kafka_timestamp DESC NULLS LAST, dead_letter_id LIMIT %s",
        (stage, reason, limit),
    )


VIEWS_QUERY: Query = (
    "SELECT c.relname AS view_name, obj_description(c.oid, 'pg_class') AS description, "
    "pg_get_viewdef(c.oid, true) AS definition "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'analytics' AND c.relkind IN ('v', 'm') ORDER BY c.relname",
    (),
)
