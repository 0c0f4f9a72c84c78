"""Explore: full-text search, facets and keyset pagination over analytics.objects. Only
published objects are listed, counted and offered as facet values unless a curator turns on
"Show unpublished objects"."""

from __future__ import annotations

from datetime import date

import streamlit as st

from heritage.dashboard.explorer_queries import (
    COUNT_CAP,
    ExploreFilters,
    date_bounds_query,
    explore_count_query,
    explore_query,
    facet_values_query,
    languages_query,
    total_query,
)
from heritage.dashboard.page_support import (
    escape_markdown,
    open_object_button,
    rows_or_stop,
    show_thumbnail,
)
from heritage.dashboard.rights_labels import rights_label

PAGE_SIZE = 20


def facet_options(column: str, include_unpublished: bool) -> list[str]:
    text, params = facet_values_query(column, include_unpublished)
    return [row["value"] for row in rows_or_stop(text, params)]


def sidebar_filters(search: str, include_unpublished: bool) -> ExploreFilters:
    sidebar = st.sidebar
    sidebar.header("Facets")
    providers = sidebar.multiselect(
        "Provider", facet_options("data_provider", include_unpublished), key="providers"
    )
    types = sidebar.multiselect(
        "Type", facet_options("object_type", include_unpublished), key="types"
    )
    rights = sidebar.multiselect(
        "Rights",
        facet_options("rights_uri", include_unpublished),
        key="rights",
        format_func=rights_label,
    )
    languages = sidebar.multiselect(
        "Language",
        [row["value"] for row in rows_or_stop(*languages_query(include_unpublished))],
        key="languages",
    )
    bounds = rows_or_stop(*date_bounds_query(include_unpublished))[0]
    date_from: date | None = None
    date_to: date | None = None
    if bounds["earliest"] is not None and bounds["latest"] is not None:
        first, last = bounds["earliest"].year, bounds["latest"].year
        if first < last:
            years = sidebar.slider("Date (year)", first, last, (first, last), key="years")
            if years != (first, last):
                date_from, date_to = date(years[0], 1, 1), date(years[1], 12, 31)
    has_duplicates = sidebar.checkbox("Has duplicates", key="has_duplicates")
    has_annotations = sidebar.checkbox("Has annotations", key="has_annotations")
    return ExploreFilters(
        search=search,
        providers=tuple(providers),
        object_types=tuple(types),
        rights=tuple(rights),
        languages=tuple(languages),
        date_from=date_from,
        date_to=date_to,
        has_duplicates=has_duplicates,
        has_annotations=has_annotations,
        include_unpublished=include_unpublished,
    )


def main() -> None:
    st.title("Explore the collection")
    include_unpublished = st.sidebar.toggle(
        "Show unpublished objects",
        key="show_unpublished",
        help="Also list objects under embargo or waiting for review (curators only).",
    )
    total = rows_or_stop(*total_query(include_unpublished))[0]["total"]
    if total == 0:
        if include_unpublished or rows_or_stop(*total_query(True))[0]["total"] == 0:
            st.info(
                "No records yet. Run `make demo` (or `heritage demo`) to load the sample "
                "collection."
            )
        else:
            st.info(
                "No published records yet: every record is under embargo or waiting for "
                "review (see the Publication page). Turn on “Show unpublished objects” to "
                "list them."
            )
        return
    search = st.text_input(
        "Search titles, descriptions and creators",
        key="search",
        placeholder='e.g. portrait "still life" -winter',
    )
    filters = sidebar_filters(search, include_unpublished)
    # A new search or facet starts again at the first page.
    if st.session_state.get("explore_filters") != filters:
        st.session_state["explore_filters"] = filters
        st.session_state["page_cursors"] = [None]
    cursors: list[str | None] = st.session_state["page_cursors"]

    matches = rows_or_stop(*explore_count_query(filters))[0]["count"]
    text, params = explore_query(filters, cursors[-1], PAGE_SIZE, few_matches=matches <= COUNT_CAP)
    rows = rows_or_stop(text, params)
    has_next, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    shown = f"{COUNT_CAP:,}+" if matches > COUNT_CAP else f"{matches:,}"
    st.caption(
        f"{shown} matching records of {total:,} · page {len(cursors)} · {PAGE_SIZE} per page"
    )
    if not rows:
        st.info("Nothing matches. Remove a facet or try other words.")
    for index, row in enumerate(rows):
        with st.container(border=True):
            image_col, text_col, open_col = st.columns([1, 6, 1])
            with image_col:
                show_thumbnail(row["thumbnail_key"], width=96)
            with text_col:
                st.markdown(f"**{escape_markdown(row['title'])}**")
                creators = ", ".join(row["creators"] or []) or "unknown creator"
                st.caption(
                    " · ".join(
                        part
                        for part in (
                            creators,
                            row["date_original"] or "",
                            row["object_type"],
                            row["data_provider"],
                            rights_label(row["rights_uri"]),
                        )
                        if part
                    )
                )
                st.caption(row["record_id"])
            with open_col:
                open_object_button(row["record_id"], key=f"open-{index}")
    previous_col, next_col = st.columns(2)
    if previous_col.button("◀ Previous", disabled=len(cursors) == 1, key="previous"):
        cursors.pop()
        st.rerun()
    if next_col.button("Next ▶", disabled=not has_next, key="next"):
        cursors.append(rows[-1]["record_id"])
        st.rerun()


main()
