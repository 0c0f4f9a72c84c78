"""How many records match, in words: exact up to COUNT_CAP (10,000), "about N" above it.

How the page counts (:func:`explore_results`), cheapest first:

1. ``EXPLAIN`` (reads nothing) gives the planner's estimate P of the matches.
2. When P > COUNT_CAP / 2, the matches are counted in a uniform random sample of the
   records (``hashtext(record_id) & 1023 < b``, an indexed expression, b chosen from P so
   that about SAMPLE_TARGET matches fall in it) and scaled up: N = k x 1024 / b. When N is
   above 1.5 x COUNT_CAP, that is the answer ("about N").
3. Otherwise the matches are counted exactly, stopping at COUNT_CAP + 1, in the same scan as
   the facet counts and the page (exact_results_query): at most COUNT_CAP, the count and
   the facet counts are exact; above, the sample (taken now if step 2 did not run) gives
   "about N" and the page is read on its own, as for step 2.

So a count of 10,000 or fewer is shown exactly unless the sample over-counts it by half
(N > 15,000): at least 3.9 standard errors even when the planner over-estimated tenfold
(k ~ 60), a chance below 1 in 10,000; about 7 standard errors in the usual case.

The estimate's bound, as the page's help says: k matches in the sample are binomial, so
the relative standard error of N is about 1 / sqrt(k): 4% for the ~600 matches a sample
aims at, 10% at k = 100 (a sample of 1024 buckets is the whole table: exact). N is also
clamped to what is known: more than COUNT_CAP matched (when the capped count ran) and no
more than the records shown. A facet value's "≈ n" is scaled from its own k_v matches in the
sample the same way, with error about 1 / sqrt(k_v): values with few sampled matches are
rough (a value absent from the sample shows 0 though it may have a few hundred records).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from heritage.dashboard.explorer_queries import (
    COUNT_CAP,
    SAMPLE_BUCKETS,
    ExploreFilters,
    Query,
    estimate_query,
    exact_results_query,
    explore_query,
    ranks_by_relevance,
    sample_counts_query,
    sorted_matches_query,
)

SAMPLE_TARGET = 600
# The planner's estimate above which the sample runs first, and the sample's estimate above
# which the exact count is skipped (module docstring).
SAMPLE_ABOVE = COUNT_CAP // 2
COUNT_ABOVE = COUNT_CAP * 3 // 2
ESTIMATE_HELP = (
    f"Counted exactly up to {COUNT_CAP:,} matches. Above that, “about N” is scaled up "
    "out of a uniform random sample of the records (about 600 matches): its standard error "
    "is about 1/√(matches in the sample), 4% typically, and it is never below "
    f"{COUNT_CAP + 1:,} when that many were counted. Facet counts marked ≈ are scaled up "
    "out of the same sample: rough for values with few records."
)
RunQuery = Callable[[Query], Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class MatchCounts:
    """The count and the facet counts of one search (exact, or from a sample)."""

    counted: int  # matches counted: at most cap + 1, or in the sample
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> count
    # Records per sampled record: 1 for a count over every record (exact up to the cap).
    scale: float = 1.0

    @property
    def exact(self) -> bool:
        return self.scale == 1.0 and self.counted <= COUNT_CAP


def match_counts(rows: Sequence[Mapping[str, Any]], scale: float = 1.0) -> MatchCounts:
    """Rows (facet, value, matches) of facet_counts_query and its kin as counts; the row of
    facet '' carries the number of matches, one of facet 'page' the page (not counted)."""
    counted = 0
    facets: dict[str, dict[str, int]] = {}
    for row in rows:
        if row["facet"] == "":
            counted = int(row["matches"])
        elif row["value"] is not None and row["facet"] != "page":
            facets.setdefault(row["facet"], {})[row["value"]] = int(row["matches"])
    return MatchCounts(counted, facets, scale)


def planner_rows(explain_rows: Sequence[Mapping[str, Any]]) -> int:
    """The top plan node's row estimate from ``EXPLAIN (FORMAT JSON)``'s one row."""
    plan = next(iter(explain_rows[0].values()))
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def sample_buckets(planner_estimate: int) -> int:
    """How many of the SAMPLE_BUCKETS buckets to sample so that about SAMPLE_TARGET matches
    fall in the sample, given the planner's estimate of all matches."""
    wanted = math.ceil(SAMPLE_TARGET * SAMPLE_BUCKETS / max(planner_estimate, 1))
    return min(max(wanted, 1), SAMPLE_BUCKETS)


def estimated_matches(sampled: MatchCounts, total: int | None, capped: bool) -> int:
    """The sample's count scaled up, clamped to what is known: more than COUNT_CAP when the
    capped count reached it, and no more than the ``total`` records shown."""
    estimate = round(sampled.counted * sampled.scale)
    if capped:
        estimate = max(estimate, COUNT_CAP + 1)
    return min(estimate, total) if total is not None else estimate


def _sample(run: RunQuery, filters: ExploreFilters, planned: int) -> MatchCounts:
    buckets = sample_buckets(planned)
    return match_counts(run(sample_counts_query(filters, buckets)), SAMPLE_BUCKETS / buckets)


# With more than COUNT_CAP matches, a page in an index's order is looked for among the first
# records of the order only: WALK_FACTOR x (offset + page size + 1) of them, at least (at
# least 1% of 1,000,000 records match, so a quarter of that walk finds the page when the
# matches are spread over the order), or as many as the matches (a walk reads a record about
# as fast as gathering reads a match). When the matches sit later in the order, every match
# is gathered and sorted instead: at most about twice the cheaper of the two.
WALK_FACTOR = 400


def _many_matches_page(
    run: RunQuery, filters: ExploreFilters, sort: str, offset: int, page_size: int, matches: int
) -> list[dict[str, Any]]:
    """The page when more than COUNT_CAP match (about ``matches``): relevance ranks the
    first matches found; an index's order is walked, a bounded length, and when that did
    not find the whole page, the matches are gathered and sorted."""
    if ranks_by_relevance(filters, sort):
        listed = run(explore_query(filters, None, page_size, sort=sort, offset=offset))
        return [dict(row) for row in listed]
    wanted = page_size + 1
    walk = max(WALK_FACTOR * (offset + wanted), matches)
    listed = run(explore_query(filters, None, page_size, sort=sort, offset=offset, walk_limit=walk))
    if len(listed) < wanted:
        listed = run(sorted_matches_query(filters, sort, offset, page_size))
    return [dict(row) for row in listed]


@dataclass(frozen=True)
class Results:
    """What one explore page view shows: counts, the estimate (None when exact), the page."""

    counts: MatchCounts
    estimate: int | None
    rows: list[dict[str, Any]]  # the page, one row more when more follow


def page_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The page that exact_results_query returns as JSON in its row of facet 'page'."""
    for row in rows:
        if row["facet"] == "page":
            return list(json.loads(row["page"] or "[]"))
    return []


def explore_results(
    run: RunQuery, filters: ExploreFilters, sort: str, page: int, page_size: int, total: int | None
) -> Results:
    """The counts and the page the explore page shows (module docstring for the order of
    the steps). ``run`` runs one query and returns its rows as dicts."""
    offset = (page - 1) * page_size
    planned = planner_rows(run(estimate_query(filters)))
    sampled: MatchCounts | None = None
    if planned > SAMPLE_ABOVE:
        sampled = _sample(run, filters, planned)
        if sampled.scale == 1.0 or sampled.counted * sampled.scale > COUNT_ABOVE:
            estimate = estimated_matches(sampled, total, False)
            listed = _many_matches_page(run, filters, sort, offset, page_size, estimate)
            return Results(sampled, estimate, listed)
    exact_rows = run(exact_results_query(filters, sort, offset, page_size))
    counted = match_counts(exact_rows)
    if counted.exact:
        return Results(counted, None, page_rows(exact_rows))
    sampled = sampled or _sample(run, filters, max(planned, COUNT_CAP + 1))
    estimate = estimated_matches(sampled, total, True)
    listed = _many_matches_page(run, filters, sort, offset, page_size, estimate)
    return Results(sampled, estimate, listed)


def rounded(value: float, digits: int = 2) -> int:
    """``value`` to ``digits`` significant digits: 86,412 -> 86,000."""
    if value <= 0:
        return 0
    scale = 10 ** max(math.floor(math.log10(value)) - digits + 1, 0)
    return int(round(value / scale) * scale)


def matches_wording(counts: MatchCounts, estimate: int | None) -> str:
    """'1,234' when counted exactly; 'about 86,000' from the estimate above the cap."""
    if counts.exact or estimate is None:
        return f"{counts.counted:,}"
    shown = rounded(estimate)
    return f"about {shown:,}" if shown > COUNT_CAP else f"more than {COUNT_CAP:,}"


def facet_count_wording(count: int, counts: MatchCounts) -> str:
    """A facet value's count: exact, or '≈ N' scaled up from the sample."""
    if counts.scale == 1.0:
        return f"{count:,}"
    return f"≈ {rounded(count * counts.scale):,}"
