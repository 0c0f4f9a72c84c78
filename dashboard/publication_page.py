"""Publication: the curators' queue of objects waiting for review (or any other embargo
state), and their two decisions per object: clear for publication, or re-embargo until a new
end. Decisions are stored as the curator role and applied at the next evaluation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg2
import streamlit as st

from heritage.dashboard.connection_pool import cached_rows
from heritage.dashboard.page_support import (
    escape_markdown,
    open_object_button,
    rows_or_stop,
    table_with_download,
)
from heritage.dashboard.publication_decisions import (
    PublicationDecision,
    clear_decision,
    re_embargo_decision,
    record_publication_decision,
)
from heritage.dashboard.publication_labels import (
    embargo_rows,
    end_in_zone_text,
    end_utc_text,
    event_rows,
    queue_rows,
    zone_options,
)
from heritage.dashboard.publication_queries import (
    EMBARGO_PROVIDERS_QUERY,
    REVIEW_STATE,
    STATE_COUNTS_QUERY,
    STATES,
    publication_count_query,
    publication_rows_query,
    recent_decisions_query,
    recent_events_query,
)
from heritage.embargo_time import EmbargoDateError
from heritage.publication_settings import load_publication_policy
from heritage.settings import load_settings

APPLY_NOTE = (
    "Decisions apply at the next evaluation: the publication stage of the pipeline "
    "(`heritage lakehouse run`) or `heritage embargo evaluate`. A decision made on a version "
    "that has changed since is not applied."
)
UNTIL_PLACEHOLDER = "2031-12-31, 2031-06, 2031 or 2031-12-31T17:00:00+01:00"


def store(decision: PublicationDecision, done: str) -> None:
    """Write the decision as the curator role; the outcome shows after the rerun."""
    try:
        record_publication_decision(load_settings(), decision)
    except psycopg2.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        st.session_state["publication_outcome"] = (
            "error",
            f"The decision was not stored ({first}). Check that the curator role exists "
            "(`heritage services up` creates it) and try again.",
        )
    else:
        st.session_state["publication_outcome"] = (
            "success",
            f"{done}. It applies at the next evaluation.",
        )
    cached_rows.clear()
    st.rerun()


def sidebar_choices() -> tuple[str, tuple[str, ...], int]:
    sidebar = st.sidebar
    sidebar.text_input("Reviewer", value="curator", key="decided_by")
    sidebar.text_input("Note for the next decision", key="publication_note")
    state = sidebar.selectbox(
        "State", STATES, index=STATES.index(REVIEW_STATE), key="publication_state"
    )
    providers = sidebar.multiselect(
        "Provider",
        [row["value"] for row in rows_or_stop(*EMBARGO_PROVIDERS_QUERY)],
        key="publication_providers",
    )
    limit = sidebar.number_input("Objects shown", 10, 500, 50, step=10, key="publication_limit")
    return state, tuple(providers), int(limit)


def decide(row: dict[str, Any]) -> None:
    """The two decisions for one object."""
    object_id = row["object_id"]
    decided_by = st.session_state.get("decided_by", "") or "curator"
    note = st.session_state.get("publication_note", "") or None
    version = int(row["state_version"])
    if row["state"] == REVIEW_STATE and st.button(
        "Clear for publication", key="publication_clear", type="primary"
    ):
        decision = clear_decision(object_id, row["state"], version, decided_by, note)
        store(decision, f"Cleared {object_id} for publication (seen version {version})")
    until_col, zone_col, button_col = st.columns([3, 3, 2], vertical_alignment="bottom")
    until = until_col.text_input(
        "Re-embargo until", key=f"publication_until-{object_id}", placeholder=UNTIL_PLACEHOLDER
    )
    # An object without an embargo was registered in UTC; a new end is read in the zone its
    # provider's agreements are in.
    zone_given = row["end_input_zone"]
    if row["end_rule"] == "none":
        zone_given = load_publication_policy(load_settings()).zone_for(row["data_provider"])
    zones, default = zone_options(zone_given)
    zone = zone_col.selectbox(
        "Time zone it is read in", zones, index=default, key=f"publication_zone-{object_id}"
    )
    if button_col.button("Re-embargo", key="publication_re_embargo", disabled=not until.strip()):
        try:
            decision, end = re_embargo_decision(
                object_id, until, zone, version, decided_by, note, datetime.now(UTC)
            )
        except EmbargoDateError as error:
            st.error(str(error))
        else:
            store(
                decision,
                f"Re-embargo of {object_id} until {end_utc_text(end.end_utc)} "
                f"({end_in_zone_text(end.end_utc, end.zone)}, {end.rule.value}) stored",
            )


def object_details(row: dict[str, Any]) -> None:
    st.markdown(f"**{escape_markdown(row['title'] or row['object_id'])}**")
    st.caption(f"{row['object_id']} · {row['data_provider'] or 'no provider'}")
    details = embargo_rows(row, datetime.now(UTC))
    st.markdown(
        "  \n".join(f"**{item['field']}:** {escape_markdown(item['value'])}" for item in details)
    )
    open_object_button(row["object_id"], key="publication_open", label="Open object")


def queue(state: str, providers: tuple[str, ...], limit: int) -> None:
    rows = rows_or_stop(*publication_rows_query(state, providers, limit))
    if not rows:
        st.info(
            "No objects are waiting for review."
            if state == REVIEW_STATE
            else f"No objects are {state}."
        )
        return
    total = rows_or_stop(*publication_count_query(state, providers))[0]["objects"]
    st.caption(f"{len(rows):,} of {total:,} objects in {state}, the longest waiting first")
    table_with_download(queue_rows(rows, datetime.now(UTC)), "publication-queue")
    by_id = {row["object_id"]: row for row in rows}
    chosen = st.selectbox(
        "Decide on",
        list(by_id),
        key="publication_object",
        format_func=lambda object_id: f"{by_id[object_id]['title'] or '—'} · {object_id}",
    )
    if chosen is not None:
        with st.container(border=True):
            object_details(by_id[chosen])
            decide(by_id[chosen])


def main() -> None:
    st.title("Publication")
    state, providers, limit = sidebar_choices()
    outcome = st.session_state.pop("publication_outcome", None)
    if outcome:
        (st.success if outcome[0] == "success" else st.error)(outcome[1])
    st.info(APPLY_NOTE)
    counts = {row["state"]: row["objects"] for row in rows_or_stop(*STATE_COUNTS_QUERY)}
    for column, name in zip(st.columns(len(STATES)), STATES, strict=True):
        column.metric(name.replace("_", " "), f"{counts.get(name, 0):,}")
    queue(state, providers, limit)

    st.subheader("Recent decisions")
    decisions = rows_or_stop(*recent_decisions_query(20))
    if decisions:
        table_with_download(decisions, "publication-decisions")
    else:
        st.caption("No decisions yet.")
    st.subheader("Recent publication events")
    events = rows_or_stop(*recent_events_query(50))
    if events:
        table_with_download(event_rows(events), "publication-events")
    else:
        st.caption("No publication events yet (they appear after an evaluation).")


main()
