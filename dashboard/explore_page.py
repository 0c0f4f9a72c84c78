"""Explore: full-text search with facet counts, sort by relevance, date, title or provider, a
list or a grid, rights badges and exports of the results. The whole view lives in the URL
(see explore_state), so it survives the browser's Back button and can be shared as a link.
Only published objects are listed, counted and offered as facet values unless a curator
turns on "Show unpublished objects"."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import streamlit as st

from heritage.dashboard.connection_pool import Rows, current_address, run_query
from heritage.dashboard.explore_counts import (
    ESTIMATE_HELP,
    Results,
    explore_results,
    facet_count_wording,
    matches_wording,
)
from heritage.dashboard.explore_state import (
    SORT_LABELS,
    VIEWS,
    ExploreView,
    object_params,
    query_string,
    view_from_params,
    view_from_query_string,
    view_to_params,
)
from heritage.dashboard.explorer_queries import (
    COUNT_CAP,
    EXPORT_LIMIT,
    RANK_CANDIDATES,
    SAMPLE_BUCKETS,
    ExploreFilters,
    date_bounds_query,
    export_query,
    facet_values_query,
    languages_query,
    total_query,
)
from heritage.dashboard.page_support import (
    OBJECT_PAGE,
    escape_markdown,
    rows_or_stop,
    show_thumbnail,
)
from heritage.dashboard.rights_badges import badge_svg
from heritage.dashboard.rights_labels import rights_label
from heritage.spreadsheet_cells import spreadsheet_csv

PAGE_SIZE = 20
GRID_COLUMNS = 5
TOP_FACET_VALUES = 4
# Pages reach as far as the exact count does; a broader search is narrowed to go further.
LAST_PAGE = COUNT_CAP // PAGE_SIZE
EXPORT_COLUMNS = (
    "record_id", "title", "creators", "date_original", "object_type", "data_provider",
    "rights_uri", "languages", "annotation_count", "canonical_id",
)  # fmt: skip
# Session-state key of the query string the page last wrote to (or adopted from) the URL.
URL_SEEN = "explore_url"


def url_view() -> ExploreView:
    return view_from_params({name: st.query_params.get_all(name) for name in st.query_params})


def adopt_url(view: ExploreView) -> None:
    """The widgets take the URL's view when the URL changed outside the page (first load, the
    browser's Back button, a shared link) or the page is drawn again after another page (its
    widgets were forgotten then); otherwise the widgets lead and the URL follows. A bare URL
    after another page (the page menu) brings back the last view shown in this browser tab."""
    current = query_string(view)
    remembered = st.session_state.get(URL_SEEN)
    if not current and remembered and "search" not in st.session_state:
        view, current = view_from_query_string(remembered), remembered
    elif remembered == current and "search" in st.session_state:
        return
    st.session_state.update(
        search=view.search,
        providers=list(view.providers),
        types=list(view.object_types),
        rights=list(view.rights),
        languages=list(view.languages),
        has_duplicates=view.has_duplicates,
        has_annotations=view.has_annotations,
        show_unpublished=view.include_unpublished,
        sort=view.sort,
        layout=view.view,
        explore_page=view.page,
        url_years=(view.year_from, view.year_to),
    )
    st.session_state.pop("years", None)
    st.session_state[URL_SEEN] = current


def counted_options(
    label: str, options: list[str], key: str, counts: dict[str, int], wording: Callable[[int], str]
) -> list[str]:
    """A facet: every value, the ones among the current matches first, each with its count."""
    # A value the URL names but the facet does not offer (a typo, a provider gone) is dropped.
    st.session_state[key] = [value for value in st.session_state.get(key, []) if value in options]
    ordered = sorted(options, key=lambda value: (-counts.get(value, 0), value))
    label_of = rights_label if key == "rights" else str
    chosen = st.sidebar.multiselect(
        label,
        ordered,
        key=key,
        format_func=lambda value: f"{label_of(value)} ({wording(counts.get(value, 0))})",
    )
    # The leading values stay in sight, as a portal's facet list shows them.
    top = [value for value in ordered if counts.get(value, 0)][:TOP_FACET_VALUES]
    if top and not chosen:
        shown = (
            f"{escape_markdown(label_of(value))} **{wording(counts[value])}**" for value in top
        )
        st.sidebar.caption(" · ".join(shown))
    return chosen


def year_range(include_unpublished: bool) -> tuple[int | None, int | None]:
    bounds = rows_or_stop(*date_bounds_query(include_unpublished))[0]
    if bounds["earliest"] is None or bounds["latest"] is None:
        return None, None
    first, last = bounds["earliest"].year, bounds["latest"].year
    if first >= last:
        return None, None
    # The URL's years start the slider; once moved, the slider keeps its own value.
    wanted = st.session_state.get("url_years", (None, None))
    low = first if wanted[0] is None else min(max(wanted[0], first), last)
    high = last if wanted[1] is None else min(max(wanted[1], low), last)
    years = st.sidebar.slider("Date (year)", first, last, (low, high), key="years")
    return (
        years[0] if years[0] != first else None,
        years[1] if years[1] != last else None,
    )


def sidebar_view(search: str, include_unpublished: bool, counts: Callable[[str], dict[str, int]],
                 wording: Callable[[int], str]) -> ExploreView:  # fmt: skip
    sidebar = st.sidebar
    sidebar.header("Facets", help=ESTIMATE_HELP)

    def values(column: str) -> list[str]:
        text, params = facet_values_query(column, include_unpublished)
        return [row["value"] for row in rows_or_stop(text, params)]

    languages = [row["value"] for row in rows_or_stop(*languages_query(include_unpublished))]
    providers = counted_options(
        "Provider", values("data_provider"), "providers", counts("data_provider"), wording
    )
    types = counted_options("Type", values("object_type"), "types", counts("object_type"), wording)
    rights = counted_options(
        "Rights", values("rights_uri"), "rights", counts("rights_uri"), wording
    )
    chosen_languages = counted_options(
        "Language", languages, "languages", counts("languages"), wording
    )
    year_from, year_to = year_range(include_unpublished)
    return ExploreView(
        search=search,
        providers=tuple(providers),
        object_types=tuple(types),
        rights=tuple(rights),
        languages=tuple(chosen_languages),
        year_from=year_from,
        year_to=year_to,
        has_duplicates=sidebar.checkbox("Has duplicates", key="has_duplicates"),
        has_annotations=sidebar.checkbox("Has annotations", key="has_annotations"),
        include_unpublished=include_unpublished,
    )


def filters_of(view: ExploreView) -> ExploreFilters:
    return ExploreFilters(
        search=view.search,
        providers=view.providers,
        object_types=view.object_types,
        rights=view.rights,
        languages=view.languages,
        date_from=date(view.year_from, 1, 1) if view.year_from is not None else None,
        date_to=date(view.year_to, 12, 31) if view.year_to is not None else None,
        has_duplicates=view.has_duplicates,
        has_annotations=view.has_annotations,
        include_unpublished=view.include_unpublished,
    )


def write_url(view: ExploreView) -> None:
    """The URL follows the view (st.query_params), so Back and a shared link reopen it."""
    if query_string(url_view()) != query_string(view):
        st.query_params.from_dict(view_to_params(view))
    st.session_state[URL_SEEN] = query_string(view)


def results_for(view: ExploreView, total: int) -> Results:
    return explore_results(
        lambda query: rows_or_stop(*query), filters_of(view), view.sort, view.page, PAGE_SIZE, total
    )


def rights_badge(uri: str, width: int = 110) -> None:
    svg = badge_svg(uri)
    if svg is None:
        st.caption(rights_label(uri))
    else:
        st.image(svg, width=width, caption=None)


def open_button(record_id: str, view: ExploreView, key: str) -> None:
    if st.button("Open", key=key, help=f"Show {record_id}"):
        st.switch_page(OBJECT_PAGE, query_params=object_params(record_id, view))


def show_list(rows: Rows, view: ExploreView) -> None:
    for index, row in enumerate(rows):
        with st.container(border=True):
            image_col, text_col, badge_col, open_col = st.columns([1, 5, 1.4, 0.8])
            with image_col:
                show_thumbnail(row["thumbnail_key"], width=96)
            with text_col:
                st.markdown(f"**{escape_markdown(row['title'])}**")
                creators = ", ".join(row["creators"] or []) or "unknown creator"
                parts = (creators, row["date_original"] or "", row["object_type"],
                         row["data_provider"], rights_label(row["rights_uri"]))  # fmt: skip
                st.caption(" · ".join(part for part in parts if part))
                st.caption(row["record_id"])
            with badge_col:
                rights_badge(row["rights_uri"])
            with open_col:
                open_button(row["record_id"], view, key=f"open-{index}")


def show_grid(rows: Rows, view: ExploreView) -> None:
    for start in range(0, len(rows), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for offset, row in enumerate(rows[start : start + GRID_COLUMNS]):
            with columns[offset], st.container(border=True):
                show_thumbnail(row["thumbnail_key"], width=180)
                title = row["title"] if len(row["title"]) <= 60 else row["title"][:59] + "…"
                st.markdown(f"**{escape_markdown(title)}**")
                st.caption(f"{row['data_provider']} · {row['date_original'] or 'undated'}")
                rights_badge(row["rights_uri"], width=96)
                open_button(row["record_id"], view, key=f"open-{start + offset}")


def export_rows(
    filters: ExploreFilters, sort: str, few_matches: bool, rank_buckets: int | None
) -> list[dict[str, Any]]:
    """The current results (at most EXPORT_LIMIT) with their rights labels, for a download."""
    query = export_query(filters, sort, few_matches, rank_buckets or SAMPLE_BUCKETS)
    rows = run_query(current_address(), *query)
    return [
        {**{name: row[name] for name in EXPORT_COLUMNS}, "rights": rights_label(row["rights_uri"])}
        for row in rows[:EXPORT_LIMIT]
    ]


def export_buttons(filters: ExploreFilters, sort: str, results: Results) -> None:
    """CSV (formula-like cells escaped) and JSON of the current results, built on click."""
    few, ranked = results.estimate is None, results.rank_buckets
    shown = min(results.counts.counted, EXPORT_LIMIT) if few or ranked else EXPORT_LIMIT
    csv_col, json_col = st.columns(2)
    csv_col.download_button(
        f"CSV ({shown:,} rows)",
        lambda: spreadsheet_csv(export_rows(filters, sort, few, ranked)),
        file_name="heritage-results.csv",
        mime="text/csv",
        key="export-csv",
        on_click="ignore",
        icon=":material/download:",
        help=f"The current results in the current order, at most {EXPORT_LIMIT:,} rows.",
    )
    json_col.download_button(
        "JSON",
        lambda: json.dumps(
            export_rows(filters, sort, few, ranked), ensure_ascii=False, default=str
        ),
        file_name="heritage-results.json",
        mime="application/json",
        key="export-json",
        on_click="ignore",
        icon=":material/download:",
    )


def empty_collection(include_unpublished: bool) -> None:
    if include_unpublished or rows_or_stop(*total_query(True))[0]["total"] == 0:
        st.info(
            "No records yet. Run `make demo` (or `heritage demo`) to load the sample collection."
        )
    else:
        st.info(
            "No published records yet: every record is under embargo or waiting for review "
            "(see the Publication page). Turn on “Show unpublished objects” to list them."
        )


def turn_page(step: int) -> None:
    st.session_state["explore_page"] = max(1, st.session_state.get("explore_page", 1) + step)


def pager(page: int, last_page: int | None, more: bool) -> None:
    previous_col, where_col, next_col = st.columns([1, 2, 1])
    previous_col.button(
        "◀ Previous", disabled=page == 1, key="previous", on_click=turn_page, args=(-1,)
    )
    where_col.caption(f"page {page:,}" + (f" of {last_page:,}" if last_page else ""))
    next_col.button(
        "Next ▶",
        disabled=not more or (last_page is not None and page >= last_page),
        key="next",
        on_click=turn_page,
        args=(1,),
    )


def page_to_show(wanted: ExploreView) -> int:
    """The page asked for, or the first when the search, a facet or the sort changed."""
    previous = view_from_query_string(st.session_state.get(URL_SEEN, ""))
    if replace(previous, page=1, view="list") != replace(wanted, page=1, view="list"):
        return 1
    return max(1, int(st.session_state.get("explore_page", 1)))


def main() -> None:
    st.title("Explore the collection")
    adopt_url(url_view())
    include_unpublished = st.sidebar.toggle(
        "Show unpublished objects",
        key="show_unpublished",
        help="Also list objects under embargo or waiting for review (curators only).",
    )
    total = rows_or_stop(*total_query(include_unpublished))[0]["total"]
    if total == 0:
        empty_collection(include_unpublished)
        return
    search_col, sort_col, layout_col = st.columns([6, 2, 1.4])
    search = search_col.text_input(
        "Search titles, descriptions and creators",
        key="search",
        placeholder='e.g. portrait "still life" -winter',
    )
    sort = sort_col.selectbox(
        "Sort by", list(SORT_LABELS), key="sort", format_func=SORT_LABELS.__getitem__
    )
    layout = layout_col.segmented_control("View", VIEWS, key="layout", format_func=str.title)
    # The facet counts come with the results, which need the facets the sidebar draws: the
    # widgets' values are read from the session first, then the sidebar drawn with counts.
    wanted = replace(
        sidebar_filters_from_session(search, include_unpublished), sort=sort, view=layout or "list"
    )
    view = replace(wanted, page=page_to_show(wanted))
    results = results_for(view, total)
    counts = results.counts
    drawn = sidebar_view(
        search,
        include_unpublished,
        lambda facet: counts.facets.get(facet, {}),
        lambda count: facet_count_wording(count, counts),
    )
    if filters_of(drawn) != filters_of(view):  # a URL value the facet does not offer
        view = replace(drawn, sort=view.sort, view=view.view, page=1)
        results = results_for(view, total)
    last_page = max(1, math.ceil(results.counts.counted / PAGE_SIZE))
    # Relevance over many matches pages through the ranked sample only.
    if results.estimate is not None and results.rank_buckets is None:
        last_page = LAST_PAGE
    if view.page > last_page:
        view = replace(view, page=last_page)
        results = results_for(view, total)
    st.session_state["explore_page"] = view.page
    write_url(view)
    show_results(view, results, total, last_page)


def sidebar_filters_from_session(search: str, include_unpublished: bool) -> ExploreView:
    """The facets as the widgets hold them before the sidebar is drawn (this run's values)."""
    state = st.session_state
    years = state.get("years")
    low, high = years if isinstance(years, tuple) else state.get("url_years", (None, None))
    bounds = rows_or_stop(*date_bounds_query(include_unpublished))[0]
    first = bounds["earliest"].year if bounds["earliest"] is not None else None
    last = bounds["latest"].year if bounds["latest"] is not None else None
    return ExploreView(
        search=search,
        providers=tuple(state.get("providers", [])),
        object_types=tuple(state.get("types", [])),
        rights=tuple(state.get("rights", [])),
        languages=tuple(state.get("languages", [])),
        year_from=None if low is None or low == first else low,
        year_to=None if high is None or high == last else high,
        has_duplicates=bool(state.get("has_duplicates", False)),
        has_annotations=bool(state.get("has_annotations", False)),
        include_unpublished=include_unpublished,
    )


def show_results(view: ExploreView, results: Results, total: int, last_page: int) -> None:
    counts, estimate = results.counts, results.estimate
    rows = results.rows[:PAGE_SIZE]
    summary_col, export_col = st.columns([3, 2])
    summary_col.caption(
        f"{matches_wording(counts, estimate)} matching records of {total:,} · page {view.page:,}"
        f" · {PAGE_SIZE} per page · sorted by {SORT_LABELS[view.sort].lower()}",
        help=ESTIMATE_HELP,
    )
    with export_col:
        export_buttons(filters_of(view), view.sort, results)
    if not rows:
        st.info("Nothing matches. Remove a facet or try other words.")
    elif view.view == "grid":
        show_grid(rows, view)
    else:
        show_list(rows, view)
    if results.rank_buckets is not None:
        st.caption(
            f"With more than {COUNT_CAP:,} matches, relevance ranks a sample of about "
            f"{RANK_CANDIDATES:,} of them ({counts.counted:,} here, the same every time): "
            "add words or facets for a ranking of every match."
        )
    elif estimate is not None and view.page >= last_page:
        st.caption(f"Only the first {COUNT_CAP:,} results are paged: narrow the search.")
    known_last = last_page if estimate is None or results.rank_buckets is not None else None
    pager(view.page, known_last, len(results.rows) > PAGE_SIZE)


main()
