"""The package store: content-addressed blobs in the object store, the Delta event log, and
the quarantine.

A version becomes visible in one Delta commit to audit/ingest_events that holds every event of
its workflow, the storing event carrying the version's manifest. Blobs are uploaded before
that commit under ``<package prefix>/blobs/sha256/ab/cd/<sha256>``; the upload is idempotent
(an existing key of the same size is not sent again), so a rerun after a crash costs nothing
and a blob no committed manifest names is unreferenced, never a partial version.
A package that fails a step goes, as submitted, to ``<package prefix>/quarantine/
<workflow_id>/`` with ``reason.json``; nothing of it enters the blob store.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minio import Minio
from minio.error import S3Error
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from heritage.delta_tables import append_once, ensure_delta_table, table_version
from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import ensure_bucket, object_store_client
from heritage.ocr.ocr_results import store_page_files
from heritage.producers.packages.ingest_events import IngestEvent
from heritage.producers.packages.resubmission import StoredVersion
from heritage.settings import Settings
from heritage.table_schemas import INGEST_EVENTS


def blob_key(layout: LakehouseLayout, sha256: str) -> str:
    return f"{layout.package_prefix}/blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def quarantine_prefix(layout: LakehouseLayout, workflow_id: str) -> str:
    return f"{layout.package_prefix}/quarantine/{workflow_id}"


@dataclass
class ObjectStorePackages:
    """Blob uploads and quarantine copies in the settings' bucket."""

    settings: Settings
    layout: LakehouseLayout

    def __post_init__(self) -> None:
        ensure_bucket(self.settings)
        self._client: Minio = object_store_client(self.settings)

    def put_blob(self, local_path: Path, sha256: str, size: int) -> tuple[str, bool]:
        """Upload the file under its content key unless it is there; (key, uploaded)."""
        key = blob_key(self.layout, sha256)
        if self._size_of(key) == size:
            return key, False
        self._client.fput_object(self.settings.bucket, key, str(local_path))
        return key, True

    def put_file(self, local_path: Path, key: str) -> None:
        """Upload a derivative (a page's OCR text or hOCR) under ``key`` unless a file of
        its size is there (its key names the content and the settings that made it)."""
        if self._size_of(key) != local_path.stat().st_size:
            self._client.fput_object(self.settings.bucket, key, str(local_path))

    def put_page_texts(self, entry: dict[str, Any], blob: str) -> None:
        """Upload each page's OCR text and hOCR next to the file's blob (their keys replace
        the local paths in the entry)."""
        store_page_files(entry, blob, self.put_file)

    def quarantine(self, workflow_id: str, submission: Path, reason: Mapping[str, Any]) -> str:
        """Copy the submission (a file, or a folder's files) and reason.json to the workflow's
        quarantine folder; returns its prefix."""
        prefix = quarantine_prefix(self.layout, workflow_id)
        for local, relative in _submission_files(submission):
            self._client.fput_object(
                self.settings.bucket, f"{prefix}/submission/{relative}", str(local)
            )
        body = json.dumps(reason, ensure_ascii=False, indent=2).encode("utf-8")
        self._client.put_object(
            self.settings.bucket,
            f"{prefix}/reason.json",
            io.BytesIO(body),
            len(body),
            content_type="application/json",
        )
        return prefix

    def _size_of(self, key: str) -> int | None:
        try:
            return int(self._client.stat_object(self.settings.bucket, key).size or 0)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise


def _submission_files(submission: Path) -> Iterable[tuple[Path, str]]:
    if submission.is_file():
        yield submission, submission.name
        return
    for path in sorted(submission.rglob("*")):
        # Links are not followed: a hostile folder's link stays out of the object store.
        if path.is_file() and not path.is_symlink():
            yield path, f"{submission.name}/{path.relative_to(submission).as_posix()}"


@dataclass
class IngestEventLog:
    """audit/ingest_events: commits of whole workflows, and the latest version of each
    package."""

    spark: SparkSession
    layout: LakehouseLayout

    def __post_init__(self) -> None:
        ensure_delta_table(self.spark, self.layout.ingest_events, INGEST_EVENTS, True)
        self._latest: dict[str, StoredVersion] | None = None

    def commit(self, events: Sequence[IngestEvent]) -> int:
        """Append the events of one or more whole workflows in one commit (at most once: a
        retried call with the same first workflow is skipped by Delta); returns the table
        version after it."""
        if not events:
            return table_version(self.spark, self.layout.ingest_events)
        rows = [event.as_row() for event in events]
        frame = self.spark.createDataFrame(
            [tuple(row[name] for name in INGEST_EVENTS.fieldNames()) for row in rows],
            INGEST_EVENTS,
        )
        append_once(frame, self.layout.ingest_events, (f"ingest-{events[0].workflow_id}", 0))
        return table_version(self.spark, self.layout.ingest_events)

    def remember(self, manifest: Mapping[str, Any]) -> None:
        """A version this run is storing: later packages of the run are checked against it."""
        version = stored_version(manifest)
        if self._latest is None:
            self._latest = self._read_latest()
        self._latest[version.package_id] = version

    def latest(self, package_id: str) -> StoredVersion | None:
        """The package's latest stored version (read once per run for every package, then
        kept up to date by this run's own versions: one writer per deployment)."""
        if self._latest is None:
            self._latest = self._read_latest()
        return self._latest.get(package_id)

    def stored_versions(self) -> list[StoredVersion]:
        """Every stored version of every package, from the storing events' manifests."""
        stored = (
            self.spark.read.format("delta")
            .load(self.layout.ingest_events)
            .filter(
                (F.col("step") == "store")
                & (F.col("outcome") == "success")
                & F.col("manifest").isNotNull()
            )
            .select("manifest")
        )
        return [stored_version(json.loads(row["manifest"])) for row in stored.toLocalIterator()]

    def submissions(self) -> set[str]:
        """Every submission (as given) a committed workflow has taken."""
        rows = (
            self.spark.read.format("delta")
            .load(self.layout.ingest_events)
            .select("submission")
            .distinct()
            .collect()
        )
        return {str(row["submission"]) for row in rows}

    def _read_latest(self) -> dict[str, StoredVersion]:
        latest: dict[str, StoredVersion] = {}
        for version in self.stored_versions():
            known = latest.get(version.package_id)
            if known is None or version.version > known.version:
                latest[version.package_id] = version
        return latest


def stored_version(manifest: Mapping[str, Any]) -> StoredVersion:
    return StoredVersion(
        package_id=str(manifest["package_id"]),
        version=int(manifest["version"]),
        fingerprint=str(manifest["fingerprint"]),
        files={str(item["path"]): str(item["sha256"]) for item in manifest.get("files", [])},
        metadata=manifest.get("metadata") or {},
        manifest=manifest,
    )
