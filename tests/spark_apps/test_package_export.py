"""The export of audit/ingest_events into PostgreSQL: events, stored versions and their files,
and the analytics views over them; a replayed export inserts nothing twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from heritage.delta_tables import ensure_delta_table
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.producers.packages.ingest_events import (
    EventLog,
    IngestEvent,
    Outcome,
    Step,
    new_workflow_id,
)
from heritage.settings import Settings
from heritage.spark_apps.package_export import (
    EVENT_STAGING,
    new_event_rows,
    package_events_spec,
)
from heritage.spark_apps.postgres_export import export_table, run_postgres_export
from heritage.table_schemas import INGEST_EVENTS

PACKAGE_ID = "hdl:123456789/42"
START = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
FILES = (
    ("thesis.pdf", "a" * 64, 1200, "fmt/18", "Acrobat PDF 1.4", "application/pdf"),
    ("data/readme.txt", "b" * 64, 34, "x-fmt/111", "Plain Text File", "text/plain"),
)


def _at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def _manifest(workflow_id: str) -> str:
    files = [
        {
            "path": path,
            "original_path": path,
            "sha256": sha256,
            "size": size,
            "blob_key": f"packages/blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}",
            "container": False,
            "puid": puid,
            "format_name": name,
            "mime": mime,
            "checksum_status": "verified" if path == "thesis.pdf" else "not_supplied",
            "supplied_checksums": {"md5": "c" * 32} if path == "thesis.pdf" else {},
            "virus_verdict": "clean",
            "virus_signature": None,
        }
        for path, sha256, size, puid, name, mime in FILES
    ]
    return json.dumps(
        {
            "package_id": PACKAGE_ID,
            "version": 1,
            "previous_version": None,
            "fingerprint": "f" * 64,
            "record_id": f"package:{PACKAGE_ID}",
            "submission": "thesis.zip",
            "workflow_id": workflow_id,
            "stored_at": "2026-12-06T05:00:09.000000Z",
            "metadata": {
                "title": ["A thesis", "Une thèse"],
                "languages": ["en"],
                "metadata_source": "mets",
            },
            "files": files,
            "diff": None,
        }
    )


def stored_workflow() -> list[IngestEvent]:
    """A workflow that stores version 1 of a package of two files."""
    log = EventLog(new_workflow_id(), "thesis.zip", "thesis.zip")
    log.add(
        Step.UNPACK,
        Outcome.SUCCESS,
        "2 files",
        tool="python-zipfile",
        started_at=_at(0),
        ended_at=_at(1),
    )
    for offset, (path, *_rest) in enumerate(FILES):
        log.add(
            Step.FORMAT,
            Outcome.SUCCESS,
            "identified",
            file_path=path,
            tool="siegfried",
            tool_version="1.11.2",
            started_at=_at(2 + offset),
            ended_at=_at(3 + offset),
        )
        log.add(
            Step.VIRUS_SCAN,
            Outcome.SUCCESS,
            "clean",
            file_path=path,
            tool="clamscan",
            tool_version="1.4.6",
            started_at=_at(4 + offset),
            ended_at=_at(5 + offset),
        )
    log.add(
        Step.STORE,
        Outcome.SUCCESS,
        "stored version 1",
        started_at=_at(8),
        ended_at=_at(9),
        manifest=_manifest(log.workflow_id),
    )
    return log.finish(PACKAGE_ID, 1)


def quarantined_workflow() -> list[IngestEvent]:
    """A workflow whose virus scan found a signature: quarantined, nothing stored."""
    log = EventLog(new_workflow_id(), "infected.zip", "infected.zip")
    log.add(Step.UNPACK, Outcome.SUCCESS, "1 file", started_at=_at(20), ended_at=_at(21))
    log.add(
        Step.VIRUS_SCAN,
        Outcome.FAILURE,
        "Eicar-Signature",
        file_path="eicar.com",
        tool="clamscan",
        started_at=_at(22),
        ended_at=_at(23),
    )
    log.add(
        Step.QUARANTINE,
        Outcome.SUCCESS,
        "virus found: Eicar-Signature in eicar.com",
        started_at=_at(24),
        ended_at=_at(25),
    )
    return log.finish("infected.zip", None)


def duplicate_workflow() -> list[IngestEvent]:
    """A later submission of the same content: found identical to version 1, not stored."""
    log = EventLog(new_workflow_id(), "thesis-again.zip", "thesis-again.zip")
    log.add(
        Step.RESUBMISSION_CHECK,
        Outcome.SUCCESS,
        "duplicate of version 1",
        started_at=_at(40),
        ended_at=_at(41),
    )
    return log.finish(PACKAGE_ID, 1)


def append_events(spark: SparkSession, path: str, events: list[IngestEvent]) -> None:
    """One commit per workflow, as the workflow writes its events."""
    rows = [tuple(event.as_row()[f.name] for f in INGEST_EVENTS.fields) for event in events]
    spark.createDataFrame(rows, INGEST_EVENTS).write.format("delta").mode("append").save(path)


def query(settings: Settings, layout: LakehouseLayout, statement: str) -> list[tuple]:
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        rows = cursor.fetchall()
    connection.close()
    return rows


def test_only_inserted_events_are_staged_with_their_times_as_text(spark: SparkSession) -> None:
    events = stored_workflow()
    rows = [
        (*(event.as_row()[f.name] for f in INGEST_EVENTS.fields), change, 1)
        for event, change in zip(events[:2], ("insert", "update_preimage"), strict=True)
    ]
    feed = spark.createDataFrame(
        rows,
        StructType(
            [
                *INGEST_EVENTS.fields,
                StructField("_change_type", StringType()),
                StructField("_commit_version", LongType()),
            ]
        ),
    )
    staged = new_event_rows(feed).collect()
    assert [row["event_id"] for row in staged] == [events[0].event_id]
    assert staged[0]["started_at"] == "2026-12-06T05:00:00.000000Z"
    assert list(staged[0].asDict()) == [name for name, _ in EVENT_STAGING]


@pytest.mark.integration
def test_events_versions_and_files_reach_postgres_once(
    spark: SparkSession, live_settings: Settings, layout: LakehouseLayout
) -> None:
    ensure_delta_table(spark, layout.ingest_events, INGEST_EVENTS, change_data_feed=True)
    stored, quarantined = stored_workflow(), quarantined_workflow()
    append_events(spark, layout.ingest_events, stored)
    append_events(spark, layout.ingest_events, quarantined)

    run_postgres_export(spark, live_settings, layout)
    counts = (
        "SELECT (SELECT count(*) FROM heritage.ingest_events), "
        "(SELECT count(*) FROM heritage.packages), (SELECT count(*) FROM heritage.package_files)"
    )
    assert query(live_settings, layout, counts) == [(len(stored) + len(quarantined), 1, 2)]
    assert query(
        live_settings,
        layout,
        "SELECT package_id, version, is_latest, status, title, file_count, total_bytes,"
        " workflow_id, diff FROM analytics.packages",
    ) == [(PACKAGE_ID, 1, True, "stored", "A thesis", 2, 1234, stored[0].workflow_id, None)]
    assert query(
        live_settings,
        layout,
        "SELECT path, size, puid, format_name, checksum_status, virus_verdict, is_latest"
        " FROM analytics.package_files ORDER BY path",
    ) == [
        ("data/readme.txt", 34, "x-fmt/111", "Plain Text File", "not_supplied", "clean", True),
        ("thesis.pdf", 1200, "fmt/18", "Acrobat PDF 1.4", "verified", "clean", True),
    ]
    assert query(
        live_settings,
        layout,
        "SELECT workflow_id, package_id, reason, failed_steps, quarantine_folder"
        " FROM analytics.package_quarantine",
    ) == [
        (
            quarantined[0].workflow_id,
            "infected.zip",
            "virus found: Eicar-Signature in eicar.com",
            ["virus_scan"],
            f"quarantine/{quarantined[0].workflow_id}/",
        )
    ]
    assert query(
        live_settings,
        layout,
        "SELECT step, file_path, tool, tool_version FROM analytics.ingest_events"
        f" WHERE workflow_id = '{stored[0].workflow_id}' AND step = 'format' ORDER BY started_at",
    ) == [
        ("format", "thesis.pdf", "siegfried", "1.11.2"),
        ("format", "data/readme.txt", "siegfried", "1.11.2"),
    ]

    # Nothing new: nothing staged. A replay of every commit (the watermark lost) doubles nothing.
    spec = package_events_spec(layout)
    assert export_table(spark, live_settings, layout.pg_database, spec).did_nothing
    forget_watermark = (
        f"DELETE FROM heritage.export_watermarks WHERE source_table = '{layout.ingest_events}'"
        " RETURNING source_table"
    )
    assert len(query(live_settings, layout, forget_watermark)) == 1
    run_postgres_export(spark, live_settings, layout)
    assert query(live_settings, layout, counts) == [(len(stored) + len(quarantined), 1, 2)]

    # The package's status is how its latest workflow ended.
    append_events(spark, layout.ingest_events, duplicate_workflow())
    run_postgres_export(spark, live_settings, layout)
    assert query(live_settings, layout, counts) == [(len(stored) + len(quarantined) + 1, 1, 2)]
    assert query(live_settings, layout, "SELECT status FROM analytics.packages") == [("duplicate",)]
