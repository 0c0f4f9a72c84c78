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

import uuid
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import SparkSession

from heritage.change_tracking import commit_metadata, curated_changes_since
from heritage.delta_tables import commit_marker, table_version
from heritage.embargo_states import EmbargoInputs, EmbargoState
from heritage.lakehouse_layout import LakehouseLayout
from heritage.publication_settings import load_publication_policy
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
from heritage.spark_apps.iiif_manifest_export import ManifestExport, export_manifests
from heritage.spark_apps.publication_decisions import curator_decisions, read_decisions
from heritage.spark_apps.publication_events import publish_committed_events
from heritage.spark_apps.publication_plan import plan_transitions


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
    ensure_governance_tables(spark, layout)
    copied = copy_outboxes(spark, layout, correlation_id)
    policy = load_publication_policy(settings)
    positions = consumed(spark, layout)
    current: dict[str, EmbargoState] = {}
    digests: dict[str, str | None] = {}
    inputs: list[EmbargoInputs] = []
    new_positions = dict(positions)
    if sync and table_version(spark, layout.curated_records) >= 0:
        changes = curated_changes_since(spark, layout, positions.get("curated", -1))
        if changes is not None:
            read = read_inputs(changes.written).cache()
            inputs = collect_inputs(read)
            _add(current, digests, read_states(states_of(states_table(spark, layout), read)))
            read.unpersist()
            new_positions["curated"] = changes.version
    decisions = curator_decisions(
        read_decisions(settings, layout.pg_database, positions.get("decision", 0)), policy
    )
    if decisions:
        new_positions["decision"] = max(d.decision_id for d in decisions)
        ids = spark.createDataFrame([(d.object_id,) for d in decisions], "object_id string")
        _add(current, digests, read_states(states_of(states_table(spark, layout), ids)))
    due = due_states(spark, layout, as_of)
    _add(current, digests, due)
    transitions = plan_transitions(current, inputs, decisions, as_of, policy, digests)
    if transitions:
        commit_transitions(spark, layout, transitions, new_positions)
    elif new_positions != positions:
        metadata = commit_metadata(PUBLICATION_STAGE, new_positions)
        commit_marker(spark, layout.governance_embargoes, metadata, str(new_positions))
    copied += copy_outboxes(spark, layout, correlation_id)
    sent = publish_committed_events(spark, settings, layout)
    exported = export_manifests(spark, settings, layout) if manifests else None
    return PublicationRun(
        as_of=as_of,
        synced=len(inputs),
        decisions=len(decisions),
        due=len(due[0]),
        changed=len(transitions),
        events=copied,
        sent=sent,
        manifests=exported,
    )


def _add(
    current: dict[str, EmbargoState],
    digests: dict[str, str | None],
    read: tuple[list[EmbargoState], dict[str, str | None]],
) -> None:
    current.update((state.object_id, state) for state in read[0])
    digests.update(read[1])
