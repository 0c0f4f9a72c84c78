"""The submission-package workflow, from the submitted files to the package store.

Per package (one workflow, one uuid4): the examination (unpack, bag, METS, checksums,
formats, viruses; :mod:`.package_examination`) runs in worker processes; then, in this
process and in the order the packages were given, the resubmission check, the upload of the
files to the content-addressed blob store (while the workers examine the next packages) and
a Delta commit of the workflow's events (the storing event carrying the version's
manifest); a commit holds whole workflows only, one or several. A package that failed a
step is quarantined instead, and its events committed all the same. After the commits, the
stored versions' records go to the records topic and the committed events to the ingest
events topic.

Failures of the deployment itself (no signature database, the object store or Kafka
unreachable) stop the run with their error; they never quarantine a package, and a rerun
picks up where the run stopped: nothing of an uncommitted version is visible, and what was
committed is found again (a duplicate) and published if it was not yet.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from heritage.kafka_topics import ensure_topics
from heritage.producers.kafka_publisher import (
    create_producer,
    envelopes_from,
    publish_envelopes,
)
from heritage.producers.packages.event_publication import publish_committed_events
from heritage.producers.packages.examination_model import Examination
from heritage.producers.packages.ingest_events import (
    IngestEvent,
    Outcome,
    Step,
    new_workflow_id,
    utc_now,
)
from heritage.producers.packages.package_examination import ExaminationConfig, examine_package
from heritage.producers.packages.package_record import SOURCE, package_source_record
from heritage.producers.packages.package_store import IngestEventLog, ObjectStorePackages
from heritage.producers.packages.resubmission import Kind, classify, fingerprint
from heritage.producers.publish_ledger import PublishLedger
from heritage.publication_settings import load_publication_policy
from heritage.record_model import SourceRecord, iso_utc
from heritage.stage_contract import StageContext

log = logging.getLogger(__name__)

STORED, DUPLICATE, QUARANTINED = "stored", "duplicate", "quarantined"


@dataclass(frozen=True)
class PackageOutcome:
    submission: str
    workflow_id: str
    package_id: str
    status: str  # stored | duplicate | quarantined
    version: int | None
    detail: str
    files: int
    bytes: int

    def render(self) -> str:
        if self.status == QUARANTINED:
            return f"quarantined  {self.submission}: {self.detail}"
        return f"{self.status:<11}  {self.package_id} v{self.version} ({self.files} files)"


@dataclass
class IngestReport:
    outcomes: list[PackageOutcome] = field(default_factory=list)
    # Seconds per step, summed over packages (worker steps run in parallel).
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    events_published: int = 0
    records_published: int = 0
    # The record of each stored or duplicate package (its latest version), as offered to
    # the records topic (the ledger sends each content once).
    records: list[SourceRecord] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def add_seconds(self, step: str, seconds: float) -> None:
        self.step_seconds[step] = self.step_seconds.get(step, 0.0) + seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "packages": len(self.outcomes),
            STORED: self.count(STORED),
            DUPLICATE: self.count(DUPLICATE),
            QUARANTINED: self.count(QUARANTINED),
            "bytes": sum(outcome.bytes for outcome in self.outcomes),
            "seconds": round(self.seconds, 3),
            "step_seconds": {step: round(s, 3) for step, s in sorted(self.step_seconds.items())},
            "events_published": self.events_published,
            "records_published": self.records_published,
            "outcomes": [vars(outcome) for outcome in self.outcomes],
        }

    def summary(self) -> str:
        return (
            f"{len(self.outcomes)} packages: {self.count(STORED)} stored,"
            f" {self.count(DUPLICATE)} duplicate, {self.count(QUARANTINED)} quarantined"
            f" in {self.seconds:.1f} s"
        )


def ingest_packages(
    context: StageContext,
    submissions: Sequence[Path],
    config: ExaminationConfig,
    workers: int = 1,
    max_group_events: int = 20_000,
    max_group_seconds: float = 10.0,
) -> IngestReport:
    """Run the workflow on each submission (files or folders), in the order given.

    Workflows are committed in groups: each commit holds whole workflows only, so each
    package is visible entirely or not at all, and a group costs one Delta commit instead of
    one per package (0.5 to 3 s each on 2 cores). A group is committed once it holds
    ``max_group_events`` events or its first package waited ``max_group_seconds``, and at
    the end."""
    report = IngestReport()
    started = time.perf_counter()
    work_root = Path(tempfile.mkdtemp(prefix="heritage-ingest-"))
    closing: list[_Store] = []
    pool = ProcessPoolExecutor(
        max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")
    )
    try:
        futures = [
            pool.submit(examine_package, path, work_root / str(index), new_workflow_id(), config)
            for index, path in enumerate(submissions)
        ]
        # Spark starts while the workers examine the first packages.
        with _step(report, "startup"):
            store = _Store(context)
        closing.append(store)
        records = report.records
        group: list[IngestEvent] = []
        group_started = time.monotonic()
        bar = tqdm(total=len(futures), desc="packages", unit="pkg", disable=not context.progress)
        for index, (path, future) in enumerate(zip(submissions, futures, strict=True)):
            exam = future.result()
            for step, seconds in exam.step_seconds.items():
                report.add_seconds(step, seconds)
            outcome, record, events = store.finish(Path(path), exam, report)
            report.outcomes.append(outcome)
            if not group:
                group_started = time.monotonic()
            group.extend(events)
            if record is not None:
                records.append(record)
            shutil.rmtree(work_root / str(index), ignore_errors=True)
            last = index + 1 == len(futures)
            waited = time.monotonic() - group_started
            if last or len(group) >= max_group_events or waited >= max_group_seconds:
                with _step(report, "commit"):
                    store.events.commit(group)
                group = []
            bar.update(1)
        bar.close()
        with _step(report, "publish"):
            report.records_published = store.publish_records(records)
            report.events_published = store.publish_events()
    finally:
        pool.shutdown(cancel_futures=True)
        for store in closing:
            store.close()
        shutil.rmtree(work_root, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    log.info("package ingest finished", extra=report.as_json() | {"outcomes": None})
    return report


@contextmanager
def _step(report: IngestReport, name: str) -> Iterator[None]:
    """Add the seconds of the block to the report's step ``name``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        report.add_seconds(name, time.perf_counter() - started)


class _Store:
    """This process's side: resubmission check, blobs, the commit, publication."""

    def __init__(self, context: StageContext) -> None:
        self.context = context
        self.objects = ObjectStorePackages(context.settings, context.layout)
        self.events = IngestEventLog(context.spark, context.layout)
        self.policy = load_publication_policy(context.settings)
        self._producer: Any = None

    def finish(
        self, submission: Path, exam: Examination, report: IngestReport
    ) -> tuple[PackageOutcome, SourceRecord | None, list[IngestEvent]]:
        """The package's outcome, its record (stored or duplicate), and its events to commit."""
        if exam.failure is not None:
            return (
                self._quarantine(submission, exam, report),
                None,
                exam.log.finish(exam.package_id, None),
            )
        with _step(report, "resubmission_check"):
            latest = self.events.latest(exam.package_id)
            files = {item.path: item.sha256 for item in exam.files}
            verdict = classify(files, exam.metadata, latest)
        exam.log.package_id = exam.package_id
        exam.log.add(Step.RESUBMISSION_CHECK, Outcome.SUCCESS, verdict.describe())
        size = sum(item.size for item in exam.files)
        events = exam.log.finish
        if verdict.kind is Kind.DUPLICATE:
            assert latest is not None
            record = package_source_record(latest.manifest, self.policy)
            outcome = self._outcome(exam, DUPLICATE, verdict.version, verdict.describe(), size)
            return outcome, record, events(exam.package_id, verdict.version)
        started = utc_now()
        with _step(report, "store"):
            keys = {
                item.path: self.objects.put_blob(Path(item.local_path), item.sha256, item.size)[0]
                for item in exam.files
            }
            for item in exam.files:
                if item.ocr is not None:
                    self.objects.put_page_texts(item.ocr, keys[item.path])
        manifest = {
            "package_id": exam.package_id,
            "version": verdict.version,
            "previous_version": verdict.previous.version if verdict.previous else None,
            "fingerprint": fingerprint(files.items()),
            "record_id": package_source_record({"package_id": exam.package_id}).record_id,
            "submission": submission.name,
            "workflow_id": exam.workflow_id,
            "stored_at": iso_utc(utc_now()),
            "metadata": exam.metadata,
            "files": [item.manifest_entry(keys[item.path]) for item in exam.files],
            "diff": verdict.diff,
        }
        text = json.dumps(manifest, ensure_ascii=False, sort_keys=True)
        detail = f"version {verdict.version}: {len(keys)} files, {size} bytes in the blob store"
        exam.log.add(Step.STORE, Outcome.SUCCESS, detail, started_at=started, manifest=text)
        self.events.remember(manifest)
        outcome = self._outcome(exam, STORED, verdict.version, verdict.describe(), size)
        record = package_source_record(manifest, self.policy)
        return outcome, record, events(exam.package_id, verdict.version)

    def _quarantine(
        self, submission: Path, exam: Examination, report: IngestReport
    ) -> PackageOutcome:
        started = utc_now()
        reason = {
            "workflow_id": exam.workflow_id,
            "submission": exam.submission,
            "package_id": exam.package_id,
            "step": exam.failure_step,
            "reason": exam.failure,
            "failures": [
                {"step": e.step.step_name, "file": e.file_path, "detail": e.detail}
                for e in exam.log.failures()
            ],
        }
        with _step(report, "store"):
            prefix = self.objects.quarantine(exam.workflow_id, submission, reason)
        exam.log.add(
            Step.QUARANTINE,
            Outcome.FAILURE,
            f"{exam.failure} (quarantined in {prefix}/)",
            started_at=started,
        )
        return self._outcome(exam, QUARANTINED, None, exam.failure or "", 0)

    def _outcome(
        self, exam: Examination, status: str, version: int | None, detail: str, size: int
    ) -> PackageOutcome:
        return PackageOutcome(
            submission=Path(exam.submission).name,
            workflow_id=exam.workflow_id,
            package_id=exam.package_id,
            status=status,
            version=version,
            detail=detail,
            files=len(exam.files),
            bytes=size,
        )

    def publish_records(self, records: list[SourceRecord]) -> int:
        if not records:
            return 0
        settings, layout = self.context.settings, self.context.layout
        ensure_topics(settings, (layout.records_topic,))
        ledger = PublishLedger(layout.ledger_for(SOURCE))
        try:
            result = publish_envelopes(
                self._kafka(),
                ledger,
                layout.records_topic,
                envelopes_from(SOURCE, records),
                progress=False,
            )
        finally:
            ledger.close()
        return result.published

    def publish_events(self) -> int:
        context = self.context
        return publish_committed_events(
            context.spark, context.settings, context.layout, self._kafka()
        )

    def _kafka(self) -> Any:
        if self._producer is None:
            self._producer = create_producer(self.context.settings)
        return self._producer

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
