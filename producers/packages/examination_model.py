"""What the examination of one package records: its files with every verdict, its events,
and why it failed, if it did. Picklable: examinations come back from worker processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from heritage.producers.packages.ingest_events import EventLog


@dataclass
class ExaminedFile:
    path: str
    original_path: str
    local_path: str
    size: int
    container: bool
    sha256: str = ""
    # algorithm -> hex digest the package supplied (METS, manifests, checksum files)
    supplied: dict[str, str] = field(default_factory=dict)
    checksum_status: str = "not_supplied"
    puid: str | None = None
    format_name: str | None = None
    mime: str | None = None
    virus_verdict: str | None = None
    virus_signature: str | None = None
    # The OCR step's entry for an image or PDF (heritage.ocr.ocr_results.file_entry), its
    # pages' local text and hOCR files under "text_file" / "hocr_file" until stored.
    ocr: dict[str, Any] | None = None

    def manifest_entry(self, blob_key: str) -> dict[str, Any]:
        return {
            "path": self.path,
            "original_path": self.original_path,
            "sha256": self.sha256,
            "size": self.size,
            "blob_key": blob_key,
            "container": self.container,
            "puid": self.puid,
            "format_name": self.format_name,
            "mime": self.mime,
            "checksum_status": self.checksum_status,
            "supplied_checksums": dict(sorted(self.supplied.items())),
            "virus_verdict": self.virus_verdict,
            "virus_signature": self.virus_signature,
            "ocr": self.ocr,
        }


@dataclass
class Examination:
    submission: str
    log: EventLog
    package_id: str
    metadata: dict[str, Any] = field(default_factory=dict)
    files: list[ExaminedFile] = field(default_factory=list)
    # Why the package must be quarantined (None: it may be stored) and at which step.
    failure: str | None = None
    failure_step: str | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def workflow_id(self) -> str:
        return self.log.workflow_id


class StepFailed(Exception):
    """A step failed: the package is quarantined with this reason."""
