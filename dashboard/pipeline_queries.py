"""The Pipeline page's queries over ``analytics.pipeline_runs``: each stage's last run and its
recent runs, with the start and end of every stage run.

A row's ``finished_at`` is the stage's own end; its start is that end minus its seconds. A run
with ``rows = 0`` found nothing new (the stage contract's idle result).
"""

from __future__ import annotations

from typing import Any

Query = tuple[str, tuple[Any, ...]]

# Runs per stage the throughput chart shows unless the page's control says otherwise.
DEFAULT_RUNS_PER_STAGE = 20
MAX_RUNS_PER_STAGE = 500

_RUN_COLUMNS = (
    "stage, rows, seconds, "
    "finished_at - make_interval(secs => seconds) AS started_at, finished_at, "
    "rows = 0 AS nothing_new"
)

LAST_RUNS_QUERY: Query = (
    "SELECT DISTINCT ON (stage) "
    + _RUN_COLUMNS
    + " FROM analytics.pipeline_runs ORDER BY stage, finished_at DESC, run_id DESC",
    (),
)


def recent_runs_query(runs_per_stage: int) -> Query:
    """The last ``runs_per_stage`` runs of every stage, oldest first, with rows per second
    (null for a run that took no measurable time)."""
    if not 1 <= runs_per_stage <= MAX_RUNS_PER_STAGE:
        raise ValueError(
            f"runs per stage must be within 1..{MAX_RUNS_PER_STAGE}, got {runs_per_stage}"
        )
    return (
        "SELECT "
        + _RUN_COLUMNS
        + ", CASE WHEN seconds > 0 THEN rows / seconds END AS rows_per_second "
        "FROM (SELECT *, row_number() OVER "
        "(PARTITION BY stage ORDER BY finished_at DESC, run_id DESC) AS recency "
        "FROM analytics.pipeline_runs) AS runs "
        "WHERE recency <= %s ORDER BY finished_at, stage",
        (runs_per_stage,),
    )
