"""Duplicates review: groups ranked by confidence (least certain first), members side by side
(image, title, creator, date, description, provider, image size), and the curator's
confirm / split / merge decisions, stored for the ML job's next run; the latest action can
be undone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg2
import streamlit as st

from heritage.dashboard.connection_pool import cached_rows
from heritage.dashboard.duplicate_labels import (
    action_summary,
    comparison_rows,
    merge_label,
)
from heritage.dashboard.duplicate_queries import (
    curator_history_query,
    decision_history_query,
    group_members_detail_query,
    group_titles_query,
)
from heritage.dashboard.explorer_queries import duplicate_groups_query
from heritage.dashboard.field_labels import readable_value
from heritage.dashboard.page_support import (
    open_object_button,
    rows_or_stop,
    table_with_download,
)
from heritage.dashboard.review_decisions import (
    PairDecision,
    confirm_group,
    decision_entries,
    latest_action,
    merge_groups,
    record_decisions,
    record_undo,
    split_member,
)
from heritage.dashboard.thumbnails import thumbnail
from heritage.settings import Settings, load_settings

MAX_MEMBERS_SHOWN = 6
# How far back the undo looks for the curator's latest action still in effect.
UNDO_HISTORY_ROWS = 500


def reviewer() -> str:
    return (st.session_state.get("decided_by", "") or "curator").strip() or "curator"


def write_as_curator(write: Callable[[Settings, str, str | None], int], done: str) -> None:
    """Run a write as the curator role; the outcome shows after the rerun."""
    note = st.session_state.get("decision_note", "") or None
    try:
        stored = write(load_settings(), reviewer(), note)
    except psycopg2.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        st.session_state["review_outcome"] = (
            "error",
            f"The decision was not stored ({first}). Check that the curator role exists "
            "(`heritage services up` creates it) and try again.",
        )
    else:
        st.session_state["review_outcome"] = (
            "success",
            done.format(stored=stored) + " Canonical ids change after the next ML and curate "
            "run (`heritage lakehouse run`).",
        )
    cached_rows.clear()
    st.rerun()


def store(decisions: list[PairDecision], action: str) -> None:
    write_as_curator(
        lambda settings, by, note: record_decisions(settings, decisions, by, note),
        f"{action}: stored {{stored}} pair decision(s).",
    )


def member_column(member: dict[str, Any], member_ids: list[str], group: int, index: int) -> None:
    image = thumbnail(member["thumbnail_key"])
    if image is None:
        st.caption("no image")
    else:
        st.image(image)  # at its own size: never enlarged past the stored thumbnail
    st.caption(f"{member['title']}")
    st.caption(f"{member['record_id']} · {member['data_provider']}")
    open_object_button(member["record_id"], key=f"open-{group}-{index}")
    if st.button("Split off", key=f"split-{group}-{index}"):
        store(split_member(member["record_id"], member_ids), "Split")


def group_card(
    group: dict[str, Any], group_index: int, others: list[str], titles: dict[str, str | None]
) -> None:
    canonical_id = group["canonical_id"]
    members = rows_or_stop(*group_members_detail_query(canonical_id))
    member_ids = [m["record_id"] for m in members]
    confidence = group["confidence"]
    with st.container(border=True):
        st.markdown(
            f"**Group {group_index + 1}** · canonical `{canonical_id}` · "
            f"{group['members']} records · confidence "
            + (f"{confidence:.0%}" if confidence is not None else "n/a")
            + (f" · {group['decisions']} decision(s) so far" if group["decisions"] else "")
        )
        shown = members[:MAX_MEMBERS_SHOWN]
        columns = st.columns(len(shown) or 1)
        for index, member in enumerate(shown):
            with columns[index]:
                member_column(member, member_ids, group_index, index)
        if shown:
            st.table(comparison_rows(shown))
        if len(members) > MAX_MEMBERS_SHOWN:
            st.caption(f"... and {len(members) - MAX_MEMBERS_SHOWN} more")
        confirm_col, merge_col, merge_button_col = st.columns([2, 3, 1])
        if confirm_col.button("Confirm group", key=f"confirm-{group_index}", type="primary"):
            store(confirm_group(canonical_id, member_ids), "Confirmed")
        target = merge_col.selectbox(
            "Merge with the group of",
            others,
            index=None,
            format_func=lambda choice: merge_label(choice, titles),
            key=f"merge-target-{group_index}",
            placeholder="another group (title — record id)",
            label_visibility="collapsed",
        )
        if (
            merge_button_col.button("Merge", key=f"merge-{group_index}", disabled=target is None)
            and target
        ):
            store(merge_groups(canonical_id, target), "Merged")


def undo_section() -> None:
    """The reviewer's latest action still in effect, and a button that takes it back."""
    by = reviewer()
    history = decision_entries(rows_or_stop(*curator_history_query(by, UNDO_HISTORY_ROWS)))
    action = latest_action(history, by)
    if not action:
        st.caption(f"Nothing of {by}'s to undo.")
        return
    st.caption(f"Latest action of {by}: {action_summary(action)}.")
    if st.button("Undo my latest action", key="undo-latest", icon=":material/undo:"):
        write_as_curator(
            lambda settings, who, note: record_undo(settings, action, who, note),
            "Undone: {stored} pair decision(s) taken back (kept in the history as undone).",
        )


def recent_decisions_section() -> None:
    st.subheader("Recent decisions")
    undo_section()
    decisions = rows_or_stop(*decision_history_query(20))
    if decisions:
        rows = [{**row, "decided_at": readable_value(row["decided_at"])} for row in decisions]
        table_with_download(rows, "recent-decisions")
    else:
        st.caption("No decisions yet.")


def main() -> None:
    st.title("Duplicates review")
    st.sidebar.text_input("Reviewer", value="curator", key="decided_by")
    st.sidebar.text_input("Note for the next decision", key="decision_note")
    unreviewed = st.sidebar.checkbox("Only groups without decisions", key="unreviewed_only")
    limit = st.sidebar.number_input("Groups shown", 5, 200, 20, step=5, key="groups_limit")
    order = st.sidebar.radio(
        "Order",
        ("Least certain first", "Most certain first"),
        key="groups_order",
        help="Confidence is the probability of the weakest pair in a group (calibrated on "
        "labelled pairs): the least certain groups are the ones most worth a look.",
    )
    outcome = st.session_state.pop("review_outcome", None)
    if outcome:
        (st.success if outcome[0] == "success" else st.error)(outcome[1])

    groups = rows_or_stop(
        *duplicate_groups_query(int(limit), unreviewed, order == "Least certain first")
    )
    if not groups:
        st.info(
            "No duplicate groups to review. Groups appear after the ML job has compared the "
            "images (`heritage lakehouse run`), and a confirmed group leaves the unreviewed list."
        )
    canonical_ids = [group["canonical_id"] for group in groups]
    titles = (
        {row["record_id"]: row["title"] for row in rows_or_stop(*group_titles_query(canonical_ids))}
        if canonical_ids
        else {}
    )
    for group_index, group in enumerate(groups):
        others = [c for c in canonical_ids if c != group["canonical_id"]]
        group_card(group, group_index, others, titles)
    recent_decisions_section()


main()
