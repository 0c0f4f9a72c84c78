"""The events of the package workflow: one per step (and per file for per-file steps).

``event_id`` is uuid5 of workflow_id + step + file path, so the same workflow never records
one step twice; ``workflow_id`` is a uuid4 per invocation on one package. Event types come
from the PREMIS eventType vocabulary (id.loc.gov/vocabulary/preservation/eventType).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum

from heritage.record_model import iso_utc

# uuid5 namespace of ingest event ids (a fixed uuid4, never to change).
EVENT_NAMESPACE = uuid.UUID("6f0b7c1e-5a43-4f7e-9a55-2f3f0f6b2d41")


class Step(Enum):
    """A workflow step; its value is its PREMIS event type."""

    UNPACK = "unpacking"
    FILENAME_CHANGE = "filename change"
    BAG_VALIDATION = "validation"
    METS_PARSING = "metadata extraction"
    RESUBMISSION_CHECK = "ingestion start"
    DIGEST = "message digest calculation"
    FIXITY = "fixity check"
    FORMAT = "format identification"
    VIRUS_SCAN = "virus check"
    # Not in the PREMIS vocabulary; Archivematica records its OCR under this type.
    OCR = "transcription"
    STORE = "ingestion"
    QUARANTINE = "quarantine"

    @property
    def event_type(self) -> str:
        return self.value

    @property
    def step_name(self) -> str:
        return self.name.lower()


class Outcome(Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    WARNING = "warning"


def event_id(workflow_id: str, step: Step, file_path: str | None) -> str:
    """The deterministic id of one step's event within one workflow."""
    name = f"{workflow_id}/{step.step_name}/{file_path or ''}"
    return str(uuid.uuid5(EVENT_NAMESPACE, name))


def new_workflow_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass(frozen=True)
class IngestEvent:
    """One row of audit/ingest_events (see heritage.table_schemas.INGEST_EVENTS)."""

    event_id: str
    workflow_id: str
    package_id: str
    package_version: int | None
    step: Step
    file_path: str | None
    outcome: Outcome
    detail: str
    tool: str | None
    tool_version: str | None
    started_at: datetime
    ended_at: datetime
    submission: str
    manifest: str | None = None

    def as_row(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "workflow_id": self.workflow_id,
            "package_id": self.package_id,
            "package_version": self.package_version,
            "step": self.step.step_name,
            "event_type": self.step.event_type,
            "file_path": self.file_path,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "tool": self.tool,
            "tool_version": self.tool_version,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "submission": self.submission,
            "manifest": self.manifest,
        }

    def as_message(self) -> dict[str, object]:
        """The Kafka message (JSON-ready; times in ISO 8601 UTC)."""
        row = self.as_row()
        row["started_at"] = iso_utc(self.started_at)
        row["ended_at"] = iso_utc(self.ended_at)
        return row


@dataclass
class EventLog:
    """The events of one workflow, in the order the steps ran.

    ``package_id`` is provisional (the submission's name) until the METS or bag names the
    package; ``finish`` stamps the final id and version on every event.
    """

    workflow_id: str
    submission: str
    package_id: str
    events: list[IngestEvent] = field(default_factory=list)

    def add(
        self,
        step: Step,
        outcome: Outcome,
        detail: str,
        *,
        file_path: str | None = None,
        tool: str | None = None,
        tool_version: str | None = None,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        manifest: str | None = None,
    ) -> IngestEvent:
        end = ended_at or utc_now()
        event = IngestEvent(
            event_id=event_id(self.workflow_id, step, file_path),
            workflow_id=self.workflow_id,
            package_id=self.package_id,
            package_version=None,
            step=step,
            file_path=file_path,
            outcome=outcome,
            detail=detail,
            tool=tool,
            tool_version=tool_version,
            started_at=started_at or end,
            ended_at=end,
            submission=self.submission,
            manifest=manifest,
        )
        self.events.append(event)
        return event

    def failures(self) -> list[IngestEvent]:
        return [event for event in self.events if event.outcome is Outcome.FAILURE]

    def finish(self, package_id: str, version: int | None) -> list[IngestEvent]:
        """Every event with the package's final id and version."""
        return [
            replace(event, package_id=package_id, package_version=version) for event in self.events
        ]
