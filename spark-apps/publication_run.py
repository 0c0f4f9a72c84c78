"""One run of embargo evaluation and publication, at a given instant.

1. Copy any committed outbox a killed run left behind into governance/embargo_events.
2. Read what changed: curated records since the last run (their embargo inputs and rights;
   ``sync``), the curators' decisions since the last one applied, and the open states whose
   end is not after ``as_of``.
3. Plan every transition (publication_plan, pure) and commit them in one MERGE with their
   events, guarded by each row's state_version.
4. Copy the new events, publish them to Kafka, and regenerate or withdraw IIIF manifests.

Running it again at the same instant finds nothing to do: no event and no Delta version.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import SparkSession

from heritage.change_tracking import commit_metadata, curated_changes_since
from heritage.delta_tables import commit_marker, table_version
from heritage.embargo_states import CuratorDecision, EmbargoInputs, EmbargoState
from heritage.lakehouse_layout import LakehouseLayout
from heritage.publication_settings import PublicationPolicy, load_publication_policy
from heritage.settings import Settings
from heritage.spark_apps.embargo_rows import collect_inputs, read_inputs, read_states
from heritage.spark_apps.embargo_store import (
    PUBLICATION_STAGE,
    commit_transitions,
    consumed,
    copy_outboxes,
    due_states,
    ensure_governance_tables,
    states_of,
    states_table,
)
from heritage.spark_apps.governance_export import write_serving_states
from heritage.spark_apps.iiif_manifest_export import ManifestExport, export_manifests
from heritage.spark_apps.publication_decisions import curator_decisions, read_decisions
from heritage.spark_apps.publication_events import publish_committed_events
from heritage.spark_apps.publication_plan import Transition, plan_transitions

# Objects per MERGE (HERITAGE_PUBLICATION_BATCH): bounds one commit, and the rows sent to
# Spark at once, when a whole collection arrives in one run.
DEFAULT_BATCH = 50_000


@dataclass(frozen=True)
class PublicationRun:
    as_of: datetime
    # Objects whose source inputs were read, decisions read, open states due.
    synced: int
    decisions: int
    due: int
    # Objects that changed, and the events committed and sent by this run.
    changed: int
    events: int
    sent: int
    manifests: ManifestExport | None
    # Seconds per step: read, plan, commit, events, kafka, manifests.
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def did_nothing(self) -> bool:
        return self.changed == 0 and self.events == 0 and self.sent == 0


def run_publication(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    as_of: datetime,
    sync: bool = True,
    manifests: bool = True,
) -> PublicationRun:
    """Evaluate every object at ``as_of`` (an aware instant) and publish what changed."""
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no time zone; give an instant")
    correlation_id = str(uuid.uuid4())
    clock = _StepClock()
    ensure_governance_tables(spark, layout)
    copied = copy_outboxes(spark, layout, correlation_id)
    positions = consumed(spark, layout)
    read = _read_changes(spark, settings, layout, as_of, positions, sync)
    clock.lap("read")
    transitions = plan_transitions(
        read.current, read.inputs, read.decisions, as_of, read.policy, read.said
    )
    clock.lap("plan")
    _commit_in_batches(
        spark, settings, layout, transitions, positions, read.positions, _batch_size(settings)
    )
    clock.lap("commit")
    copied += copy_outboxes(spark, layout, correlation_id)
    clock.lap("events")
    sent = publish_committed_events(spark, settings, layout)
    clock.lap("kafka")
    exported = export_manifests(spark, settings, layout) if manifests else None
    clock.lap("manifests")
    return PublicationRun(
        as_of=as_of,
        synced=len(read.inputs),
        decisions=len(read.decisions),
        due=read.due,
        changed=len(transitions),
        events=copied,
        sent=sent,
        manifests=exported,
        seconds=clock.laps,
    )


def _batch_size(settings: Settings) -> int:
    text = settings.value("HERITAGE_PUBLICATION_BATCH", str(DEFAULT_BATCH)).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"HERITAGE_PUBLICATION_BATCH={text!r} must be a whole number >= 1")
    return int(text)


def _commit_in_batches(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    transitions: Sequence[Transition],
    before: dict[str, int],
    after: dict[str, int],
    batch: int,
) -> None:
    """One MERGE per ``batch`` objects. Only the last records the positions the run reached,
    so a run stopped between batches reads the same inputs again; the objects already
    committed then have nothing new to do. A batch some of whose rows another writer changed
    since they were read leaves the positions where they were, for the same reason."""
    if not transitions:
        if after != before:
            marker = commit_metadata(PUBLICATION_STAGE, after)
            commit_marker(spark, layout.governance_embargoes, marker, str(after))
        return
    skipped = False
    starts = range(0, len(transitions), batch)
    for start in starts:
        chunk = transitions[start : start + batch]
        last = start == starts[-1]
        written = commit_transitions(
            spark, layout, chunk, after if last and not skipped else before
        )
        if written == len(chunk):
            write_serving_states(settings, layout.pg_database, [t.state for t in chunk])
            continue
        skipped = True
        if last:
            marker = commit_metadata(PUBLICATION_STAGE, before)
            commit_marker(spark, layout.governance_embargoes, marker, str(before))


@dataclass
class _Read:
    """What one run read: the states it looked at, the sources' inputs, the decisions."""

    policy: PublicationPolicy
    positions: dict[str, int]
    current: dict[str, EmbargoState] = field(default_factory=dict)
    said: dict[str, str | None] = field(default_factory=dict)
    inputs: list[EmbargoInputs] = field(default_factory=list)
    decisions: list[CuratorDecision] = field(default_factory=list)
    due: int = 0

    def add(self, read: tuple[list[EmbargoState], dict[str, str | None]]) -> None:
        self.current.update((state.object_id, state) for state in read[0])
        self.said.update(read[1])


def _read_changes(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    as_of: datetime,
    positions: dict[str, int],
    sync: bool,
) -> _Read:
    """The curated records changed since the last run (``sync``), the curators' decisions
    after the last one applied, and the open states due at ``as_of``, with the states of
    every object they name and the positions they bring the run to."""
    read = _Read(load_publication_policy(settings), dict(positions))
    if sync and table_version(spark, layout.curated_records) >= 0:
        changes = curated_changes_since(spark, layout, positions.get("curated", -1))
        if changes is not None:
            inputs = read_inputs(changes.written).cache()
            read.inputs = collect_inputs(inputs)
            read.add(read_states(states_of(states_table(spark, layout), inputs)))
            inputs.unpersist()
            read.positions["curated"] = changes.version
    rows = read_decisions(settings, layout.pg_database, positions.get("decision", 0))
    read.decisions = curator_decisions(rows, read.policy)
    if read.decisions:
        read.positions["decision"] = max(d.decision_id for d in read.decisions)
        ids = spark.createDataFrame([(d.object_id,) for d in read.decisions], "object_id string")
        read.add(read_states(states_of(states_table(spark, layout), ids)))
    due = due_states(spark, layout, as_of)
    read.due = len(due[0])
    read.add(due)
    return read


class _StepClock:
    """Seconds per step of a run, for the summary and the benchmark."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round(now - self._last, 3)
        self._last = now
