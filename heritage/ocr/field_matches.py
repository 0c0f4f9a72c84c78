"""What every field finder returns before word confidences and boxes are attached."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldMatch:
    # "date" | "accession_number" | "name" | "place" | "document_type"
    kind: str
    # Character offsets in the page text as the caller passed it (not the joined view).
    start: int
    end: int
    normalised: str
    # Which rule matched, e.g. "date:day month year (de)".
    rule: str
    # How much the rule itself is trusted, 0..1; multiplied by the words' confidence.
    weight: float
    uri: str | None = None
