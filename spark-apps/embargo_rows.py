"""Embargo states and events between Python and Delta rows, with every instant carried as
microseconds since the epoch: a timestamp collected into Python is a naive datetime in the
process's time zone, and one created from Python depends on it, so neither is used."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from heritage.embargo_states import NO_EMBARGO_END, EmbargoEvent, EmbargoInputs, EmbargoState
from heritage.spark_apps.publication_plan import Transition
from heritage.table_schemas import (
    CURATED_RECORDS,
    EMBARGO_EVENTS,
    EMBARGOES,
    with_absent_columns,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATE_TIMES = ("embargo_end_utc", "updated_at")
EVENT_TIMES = ("as_of", "embargo_end_utc")
# Columns of EMBARGO_EVENTS that are not fields of EmbargoEvent.
RUN_COLUMNS = ("correlation_id", "created_at")
NO_EMBARGO_RULE = "none"


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware instant."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; instants are stored in UTC")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def instant(value: int) -> datetime:
    """The aware UTC instant of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=value)


def read_states(frame: DataFrame) -> tuple[list[EmbargoState], dict[str, str | None]]:
    """Rows of governance/embargoes -> (states, source digest by object id), collected."""
    names = [f.name for f in fields(EmbargoState)]
    selected = frame.select(
        *[F.unix_micros(n).alias(n) if n in STATE_TIMES else F.col(n) for n in names],
        "source_inputs",
    )
    states = []
    source_inputs_by_id: dict[str, str | None] = {}
    for row in selected.toLocalIterator(prefetchPartitions=True):
        values: dict[str, Any] = {n: instant(row[n]) if n in STATE_TIMES else row[n] for n in names}
        states.append(EmbargoState(**values))
        source_inputs_by_id[row["object_id"]] = row["source_inputs"]
    return states, source_inputs_by_id


def read_inputs(curated: DataFrame) -> DataFrame:
    """Curated rows -> what each says of its embargo (EmbargoInputs columns, the end as
    microseconds; no embargo: the epoch and rule ``none``). A version of the table written
    before the embargo columns existed reads as having none."""
    curated = with_absent_columns(curated, CURATED_RECORDS)
    has_end = F.col("embargo_end_utc").isNotNull()
    return curated.select(
        F.col("record_id").alias("object_id"),
        F.when(has_end, F.coalesce("embargo_until", F.lit(""))).otherwise("").alias("end_input"),
        F.when(has_end, F.coalesce("embargo_zone", F.lit("UTC")))
        .otherwise("UTC")
        .alias("end_input_zone"),
        F.when(has_end, F.col("embargo_rule")).otherwise(NO_EMBARGO_RULE).alias("end_rule"),
        F.when(has_end, F.unix_micros("embargo_end_utc"))
        .otherwise(micros(NO_EMBARGO_END))
        .alias("embargo_end_utc"),
        "rights_uri",
        "data_provider",
        "creator_death_year",
    )


def collect_inputs(inputs: DataFrame) -> list[EmbargoInputs]:
    names = [f.name for f in fields(EmbargoInputs)]
    found = []
    for row in inputs.select(*names).toLocalIterator(prefetchPartitions=True):
        values: dict[str, Any] = {n: row[n] for n in names}
        values["embargo_end_utc"] = instant(row["embargo_end_utc"])
        found.append(EmbargoInputs(**values))
    return found


def _event_record(event: EmbargoEvent) -> dict[str, Any]:
    record = asdict(event)
    for name in EVENT_TIMES:
        record[name] = micros(record[name])
    return record


def events_json(events: Sequence[EmbargoEvent]) -> str:
    """The outbox value of a state row: its events, instants as microseconds."""
    return json.dumps([_event_record(e) for e in events], sort_keys=True, ensure_ascii=False)


def event_from_record(record: Mapping[str, Any]) -> EmbargoEvent:
    values: dict[str, Any] = {f.name: record.get(f.name) for f in fields(EmbargoEvent)}
    for name in EVENT_TIMES:
        values[name] = instant(int(record[name]))
    return EmbargoEvent(**values)


def _wire_schema(schema: StructType, times: Iterable[str]) -> StructType:
    """``schema`` with the timestamp columns as longs (microseconds)."""
    wanted = set(times)
    return StructType(
        [
            StructField(f.name, LongType(), f.nullable) if f.name in wanted else f
            for f in schema.fields
        ]
    )


def state_rows(spark: SparkSession, transitions: Sequence[Transition]) -> DataFrame:
    """Transitions -> rows in the schema of governance/embargoes plus ``base_version`` (the
    version each was read at)."""
    names = [f.name for f in EMBARGOES.fields]
    wire = StructType(
        [
            *_wire_schema(EMBARGOES, STATE_TIMES).fields,
            StructField("base_version", LongType(), False),
        ]
    )
    rows = []
    for transition in transitions:
        record = asdict(transition.state)
        for name in STATE_TIMES:
            record[name] = micros(record[name])
        record["outbox"] = events_json(transition.events) if transition.events else None
        record["source_inputs"] = transition.source_inputs
        rows.append(tuple([record[n] for n in names] + [transition.base_version]))
    frame = spark.createDataFrame(rows, wire)
    return frame.select(
        *[_timestamp(n) if n in STATE_TIMES else F.col(n) for n in names], "base_version"
    )


def _timestamp(name: str) -> Column:
    return F.timestamp_micros(F.col(name)).alias(name)


# The outbox JSON as Spark reads it (instants as microseconds).
_OUTBOX_SCHEMA = _wire_schema(
    StructType([f for f in EMBARGO_EVENTS.fields if f.name not in RUN_COLUMNS]), EVENT_TIMES
)


def outbox_events(states: DataFrame, correlation_id: str, created_at: datetime) -> DataFrame:
    """State rows (with ``outbox``) -> their events in the schema of governance/embargo_events."""
    exploded = states.filter(F.col("outbox").isNotNull()).select(
        F.explode(F.from_json("outbox", f"array<{_OUTBOX_SCHEMA.simpleString()}>")).alias("e")
    )
    columns = []
    for field in EMBARGO_EVENTS.fields:
        if field.name == "correlation_id":
            columns.append(F.lit(correlation_id).cast(StringType()).alias(field.name))
        elif field.name == "created_at":
            columns.append(F.timestamp_micros(F.lit(micros(created_at))).alias(field.name))
        elif field.name in EVENT_TIMES:
            columns.append(F.timestamp_micros(F.col(f"e.{field.name}")).alias(field.name))
        else:
            columns.append(F.col(f"e.{field.name}").cast(field.dataType).alias(field.name))
    return exploded.select(*columns)
