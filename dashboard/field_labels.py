"""What a curator reads on the object page: field labels in catalogue words (as Europeana's
portal, Omeka S or CollectiveAccess name them) instead of column names, dates and times in
a readable form, titles by language, and the record as downloadable JSON. Pure functions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

# Column -> label, in the order the object page lists the fields.
FIELD_LABELS: dict[str, str] = {
    "record_id": "Identifier",
    "source": "Source",
    "creators": "Creator",
    "description": "Description",
    "date_original": "Date",
    "date_start": "Earliest date",
    "date_end": "Latest date",
    "object_type": "Type of object",
    "data_provider": "Providing institution",
    "provider": "Aggregator",
    "country": "Providing country",
    "languages": "Language",
    "tags": "Tags",
    "comment_count": "Comments",
    "annotation_count": "Annotations",
    "canonical_id": "Duplicate group (canonical record)",
    "image_url": "Image link at the institution",
    "source_updated_at": "Last changed at the source",
    "ingested_at": "Harvested",
}

# What a missing value shows: a plain "-" would render as a Markdown bullet.
MISSING = "—"

# Language codes the sample collections and Europeana use most; others show their code.
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "nl": "Nederlands",
    "de": "Deutsch",
    "fr": "Français",
    "it": "Italiano",
    "es": "Español",
    "pl": "Polski",
    "sv": "Svenska",
    "da": "Dansk",
    "fi": "Suomi",
    "pt": "Português",
    "cs": "Čeština",
    "def": "Not specified",
}


def field_label(column: str) -> str:
    """The curator's word for a column; an unknown column reads as its words, capitalised."""
    return FIELD_LABELS.get(column) or column.replace("_", " ").capitalize()


def readable_datetime(moment: datetime) -> str:
    """A timestamp in UTC to the minute, e.g. "6 Dec 2026, 17:40 UTC" (naive ones are UTC)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{utc.day} {utc:%b %Y, %H:%M} UTC"


def readable_date(day: date) -> str:
    """A calendar date, e.g. "6 Dec 2026"."""
    return f"{day.day} {day:%b %Y}"


def readable_value(value: Any) -> str:
    """Any field value as text: lists joined, dates readable, nothing as an em dash."""
    if value is None or value == "" or value == []:
        return MISSING
    if isinstance(value, datetime):
        return readable_datetime(value)
    if isinstance(value, date):
        return readable_date(value)
    if isinstance(value, list | tuple):
        return ", ".join(readable_value(item) for item in value)
    return str(value)


def pixel_size(width: int | None, height: int | None) -> str:
    """An image's pixel size, e.g. "4,000 by 3,000 px" with a multiplication sign, or "unknown"."""
    return f"{width:,} \N{MULTIPLICATION SIGN} {height:,} px" if width and height else "unknown"


def field_rows(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every field as a labelled line of text, in a stable order."""
    shown = {**record, "languages": [language_name(c) for c in record.get("languages") or []]}
    return [
        {"field": label, "value": readable_value(shown.get(column))}
        for column, label in FIELD_LABELS.items()
    ]


def parsed_titles(titles: Mapping[str, Sequence[str]] | str | None) -> dict[str, list[str]]:
    """The language-tagged titles (analytics.objects.titles: {"en": ["..."], ...})."""
    parsed = json.loads(titles) if isinstance(titles, str) else (titles or {})
    return {language: list(values) for language, values in parsed.items() if values}


def language_name(code: str) -> str:
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code


def title_languages(titles: Mapping[str, Sequence[str]], main_title: str) -> list[str]:
    """The languages a title exists in; the one the main title is written in comes first."""
    ordered = sorted(titles)
    first = [code for code in ordered if main_title in titles[code]]
    return first[:1] + [code for code in ordered if code not in first[:1]]


def title_in(titles: Mapping[str, Sequence[str]], language: str | None, main_title: str) -> str:
    """The title in ``language`` (several joined), or the main title when there is none."""
    values = titles.get(language or "", [])
    return " / ".join(values) if values else main_title


def title_rows(titles: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    return [
        {"language": language_name(language), "title": title}
        for language in sorted(titles)
        for title in titles[language]
    ]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return utc.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_json(record: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The record's ``columns`` as indented JSON (timestamps ISO 8601 in UTC, titles parsed)."""
    document = {
        column: parsed_titles(record.get(column))
        if column == "titles"
        else _json_value(record.get(column))
        for column in columns
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str)
