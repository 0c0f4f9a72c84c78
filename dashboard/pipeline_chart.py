"""The Pipeline page's throughput chart: rows per second of each stage over its recent runs.

Pure: the page passes the rows of ``recent_runs_query`` and shows the chart. Every run is a
point, so a single run already shows; a run that found nothing new is a hollow point at the
stage's last throughput with a "no new records" tooltip, not a drop to zero. Times are UTC
on a 24-hour axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

# Vega's time format of the axis; the UTC scale makes it format UTC times. (The axis's own
# formatType "utc" is not set: with it, Streamlit's Vega-Lite drops the format and draws
# 12-hour "06 AM" labels.)
AXIS_TIME_FORMAT = "%H:%M"
# The tooltip's times are text made here: a tooltip has no scale to say UTC.
TOOLTIP_TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
NO_NEW_RECORDS = "no new records"
NEW_RECORDS = "new records"

THROUGHPUT_COLUMNS = (
    "stage",
    "started_at",
    "finished_at",
    "rows",
    "seconds",
    "rows_per_second",
    "nothing_new",
    "plotted_rows_per_second",
    "outcome",
    "started",
    "finished",
)


def throughput_points(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run, oldest first: its times in UTC, its throughput, and the height it is
    drawn at (a run with nothing new sits at its stage's last throughput before it, else the
    next one after it, else 0)."""
    if not runs:
        return pd.DataFrame(columns=list(THROUGHPUT_COLUMNS))
    frame = pd.DataFrame([dict(run) for run in runs])
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    frame["finished_at"] = pd.to_datetime(frame["finished_at"], utc=True)
    frame["rows"] = frame["rows"].astype(int)
    frame["seconds"] = frame["seconds"].astype(float)
    frame["nothing_new"] = frame["rows"] == 0
    measured = pd.to_numeric(frame["rows_per_second"], errors="coerce").astype(float)
    frame["rows_per_second"] = measured.where(~frame["nothing_new"])
    frame = frame.sort_values(["finished_at", "stage"], kind="stable").reset_index(drop=True)
    by_stage = frame.groupby("stage")["rows_per_second"]
    carried = by_stage.ffill().fillna(by_stage.bfill()).fillna(0.0)
    frame["plotted_rows_per_second"] = frame["rows_per_second"].fillna(carried)
    frame["outcome"] = frame["nothing_new"].map({True: NO_NEW_RECORDS, False: NEW_RECORDS})
    frame["started"] = frame["started_at"].dt.strftime(TOOLTIP_TIME_FORMAT)
    frame["finished"] = frame["finished_at"].dt.strftime(TOOLTIP_TIME_FORMAT)
    return frame[list(THROUGHPUT_COLUMNS)]


def _time_axis() -> alt.X:
    return alt.X(
        "finished_at:T",
        title="stage run finished (UTC)",
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format=AXIS_TIME_FORMAT, labelAngle=0),
    )


def _tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("stage:N"),
        alt.Tooltip("outcome:N", title="outcome"),
        alt.Tooltip("rows:Q", format=","),
        alt.Tooltip("seconds:Q", format=".1f"),
        alt.Tooltip("rows_per_second:Q", title="rows per second", format=",.1f"),
        alt.Tooltip("started:N"),
        alt.Tooltip("finished:N"),
    ]


def throughput_chart(points: pd.DataFrame) -> alt.LayerChart:
    """Lines through the runs that processed records, filled points on them, hollow points
    for the runs that found nothing new."""
    base = alt.Chart(points).encode(
        x=_time_axis(),
        y=alt.Y("plotted_rows_per_second:Q", title="rows per second"),
        color=alt.Color("stage:N", title="stage"),
        tooltip=_tooltip(),
    )
    busy = base.transform_filter(alt.datum.outcome != NO_NEW_RECORDS)
    idle = base.transform_filter(alt.datum.outcome == NO_NEW_RECORDS)
    lines = busy.mark_line()
    filled = busy.mark_point(filled=True, size=50)
    hollow = idle.mark_point(filled=False, size=70, strokeWidth=2)
    return alt.LayerChart(layer=[lines, filled, hollow])
