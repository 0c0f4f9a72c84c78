"""The packages page with Streamlit's AppTest, against package rows applied the way the
export applies them; and its labels, which need no services."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from heritage.dashboard.launch import app_path
from heritage.dashboard.package_labels import (
    diff_summary,
    file_rows,
    readable_size,
    timeline_rows,
)
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
from heritage.spark_apps.package_export import package_events_spec

PACKAGE_ID = "hdl:123456789/7"
START = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


def _at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def _file(path: str, sha256: str, size: int, puid: str, name: str) -> dict[str, object]:
    return {
        "path": path,
        "original_path": path,
        "sha256": sha256,
        "size": size,
        "blob_key": f"packages/blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}",
        "container": False,
        "puid": puid,
        "format_name": name,
        "mime": "application/octet-stream",
        "checksum_status": "verified",
        "supplied_checksums": {"md5": "0" * 32},
        "virus_verdict": "clean",
        "virus_signature": None,
    }


def stored_events() -> list[IngestEvent]:
    log = EventLog(new_workflow_id(), "scans.zip", "scans.zip")
    log.add(Step.UNPACK, Outcome.SUCCESS, "2 files", started_at=_at(0), ended_at=_at(1))
    log.add(
        Step.FORMAT,
        Outcome.SUCCESS,
        "identified",
        file_path="p1.tif",
        tool="siegfried",
        tool_version="1.11.2",
        started_at=_at(2),
        ended_at=_at(3),
    )
    manifest = {
        "package_id": PACKAGE_ID,
        "version": 2,
        "previous_version": 1,
        "fingerprint": "e" * 64,
        "record_id": f"package:{PACKAGE_ID}",
        "submission": "scans.zip",
        "workflow_id": log.workflow_id,
        "stored_at": "2026-12-06T05:00:05.000000Z",
        "metadata": {"title": ["Harbour scans"], "metadata_source": "bag-info"},
        "files": [
            _file("p1.tif", "a" * 64, 2_400_000, "fmt/353", "Tagged Image File Format"),
            _file("p2.tif", "b" * 64, 2_500_000, "fmt/353", "Tagged Image File Format"),
        ],
        "diff": {"added": ["p2.tif"], "removed": [], "changed": [], "metadata_changed": []},
    }
    log.add(
        Step.STORE,
        Outcome.SUCCESS,
        "stored version 2",
        started_at=_at(4),
        ended_at=_at(5),
        manifest=json.dumps(manifest),
    )
    return log.finish(PACKAGE_ID, 2)


def quarantined_events() -> list[IngestEvent]:
    log = EventLog(new_workflow_id(), "broken.zip", "broken.zip")
    log.add(
        Step.UNPACK,
        Outcome.FAILURE,
        "refused: traversal (../etc/passwd)",
        started_at=_at(10),
        ended_at=_at(11),
    )
    log.add(
        Step.QUARANTINE,
        Outcome.SUCCESS,
        "unsafe archive: path traversal",
        started_at=_at(12),
        ended_at=_at(13),
    )
    return log.finish("broken.zip", None)


def apply_events(settings: Settings, layout: LakehouseLayout, events: list[IngestEvent]) -> None:
    """Stage the events and run the export's statements on them (the rows a Delta export
    would COPY), so the page reads what the export writes."""
    spec = package_events_spec(layout)
    names = [name for name, _ in spec.staging]
    rows = [
        tuple(value.isoformat() if isinstance(value, datetime) else value for value in row)
        for row in ([event.as_row()[name] for name in names] for event in events)
    ]
    with connect(settings, layout.pg_database) as connection, connection.cursor() as cursor:
        columns = ", ".join(f"{name} {kind}" for name, kind in spec.staging)
        cursor.execute(f"CREATE TEMP TABLE export_staging ({columns}) ON COMMIT DROP")
        cursor.executemany(
            f"INSERT INTO export_staging VALUES ({', '.join(['%s'] * len(names))})", rows
        )
        for statement in spec.apply:
            cursor.execute(statement)
    connection.close()


def open_packages_page(database: str | None = None) -> AppTest:
    if database:
        os.environ["PGDATABASE"] = database
    app = AppTest.from_file(str(app_path()), default_timeout=60).run()
    app.switch_page("packages_page.py").run()
    assert not app.exception, app.exception
    return app


def _option_index(app: AppTest, key: str, text: str) -> int:
    return next(i for i, label in enumerate(app.selectbox(key=key).options) if text in label)


@pytest.mark.integration
def test_packages_page_shows_status_timeline_files_and_quarantine(
    app_env: None, live_settings: Settings, layout: LakehouseLayout
) -> None:
    stored, quarantined = stored_events(), quarantined_events()
    apply_events(live_settings, layout, stored + quarantined)
    app = open_packages_page(layout.pg_database)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {
        "packages": "2",
        "stored versions": "1",
        "workflows": "2",
        "duplicate submissions": "0",
        "quarantined": "1",
    }
    packages = app.dataframe[0].value
    assert dict(zip(packages["Package"], packages["Status"], strict=True)) == {
        PACKAGE_ID: "Stored",
        "broken.zip": "Quarantined",
    }
    assert set(packages["Size"]) >= {"4.9 MB"}
    quarantine = app.dataframe[-1].value
    assert list(quarantine["Reason"]) == ["unsafe archive: path traversal"]
    assert list(quarantine["Failed steps"]) == ["Unpacking"]
    assert list(quarantine["Kept in"]) == [f"quarantine/{quarantined[0].workflow_id}/"]

    index = _option_index(app, "workflow_choice", PACKAGE_ID)
    app.selectbox(key="workflow_choice").select_index(index).run()
    timeline = app.dataframe[1].value
    assert list(timeline["Step"]) == ["Unpacking", "Format identification", "Storage"]
    assert list(timeline["Tool"])[1] == "siegfried 1.11.2"
    assert list(timeline["File"]) == ["", "p1.tif", ""]

    app.selectbox(key="version_choice").select_index(0).run()
    assert not app.exception, app.exception
    files = app.dataframe[2].value
    assert list(files["File"]) == ["p1.tif", "p2.tif"]
    assert set(files["Format (PUID)"]) == {"fmt/353"}
    assert set(files["Checksum"]) == {"Verified against the supplied checksum"}
    assert set(files["Virus scan"]) == {"Clean"}
    captions = " ".join(caption.value for caption in app.caption)
    assert "2 files · Against the previous version: 1 added" in captions


@pytest.mark.integration
def test_packages_page_before_any_package(app_env: None, layout: LakehouseLayout) -> None:
    app = open_packages_page(layout.pg_database)
    assert not app.error
    assert "No submission packages yet" in app.info[0].value
    assert {metric.value for metric in app.metric} == {"0"}


@pytest.mark.integration
def test_packages_page_when_the_database_is_down(
    app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPORT", "1")  # nothing listens there
    app = open_packages_page()
    assert "cannot be reached" in app.error[0].value


def test_labels_are_readable_and_keep_unknown_values() -> None:
    assert [readable_size(n) for n in (None, 999, 1_234, 4_900_000)] == [
        "",
        "999 B",
        "1.2 KB",
        "4.9 MB",
    ]
    event = {
        "step": "a_new_step",
        "file_path": None,
        "outcome": "failure",
        "started_at": _at(0),
        "ended_at": _at(2),
        "tool": "clamscan",
        "tool_version": None,
        "detail": None,
    }
    assert timeline_rows([event]) == [
        {
            "Step": "a_new_step",
            "File": "",
            "Outcome": "❌ failure",
            "Started": "2026-12-06 05:00:00 UTC",
            "Ended": "2026-12-06 05:00:02 UTC",
            "Seconds": 2.0,
            "Tool": "clamscan",
            "Detail": "",
        }
    ]
    infected = {**_file("x.exe", "c" * 64, 10, "fmt/899", "Windows PE"), "container": True}
    infected.update(virus_verdict="infected", virus_signature="Eicar-Signature")
    row = file_rows([infected])[0]
    assert row["File"] == "x.exe (container, unpacked)"
    assert row["Virus scan"] == "infected (Eicar-Signature)"


def test_the_diff_reads_as_one_line() -> None:
    assert diff_summary(None) == ""
    assert (
        diff_summary(
            {"added": ["a"], "removed": [], "changed": ["b", "c"], "metadata_changed": ["title"]}
        )
        == "Against the previous version: 1 added; 2 changed; metadata changed: title"
    )
    assert diff_summary({"added": [], "removed": [], "changed": [], "metadata_changed": []}) == (
        "Against the previous version: no change"
    )
