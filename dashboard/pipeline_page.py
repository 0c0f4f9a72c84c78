"""Pipeline: counts per stage, each stage's last run (its own start and end), Kafka consumer
lag, throughput per stage over its last N runs, and dead letters by stage and reason with
their payloads. Reads PostgreSQL and Kafka only; never starts Spark."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from heritage.dashboard.explorer_queries import (
    LATEST_RAW_OFFSETS_QUERY,
    REJECTION_REASONS_QUERY,
    STAGE_COUNTS_QUERY,
    rejections_query,
)
from heritage.dashboard.page_support import rows_or_stop, table_with_download
from heritage.dashboard.pipeline_chart import (
    NEW_RECORDS,
    NO_NEW_RECORDS,
    throughput_chart,
    throughput_points,
)
from heritage.dashboard.pipeline_queries import (
    DEFAULT_RUNS_PER_STAGE,
    LAST_RUNS_QUERY,
    MAX_RUNS_PER_STAGE,
    recent_runs_query,
)
from heritage.kafka_lag import partition_lags
from heritage.kafka_topics import topic_end_offsets
from heritage.settings import load_settings

NO_RUNS_YET = "No pipeline runs recorded yet (`heritage lakehouse run` records one per stage)."


@st.cache_data(ttl=10, show_spinner=False)
def end_offsets(bootstrap: str, topics: tuple[str, ...]) -> dict[str, dict[int, int]]:
    return topic_end_offsets(load_settings(), list(topics), client_id="heritage-dashboard")


def show_lag() -> None:
    st.subheader("Kafka consumer lag (raw stage)")
    latest = rows_or_stop(*LATEST_RAW_OFFSETS_QUERY)
    if not latest:
        st.info("The raw stage has not recorded a run yet, so its lag is unknown.")
        return
    offsets: dict[str, dict[str, int]] = latest[0]["kafka_offsets"]
    settings = load_settings()
    try:
        ends = end_offsets(settings.kafka_bootstrap_servers, tuple(sorted(offsets)))
    except Exception as error:  # kafka-python raises many types; all mean "unreachable"
        st.warning(
            f"Kafka cannot be reached at {settings.kafka_bootstrap_servers} "
            f"({type(error).__name__}), so the lag is unknown. Check `heritage services status`."
        )
        return
    lags = partition_lags(ends, offsets)
    total = sum(lag.lag for lag in lags)
    st.metric("messages waiting for the raw stage", f"{total:,}")
    st.caption(f"as of the raw run that finished at {utc_text(latest[0]['finished_at'])} UTC")
    table_with_download(
        [
            {
                "topic": lag.topic,
                "partition": lag.partition,
                "end offset": lag.end_offset,
                "ingested up to": lag.ingested_offset,
                "lag": lag.lag,
            }
            for lag in lags
        ],
        "consumer-lag",
    )


def show_throughput() -> None:
    st.subheader("Throughput per stage")
    runs_per_stage = int(
        st.number_input(
            "Runs per stage",
            min_value=1,
            max_value=MAX_RUNS_PER_STAGE,
            value=DEFAULT_RUNS_PER_STAGE,
            step=5,
            key="throughput_runs",
            help="How many of each stage's most recent runs the chart shows.",
        )
    )
    points = throughput_points(rows_or_stop(*recent_runs_query(runs_per_stage)))
    if points.empty:
        st.info(NO_RUNS_YET)
        return
    st.altair_chart(throughput_chart(points), width="stretch")
    st.caption(
        f"Rows per second of each stage's last {runs_per_stage} runs, by when the stage "
        f"finished (UTC). Hollow points: runs with {NO_NEW_RECORDS} (nothing to process), "
        "drawn at the stage's last throughput."
    )


def show_last_runs() -> None:
    st.subheader("Last run of each stage")
    last_runs = rows_or_stop(*LAST_RUNS_QUERY)
    if not last_runs:
        st.info(NO_RUNS_YET)
        return
    table_with_download(
        [
            {
                "stage": run["stage"],
                "rows": run["rows"],
                "seconds": round(float(run["seconds"]), 1),
                "started (UTC)": utc_text(run["started_at"]),
                "finished (UTC)": utc_text(run["finished_at"]),
                "outcome": NO_NEW_RECORDS if run["nothing_new"] else NEW_RECORDS,
            }
            for run in last_runs
        ],
        "last-runs",
    )


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def show_dead_letters() -> None:
    st.subheader("Dead letters by stage and reason")
    reasons = rows_or_stop(*REJECTION_REASONS_QUERY)
    if not reasons:
        st.caption("No dead letters.")
        return
    table_with_download(reasons, "dead-letters-by-reason")
    choice: dict[str, Any] | None = st.selectbox(
        "Show the messages of",
        reasons,
        index=None,
        format_func=lambda r: f"{r['stage']} · {r['reason']} ({r['rejections']})",
        key="dead_letter_choice",
        placeholder="a stage and reason",
    )
    if choice is None:
        return
    for row in rows_or_stop(*rejections_query(choice["stage"], choice["reason"], 50)):
        label = row["record_id"] or f"{row['kafka_topic']}[{row['kafka_partition']}]"
        with st.expander(f"{label} · offset {row['kafka_offset']}"):
            st.caption("; ".join(row["reasons"]))
            payload = row["payload"] or ""
            try:
                st.json(json.loads(payload))
            except ValueError:
                st.code(payload, language="xml" if payload.lstrip().startswith("<") else None)


def main() -> None:
    st.title("Pipeline")
    counts = rows_or_stop(*STAGE_COUNTS_QUERY)
    columns = st.columns(len(counts))
    for column, row in zip(columns, counts, strict=True):
        column.metric(row["table_name"], f"{row['rows']:,}")
    show_last_runs()
    show_lag()
    show_throughput()
    show_dead_letters()


main()
