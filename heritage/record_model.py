"""The record identity and message envelope contracts (see DESIGN.md, Contracts).

Pure functions only: no I/O. ``record_id`` is stable and source-namespaced and never a URL
with a query string; ``content_hash`` is the SHA-256 of the payload's canonical JSON, so the
same content always hashes the same whatever the key order or the arrival time.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
_EUROPEANA_ID = re.compile(r"^/[^/?#\s]+/[^?#\s]+$")


class RecordIdentityError(ValueError):
    """A source record carries no usable identifier."""


def europeana_record_id(europeana_id: object) -> str:
    """`/2021672/resource_document_mauritshuis_670` -> `europeana:/2021672/resource_...`."""
    if not isinstance(europeana_id, str) or not _EUROPEANA_ID.match(europeana_id):
        raise RecordIdentityError(
            f"Europeana id {europeana_id!r} is not of the form /DATASET/LOCAL_ID"
        )
    return f"europeana:{europeana_id}"


def unidentified_record_id(source: str, raw: bytes) -> str:
    """A deterministic key for input with no usable id, so it can still be dead-lettered."""
    return f"{source}:unidentified:{hashlib.sha256(raw).hexdigest()[:24]}"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: the basis of content hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SourceRecord:
    """What a source adapter hands to the producer path.

    ``payload`` is the record exactly as the source gave it (a JSON object, or the XML text
    of an OAI-PMH/LIDO record). ``record`` is the payload mapped onto the common record model
    when the payload is not already in it (see COMMON_RECORD_FIELDS); ``deleted`` marks a
    tombstone (an OAI-PMH header with status="deleted", a row gone from a CSV export).
    """

    record_id: str
    payload: Any
    record: dict[str, Any] | None = None
    deleted: bool = False


# The Europeana object types, the only values the common record's ``type`` may take.
OBJECT_TYPES = ("IMAGE", "TEXT", "SOUND", "VIDEO", "3D")

# The common record model: the fields the cleanse stage reads, named as in a Europeana
# Search API item, so Europeana items need no mapping. Lists hold one value per occurrence.
COMMON_RECORD_FIELDS = {
    "id": "str: the source's own identifier",
    "type": "str: IMAGE | TEXT | SOUND | VIDEO | 3D",
    "title": "list[str]: titles, preferred first",
    "dcTitleLangAware": "dict[str, list[str]]: titles by ISO 639 language code",
    "dcCreator": "list[str]",
    "dcDescription": "list[str]",
    "dcDate": "list[str]: dates as the source wrote them",
    "rights": "list[str]: rights statement URIs",
    "edmIsShownBy": "list[str]: URLs of the digital object (image)",
    "dataProvider": "list[str]: the institution holding the object",
    "provider": "list[str]: the aggregator or repository that delivered it",
    "country": "list[str]",
    "language": "list[str]: ISO 639 codes",
    "timestamp_update": "str: ISO 8601 UTC time of the source's last change",
    # Text read from the object's files by OCR. Cleanse never rejects a record for these:
    # a value of the wrong shape is dropped.
    "ocr_text": 'str: all pages\' text, pages joined by "\\n\\n", at most 200,000 characters',
    "ocr_confidence": "number: mean word confidence 0..100 over all words of all pages",
    "ocr_pages": "list[object]: one per page read: file, page, confidence, language,"
    " rotation, characters, words, flagged, reason, text_key, hocr_key",
    "ocr_fields": "list[object]: fields found in the text: kind, value, normalised, file,"
    " page, start, end, confidence, rule, uri, box, flagged",
    # The embargo as the source states it, and the end producers computed from it with
    # heritage.embargo_time.embargo_end (a value it refuses rejects the record).
    "embargo_until": "str: the embargo end as the source wrote it (date, year-month, year,"
    " date-time)",
    "embargo_zone": "str: the IANA zone the end was read in (the source's, else the policy's)",
    "embargo_rule": "str: instant | through_named_day | through_named_month | through_named_year",
    "embargo_end_utc": "str: the first instant the embargo no longer holds, ISO 8601 UTC with Z",
    "creator_death_year": "int: the year the (last-dying) creator died, when the source says",
}

# Producers cut ``ocr_text`` to this many characters.
MAX_OCR_TEXT = 200_000


@dataclass(frozen=True)
class Envelope:
    """The JSON message every producer publishes; Kafka key = record_id."""

    record_id: str
    source: str
    content_hash: str
    ingested_at: str
    correlation_id: str
    payload: Any
    record: dict[str, Any] | None = None
    deleted: bool = False
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(
            {
                "record_id": self.record_id,
                "source": self.source,
                "schema_version": self.schema_version,
                "content_hash": self.content_hash,
                "ingested_at": self.ingested_at,
                "correlation_id": self.correlation_id,
                "deleted": self.deleted,
                "record": self.record,
                "payload": self.payload,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )


def iso_utc(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with microseconds and a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def utc_now_iso() -> str:
    return iso_utc(datetime.now(tz=UTC))


def envelope_for(
    source: str, item: SourceRecord, correlation_id: str, ingested_at: str
) -> Envelope:
    """The envelope of one source record; content_hash covers what the source sent and
    whether it is a deletion, so a tombstone differs from the record it deletes."""
    return Envelope(
        record_id=item.record_id,
        source=source,
        content_hash=content_hash({"deleted": True, "payload": item.payload})
        if item.deleted
        else content_hash(item.payload),
        ingested_at=ingested_at,
        correlation_id=correlation_id,
        payload=item.payload,
        record=item.record,
        deleted=item.deleted,
    )
