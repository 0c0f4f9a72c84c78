"""Loose scans (images, multi-page TIFFs, PDFs) to records: each file is read by OCR in a
pool of worker processes (one Tesseract thread each), stored with its page texts and hOCR
in the object store (content-addressed, as package files are), and published as one record
``scan:<collection>:<id or relative path>`` with its sidecar fields and its OCR fields.

A rerun publishes nothing that did not change (the publish ledger); a file OCR cannot read
is still published, with the reason in its ``ocr_pages``, and counted.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm import tqdm

from heritage.lakehouse_layout import LakehouseLayout
from heritage.ocr.file_reading import OcrConfig, field_rules_for, read_to_entry, reader_for
from heritage.ocr.ocr_settings import OcrSettings
from heritage.ocr.page_images import is_readable
from heritage.producers.kafka_publisher import (
    PublishResult,
    create_producer,
    ensure_topics_when_reachable,
    envelopes_from,
    publish_envelopes,
)
from heritage.producers.packages.package_store import ObjectStorePackages
from heritage.producers.publish_ledger import PublishLedger
from heritage.producers.scan_sidecar import (
    SOURCE,
    KnownFields,
    duplicate_ids,
    known_for,
    read_sidecar,
    scan_record,
    scan_record_id,
)
from heritage.record_model import SourceRecord
from heritage.settings import Settings
from heritage.source_rejections import SourceRejection

_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


class ScanDropError(SourceRejection):
    """The scans cannot be published as given; the message says why and what to do."""


@dataclass
class ScanDropResult:
    files: int = 0
    pages: int = 0
    flagged_pages: int = 0
    failed_files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    published: int = 0
    unchanged: int = 0
    # (record id, reasons) of records cleanse will dead-letter (a missing title or rights).
    invalid: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class ScanFile:
    path: Path
    relative: PurePosixPath


def scan_files(paths: Sequence[Path]) -> tuple[list[ScanFile], list[str]]:
    """The image and PDF files of ``paths`` (files, or folders walked in name order), each
    with its path relative to the folder given; and the files skipped as not scans."""
    found: list[ScanFile] = []
    skipped: list[str] = []
    for given in paths:
        if given.is_file():
            candidates = [(given, PurePosixPath(given.name))]
        elif given.is_dir():
            candidates = [
                (path, PurePosixPath(path.relative_to(given).as_posix()))
                for path in sorted(given.rglob("*"))
                if path.is_file() and not path.is_symlink()
            ]
        else:
            raise FileNotFoundError(f"{given}: no such file or folder")
        for path, relative in candidates:
            if is_readable(path):
                found.append(ScanFile(path, relative))
            else:
                skipped.append(str(path))
    return found, skipped


def publish_scans(
    settings: Settings,
    layout: LakehouseLayout,
    paths: Sequence[Path],
    collection: str,
    config: OcrConfig,
    *,
    sidecar: Path | None = None,
    defaults: dict[str, str] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> ScanDropResult:
    """Read, store and publish every scan of ``paths``; see the module's docstring."""
    if not _COLLECTION_NAME.match(collection):
        raise ScanDropError(
            f"collection name {collection!r} is not a safe key part; use letters, digits, "
            "'.', '_' and '-' (e.g. 'registry-letters')"
        )
    started = time.perf_counter()
    result = ScanDropResult()
    known = read_sidecar(sidecar) if sidecar else {}
    files, result.skipped_files = scan_files(paths)
    _refuse_shared_ids(files, collection, known)
    result.files = len(files)
    defaults = defaults or {}
    ocr = config.collections.for_collection(defaults.get("data_provider") or collection)
    work = Path(tempfile.mkdtemp(prefix="heritage-scans-"))
    objects = ObjectStorePackages(settings, layout)
    pool = ProcessPoolExecutor(
        max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")
    )
    try:
        futures = [
            pool.submit(
                _read_scan, scan.path, work / str(index), ocr, config.field_rules, collection
            )
            for index, scan in enumerate(files)
        ]
        bar = tqdm(total=len(files), desc=f"scans {collection}", unit="file", disable=not progress)

        def records() -> Iterator[SourceRecord]:
            for scan, future in zip(files, futures, strict=True):
                sha256, size, entry = future.result()
                record = _stored_record(
                    objects, scan, sha256, size, entry, collection, known, defaults
                )
                _count(result, scan, entry)
                bar.update(1)
                yield record

        outcome = _publish(settings, layout, records())
        result.published, result.unchanged = outcome.published, outcome.skipped
        result.invalid = outcome.invalid
        bar.close()
    finally:
        pool.shutdown(cancel_futures=True)
        shutil.rmtree(work, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    return result


def _refuse_shared_ids(
    files: Sequence[ScanFile], collection: str, known: dict[str, KnownFields]
) -> None:
    """Two scans must never share a record id: each run would publish one over the other."""
    ids = {
        str(scan.path): scan_record_id(collection, scan.relative, known_for(known, scan.relative))
        for scan in files
    }
    shared = duplicate_ids(ids)
    if shared:
        record_id, clashing = next(iter(shared.items()))
        raise ScanDropError(
            f"{len(shared)} record id(s) would name more than one scan, e.g. {record_id} for "
            f"{' and '.join(clashing[:3])}; give each scan its own id in the sidecar, or pass "
            "the folder above them so their relative paths differ"
        )


def _read_scan(
    path: Path, folder: Path, settings: OcrSettings, rules: Path | None, collection: str
) -> tuple[str, int, dict[str, Any]]:
    """In a worker: the file's sha256, size and OCR entry (page files under ``folder``)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    except OSError as error:  # moved or removed since it was listed
        reason = f"cannot read the file: {error.strerror or error}"
        return "", 0, {"settings": settings.digest(), "failure": reason, "pages": []}
    entry = read_to_entry(
        path, folder, settings, field_rules_for(rules, collection), reader_for(settings)
    )
    return digest.hexdigest(), size, entry


def _stored_record(
    objects: ObjectStorePackages,
    scan: ScanFile,
    sha256: str,
    size: int,
    entry: dict[str, Any],
    collection: str,
    known: dict[str, KnownFields],
    defaults: dict[str, str],
) -> SourceRecord:
    if sha256:  # else the file could not be read at all: its record says why
        blob, _ = objects.put_blob(scan.path, sha256, size)
        objects.put_page_texts(entry, blob)
    return scan_record(
        collection, scan.relative, sha256, known_for(known, scan.relative), entry, defaults
    )


def _count(result: ScanDropResult, scan: ScanFile, entry: dict[str, Any]) -> None:
    pages = entry.get("pages") or []
    result.pages += len(pages)
    result.flagged_pages += sum(1 for page in pages if page.get("flagged"))
    if entry.get("failure"):
        result.failed_files.append(f"{scan.path}: {entry['failure']}")


def _publish(
    settings: Settings, layout: LakehouseLayout, records: Iterator[SourceRecord]
) -> PublishResult:
    ensure_topics_when_reachable(settings, (layout.records_topic,))
    ledger = PublishLedger(layout.ledger_for(SOURCE))
    producer = create_producer(settings)
    try:
        outcome = publish_envelopes(
            producer, ledger, layout.records_topic, envelopes_from(SOURCE, records), progress=False
        )
    finally:
        producer.close()
        ledger.close()
    return outcome
