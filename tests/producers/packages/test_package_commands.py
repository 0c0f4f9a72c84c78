"""`heritage ingest`: its errors without services, and the watched submissions prefix on the
real stack."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from heritage.cli import main
from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.object_store import ensure_bucket, object_store_client
from heritage.pipeline import prepare, stage_context
from heritage.producers.packages import sample_packages
from heritage.producers.packages.ingest_settings import load_examination_config
from heritage.producers.packages.scanner_signatures import write_test_signatures
from heritage.producers.packages.submission_watch import (
    ingest_submissions_once,
    pending_submissions,
)
from heritage.settings import Settings


def test_a_missing_path_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "packages", str(tmp_path / "no-such.zip")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_test_signatures_are_written_where_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "test-signatures", "--dir", str(tmp_path / "db")]) == 0
    assert any((tmp_path / "db").iterdir())
    assert "test files only" in capsys.readouterr().out


@pytest.mark.integration
def test_watch_ingests_what_waits_under_submissions_and_removes_it(
    live_settings: Settings, spark: SparkSession, tmp_path: Path
) -> None:
    write_test_signatures(tmp_path / "clamav")
    settings = replace(
        live_settings,
        environment={**live_settings.environment, "HERITAGE_CLAMAV_DB": str(tmp_path / "clamav")},
    )
    layout = LakehouseLayout.namespaced(settings, f"t{uuid.uuid4().hex[:10]}")
    prepare(settings, layout)
    try:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        good = sample_packages.dspace_zip(tmp_path / "a", handle="123456789/77")
        slip = sample_packages.zip_slip_package(tmp_path / "b")
        ensure_bucket(settings)
        client = object_store_client(settings)
        for path in (good, slip):
            data = path.read_bytes()
            key = f"{layout.submissions_prefix}/{path.name}"
            client.put_object(settings.bucket, key, io.BytesIO(data), len(data))
        context = stage_context(settings, layout, spark=spark)
        config = load_examination_config(settings)
        assert len(pending_submissions(context)) == 2
        report = ingest_submissions_once(context, config)
        assert report is not None
        assert sorted(o.status for o in report.outcomes) == ["quarantined", "stored"]
        assert pending_submissions(context) == []
        assert ingest_submissions_once(context, config) is None
    finally:
        drop_namespace(settings, layout)
