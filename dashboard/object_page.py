"""Object: every field of one record, its image, annotations, rights, duplicate group,
similar objects, and its embargo and publication history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from heritage.dashboard.explorer_queries import (
    annotations_query,
    group_members_query,
    object_query,
    similar_objects_query,
)
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

FIELD_ORDER = (
    "record_id",
    "source",
    "creators",
    "description",
    "date_original",
    "date_start",
    "date_end",
    "object_type",
    "data_provider",
    "provider",
    "country",
    "languages",
    "tags",
    "comment_count",
    "annotation_count",
    "canonical_id",
    "image_url",
    "source_updated_at",
    "ingested_at",
)


def field_rows(record: dict[str, Any]) -> list[dict[str, str]]:
    """Every field as text, in a stable order (lists joined, nulls shown as an em dash: a
    plain "-" would render as a Markdown bullet)."""
    rows = []
    for name in FIELD_ORDER:
        value = record.get(name)
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "—"
        else:
            text = "—" if value is None or value == "" else str(value)
        rows.append({"field": name, "value": text})
    return rows


def title_rows(titles: dict[str, list[str]] | str | None) -> list[dict[str, str]]:
    parsed = json.loads(titles) if isinstance(titles, str) else (titles or {})
    return [
        {"language": language, "title": title}
        for language in sorted(parsed)
        for title in parsed[language]
    ]


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


def main() -> None:
    st.title("Object")
    record_id = st.query_params.get("record_id", "")
    chosen = st.text_input("record_id", value=record_id).strip()
    if chosen and chosen != record_id:
        st.query_params["record_id"] = chosen
        record_id = chosen
    if not record_id:
        st.info("Open a record from the Explore page, or paste a record_id above.")
        return
    found = rows_or_stop(*object_query(record_id))
    if not found:
        st.warning(f"No record {record_id!r} in analytics.objects. Check the id on Explore.")
        return
    record = found[0]
    st.header(record["title"])
    image_col, facts_col = st.columns([2, 3])
    with image_col:
        show_thumbnail(record["thumbnail_key"], width=320)
        if record["image_status"] == "failed":
            st.caption(f"Image not stored: {record['failure_reason']}")
        elif record["image_status"] is None and record["image_url"]:
            st.caption("Image not fetched yet (the ML job stores it on its next run).")
    with facts_col:
        label = rights_label(record["rights_uri"])
        st.markdown(f"**Rights:** [{escape_markdown(label)}]({record['rights_uri']})")
        st.caption(record["rights_uri"])
        state = rows_or_stop(*object_embargo_query(record_id))
        st.markdown(
            "**Publication:** "
            + escape_markdown(state[0]["state"] if state else "not evaluated yet")
            + " (see Embargo and publication below)"
        )
        titles = title_rows(record["titles"])
        if titles:
            st.subheader("Titles")
            st.table(titles)
    st.subheader("Fields")
    st.table(field_rows(record))

    st.subheader("Annotations")
    annotations = rows_or_stop(*annotations_query(record_id))
    if annotations:
        table_with_download(annotations, "annotations")
    else:
        st.caption("No tags or comments.")

    st.subheader("Duplicate group")
    canonical_id = record["canonical_id"]
    members = rows_or_stop(*group_members_query(canonical_id)) if canonical_id else []
    if len(members) > 1:
        st.caption(f"canonical record: {canonical_id} · {len(members)} members")
        columns = st.columns(min(len(members), 4))
        for index, member in enumerate(members):
            with columns[index % len(columns)]:
                show_thumbnail(member["thumbnail_key"], width=160)
                marker = " (canonical)" if member["record_id"] == canonical_id else ""
                st.caption(f"{member['record_id']}{marker} · {member['data_provider']}")
                if member["record_id"] != record_id:
                    open_object_button(member["record_id"], key=f"member-{index}")
    else:
        st.caption("Unique: no duplicates known.")

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

    embargo_section(record_id)


main()
