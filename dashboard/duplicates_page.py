"""Duplicates review: groups ranked by confidence (least certain first), images side by
side, and the curator's confirm / split / merge decisions, stored for the ML job's next
run."""

from __future__ import annotations

import psycopg2
import streamlit as st

from heritage.dashboard.connection_pool import cached_rows
from heritage.dashboard.explorer_queries import (
    decisions_query,
    duplicate_groups_query,
    group_members_query,
)
from heritage.dashboard.page_support import (
    open_object_button,
    rows_or_stop,
    show_thumbnail,
    table_with_download,
)
from heritage.dashboard.review_decisions import (
    PairDecision,
    confirm_group,
    merge_groups,
    record_decisions,
    split_member,
)
from heritage.settings import load_settings

MAX_MEMBERS_SHOWN = 6


def store(decisions: list[PairDecision], action: str) -> None:
    """Write the decisions as the curator role; the outcome shows after the rerun."""
    decided_by = st.session_state.get("decided_by", "") or "curator"
    note = st.session_state.get("decision_note", "") or None
    try:
        stored = record_decisions(load_settings(), decisions, decided_by, note)
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
            f"{action}: stored {stored} pair decision(s). Canonical ids change after the next "
            "ML and curate run (`heritage lakehouse run`).",
        )
    cached_rows.clear()
    st.rerun()


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
    for group_index, group in enumerate(groups):
        canonical_id = group["canonical_id"]
        members = rows_or_stop(*group_members_query(canonical_id))
        member_ids = [m["record_id"] for m in members]
        confidence = group["confidence"]
        with st.container(border=True):
            st.markdown(
                f"**Group {group_index + 1}** · canonical `{canonical_id}` · "
                f"{group['members']} records · confidence "
                + (f"{confidence:.0%}" if confidence is not None else "n/a")
                + (f" · {group['decisions']} decision(s) so far" if group["decisions"] else "")
            )
            columns = st.columns(min(len(members), MAX_MEMBERS_SHOWN) or 1)
            for index, member in enumerate(members[:MAX_MEMBERS_SHOWN]):
                with columns[index]:
                    show_thumbnail(member["thumbnail_key"], width=180)
                    st.caption(f"{member['title']}")
                    st.caption(f"{member['record_id']} · {member['data_provider']}")
                    open_object_button(member["record_id"], key=f"open-{group_index}-{index}")
                    if st.button("Split off", key=f"split-{group_index}-{index}"):
                        store(split_member(member["record_id"], member_ids), "Split")
            if len(members) > MAX_MEMBERS_SHOWN:
                st.caption(f"... and {len(members) - MAX_MEMBERS_SHOWN} more")
            confirm_col, merge_col, merge_button_col = st.columns([2, 3, 1])
            if confirm_col.button("Confirm group", key=f"confirm-{group_index}", type="primary"):
                store(confirm_group(canonical_id, member_ids), "Confirmed")
            others = [c for c in canonical_ids if c != canonical_id]
            target = merge_col.selectbox(
                "Merge with the group of",
                others,
                index=None,
                key=f"merge-target-{group_index}",
                placeholder="another group's canonical record",
                label_visibility="collapsed",
            )
            if (
                merge_button_col.button(
                    "Merge", key=f"merge-{group_index}", disabled=target is None
                )
                and target
            ):
                store(merge_groups(canonical_id, target), "Merged")

    st.subheader("Recent decisions")
    decisions = rows_or_stop(*decisions_query(20))
    if decisions:
        table_with_download(decisions, "recent-decisions")
    else:
        st.caption("No decisions yet.")


main()
