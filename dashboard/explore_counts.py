"""How many records match, in words: exact up to COUNT_CAP (10,000), "about N" above it.

How the page counts (:func:`explore_results`), cheapest first:

1. ``EXPLAIN`` (reads nothing) gives the planner's estimate P of the matches.
2. When P > COUNT_CAP, the matches are counted in a uniform random sample of the
   records (``hashtext(record_id) & 1023 < b``, an indexed expression, b chosen from P so
   that about SAMPLE_TARGET matches fall in it) and scaled up: N = k x 1024 / b. When N is
   above COUNT_CAP by more than 3.5 standard errors (COUNT_CAP x (1 + 3.5 / sqrt(k)): 14%
   above it for the ~600 matches a sample aims at), that is the answer ("about N").
3. Otherwise the matches are counted exactly, stopping at COUNT_CAP + 1, in the same scan as
   the facet counts and the page (exact_results_query): at most COUNT_CAP, the count and
   the facet counts are exact; above, the sample (taken now if step 2 did not run) gives
   "about N" and the page is read on its own, as for step 2.

So a count of 10,000 or fewer is shown exactly unless the sample over-counts it by 3.5
standard errors, whatever the sample's size: a chance of about 2 in 10,000. (The exact count
of a search that matches a few more than 10,000 reads 10,001 matches for nothing but to say
"more": the sample saves that whenever it is sure enough.)

Sorted by relevance, more than COUNT_CAP matches are not all ranked: the sample (aimed at
RANK_CANDIDATES matches rather than SAMPLE_TARGET, and taken again at that size when the
planner's estimate was so far off that it holds fewer than a tenth or more than ten times as
many) gives the counts and its own matches ranked, which are the pages shown (and exported):
the same on every visit, since the sample is a fixed set of records. Sorted by an index's
order, the page is found by walking that order (below).

The estimate's bound, as the page's help says: k matches in the sample are binomial, so
the relative standard error of N is about 1 / sqrt(k): 4% for the ~600 matches a sample
aims at (3% for relevance's ~1,000), 10% at k = 100 (a sample of 1024 buckets is the whole
table: exact). N is also clamped to what is known: more than COUNT_CAP matched (when the
capped count ran) and no more than the records shown. A facet value's "≈ n" is scaled from
its own k_v matches in the sample the same way, with error about 1 / sqrt(k_v): values with
few sampled matches are rough (a value absent from the sample shows 0 though it may have a
few hundred records).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from heritage.dashboard.explorer_queries import (
    COUNT_CAP,
    RANK_CANDIDATES,
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
# The planner's estimate above which the sample runs first (module docstring). Near the cap
# a sample costs about what the exact pass costs (both build the filters' bitmaps, and the
# sample's own is a tenth of the records), so below it the exact pass runs first and the
# sample only when the pass overflows.
SAMPLE_ABOVE = COUNT_CAP
# Standard errors by which a sample's estimate must exceed COUNT_CAP to be shown as it is.
SURE_ABOVE = 3.5
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


def sample_buckets(planner_estimate: int, target: int = SAMPLE_TARGET) -> int:
    """How many of the SAMPLE_BUCKETS buckets to sample so that about ``target`` matches
    fall in the sample, given the planner's estimate of all matches."""
    wanted = math.ceil(target * SAMPLE_BUCKETS / max(planner_estimate, 1))
    return min(max(wanted, 1), SAMPLE_BUCKETS)


def estimated_matches(sampled: MatchCounts, total: int | None, capped: bool) -> int:
    """The sample's count scaled up, clamped to what is known: more than COUNT_CAP when the
    capped count reached it, and no more than the ``total`` records shown."""
    estimate = round(sampled.counted * sampled.scale)
    if capped:
        estimate = max(estimate, COUNT_CAP + 1)
    return min(estimate, total) if total is not None else estimate


def surely_above_cap(sampled: MatchCounts) -> bool:
    """Whether the sample's estimate exceeds COUNT_CAP by SURE_ABOVE standard errors (its
    relative standard error is 1 / sqrt(k) for k matches in the sample)."""
    if sampled.counted == 0:
        return False
    bound = COUNT_CAP * (1 + SURE_ABOVE / math.sqrt(sampled.counted))
    return sampled.counted * sampled.scale > bound


@dataclass(frozen=True)
class Sampled:
    """A sample's counts, its buckets and, for relevance, its page: the sample's matches
    ranked (None for an index's order)."""

    counts: MatchCounts
    buckets: int
    ranked_page: list[dict[str, Any]] | None


def _sample(
    run: RunQuery, filters: ExploreFilters, planned: int, sort: str, offset: int, page_size: int
) -> Sampled:
    """The sample's counts; for relevance, a sample of about RANK_CANDIDATES matches that
    also gives the page: the most relevant of those matches."""
    if ranks_by_relevance(filters, sort):

        def ranked_sample(buckets: int) -> Sampled:
            rows = run(sample_counts_query(filters, buckets, (sort, offset, page_size)))
            counts = match_counts(rows, SAMPLE_BUCKETS / buckets)
            return Sampled(counts, buckets, page_rows(rows))

        sampled = ranked_sample(sample_buckets(planned, RANK_CANDIDATES))
        counts = sampled.counts
        # The planner's estimate was far off (an AND of correlated words, a rare facet): the
        # sample is sized again from its own count, so a page never ranks a handful of
        # matches, nor tens of thousands. (Off by a few times is common, and cheaper to rank
        # as it is than to sample again.)
        if not RANK_CANDIDATES // 10 <= counts.counted <= 10 * RANK_CANDIDATES:
            estimate = max(round(counts.counted * counts.scale), 1)
            resized = sample_buckets(estimate, RANK_CANDIDATES)
            if resized != sampled.buckets:
                sampled = ranked_sample(resized)
        return sampled
    buckets = sample_buckets(planned)
    rows = run(sample_counts_query(filters, buckets))
    return Sampled(match_counts(rows, SAMPLE_BUCKETS / buckets), buckets, None)


# With more than COUNT_CAP matches, a page in an index's order is looked for among the first
# records of the order only: WALK_FACTOR x (offset + page size + 1) of them (at least 1% of
# 1,000,000 records match, so a quarter of that walk finds the page when the matches are
# spread over the order), and no more than the matches (a walk reads a record about as fast
# as gathering reads a match). When the matches sit later in the order (the titles of one
# language start with the same few words), every match is gathered and sorted instead: the
# failed walk adds at most the gathering's own cost, and usually a small part of it.
WALK_FACTOR = 400


def _many_matches_page(
    run: RunQuery,
    filters: ExploreFilters,
    sort: str,
    offset: int,
    page_size: int,
    matches: int,
    sampled: Sampled,
) -> list[dict[str, Any]]:
    """The page when more than COUNT_CAP match (about ``matches``): relevance ranks the
    sample's matches (its page came with it); an index's order is walked, a bounded length,
    and when that did not find the whole page, the matches are gathered and sorted."""
    if sampled.ranked_page is not None:
        return sampled.ranked_page
    wanted = page_size + 1
    walk = min(WALK_FACTOR * (offset + wanted), matches)
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
    # Relevance over more than COUNT_CAP matches ranks those in a sample of this many
    # buckets (explorer_queries.SAMPLE_CONDITION); None when every match is ranked or sorted.
    rank_buckets: int | None = None


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
    sampled: Sampled | None = None
    if planned > SAMPLE_ABOVE:
        sampled = _sample(run, filters, planned, sort, offset, page_size)
        if sampled.counts.scale == 1.0 or surely_above_cap(sampled.counts):
            return _many_matches(run, filters, sort, offset, page_size, total, sampled, False)
    exact_rows = run(exact_results_query(filters, sort, offset, page_size))
    counted = match_counts(exact_rows)
    if counted.exact:
        return Results(counted, None, page_rows(exact_rows))
    if sampled is None:
        sampled = _sample(run, filters, max(planned, COUNT_CAP + 1), sort, offset, page_size)
    return _many_matches(run, filters, sort, offset, page_size, total, sampled, True)


def _many_matches(
    run: RunQuery,
    filters: ExploreFilters,
    sort: str,
    offset: int,
    page_size: int,
    total: int | None,
    sampled: Sampled,
    capped: bool,
) -> Results:
    estimate = estimated_matches(sampled.counts, total, capped)
    listed = _many_matches_page(run, filters, sort, offset, page_size, estimate, sampled)
    ranked = sampled.buckets if sampled.ranked_page is not None else None
    return Results(sampled.counts, estimate, listed, ranked)


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
