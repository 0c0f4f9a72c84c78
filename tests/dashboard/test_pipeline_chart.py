"""The Pipeline page's pure parts: the rows of each stage run (their own end times), the
throughput chart's data and its spec, and the recent-runs query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

from heritage.dashboard.pipeline_chart import (
    AXIS_TIME_FORMAT,
    NO_NEW_RECORDS,
    throughput_chart,
    throughput_points,
)
from heritage.dashboard.pipeline_queries import (
    LAST_RUNS_QUERY,
    MAX_RUNS_PER_STAGE,
    recent_runs_query,
)
from heritage.pipeline_runs import StageTiming, pipeline_run_rows

# 14:05 in a zone one hour ahead of UTC: the chart must show 13:05.
START = datetime(2026, 12, 6, 14, 5, tzinfo=timezone(timedelta(hours=1)))


def run(stage: str, rows: int, seconds: float, minutes: float) -> dict[str, Any]:
    finished = START + timedelta(minutes=minutes)
    return {
        "stage": stage,
        "rows": rows,
        "seconds": seconds,
        "started_at": finished - timedelta(seconds=seconds),
        "finished_at": finished,
        "nothing_new": rows == 0,
        "rows_per_second": rows / seconds if rows else 0.0,
    }


def test_each_stage_keeps_its_own_end_time() -> None:
    rows = pipeline_run_rows(
        [StageTiming("raw", 10, 1.23456, 1_765_000_000.0), StageTiming("cleanse", 9, 2.0)],
        {"heritage.records": {"0": 10}},
    )
    assert rows == [
        (
            "raw",
            10,
            1.235,
            '{"heritage.records": {"0": 10}}',
            datetime.fromtimestamp(1_765_000_000.0, tz=UTC),
        ),
        ("cleanse", 9, 2.0, None, None),
    ]


def test_a_single_run_is_already_a_point() -> None:
    points = throughput_points([run("raw", 100, 2.0, 0)])
    assert len(points) == 1
    assert points.loc[0, "plotted_rows_per_second"] == 50.0
    assert points.loc[0, "finished_at"] == datetime(2026, 12, 6, 13, 5, tzinfo=UTC)
    assert points.loc[0, "finished"] == "2026-12-06 13:05:00 UTC"
    assert points.loc[0, "started"] == "2026-12-06 13:04:58 UTC"


def test_a_run_with_nothing_new_is_marked_at_its_stages_last_throughput() -> None:
    points = throughput_points(
        [
            run("raw", 100, 2.0, 0),
            run("cleanse", 0, 0.5, 1),  # nothing new before any busy cleanse run
            run("raw", 0, 1.0, 5),
            run("cleanse", 40, 2.0, 6),
            run("raw", 300, 3.0, 10),
        ]
    )
    by_stage: dict[str, list[tuple[str, float | None, float]]] = {}
    for point in points.itertuples():
        measured = None if pd.isna(point.rows_per_second) else point.rows_per_second
        by_stage.setdefault(point.stage, []).append(
            (point.outcome, measured, point.plotted_rows_per_second)
        )
    assert by_stage == {
        "raw": [
            ("new records", 50.0, 50.0),
            (NO_NEW_RECORDS, None, 50.0),
            ("new records", 100.0, 100.0),
        ],
        # The first run had no earlier one: it sits at the next run's throughput.
        "cleanse": [(NO_NEW_RECORDS, None, 20.0), ("new records", 20.0, 20.0)],
    }
    assert list(points["finished_at"]) == sorted(points["finished_at"])


def test_a_stage_that_never_had_anything_new_sits_at_zero() -> None:
    points = throughput_points([run("ml", 0, 0.2, 0), run("ml", 0, 0.1, 3)])
    assert points["plotted_rows_per_second"].tolist() == [0.0, 0.0]
    assert set(points["outcome"]) == {NO_NEW_RECORDS}


def test_no_runs_give_an_empty_frame() -> None:
    assert throughput_points([]).empty


def test_the_chart_has_a_24_hour_utc_axis_and_hollow_points_for_idle_runs() -> None:
    spec = throughput_chart(throughput_points([run("raw", 100, 2.0, 0)])).to_dict()
    line, filled, hollow = spec["layer"]
    x = line["encoding"]["x"]
    assert x["scale"] == {"type": "utc"}
    assert x["axis"]["format"] == AXIS_TIME_FORMAT == "%H:%M"
    assert "formatType" not in x["axis"]
    assert line["mark"] in ("line", {"type": "line"})
    assert filled["mark"]["filled"] is True
    assert hollow["mark"]["filled"] is False
    assert hollow["transform"] == [{"filter": f"(datum.outcome === '{NO_NEW_RECORDS}')"}]


def test_recent_runs_are_counted_per_stage() -> None:
    sql, params = recent_runs_query(7)
    assert "PARTITION BY stage" in sql and "recency <= %s" in sql
    assert params == (7,)
    for wrong in (0, MAX_RUNS_PER_STAGE + 1):
        with pytest.raises(ValueError, match="runs per stage"):
            recent_runs_query(wrong)
    assert "started_at" in LAST_RUNS_QUERY[0] and "nothing_new" in LAST_RUNS_QUERY[0]
