"""Export of audit/ingest_events into PostgreSQL: the events, the stored package versions and
their files.

audit/ingest_events is append-only, so its change data feed holds inserts only; each one is
staged once and applied with ``ON CONFLICT DO NOTHING``, which makes a replayed export (the
same commits again) insert nothing twice. The storing event of a stored version carries its
JSON manifest: PostgreSQL unpacks it into ``heritage.packages`` and ``heritage.package_files``
in the same transaction as the events, so a version is visible with all of its files or not
at all.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from heritage.curated_columns import TIMESTAMP_TEXT
from heritage.lakehouse_layout import LakehouseLayout
from heritage.spark_apps.export_spec import ExportSpec
from heritage.table_schemas import INGEST_EVENTS

EVENTS_TABLE = "heritage.ingest_events"
_TIMESTAMPS = ("started_at", "ended_at")
_POSTGRES_TYPES = {"package_version": "integer"}
# (column, PostgreSQL type) of the staging table: every column of INGEST_EVENTS, times as text.
EVENT_STAGING: tuple[tuple[str, str], ...] = tuple(
    (field.name, _POSTGRES_TYPES.get(field.name, "text")) for field in INGEST_EVENTS.fields
)
_EVENT_COLUMNS = tuple(name for name, _ in EVENT_STAGING)


def new_event_rows(changes: DataFrame) -> DataFrame:
    """Change-feed rows -> staged event rows (``EVENT_STAGING`` order); the table is
    append-only, so only inserts carry events."""
    return changes.filter(F.col("_change_type") == "insert").select(
        *(
            F.date_format(name, TIMESTAMP_TEXT).alias(name) if name in _TIMESTAMPS else name
            for name in _EVENT_COLUMNS
        )
    )


def _insert_events() -> str:
    values = ", ".join(f"{c}::timestamptz" if c in _TIMESTAMPS else c for c in _EVENT_COLUMNS)
    return (
        f"INSERT INTO {EVENTS_TABLE} ({', '.join(_EVENT_COLUMNS)})"
        f" SELECT {values} FROM export_staging ON CONFLICT (event_id) DO NOTHING"
    )


# The staged storing events of stored versions, with their manifest parsed (``m``); a
# manifest that is not a JSON object is left out (its event is still exported).
_STORED_VERSIONS = (
    "WITH stored AS ("
    " SELECT s.workflow_id, s.package_id, s.package_version, s.submission, s.ended_at,"
    " heritage.jsonb_or_null(s.manifest) AS m FROM export_staging s"
    " WHERE s.step = 'store' AND s.outcome = 'success' AND s.manifest IS NOT NULL"
    "), manifests AS ("
    " SELECT workflow_id, submission, ended_at, m,"
    " coalesce(m->>'package_id', package_id) AS package_id,"
    " coalesce((m->>'version')::integer, package_version) AS version"
    " FROM stored WHERE jsonb_typeof(m) = 'object'"
    ")"
)

INSERT_PACKAGES = (
    f"{_STORED_VERSIONS} INSERT INTO heritage.packages (package_id, version, workflow_id,"
    " record_id, title, fingerprint, submission, file_count, total_bytes, stored_at, metadata,"
    " diff) SELECT package_id, version, workflow_id, m->>'record_id',"
    " m->'metadata'->'title'->>0, m->>'fingerprint', coalesce(m->>'submission', submission),"
    " coalesce(jsonb_array_length(m->'files'), 0),"
    " (SELECT coalesce(sum((f->>'size')::bigint), 0)"
    "  FROM jsonb_array_elements(coalesce(m->'files', '[]'::jsonb)) f),"
    " coalesce((m->>'stored_at')::timestamptz, ended_at::timestamptz),"
    " coalesce(m->'metadata', '{}'::jsonb), nullif(m->'diff', 'null'::jsonb)"
    " FROM manifests WHERE version IS NOT NULL"
    " ON CONFLICT (package_id, version) DO NOTHING"
)

# Files only of the version row the workflow's own manifest made: should two workflows
# claim one version, its files all come from the one that was inserted.
INSERT_PACKAGE_FILES = (
    f"{_STORED_VERSIONS} INSERT INTO heritage.package_files (package_id, version, path,"
    " original_path, sha256, size, blob_key, container, puid, format_name, mime,"
    " checksum_status, supplied_checksums, virus_verdict, virus_signature)"
    " SELECT p.package_id, p.version, f->>'path', f->>'original_path', f->>'sha256',"
    " (f->>'size')::bigint, f->>'blob_key', coalesce((f->>'container')::boolean, false),"
    " f->>'puid', f->>'format_name', f->>'mime', f->>'checksum_status',"
    " nullif(f->'supplied_checksums', 'null'::jsonb), f->>'virus_verdict',"
    " f->>'virus_signature'"
    " FROM manifests s"
    " JOIN heritage.packages p ON p.package_id = s.package_id AND p.version = s.version"
    " AND p.workflow_id = s.workflow_id,"
    " jsonb_array_elements(coalesce(s.m->'files', '[]'::jsonb)) f"
    " ON CONFLICT (package_id, version, path) DO NOTHING"
)


def package_events_spec(layout: LakehouseLayout) -> ExportSpec:
    """The ingest events' export: the events, then the versions and files their manifests
    describe, from one staging table."""
    return ExportSpec(
        source=layout.ingest_events,
        table=EVENTS_TABLE,
        to_rows=new_event_rows,
        staging=EVENT_STAGING,
        apply=(_insert_events(), INSERT_PACKAGES, INSERT_PACKAGE_FILES),
        # The package workflow writes the table on its first submission.
        optional=True,
    )
