"""Resubmission verdicts, package records, event ids and the examination's failure rule:
no services."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from heritage.producers.packages import file_checks, package_examination
from heritage.producers.packages.ingest_events import EventLog, Outcome, Step, event_id
from heritage.producers.packages.package_examination import ExaminationConfig
from heritage.producers.packages.package_record import object_type, package_source_record
from heritage.producers.packages.resubmission import Kind, StoredVersion, classify, fingerprint
from heritage.producers.packages.unpacking import UnpackLimits
from heritage.source_settings import ClamavConfig

FILES = {"thesis.pdf": "a" * 64, "license.txt": "b" * 64}


def stored(files: dict[str, str], version: int = 1) -> StoredVersion:
    return StoredVersion("hdl:1/2", version, fingerprint(files.items()), files, {"title": ["T"]})


def test_fingerprint_ignores_order_and_sees_every_path_and_digest() -> None:
    assert fingerprint(FILES.items()) == fingerprint(reversed(list(FILES.items())))
    assert fingerprint(FILES.items()) != fingerprint({**FILES, "x.txt": "c" * 64}.items())
    renamed = {"Thesis.pdf": "a" * 64, "license.txt": "b" * 64}
    assert fingerprint(FILES.items()) != fingerprint(renamed.items())


def test_first_submission_is_version_one_and_the_same_again_a_duplicate() -> None:
    first = classify(FILES, {"title": ["T"]}, None)
    assert (first.kind, first.version) == (Kind.NEW, 1)
    again = classify(dict(FILES), {"title": ["T"]}, stored(FILES))
    assert (again.kind, again.version, again.diff) == (Kind.DUPLICATE, 1, None)
    assert "duplicate of version 1" in again.describe()


def test_a_change_is_the_next_version_with_its_diff() -> None:
    changed = {"thesis.pdf": "c" * 64, "appendix.pdf": "d" * 64}
    update = classify(changed, {"title": ["New title"]}, stored(FILES, version=3))
    assert (update.kind, update.version) == (Kind.UPDATE, 4)
    assert update.diff == {
        "added": ["appendix.pdf"],
        "removed": ["license.txt"],
        "changed": ["thesis.pdf"],
        "metadata_changed": ["title"],
    }
    assert "version 4 supersedes version 3" in update.describe()


def test_event_ids_are_deterministic_per_workflow_step_and_file() -> None:
    assert event_id("w1", Step.DIGEST, "a.tif") == event_id("w1", Step.DIGEST, "a.tif")
    assert event_id("w1", Step.DIGEST, "a.tif") != event_id("w1", Step.DIGEST, "b.tif")
    assert event_id("w1", Step.DIGEST, "a.tif") != event_id("w2", Step.DIGEST, "a.tif")
    assert event_id("w1", Step.DIGEST, "a.tif") != event_id("w1", Step.FIXITY, "a.tif")


def test_finishing_a_log_stamps_the_package_id_and_version_on_every_event() -> None:
    log = EventLog("w1", "thesis.zip", "thesis")
    log.add(Step.UNPACK, Outcome.SUCCESS, "2 files")
    log.add(Step.DIGEST, Outcome.SUCCESS, "sha256 ...", file_path="thesis.pdf")
    events = log.finish("hdl:1/2", 2)
    assert {(e.package_id, e.package_version) for e in events} == {("hdl:1/2", 2)}
    row = events[1].as_row()
    assert row["event_type"] == "message digest calculation" and row["step"] == "digest"
    assert events[0].as_message()["ended_at"].endswith("Z")  # type: ignore[union-attr]


def test_package_type_follows_most_files_and_prefers_text_on_a_tie() -> None:
    image = {"mime": "image/tiff"}
    pdf = {"mime": "application/pdf"}
    assert object_type([image, image, pdf]) == "IMAGE"
    assert object_type([image, pdf]) == "TEXT"
    assert object_type([{"mime": None}]) == "TEXT"
    assert object_type([{"mime": "audio/wav", "container": False}]) == "SOUND"
    assert object_type([{"mime": "application/zip", "container": True}]) == "TEXT"


def test_package_record_maps_metadata_and_leaves_out_what_the_package_lacks() -> None:
    manifest = {
        "package_id": "hdl:1/2",
        "version": 2,
        "fingerprint": "f" * 64,
        "stored_at": datetime(2026, 12, 6, tzinfo=UTC).isoformat(),
        "metadata": {
            "title": ["A thesis", " "],
            "names": ["Doe, Jane"],
            "dates": ["2004-05-12"],
            "languages": ["eng"],
            "rights": ["http://rightsstatements.org/vocab/InC/1.0/"],
            "data_provider": "Example University Library",
        },
        "files": [{"path": "thesis.pdf", "mime": "application/pdf", "sha256": "a" * 64}],
    }
    source = package_source_record(manifest)
    assert source.record_id == "package:hdl:1/2"
    assert source.record is not None
    assert source.record["title"] == ["A thesis"]
    assert source.record["language"] == ["en"]
    assert source.record["dataProvider"] == ["Example University Library"]
    assert source.record["type"] == "TEXT"
    bare = package_source_record({"package_id": "p", "files": []})
    assert bare.record is not None and "title" not in bare.record and "rights" not in bare.record


def test_a_package_that_breaks_a_step_unforeseen_is_quarantined_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(paths: object) -> object:
        raise KeyError("no such field")

    monkeypatch.setattr(file_checks, "identify_files", broken)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("a page of notes\n")
    config = ExaminationConfig(UnpackLimits(), ClamavConfig(database_dir=tmp_path / "db"))
    exam = package_examination.examine_package(tmp_path / "in", tmp_path / "work", "w1", config)
    assert exam.failure_step == "format"
    assert exam.failure and "KeyError" in exam.failure
    assert exam.log.failures()[-1].step is Step.FORMAT
