"""Readable labels for the packages page: query rows -> the rows its tables show.

Pure functions (no Streamlit, no database), so the page stays a thin layout and these are
tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Row = Mapping[str, Any]

STEP_LABELS = {
    "unpack": "Unpacking",
    "filename_change": "File name normalisation",
    "bag_validation": "BagIt validation",
    "mets_parsing": "Metadata extraction",
    "resubmission_check": "Resubmission check",
    "digest": "Checksum calculation",
    "fixity": "Fixity check",
    "format": "Format identification",
    "virus_scan": "Virus scan",
    "store": "Storage",
    "quarantine": "Quarantine",
}
STATUS_LABELS = {
    "stored": "Stored",
    "duplicate": "Duplicate of a stored version",
    "quarantined": "Quarantined",
    "incomplete": "Incomplete",
}
OUTCOME_LABELS = {"success": "✅ success", "warning": "⚠️ warning", "failure": "❌ failure"}
CHECKSUM_LABELS = {
    "verified": "Verified against the supplied checksum",
    "not_supplied": "No checksum supplied",
    "unsupported_algorithm": "Supplied checksum's algorithm unsupported",
}
VIRUS_LABELS = {"clean": "Clean", "over_limit": "Not scanned: over the size limit"}
_UNITS = ("B", "KB", "MB", "GB", "TB")


def _label(labels: Mapping[str, str], value: str | None) -> str:
    """The label of ``value``; an unknown value as it is (a newer writer may add some)."""
    return "" if value is None else labels.get(value, value)


def readable_size(size: int | None) -> str:
    if size is None:
        return ""
    amount, unit = float(size), 0
    while amount >= 1000 and unit < len(_UNITS) - 1:
        amount, unit = amount / 1000, unit + 1
    return f"{size:,} B" if unit == 0 else f"{amount:.1f} {_UNITS[unit]}"


def readable_time(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def package_rows(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            "Package": row["package_id"],
            "Title": row["title"] or "",
            "Status": _label(STATUS_LABELS, row["status"]),
            "Latest version": row["version"],
            "Files": row["file_count"],
            "Size": readable_size(row["total_bytes"]),
            "Last submission": row["submission"],
            "Last processed": readable_time(row["ended_at"]),
        }
        for row in rows
    ]


def timeline_rows(events: Sequence[Row]) -> list[dict[str, Any]]:
    """A workflow's events as its step-by-step timeline."""
    return [
        {
            "Step": _label(STEP_LABELS, event["step"]),
            "File": event["file_path"] or "",
            "Outcome": _label(OUTCOME_LABELS, event["outcome"]),
            "Started": readable_time(event["started_at"]),
            "Ended": readable_time(event["ended_at"]),
            "Seconds": round((event["ended_at"] - event["started_at"]).total_seconds(), 3),
            "Tool": " ".join(t for t in (event["tool"], event["tool_version"]) if t),
            "Detail": event["detail"] or "",
        }
        for event in events
    ]


def file_rows(files: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            "File": row["path"] + (" (container, unpacked)" if row["container"] else ""),
            "Format (PUID)": row["puid"] or "",
            "Format": row["format_name"] or "",
            "Media type": row["mime"] or "",
            "Size": readable_size(row["size"]),
            "Checksum": _label(CHECKSUM_LABELS, row["checksum_status"]),
            "Virus scan": _label(VIRUS_LABELS, row["virus_verdict"])
            + (f" ({row['virus_signature']})" if row["virus_signature"] else ""),
        }
        for row in files
    ]


def quarantine_rows(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {
            "Quarantined": readable_time(row["quarantined_at"]),
            "Package": row["package_id"],
            "Submission": row["submission"],
            "Reason": row["reason"] or "",
            "Failed steps": ", ".join(_label(STEP_LABELS, s) for s in row["failed_steps"] or ()),
            "Kept in": row["quarantine_folder"],
            "Workflow": row["workflow_id"],
        }
        for row in rows
    ]


def workflow_choice(row: Row) -> str:
    """How one workflow reads in the workflow picker."""
    return (
        f"{readable_time(row['ended_at'])} · {row['package_id']} · "
        f"{_label(STATUS_LABELS, row['status'])} · {row['events']} events"
        + (f", {row['failures']} failed" if row["failures"] else "")
    )


def version_choice(row: Row) -> str:
    """How one stored version reads in the version picker."""
    latest = " (latest)" if row["is_latest"] else ""
    title = f" · {row['title']}" if row["title"] else ""
    return f"{row['package_id']} v{row['version']}{latest}{title}"


def diff_summary(diff: Mapping[str, Sequence[str]] | None) -> str:
    """What changed against the previous version, in one line; "" for a first version."""
    if not diff:
        return ""
    parts = [
        f"{len(diff.get(key) or ())} {name}"
        for key, name in (("added", "added"), ("removed", "removed"), ("changed", "changed"))
        if diff.get(key)
    ]
    if diff.get("metadata_changed"):
        parts.append("metadata changed: " + ", ".join(diff["metadata_changed"]))
    return "Against the previous version: " + ("; ".join(parts) if parts else "no change")
