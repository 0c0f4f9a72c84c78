"""governance/embargoes and governance/embargo_events on Delta: reading the states a run
needs, committing transitions, and copying committed outboxes into the events table.

A run's transitions are one MERGE into governance/embargoes: a row is updated only where
its ``state_version`` is still the one the run read (``base_version``), and inserted only
where the run registered it (base 0), so a row another writer changed meanwhile is left
alone and looked at again next run. Each changed row carries its events (``outbox``) in
that same commit, so a transition and its events are committed together or not at all.
The events are then appended to governance/embargo_events from the state table's change
data feed, once per state version (a txnAppId guard), with the version they reach as the
commit's userMetadata: a run killed before the copy leaves it to the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from heritage.change_tracking import changes_since, commit_metadata, consumed_positions
from heritage.delta_tables import USER_METADATA, append_once, ensure_delta_table
from heritage.embargo_states import EmbargoState
from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.embargo_rows import micros, outbox_events, read_states, state_rows
from heritage.spark_apps.publication_plan import Transition
from heritage.table_schemas import EMBARGO_EVENTS, EMBARGOES

# userMetadata keys: what the state commits consumed (curated version, decision id), and
# the state version the events table has copied.
PUBLICATION_STAGE = "publication"
OUTBOX_COPY = "outbox"
_OUTBOX_APP = "heritage-embargo-outbox"
# States the evaluator looks at; published is terminal for an episode.
OPEN_STATES = ("active", "expired", "pending_review")


def ensure_governance_tables(spark: SparkSession, layout: LakehouseLayout) -> None:
    ensure_delta_table(
        spark,
        layout.governance_embargoes,
        EMBARGOES,
        change_data_feed=True,
        deletion_vectors=True,
    )
    ensure_delta_table(
        spark, layout.governance_embargo_events, EMBARGO_EVENTS, change_data_feed=True
    )


def states_table(spark: SparkSession, layout: LakehouseLayout) -> DataFrame:
    return spark.read.format("delta").load(layout.governance_embargoes)


def due_states(
    spark: SparkSession, layout: LakehouseLayout, as_of: datetime
) -> tuple[list[EmbargoState], dict[str, str | None]]:
    """The open states whose end is not after ``as_of`` (file statistics on the end skip
    the rest); whether each has ended is decided by ``is_expired`` alone."""
    states = states_table(spark, layout)
    end_reached = F.col("embargo_end_utc") <= F.timestamp_micros(F.lit(micros(as_of)))
    return read_states(states.filter(F.col("state").isin(*OPEN_STATES) & end_reached))


def states_of(frame: DataFrame, ids: DataFrame) -> DataFrame:
    """The rows of ``frame`` (governance/embargoes) whose object_id is in ``ids`` (column
    ``object_id``)."""
    return frame.join(ids.select("object_id").distinct(), "object_id", how="left_semi")


def consumed(spark: SparkSession, layout: LakehouseLayout) -> dict[str, int]:
    """What the newest state commit recorded as consumed: ``curated`` (version) and
    ``decision`` (id); empty before the first."""
    found = consumed_positions(spark, layout.governance_embargoes, PUBLICATION_STAGE)
    return {} if found is None else found[1]


def commit_transitions(
    spark: SparkSession,
    layout: LakehouseLayout,
    transitions: Sequence[Transition],
    positions: dict[str, int],
) -> int:
    """MERGE the new states (with their outboxes) in one commit recording ``positions``;
    returns how many rows it wrote (fewer than ``transitions`` when another writer changed
    some of them since they were read)."""
    source = state_rows(spark, transitions)
    columns: dict[str, str | Column] = {f.name: F.col(f"s.{f.name}") for f in EMBARGOES.fields}
    merge = (
        DeltaTable.forPath(spark, layout.governance_embargoes)
        .alias("t")
        .merge(source.alias("s"), "t.object_id = s.object_id")
        .whenMatchedUpdate(condition="t.state_version = s.base_version", set=columns)
        .whenNotMatchedInsert(condition="s.base_version = 0", values=columns)
    )
    spark.conf.set(USER_METADATA, commit_metadata(PUBLICATION_STAGE, positions))
    try:
        metrics = merge.execute().first()
    finally:
        spark.conf.unset(USER_METADATA)
    if metrics is None:
        return len(transitions)
    return int(metrics["num_updated_rows"]) + int(metrics["num_inserted_rows"])


def copy_outboxes(spark: SparkSession, layout: LakehouseLayout, correlation_id: str) -> int:
    """Append the events of every state commit not yet copied; returns how many."""
    found = consumed_positions(spark, layout.governance_embargo_events, OUTBOX_COPY)
    copied = -1 if found is None else found[1].get("embargoes", -1)
    changes = changes_since(spark, layout.governance_embargoes, copied)
    if changes.nothing_new:
        return 0
    changed = changes.feed(spark).filter(F.col("_change_type").isin("insert", "update_postimage"))
    events = outbox_events(changed, correlation_id, datetime.now(UTC)).cache()
    try:
        count = events.count()
        append_once(
            events,
            layout.governance_embargo_events,
            (_OUTBOX_APP, changes.upto),
            commit_metadata(OUTBOX_COPY, {"embargoes": changes.upto}),
        )
    finally:
        events.unpersist()
    return count
