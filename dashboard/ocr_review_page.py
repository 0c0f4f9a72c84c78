"""OCR review: the pages the OCR flagged (low confidence, blank, unreadable), lowest confidence
first, filtered by provider, language and confidence; one page's text from the object store
beside the fields extracted from it; and full-text search over the OCR text."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from heritage.dashboard.ocr_labels import (
    field_rows,
    low_confidence_styles,
    page_choice,
    page_label,
    queue_rows,
    shown_count,
    snippet_markdown,
)
from heritage.dashboard.ocr_queries import (
    COUNT_CAP,
    OcrReviewFilters,
    QueueCursor,
    language_options_query,
    page_fields_query,
    provider_options_query,
    queue_cursor,
    review_counts_query,
    review_queue_query,
    text_search_query,
)
from heritage.dashboard.page_support import (
    escape_markdown,
    open_object_button,
    rows_or_stop,
    table_with_download,
)
from heritage.dashboard.thumbnails import thumbnail_bytes
from heritage.ocr.ocr_results import is_page_text_key
from heritage.settings import load_settings

PAGE_SIZE = 20
SEARCH_RESULTS = 20
# The confidence slider's top: at it, no page is left out for its confidence.
ANY_CONFIDENCE = 100


def page_text(key: str | None) -> str | None:
    """A page's OCR text, read from the object store with the server's credentials and cached
    like the thumbnails (the keys are content-addressed, so a key's text never changes);
    None when there is no key or the store cannot give it."""
    if not key or not is_page_text_key(key):
        return None  # a key a source wrote, not one the OCR made: never read
    settings = load_settings()
    data = thumbnail_bytes(settings.s3_endpoint, settings.bucket, key)
    return None if data is None else data.decode("utf-8", errors="replace")


def options(rows: list[dict[str, Any]]) -> list[str]:
    return [row["value"] for row in rows]


def sidebar_filters() -> OcrReviewFilters:
    sidebar = st.sidebar
    sidebar.header("Filters")
    flagged_only = sidebar.checkbox(
        "Only pages the OCR flagged",
        value=True,
        key="ocr_flagged_only",
        help="Off: every page, narrowed by the confidence below.",
    )
    providers = sidebar.multiselect(
        "Provider",
        options(rows_or_stop(*provider_options_query(flagged_only))),
        key="ocr_providers",
    )
    languages = sidebar.multiselect(
        "Language",
        options(rows_or_stop(*language_options_query(flagged_only))),
        key="ocr_languages",
    )
    below = sidebar.slider(
        "Confidence below",
        1,
        ANY_CONFIDENCE,
        ANY_CONFIDENCE,
        key="ocr_below",
        help="Mean word confidence (0-100) of a page. Blank and unreadable pages have none "
        "and stay listed.",
    )
    return OcrReviewFilters(
        providers=tuple(providers),
        languages=tuple(languages),
        below=None if below >= ANY_CONFIDENCE else float(below),
        flagged_only=flagged_only,
    )


def show_counts(filters: OcrReviewFilters) -> int:
    """The counts at the top; returns how many pages the filters list."""
    counts = rows_or_stop(*review_counts_query(filters))[0]
    for column, (label, key) in zip(
        st.columns(4),
        (
            ("pages to review", "pages"),
            ("low confidence", "low_confidence"),
            ("blank pages", "blank"),
            ("unreadable files", "unreadable"),
        ),
        strict=True,
    ):
        column.metric(label, shown_count(counts[key], COUNT_CAP))
    return int(counts["pages"])


def show_queue(filters: OcrReviewFilters, listed: int) -> dict[str, Any] | None:
    """One page of the queue, keyset-paginated; returns the queued page the curator picked."""
    # A new filter starts again at the first page.
    if st.session_state.get("ocr_filters") != filters:
        st.session_state["ocr_filters"] = filters
        st.session_state["ocr_cursors"] = [None]
    cursors: list[QueueCursor | None] = st.session_state["ocr_cursors"]
    rows = rows_or_stop(*review_queue_query(filters, cursors[-1], PAGE_SIZE))
    has_next, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    st.caption(
        f"{shown_count(listed, COUNT_CAP)} pages · page {len(cursors)} · {PAGE_SIZE} per page · "
        "lowest confidence first"
    )
    if not rows:
        st.info("No page matches. Remove a filter or raise the confidence.")
        return None
    table_with_download(queue_rows(rows), "ocr-review")
    previous_col, next_col = st.columns(2)
    if previous_col.button("◀ Previous", disabled=len(cursors) == 1, key="ocr_previous"):
        cursors.pop()
        st.rerun()
    if next_col.button("Next ▶", disabled=not has_next, key="ocr_next"):
        cursors.append(queue_cursor(rows[-1]))
        st.rerun()
    choice: dict[str, Any] | None = st.selectbox(
        "Page to review",
        rows,
        index=None,
        format_func=page_choice,
        key="ocr_page_choice",
        placeholder="a page of the list above",
    )
    return choice


def show_text(row: dict[str, Any]) -> None:
    st.markdown("**Text**")
    if row["page"] == 0:
        st.caption(f"The file could not be read: {row['reason'] or 'no reason given'}.")
        return
    text = page_text(row["text_key"])
    if text is None:
        st.warning(
            "The page's text is not in the object store"
            + (f" (`{row['text_key']}`)." if row["text_key"] else " (no key recorded).")
        )
    elif not text.strip():
        st.caption("The page holds no text.")
    else:
        st.code(text, language=None, wrap_lines=True)


def show_fields(row: dict[str, Any]) -> None:
    st.markdown("**Extracted fields**")
    fields = rows_or_stop(*page_fields_query(row["record_id"], row["file"], row["page"]))
    if not fields:
        st.caption("No field was extracted from this page.")
        return
    shown = field_rows(fields)
    to_check = sum(1 for field in shown if field["Check"])
    st.caption(
        f"{len(shown):,} fields"
        + (f" · {to_check:,} to check (low confidence)" if to_check else "")
    )
    styled = (
        pd.DataFrame(shown)
        .style.apply(low_confidence_styles, axis=1)
        .format({"Confidence": "{:.2f}"}, na_rep="")
    )
    st.dataframe(styled, hide_index=True, width="stretch")


def show_page(row: dict[str, Any]) -> None:
    st.subheader(f"{row['file']} · page {page_label(row['page'])}")
    st.markdown(f"**{escape_markdown(row['title'] or row['record_id'])}**")
    confidence = row["confidence"]
    st.caption(
        " · ".join(
            part
            for part in (
                row["record_id"],
                row["data_provider"] or "",
                "no confidence" if confidence is None else f"confidence {float(confidence):.1f}",
                row["language"] or "",
                f"turned {row['rotation']}°" if row["rotation"] else "",
                row["reason"] or "",
            )
            if part
        )
    )
    open_object_button(row["record_id"], key="ocr-open-record", label="Open the record")
    text_col, fields_col = st.columns(2)
    with text_col:
        show_text(row)
    with fields_col:
        show_fields(row)


def show_search(filters: OcrReviewFilters) -> None:
    st.subheader("Search the OCR text")
    words = st.text_input(
        "Words in the OCR text", key="ocr_search", placeholder="e.g. harbour master 1894"
    ).strip()
    if not words:
        return
    results = rows_or_stop(*text_search_query(words, filters.providers, SEARCH_RESULTS))
    if not results:
        st.info("No OCR text holds all these words.")
        return
    st.caption(f"The first {len(results):,} records (by record id) whose text holds them all.")
    for index, result in enumerate(results):
        with st.container(border=True):
            text_col, open_col = st.columns([7, 1])
            with text_col:
                st.markdown(f"**{escape_markdown(result['title'] or result['record_id'])}**")
                confidence = result["ocr_confidence"]
                st.caption(
                    f"{result['record_id']} · {result['data_provider']}"
                    + ("" if confidence is None else f" · confidence {float(confidence):.1f}")
                )
                st.markdown(snippet_markdown(result["snippet"]))
            with open_col:
                open_object_button(result["record_id"], key=f"ocr-search-open-{index}")


def main() -> None:
    st.title("OCR review")
    filters = sidebar_filters()
    listed = show_counts(filters)
    if listed == 0 and filters == OcrReviewFilters():
        st.info(
            "No page awaits review. Pages appear here once records with scanned files have "
            "been read by the OCR and `heritage lakehouse run` has exported them."
        )
    else:
        choice = show_queue(filters, listed)
        if choice is not None:
            show_page(choice)
    show_search(filters)


main()
