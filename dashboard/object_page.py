"""Object: every field of one record under a curator's labels, its image (the thumbnail at
its own size and the full image with deep zoom), titles by language, annotations, rights,
duplicate group, similar objects, and its embargo and publication history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from heritage.dashboard.deep_zoom import ViewerImage, viewer_html
from heritage.dashboard.explore_state import back_params
from heritage.dashboard.explorer_queries import (
    annotations_query,
    group_members_query,
    similar_objects_query,
)
from heritage.dashboard.field_labels import (
    field_rows,
    language_name,
    parsed_titles,
    pixel_size,
    readable_value,
    record_json,
    title_in,
    title_languages,
    title_rows,
)
from heritage.dashboard.object_queries import RECORD_COLUMNS, object_record_query
from heritage.dashboard.page_support import (
    escape_markdown,
    open_object_button,
    rows_or_stop,
    show_thumbnail,
    table_with_download,
)
from heritage.dashboard.publication_labels import embargo_rows, event_rows
from heritage.dashboard.publication_queries import object_embargo_query, object_events_query
from heritage.dashboard.rights_labels import rights_label
from heritage.dashboard.thumbnails import full_image, thumbnail

VIEWER_HEIGHT_PX = 560


def embargo_section(record_id: str) -> None:
    st.subheader("Embargo and publication")
    found = rows_or_stop(*object_embargo_query(record_id))
    if not found:
        st.caption(
            "Not evaluated yet: the object is not published until the publication stage has "
            "registered and cleared it."
        )
        return
    embargo = found[0]
    rows = embargo_rows(embargo, datetime.now(UTC))
    st.markdown("  \n".join(f"**{row['field']}:** {escape_markdown(row['value'])}" for row in rows))
    events = rows_or_stop(*object_events_query(record_id))
    if events:
        st.caption("History, oldest first")
        table_with_download(event_rows(events), "publication-history")
    else:
        st.caption("No publication events yet.")


def image_status_section(record: dict[str, Any]) -> None:
    """The thumbnail at its own size (never enlarged), or why there is none."""
    image = thumbnail(record["thumbnail_key"])
    if image is not None:
        st.image(image, caption="Thumbnail")
        st.caption(f"Original: {pixel_size(record['width'], record['height'])}")
    else:
        st.caption("no image")
    if record["image_status"] == "failed":
        st.caption(f"Image not stored: {record['failure_reason']}")
    elif record["image_status"] is None and record["image_url"]:
        st.caption("Image not fetched yet (the ML job stores it on its next run).")


def full_image_section(record: dict[str, Any], title: str) -> None:
    """The stored original in the deep-zoom viewer (scroll or pinch to zoom, drag to pan)."""
    if record["image_status"] != "stored":
        return
    st.subheader("Full image")
    image = full_image(record["thumbnail_key"], record["sha256"])
    if not isinstance(image, ViewerImage):
        st.caption(f"The full image is not shown: {image}.")
        return
    shown = pixel_size(image.width, image.height)
    stored = pixel_size(record["width"], record["height"])
    st.caption(
        "Scroll or pinch to zoom, drag to pan; the home button fits the image again. "
        + (f"Shown at {shown} (stored: {stored})." if shown != stored else f"{shown}.")
    )
    # An iframe of trusted HTML only: the vendored viewer, an escaped title and a data URL.
    st.iframe(viewer_html(image, title, VIEWER_HEIGHT_PX), height=VIEWER_HEIGHT_PX + 8)


def title_and_language(record: dict[str, Any]) -> dict[str, list[str]]:
    """The header in the language the curator picks; returns the parsed titles."""
    titles = parsed_titles(record["titles"])
    languages = title_languages(titles, record["title"])
    header = st.empty()  # above the toggle that chooses its language
    language = None
    if len(languages) > 1:
        language = st.radio(
            "Title language",
            languages,
            format_func=language_name,
            horizontal=True,
            key=f"title_language-{record['record_id']}",  # each record its own choices
            label_visibility="collapsed",
        )
    header.header(title_in(titles, language, record["title"]), anchor=False)
    return titles


def facts_section(record: dict[str, Any], titles: dict[str, list[str]]) -> None:
    label = rights_label(record["rights_uri"])
    st.markdown(f"**Rights:** [{escape_markdown(label)}]({record['rights_uri']})")
    st.caption(record["rights_uri"])
    state = rows_or_stop(*object_embargo_query(record["record_id"]))
    st.markdown(
        "**Publication:** "
        + escape_markdown(state[0]["state"] if state else "not evaluated yet")
        + " (see Embargo and publication below)"
    )
    if titles:
        st.subheader("Titles")
        st.table(title_rows(titles))


def annotations_section(record_id: str) -> None:
    st.subheader("Annotations")
    annotations = rows_or_stop(*annotations_query(record_id))
    if annotations:
        rows = [{**row, "created_at": readable_value(row["created_at"])} for row in annotations]
        table_with_download(rows, "annotations")
    else:
        st.caption("No tags or comments.")


def group_section(record_id: str, canonical_id: str | None) -> None:
    st.subheader("Duplicate group")
    members = rows_or_stop(*group_members_query(canonical_id)) if canonical_id else []
    if len(members) <= 1:
        st.caption("Unique: no duplicates known.")
        return
    st.caption(f"canonical record: {canonical_id} · {len(members)} members")
    columns = st.columns(min(len(members), 4))
    for index, member in enumerate(members):
        with columns[index % len(columns)]:
            show_thumbnail(member["thumbnail_key"], width=160)
            marker = " (canonical)" if member["record_id"] == canonical_id else ""
            st.caption(f"{member['record_id']}{marker} · {member['data_provider']}")
            if member["record_id"] != record_id:
                open_object_button(member["record_id"], key=f"member-{index}")


def similar_section(record_id: str) -> None:
    st.subheader("Similar objects")
    similar = rows_or_stop(*similar_objects_query(record_id))
    if not similar:
        st.caption("None yet (computed by the ML job).")
    for index, item in enumerate(similar):
        image_col, text_col, open_col = st.columns([1, 6, 1])
        with image_col:
            show_thumbnail(item["thumbnail_key"], width=72)
        with text_col:
            st.markdown(f"**{escape_markdown(item['title'] or item['record_id'])}**")
            st.caption(f"{item['record_id']} · similarity {item['score']:.2f}")
        with open_col:
            open_object_button(item["record_id"], key=f"similar-{index}")


def fields_section(record: dict[str, Any]) -> None:
    st.subheader("Fields")
    st.table(field_rows(record))
    st.download_button(
        "Download record (JSON)",
        record_json(record, RECORD_COLUMNS),
        file_name=f"{record['record_id'].replace('/', '_').replace(':', '_')}.json",
        mime="application/json",
        key="download-record-json",
        on_click="ignore",
        icon=":material/download:",
    )


def main() -> None:
    st.title("Object")
    back = back_params(st.query_params.to_dict())
    if back is not None:
        st.page_link("explore_page.py", label="Back to results", icon="⬅️", query_params=back)
    record_id = st.query_params.get("record_id", "")
    chosen = st.text_input("Identifier", value=record_id, key="record_id").strip()
    if chosen and chosen != record_id:
        st.query_params["record_id"] = chosen
        record_id = chosen
    if not record_id:
        st.info("Open a record from the Explore page, or paste its identifier above.")
        return
    found = rows_or_stop(*object_record_query(record_id))
    if not found:
        st.warning(f"No record {record_id!r} in analytics.objects. Check the id on Explore.")
        return
    record = found[0]
    titles = title_and_language(record)
    image_col, facts_col = st.columns([2, 3])
    with image_col:
        image_status_section(record)
    with facts_col:
        facts_section(record, titles)
    full_image_section(record, record["title"])
    fields_section(record)
    annotations_section(record_id)
    group_section(record_id, record["canonical_id"])
    similar_section(record_id)
    embargo_section(record_id)


main()
