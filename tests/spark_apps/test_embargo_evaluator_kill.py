"""The evaluator under SIGKILL: `heritage embargo evaluate` is killed at random moments and
run again until it completes; no event is lost, none is duplicated, the events replay to
the state table, the topic carries every event, and the states are those a fault-free
evaluation gives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from topic_reader import TopicReader

from heritage.embargo_states import NO_EMBARGO_END, EmbargoEvent, EmbargoInputs, replay
from heritage.lakehouse_layout import LakehouseLayout
from heritage.publication_settings import load_publication_policy
from heritage.settings import Settings
from heritage.spark_apps.embargo_rows import instant, read_states
from heritage.spark_apps.embargo_store import (
    commit_transitions,
    copy_outboxes,
    ensure_governance_tables,
    states_table,
)
from heritage.spark_apps.publication_plan import plan_transitions

pytestmark = [pytest.mark.integration, pytest.mark.zones]

OBJECTS = 240
REGISTERED_AT = datetime(2024, 1, 1, tzinfo=UTC)
AS_OF = "2030-01-01T00:00:00Z"
RIGHTS = (
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "http://rightsstatements.org/vocab/InC/1.0/",
    None,
    "http://creativecommons.org/licenses/by-sa/4.0/",
)


def seed_inputs() -> list[EmbargoInputs]:
    """Objects whose embargoes end before, at and after AS_OF, or that have none."""
    as_of = datetime(2030, 1, 1, tzinfo=UTC)
    ends = (as_of - timedelta(days=400), as_of, as_of + timedelta(microseconds=1), NO_EMBARGO_END)
    found = []
    for index in range(OBJECTS):
        end = ends[index % len(ends)]
        none = end == NO_EMBARGO_END
        found.append(
            EmbargoInputs(
                object_id=f"kill:/{index}",
                end_input="" if none else end.isoformat(),
                end_input_zone="UTC",
                end_rule="none" if none else "instant",
                embargo_end_utc=end,
                rights_uri=RIGHTS[index % len(RIGHTS)],
                data_provider="Kill Museum",
                creator_death_year=1890 if index % 8 == 1 else None,
            )
        )
    return found


def events_in_table(spark: SparkSession, layout: LakehouseLayout) -> list[EmbargoEvent]:
    names = [f.name for f in fields(EmbargoEvent)]
    times = ("as_of", "embargo_end_utc")
    frame = spark.read.format("delta").load(layout.governance_embargo_events)
    selected = frame.select(*[F.unix_micros(n).alias(n) if n in times else n for n in names])
    events = []
    for row in selected.collect():
        values: dict[str, Any] = row.asDict()
        for name in times:
            values[name] = instant(values[name])
        events.append(EmbargoEvent(**values))
    return events


def evaluate_command(namespace: str) -> list[str]:
    return [
        sys.executable, "-m", "heritage.cli", "--log-level", "WARNING", "embargo", "evaluate",
        "--as-of", AS_OF, "--namespace", namespace, "--no-sync", "--no-manifests",
    ]  # fmt: skip


def test_a_killed_evaluator_loses_and_doubles_no_event(
    spark: SparkSession,
    live_settings: Settings,
    layout: LakehouseLayout,
    read_topic: TopicReader,
) -> None:
    ensure_governance_tables(spark, layout)
    policy = load_publication_policy(live_settings)
    registered = plan_transitions({}, seed_inputs(), (), REGISTERED_AT, policy)
    commit_transitions(spark, layout, registered, {})
    copy_outboxes(spark, layout, "seed")
    expected = replay(
        [
            *[e for t in registered for e in t.events],
            *[
                e
                for t in plan_transitions(
                    {t.state.object_id: t.state for t in registered},
                    (),
                    (),
                    datetime(2030, 1, 1, tzinfo=UTC),
                    policy,
                )
                for e in t.events
            ],
        ]
    )

    namespace = layout.table_root.partition("/ns/")[2]
    command = evaluate_command(namespace)
    rng = random.Random()
    seed = rng.randrange(1_000_000)
    kills = [round(random.Random(seed + i).uniform(6.0, 30.0), 1) for i in range(3)]
    # Small batches: a kill may also fall between two of a run's commits.
    environment = {**os.environ, "HERITAGE_PUBLICATION_BATCH": "40"}
    for delay in kills:
        process = subprocess.Popen(
            command,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=environment,
        )
        time.sleep(delay)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the JVM too: it is in the same group
        process.wait()
    finished = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    assert finished.returncode == 0, f"kills after {kills} s:\n{finished.stderr[-2000:]}"

    events = events_in_table(spark, layout)
    ids = [e.event_id for e in events]
    assert len(ids) == len(set(ids)), f"duplicated events after kills at {kills} s"
    states = read_states(states_table(spark, layout))[0]
    assert replay(events) == {s.object_id: s for s in states}
    assert {s.object_id: (s.state, s.state_version) for s in states} == {
        object_id: (state.state, state.state_version) for object_id, state in expected.items()
    }, f"kills after {kills} s"
    published = [
        dict(m.headers)["event_id"].decode() for m in read_topic.messages(layout.publication_topic)
    ]
    assert set(published) == set(ids), f"kills after {kills} s"
