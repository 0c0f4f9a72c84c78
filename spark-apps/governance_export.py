"""Export of the embargo tables into PostgreSQL: governance/embargoes -> heritage.embargoes
(the newest state per object; an older state_version never overwrites a newer one) and
governance/embargo_events -> heritage.publication_events (append-only, once per event_id)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg2
import psycopg2.errors
from psycopg2.extras import execute_values
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, LongType, TimestampType

from heritage.embargo_states import EmbargoState
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings
from heritage.spark_apps.export_spec import ExportSpec
from heritage.spark_apps.ml_export import latest_keyed_changes
from heritage.table_schemas import EMBARGO_EVENTS, EMBARGOES

STATES_TABLE = "heritage.embargoes"
EVENTS_TABLE = "heritage.publication_events"
_PG_TYPES = {IntegerType(): "integer", LongType(): "bigint"}


def _columns(fields: list, skip: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """(column, staging type): instants as microseconds since the epoch (bigint: a text form
    would depend on the Spark session's zone), numbers as numbers, the rest as text."""
    return tuple(
        (f.name, "bigint" if f.dataType == TimestampType() else _PG_TYPES.get(f.dataType, "text"))
        for f in fields
        if f.name not in skip
    )


STATE_STAGING = _columns(EMBARGOES.fields, skip=("outbox", "source_inputs"))
EVENT_STAGING = _columns(EMBARGO_EVENTS.fields)
_STATE_TIMES = tuple(f.name for f in EMBARGOES.fields if f.dataType == TimestampType())
_EVENT_TIMES = tuple(f.name for f in EMBARGO_EVENTS.fields if f.dataType == TimestampType())


def _staged(names: tuple[str, ...], times: tuple[str, ...]) -> list:
    return [F.unix_micros(n).alias(n) if n in times else F.col(n) for n in names]


def _values(names: tuple[str, ...], times: tuple[str, ...], json: tuple[str, ...] = ()) -> str:
    return ", ".join(
        f"timestamptz 'epoch' + {n} * interval '1 microsecond'"
        if n in times
        else f"{n}::jsonb"
        if n in json
        else n
        for n in names
    )


def _state_upsert() -> str:
    names = tuple(n for n, _ in STATE_STAGING)
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n != "object_id")
    return (
        f"INSERT INTO {STATES_TABLE} AS t ({', '.join(names)})"
        f" SELECT {_values(names, _STATE_TIMES)} FROM export_staging WHERE NOT is_delete"
        f" ON CONFLICT (object_id) DO UPDATE SET {updates}"
        " WHERE EXCLUDED.state_version > t.state_version"
    )


def _event_insert() -> str:
    names = tuple(n for n, _ in EVENT_STAGING)
    return (
        f"INSERT INTO {EVENTS_TABLE} ({', '.join(names)})"
        f" SELECT {_values(names, _EVENT_TIMES, ('rights_check',))} FROM export_staging"
        " ON CONFLICT (event_id) DO NOTHING"
    )


def new_events(changes: DataFrame) -> DataFrame:
    names = tuple(n for n, _ in EVENT_STAGING)
    return changes.filter(F.col("_change_type") == "insert").select(*_staged(names, _EVENT_TIMES))


def write_serving_states(settings: Settings, database: str, states: Sequence[EmbargoState]) -> None:
    """Upsert states a run just committed into heritage.embargoes, at once: the IIIF probe and
    image routes read it, so an object leaves public view with its commit, not with the next
    export (which writes the same rows; an older state_version never overwrites a newer)."""
    names = tuple(n for n, _ in STATE_STAGING)
    rows = [tuple(getattr(state, name) for name in names) for state in states]
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n != "object_id")
    statement = (
        f"INSERT INTO {STATES_TABLE} AS t ({', '.join(names)}) VALUES %s"
        f" ON CONFLICT (object_id) DO UPDATE SET {updates}"
        " WHERE EXCLUDED.state_version > t.state_version"
    )
    connection = connect(settings, database)
    try:
        with connection, connection.cursor() as cursor:
            execute_values(cursor, statement, rows, page_size=1000)
    except psycopg2.errors.UndefinedTable:
        return  # no schema yet: the export creates nothing either; it applies it first
    finally:
        connection.close()


def governance_export_specs(layout: LakehouseLayout) -> tuple[ExportSpec, ...]:
    state_names = tuple(n for n, _ in STATE_STAGING)
    states = ExportSpec(
        source=layout.governance_embargoes,
        table=STATES_TABLE,
        to_rows=latest_keyed_changes(("object_id",), _staged(state_names, _STATE_TIMES)),
        staging=(*STATE_STAGING, ("is_delete", "boolean")),
        apply=(_state_upsert(),),
        optional=True,
    )
    events = ExportSpec(
        source=layout.governance_embargo_events,
        table=EVENTS_TABLE,
        to_rows=new_events,
        staging=EVENT_STAGING,
        apply=(_event_insert(),),
        optional=True,
    )
    return states, events
