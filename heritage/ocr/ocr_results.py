"""What is kept of a file's reading, and the OCR fields of the common record built from it.

Pure. A file's entry (in a package manifest, or a scan's payload) holds per page its text,
confidence, language, rotation, review flag and extracted fields; :func:`record_ocr` turns
the entries of a record's files into the record's ``ocr_text``, ``ocr_confidence``,
``ocr_pages`` and ``ocr_fields`` (heritage.record_model.COMMON_RECORD_FIELDS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from heritage.ocr.field_rules import FieldRules
from heritage.ocr.ocr_settings import OcrSettings
from heritage.ocr.page_reading import FileText, PageText
from heritage.ocr.text_fields import TextField, extract_fields

# Bounds of what one record carries, so that its Kafka message stays under the broker's
# 1 MB: the text in characters and in UTF-8 bytes, the page and field lists in JSON bytes.
# The full text of every page stays in the object store.
MAX_RECORD_TEXT = 200_000
MAX_RECORD_TEXT_BYTES = 400_000
MAX_LIST_BYTES = 150_000
PAGE_SEPARATOR = "\n\n"
BLANK = "blank page"


def reading_fields(reading: FileText, rules: FieldRules) -> list[list[TextField]]:
    """The fields extracted from each page read."""
    return [extract_fields(page.text, page.words, rules) for page in reading.pages]


def page_entry(
    page: PageText, fields: Sequence[TextField], settings: OcrSettings
) -> dict[str, Any]:
    """One page's entry: its reading and fields, flagged for review when not confident."""
    reason = None
    if page.blank:
        reason = BLANK
    elif page.confidence is not None and page.confidence < settings.min_confidence:
        reason = f"low confidence {page.confidence:.1f} < {settings.min_confidence:g}"
    return {
        "page": page.number,
        "text": page.text,
        "confidence": None if page.confidence is None else round(page.confidence, 2),
        "language": page.language,
        "rotation": page.rotation,
        "deskew": page.deskew,
        "characters": len(page.text),
        "words": len(page.words),
        "flagged": reason is not None and reason != BLANK,
        "reason": reason,
        "fields": [field_entry(field, settings) for field in fields],
    }


def field_entry(field: TextField, settings: OcrSettings) -> dict[str, Any]:
    entry = asdict(field)
    entry["confidence"] = round(field.confidence, 3)
    entry["box"] = list(field.box) if field.box else None
    entry["flagged"] = field.confidence * 100 < settings.min_confidence
    return entry


def file_entry(
    reading: FileText, fields: Sequence[Sequence[TextField]], settings: OcrSettings
) -> dict[str, Any]:
    """A file's entry: the settings' digest, why it failed (if it did), its pages."""
    return {
        "settings": settings.digest(),
        "languages": settings.languages,
        "failure": reading.failure,
        "pages": [
            page_entry(page, page_fields, settings)
            for page, page_fields in zip(reading.pages, fields, strict=True)
        ],
    }


# A page text's key as page_keys makes it, under a package blob or a stored original; the
# dashboard reads no other key a record names.
_PAGE_TEXT_KEY = re.compile(
    r"(?:[A-Za-z0-9._-]+/)*(?:blobs/sha256/[0-9a-f]{2}/[0-9a-f]{2}|original)/[0-9a-f]{64}"
    r"\.ocr/[0-9a-f]{8}/page-[0-9]{4,6}\.txt"
)


def is_page_text_key(key: str) -> bool:
    """Whether ``key`` has the form of a page text's key (records carry keys as data)."""
    return _PAGE_TEXT_KEY.fullmatch(key) is not None and ".." not in key.split("/")


def page_keys(base_key: str, digest: str, page: int) -> tuple[str, str]:
    """(text key, hOCR key) of a page's derivatives next to the file's object."""
    stem = f"{base_key}.ocr/{digest}/page-{page:04d}"
    return f"{stem}.txt", f"{stem}.hocr"


def store_page_files(
    entry: dict[str, Any], base_key: str, upload: Callable[[Path, str], object]
) -> None:
    """Hand each page's local text and hOCR to ``upload`` under its key next to
    ``base_key``; the keys replace the local paths in the entry (an entry shared by
    identical files is stored once)."""
    for page in entry["pages"]:
        keys = page_keys(base_key, entry["settings"], page["page"])
        for local_name, key_name, key in zip(
            ("text_file", "hocr_file"), ("text_key", "hocr_key"), keys, strict=True
        ):
            local = page.pop(local_name, None)
            if local:
                upload(Path(local), key)
                page[key_name] = key


def record_ocr(files: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The record's OCR fields from (file path, file entry) pairs; empty when nothing was
    read. Pages with text come in file order then page order."""
    texts: list[str] = []
    pages: list[dict[str, Any]] = []
    fields: list[dict[str, Any]] = []
    weighted = words = 0.0
    for path, entry in files:
        if entry.get("failure") and not entry.get("pages"):
            pages.append(_failed_page(path, str(entry["failure"])))
        for page in entry.get("pages") or []:
            text = str(page.get("text") or "")
            if text.strip():
                texts.append(text.strip())
            count = int(page.get("words") or 0)
            if page.get("confidence") is not None and count:
                weighted += float(page["confidence"]) * count
                words += count
            pages.append(_page_summary(path, page))
            fields.extend({"file": path, "page": page.get("page"), **f} for f in page["fields"])
        if entry.get("failure") and entry.get("pages"):
            pages.append(_failed_page(path, str(entry["failure"])))
    if not pages:
        return {}
    result: dict[str, Any] = {
        "ocr_pages": within_budget(pages, MAX_LIST_BYTES),
        "ocr_fields": within_budget(fields, MAX_LIST_BYTES),
    }
    text = PAGE_SEPARATOR.join(texts)
    if text:
        result["ocr_text"] = _text_within(text[:MAX_RECORD_TEXT], MAX_RECORD_TEXT_BYTES)
    if words:
        result["ocr_confidence"] = round(weighted / words, 2)
    return result


def within_budget(items: Sequence[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The items whose JSON fits in ``budget`` bytes, flagged ones (those a curator must
    see) chosen first, in their original order."""
    order = sorted(range(len(items)), key=lambda index: not items[index].get("flagged"))
    kept: set[int] = set()
    used = 2
    for index in order:
        size = len(json.dumps(items[index], ensure_ascii=False).encode("utf-8")) + 2
        if used + size > budget:
            break
        kept.add(index)
        used += size
    return [item for index, item in enumerate(items) if index in kept]


def _text_within(text: str, budget: int) -> str:
    """``text`` cut to at most ``budget`` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8")
    return text if len(data) <= budget else data[:budget].decode("utf-8", errors="ignore")


def _page_summary(path: str, page: Mapping[str, Any]) -> dict[str, Any]:
    keys: tuple[str, ...] = ("page", "confidence", "language", "rotation", "deskew")
    keys += ("characters", "words", "flagged")
    summary = {"file": path, **{key: page.get(key) for key in keys}}
    summary["reason"] = page.get("reason")
    summary["text_key"] = page.get("text_key")
    summary["hocr_key"] = page.get("hocr_key")
    return summary


def _failed_page(path: str, reason: str) -> dict[str, Any]:
    return {
        "file": path,
        "page": 0,
        "confidence": None,
        "language": None,
        "rotation": 0,
        "characters": 0,
        "words": 0,
        "flagged": True,
        "reason": reason,
        "text_key": None,
        "hocr_key": None,
    }
