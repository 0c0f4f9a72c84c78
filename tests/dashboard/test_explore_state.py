"""The explore page's pure parts, no services: the view as URL query parameters, the count
and estimate wording, the sort and count queries' shapes, rights badges and the export's
spreadsheet escaping."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import parse_qs

import pytest

from heritage.dashboard.explore_counts import (
    MatchCounts,
    Results,
    estimated_matches,
    explore_results,
    facet_count_wording,
    match_counts,
    matches_wording,
    page_rows,
    planner_rows,
    rounded,
    sample_buckets,
    surely_above_cap,
)
from heritage.dashboard.explore_state import (
    BACK_PARAM,
    DEFAULT_SORT,
    SORT_LABELS,
    ExploreView,
    back_params,
    explore_url,
    object_params,
    query_string,
    view_from_params,
    view_from_query_string,
    view_to_params,
)
from heritage.dashboard.explorer_queries import (
    COUNT_CAP,
    RANK_CANDIDATES,
    SORT_ORDERS,
    ExploreFilters,
    Query,
    exact_results_query,
    explore_query,
    sample_counts_query,
)
from heritage.dashboard.rights_badges import ASSETS, badge_name, badge_svg
from heritage.spreadsheet_cells import spreadsheet_csv

FULL_VIEW = ExploreView(
    search='portrait "still life"',
    providers=("Rijksmuseum", "Musée des Arts Décoratifs & Co"),
    object_types=("IMAGE",),
    rights=("http://rightsstatements.org/vocab/InC/1.0/",),
    languages=("nl", "fr"),
    year_from=1600,
    year_to=1700,
    has_duplicates=True,
    has_annotations=True,
    include_unpublished=True,
    sort="date_desc",
    view="grid",
    page=3,
)


def test_a_view_survives_the_round_trip_through_the_url() -> None:
    assert view_from_query_string(query_string(FULL_VIEW)) == FULL_VIEW
    assert view_from_params(view_to_params(FULL_VIEW)) == FULL_VIEW
    assert view_from_query_string(query_string(ExploreView())) == ExploreView()


def test_only_what_differs_from_the_default_is_in_the_url() -> None:
    assert view_to_params(ExploreView()) == {}
    assert explore_url(ExploreView()) == "/"
    url = explore_url(ExploreView(search="portrait", providers=("A", "B"), page=2))
    assert url == "/?q=portrait&provider=A&provider=B&page=2"
    assert parse_qs(query_string(FULL_VIEW))["provider"] == list(FULL_VIEW.providers)


def test_a_hand_edited_url_falls_back_to_defaults() -> None:
    view = view_from_params(
        {"q": "  two   words ", "sort": "nonsense", "view": "table", "page": "x", "from": "16th"}
    )
    assert view == ExploreView(search="two words")
    assert view_from_params({"page": "-4", "dup": "yes", "provider": ["A", "", "A"]}) == (
        ExploreView(providers=("A",))
    )
    assert view_from_params({"from": "-500", "to": "1700"}).year_from == -500
    assert DEFAULT_SORT in SORT_LABELS and set(SORT_ORDERS) | {"relevance"} == set(SORT_LABELS)


def test_the_object_page_links_back_to_the_same_results() -> None:
    params = object_params("europeana:/1/x", FULL_VIEW)
    assert params["record_id"] == "europeana:/1/x"
    back = back_params(params)
    assert back is not None and view_from_params(back) == FULL_VIEW
    assert explore_url(params[BACK_PARAM]) == explore_url(FULL_VIEW)
    # Opened from the plain page: back to the plain page; opened elsewhere: no link.
    assert back_params(object_params("e:/1", ExploreView())) == {}
    assert back_params({"record_id": "e:/1"}) is None


def test_counts_read_from_the_count_rows() -> None:
    rows = [
        {"facet": "", "value": None, "matches": 3, "page": None},
        {"facet": "data_provider", "value": "A", "matches": 2, "page": None},
        {"facet": "data_provider", "value": None, "matches": 1, "page": None},
        {"facet": "languages", "value": "nl", "matches": 3, "page": None},
        {"facet": "page", "value": None, "matches": 1, "page": '[{"record_id": "e:/1"}]'},
    ]
    counts = match_counts(rows)
    assert counts == MatchCounts(3, {"data_provider": {"A": 2}, "languages": {"nl": 3}})
    assert counts.exact and page_rows(rows) == [{"record_id": "e:/1"}]
    assert not match_counts([{"facet": "", "value": None, "matches": COUNT_CAP + 1}]).exact


def test_estimate_wording() -> None:
    exact = MatchCounts(1234)
    assert matches_wording(exact, None) == "1,234"
    assert facet_count_wording(17, exact) == "17"
    sampled = MatchCounts(600, {}, scale=128.0)
    assert matches_wording(sampled, estimated_matches(sampled, 1_000_000, False)) == (
        "about 77,000"
    )
    assert facet_count_wording(7, sampled) == "≈ 900"
    # Clamped to what is known: more than the cap was counted; not above the collection.
    assert estimated_matches(MatchCounts(50, {}, scale=128.0), None, capped=True) == 10_001
    assert estimated_matches(MatchCounts(600, {}, scale=1024.0), 400_000, False) == 400_000
    assert matches_wording(MatchCounts(80, {}, 128.0), 10_001) == "more than 10,000"
    assert [rounded(v) for v in (0, 7, 86_412, 10_001, 149_999)] == [0, 7, 86_000, 10_000, 150_000]


def test_sample_size_follows_the_planner() -> None:
    assert sample_buckets(100_000) == 7  # about 600 matches in 7/1024 of the records
    assert sample_buckets(1) == 1024 and sample_buckets(10**9) == 1
    assert planner_rows([{"QUERY PLAN": [{"Plan": {"Plan Rows": 4321}}]}]) == 4321
    assert planner_rows([{"QUERY PLAN": '[{"Plan": {"Plan Rows": 12}}]'}]) == 12


class ScriptedDatabase:
    """Answers the explore queries by their shape, and records which ran."""

    def __init__(self, planned: int, sampled: int, counted: int) -> None:
        self.planned, self.sampled, self.counted = planned, sampled, counted
        self.ran: list[str] = []

    def __call__(self, query: Query) -> list[dict[str, object]]:
        text = str(query[0])
        if text.startswith("EXPLAIN"):
            self.ran.append("estimate")
            return [{"QUERY PLAN": [{"Plan": {"Plan Rows": self.planned}}]}]
        if "hashtext" in text and text.startswith("WITH matches"):
            self.ran.append("sample")
            counted = {"facet": "", "value": None, "matches": self.sampled, "page": None}
            if "listed" not in text:
                return [counted]
            page = json.dumps([{"record_id": "e:/3"}])  # the sample's matches ranked
            return [counted, {"facet": "page", "value": None, "matches": 1, "page": page}]
        if text.startswith("WITH matches"):
            self.ran.append("exact")
            page = json.dumps([{"record_id": "e:/1"}])
            return [
                {"facet": "", "value": None, "matches": self.counted, "page": None},
                {"facet": "page", "value": None, "matches": 1, "page": page},
            ]
        self.ran.append("page")
        return [{"record_id": "e:/2"}] * 21  # a whole page found by walking the order's index


@pytest.mark.parametrize(
    ("sort", "planned", "sampled", "counted", "steps", "shown"),
    [
        ("relevance", 300, 0, 300, ["estimate", "exact"], "e:/1"),
        ("title", 300, 40, COUNT_CAP + 1, ["estimate", "exact", "sample", "page"], "e:/2"),
        ("title", 900_000, 600, 0, ["estimate", "sample", "page"], "e:/2"),
        # Relevance over many matches: the sample's matches ranked are the page.
        # (40 matches in the sample is too few to rank: it is taken again, larger.)
        ("relevance", 300, 40, COUNT_CAP + 1, ["estimate", "exact", "sample", "sample"], "e:/3"),
        ("relevance", 900_000, 600, 0, ["estimate", "sample"], "e:/3"),
        # The sample says few after all: counted exactly, never shown as an estimate.
        ("relevance", 900_000, 3, 8_000, ["estimate", "sample", "sample", "exact"], "e:/1"),
        ("title", 900_000, 3, 8_000, ["estimate", "sample", "exact"], "e:/1"),
    ],
)
def test_the_page_counts_exactly_unless_a_sample_shows_many(
    sort: str, planned: int, sampled: int, counted: int, steps: list[str], shown: str
) -> None:
    database = ScriptedDatabase(planned, sampled, counted)
    results = explore_results(database, ExploreFilters(search="x"), sort, 1, 20, None)
    assert database.ran == steps
    exact = shown == "e:/1"
    assert isinstance(results, Results) and (results.estimate is None) is exact
    assert {row["record_id"] for row in results.rows} == {shown}
    assert (results.rank_buckets is not None) is (shown == "e:/3")
    if not exact:
        assert results.estimate is not None and results.estimate > COUNT_CAP


@pytest.mark.parametrize(
    ("planned", "first", "again"),
    [
        (1_000_000, 23, True),  # over-estimated: 23 matches in two buckets
        (12_000, 50_000, True),  # under-estimated: 50,000 matches to rank
        (60_000, 900, False),  # about right: ranked as it is
    ],
)
def test_a_relevance_sample_far_from_its_size_is_taken_again_at_the_right_size(
    planned: int, first: int, again: bool
) -> None:
    taken: list[int] = []

    def database(query: Query) -> list[dict[str, object]]:
        text, params = query
        if str(text).startswith("EXPLAIN"):
            return [{"QUERY PLAN": [{"Plan": {"Plan Rows": planned}}]}]
        taken.append(int(params[params.index(None) - 1]))  # the buckets, before the NULL limit
        found = first if len(taken) == 1 else RANK_CANDIDATES
        page = json.dumps([{"record_id": "e:/3"}])
        return [
            {"facet": "", "value": None, "matches": found, "page": None},
            {"facet": "page", "value": None, "matches": 1, "page": page},
        ]

    results = explore_results(database, ExploreFilters(search="x"), "relevance", 1, 20, None)
    assert len(taken) == (2 if again else 1) and results.rank_buckets == taken[-1]


@pytest.mark.parametrize(
    ("in_sample", "scale", "sure"),
    [
        (600, 11_000 / 600, False),  # 10% above the cap: 2.4 standard errors, counted
        (600, 11_600 / 600, True),  # 16%: 3.9 standard errors
        (60, 12_000 / 60, False),  # a small sample: 20% is 1.5 standard errors
        (60, 15_000 / 60, True),
        (0, 1_000.0, False),
    ],
)
def test_a_sample_skips_the_exact_count_only_when_sure_of_more_than_the_cap(
    in_sample: int, scale: float, sure: bool
) -> None:
    assert surely_above_cap(MatchCounts(in_sample, {}, scale)) is sure


@pytest.mark.parametrize("sort", list(SORT_LABELS))
def test_every_sort_is_one_query_with_a_placeholder_per_parameter(sort: str) -> None:
    filters = ExploreFilters(search="portrait", providers=("A",), languages=("nl",))
    for text, params in (
        explore_query(filters, None, 20, sort=sort, offset=40),
        explore_query(filters, None, 20, True, sort=sort),
        exact_results_query(filters, sort, 40, 20),
        sample_counts_query(filters, 7),
        sample_counts_query(filters, 7, (sort, 40, 20)),
    ):
        assert text.count("%s") == len(params)
        assert "portrait" not in text  # user text only ever travels as a parameter
    text, params = explore_query(filters, None, 20, sort=sort, offset=40)
    assert text.endswith("LIMIT %s OFFSET %s") and params[-2:] == (21, 40)
    if sort == "relevance":  # many matches: those of the sample ranked
        assert "ts_rank(o.search_document" in text and "hashtext(o.record_id)" in text
    else:
        assert SORT_ORDERS[sort] in text


def test_relevance_without_search_words_is_record_order() -> None:
    text, _ = explore_query(ExploreFilters(), None, 20, sort="relevance")
    assert "ts_rank" not in text and "ORDER BY o.record_id LIMIT" in text
    with pytest.raises(ValueError, match="not one of"):
        explore_query(ExploreFilters(), None, 20, sort="random()")


def test_rights_badges_are_local_svgs_for_known_statements() -> None:
    assert badge_name("http://rightsstatements.org/vocab/InC-EDU/1.0/") == "rs-InC-EDU"
    assert badge_name("https://rightsstatements.org/page/NoC-NC/1.0/?lang=en") == "rs-NoC-NC"
    assert badge_name("https://creativecommons.org/licenses/by-sa/4.0/deed.de") == "cc-by-sa"
    assert badge_name("http://creativecommons.org/publicdomain/zero/1.0/") == "cc-zero"
    assert badge_name("http://creativecommons.org/publicdomain/mark/1.0/") == "cc-pdm"
    assert badge_name("http://www.europeana.eu/rights/rr-f/") == "rs-InC"
    assert badge_name("http://example.org/own-licence") is None and badge_name(None) is None
    for svg in ASSETS.glob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        assert text.startswith("<svg") and "href" not in text, svg.name  # nothing fetched
    assert "InC-EDU" in (badge_svg("http://rightsstatements.org/vocab/InC-EDU/1.0/") or "")


def test_an_export_escapes_cells_a_spreadsheet_would_run() -> None:
    rows = [
        {"record_id": "e:/1", "title": '=HYPERLINK("http://x")', "creators": ["@me", "Ann"]},
        {"record_id": "e:/2", "title": "-5 degrees", "creators": []},
    ]
    text = spreadsheet_csv(rows).decode("utf-8-sig")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [row["title"] for row in parsed] == ['\'=HYPERLINK("http://x")', "'-5 degrees"]
    assert parsed[0]["creators"] == "'@me; Ann"
    assert not re.search(r"^[=+@-]", text, flags=re.MULTILINE)
