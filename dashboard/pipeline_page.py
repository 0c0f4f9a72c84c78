"""Pipeline: counts per stage, Kafka consumer lag, throughput over time, and dead letters by
stage and reason with their payloads. Reads PostgreSQL and Kafka only; never starts Spark."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from heritage.dashboard.explorer_queries import (
    LAST_RUNS_QUERY,
    LATEST_RAW_OFFSETS_QUERY,
    REJECTION_REASONS_QUERY,
    STAGE_COUNTS_QUERY,
    rejections_query,
    throughput_query,
)
from heritage.dashboard.page_support import rows_or_stop, table_with_download
from heritage.kafka_lag import partition_lags
from heritage.kafka_topics import topic_end_offsets
from heritage.settings import load_settings


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
    st.caption(f"as of the raw run finished at {latest[0]['finished_at']:%Y-%m-%d %H:%M:%S %Z}")
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
    st.subheader("Throughput over time")
    runs = rows_or_stop(*throughput_query(500))
    if not runs:
        st.info("No pipeline runs recorded yet (`heritage lakehouse run` records one per stage).")
        return
    frame = pd.DataFrame(runs)
    frame["rows_per_second"] = frame["rows_per_second"].astype(float)
    chart = frame.pivot_table(
        index="finished_at", columns="stage", values="rows_per_second", aggfunc="mean"
    )
    st.line_chart(chart, y_label="rows per second", x_label="run finished at")


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
    st.subheader("Last run of each stage")
    last_runs = rows_or_stop(*LAST_RUNS_QUERY)
    if last_runs:
        table_with_download(last_runs, "last-runs")
    else:
        st.info("No pipeline runs recorded yet (`heritage lakehouse run` records one per stage).")
    show_lag()
    show_throughput()
    show_dead_letters()


main()
