"""The package workflow end to end on the real stack: packages built at run time, stored,
found again, versioned or quarantined; every step an event, in Delta and on Kafka; every
stored file under its sha256 key."""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from minio.error import S3Error
from pyspark.sql import SparkSession
from topic_reader import TopicReader

from heritage.lakehouse_layout import LakehouseLayout
from heritage.lakehouse_namespaces import drop_namespace
from heritage.object_store import object_store_client
from heritage.pipeline import prepare, run_stages, stage_context
from heritage.postgres_db import connect
from heritage.producers.packages import sample_packages
from heritage.producers.packages.ingest_settings import load_examination_config
from heritage.producers.packages.package_store import blob_key, quarantine_prefix
from heritage.producers.packages.package_workflow import IngestReport, ingest_packages
from heritage.producers.packages.scanner_signatures import write_test_signatures
from heritage.settings import Settings

pytestmark = pytest.mark.integration

HANDLE = "hdl:123456789/2703"


@dataclass(frozen=True)
class Ingested:
    settings: Settings
    layout: LakehouseLayout
    report: IngestReport
    names: list[str]


def scanning_settings(settings: Settings, database: Path) -> Settings:
    """The live settings with the project's test signatures as the ClamAV database."""
    write_test_signatures(database)
    environment = {
        **settings.environment,
        "HERITAGE_CLAMAV_DB": str(database),
    }
    return replace(settings, environment=environment)


def acceptance_packages(folder: Path) -> list[Path]:
    """The packages of the acceptance table, in the order they are submitted."""
    for name in ("v1", "v2", "bag", "checksum", "eicar", "slip", "bomb", "symlink"):
        (folder / name).mkdir(parents=True)
    first = sample_packages.dspace_zip(folder / "v1", handle=HANDLE.removeprefix("hdl:"))
    again = folder / "again" / first.name
    again.parent.mkdir()
    shutil.copy(first, again)
    return [
        first,
        again,
        sample_packages.dspace_zip(folder / "v2", handle=HANDLE.removeprefix("hdl:"), variant=2),
        sample_packages.bag_targz_with_nested_zip(folder / "bag"),
        sample_packages.wrong_checksum_zip(folder / "checksum"),
        sample_packages.nested_eicar_package(folder / "eicar"),
        sample_packages.zip_slip_package(folder / "slip"),
        sample_packages.zip_bomb_package(folder / "bomb"),
        sample_packages.symlink_out_package(folder / "symlink"),
    ]


@pytest.fixture(scope="module")
def ingested(
    live_settings: Settings, spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ingested]:
    """The acceptance packages ingested once into a namespace of their own."""
    tmp_path = tmp_path_factory.mktemp("packages")
    layout = LakehouseLayout.namespaced(live_settings, f"t{uuid.uuid4().hex[:10]}")
    prepare(live_settings, layout)
    settings = scanning_settings(live_settings, tmp_path / "clamav")
    packages = acceptance_packages(tmp_path / "packages")
    context = stage_context(settings, layout, spark=spark)
    report = ingest_packages(context, packages, load_examination_config(settings), workers=2)
    yield Ingested(settings, layout, report, [path.name for path in packages])
    drop_namespace(live_settings, layout)


def test_each_acceptance_package_ends_as_stated(ingested: Ingested) -> None:
    outcomes = ingested.report.outcomes
    assert [(o.status, o.version) for o in outcomes] == [
        ("stored", 1),
        ("duplicate", 1),
        ("stored", 2),
        ("stored", 1),
        ("quarantined", None),
        ("quarantined", None),
        ("quarantined", None),
        ("quarantined", None),
        ("quarantined", None),
    ], [o.render() for o in outcomes]
    assert outcomes[0].package_id == outcomes[2].package_id == HANDLE
    reasons = [o.detail.lower() for o in outcomes[4:]]
    assert "checksum" in reasons[0]
    assert "virus" in reasons[1] and "eicar" in reasons[1]
    assert "traversal" in reasons[2]
    assert "size" in reasons[3] or "ratio" in reasons[3]
    assert "link" in reasons[4]


def test_every_stored_file_is_under_its_sha256_key_and_quarantine_holds_the_reason(
    ingested: Ingested, spark: SparkSession
) -> None:
    client = object_store_client(ingested.settings)
    bucket = ingested.settings.bucket
    manifests = stored_manifests(spark, ingested.layout)
    assert sorted((m["package_id"], m["version"]) for m in manifests) == sorted(
        [(HANDLE, 1), (HANDLE, 2), (ingested.report.outcomes[3].package_id, 1)]
    )
    for manifest in manifests:
        assert manifest["files"], manifest["package_id"]
        for item in manifest["files"]:
            assert item["blob_key"] == blob_key(ingested.layout, item["sha256"])
            stat = client.stat_object(bucket, item["blob_key"])
            assert stat.size == item["size"], item["path"]
    bag = next(m for m in manifests if m["package_id"] != HANDLE)
    nested = [item["path"] for item in bag["files"] if ".zip/" in item["path"]]
    assert nested, "the nested zip's members are kept under the zip's path"
    v2 = next(m for m in manifests if m["package_id"] == HANDLE and m["version"] == 2)
    assert v2["diff"]["added"] and v2["diff"]["removed"] and v2["diff"]["changed"]
    assert "title" in v2["diff"]["metadata_changed"]
    for outcome in ingested.report.outcomes[4:]:
        prefix = quarantine_prefix(ingested.layout, outcome.workflow_id)
        reason = json.loads(client.get_object(bucket, f"{prefix}/reason.json").read())
        assert reason["reason"] == outcome.detail
        with pytest.raises(S3Error):
            # Nothing of a quarantined package enters the blob store under its name.
            client.stat_object(
                bucket, f"{ingested.layout.package_prefix}/blobs/{outcome.submission}"
            )


def test_every_step_is_an_event_in_delta_and_on_kafka(
    ingested: Ingested, spark: SparkSession, read_topic: TopicReader
) -> None:
    events = spark.read.format("delta").load(ingested.layout.ingest_events).collect()
    ids = Counter(row["event_id"] for row in events)
    assert ids and max(ids.values()) == 1
    by_workflow: dict[str, list[str]] = {}
    for row in sorted(events, key=lambda r: r["started_at"]):
        by_workflow.setdefault(row["workflow_id"], []).append(row["step"])
    assert set(by_workflow) == {o.workflow_id for o in ingested.report.outcomes}
    first = by_workflow[ingested.report.outcomes[0].workflow_id]
    for step in ("unpack", "mets_parsing", "resubmission_check", "digest", "fixity", "format"):
        assert step in first
    assert {"virus_scan", "store"} <= set(first)
    for outcome in ingested.report.outcomes[4:]:
        assert by_workflow[outcome.workflow_id][-1] == "quarantine"
    for row in events:
        assert row["ended_at"] >= row["started_at"]
        assert row["outcome"] in ("success", "failure", "warning")
    messages = read_topic(ingested.layout.ingest_events_topic)
    assert sorted(value["event_id"] for _, value in messages) == sorted(ids)


def stored_manifests(spark: SparkSession, layout: LakehouseLayout) -> list[dict]:
    rows = (
        spark.read.format("delta")
        .load(layout.ingest_events)
        .filter("step = 'store' AND outcome = 'success'")
        .select("manifest")
        .collect()
    )
    return [json.loads(row["manifest"]) for row in rows]


def test_a_stored_package_record_reaches_analytics_objects(
    ingested: Ingested, spark: SparkSession
) -> None:
    run_stages(ingested.settings, ingested.layout, spark=spark, skip=("ml",))
    connection = connect(ingested.settings, ingested.layout.pg_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT title, object_type, rights_uri FROM analytics.objects WHERE record_id = %s",
                (f"package:{HANDLE}",),
            )
            rows = cursor.fetchall()
            cursor.execute(
                "SELECT count(*) FROM analytics.packages WHERE package_id = %s", (HANDLE,)
            )
            versions = cursor.fetchone()
    finally:
        connection.close()
    assert len(rows) == 1, "the package's record is in analytics.objects"
    title, object_type, rights_uri = rows[0]
    assert title and object_type == "TEXT" and rights_uri
    assert versions is not None and versions[0] == 2
