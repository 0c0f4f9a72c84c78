"""Reading one file in a worker process: the OCR configuration of a deployment, the field
rules and Tesseract engines each worker keeps, and a file's entry with its page texts and
hOCR written beside it. Shared by the package workflow, loose scans and the records' images.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heritage.ocr.field_rules import DEFAULT_RULES_PATH, FieldRules, load_field_rules
from heritage.ocr.field_rules_error import FieldRulesError
from heritage.ocr.ocr_results import file_entry, reading_fields
from heritage.ocr.ocr_settings import CollectionSettings, OcrSettings, load_collection_settings
from heritage.ocr.page_reading import PageReader, read_file
from heritage.settings import Settings


@dataclass(frozen=True)
class OcrConfig:
    """Whether files are read, with which settings per collection, and the field rules
    (a TOML file; None: the project's config/ocr/fields.toml)."""

    enabled: bool
    collections: CollectionSettings
    field_rules: Path | None = None
    # Record types whose image the pipeline reads (a record's own OCR text comes first).
    record_types: tuple[str, ...] = ("TEXT",)
    # Worker processes of the pipeline's ocr stage (one page at a time each).
    workers: int = 2


def load_ocr_config(settings: Settings) -> OcrConfig:
    """HERITAGE_OCR (on | off, default on), HERITAGE_OCR_CONFIG (the per-collection settings,
    default config/ocr/collections.toml), HERITAGE_OCR_FIELDS (the field rules, default
    config/ocr/fields.toml), HERITAGE_OCR_RECORD_TYPES (comma-separated, default TEXT) and
    HERITAGE_OCR_WORKERS (the ocr stage's worker processes, default 2)."""
    switch = settings.value("HERITAGE_OCR", "on").strip().lower()
    if switch not in ("on", "off"):
        raise ValueError(f"HERITAGE_OCR={switch!r} must be 'on' or 'off'")
    collections = settings.value("HERITAGE_OCR_CONFIG", "")
    fields = settings.value("HERITAGE_OCR_FIELDS", "")
    types = settings.value("HERITAGE_OCR_RECORD_TYPES", "TEXT")
    workers = settings.value("HERITAGE_OCR_WORKERS", "2").strip()
    if not workers.isdigit() or not 1 <= int(workers) <= 64:
        raise ValueError(f"HERITAGE_OCR_WORKERS={workers!r} must be a number from 1 to 64")
    # Read once here so that a broken rules file stops the run before any file is read.
    load_field_rules(Path(fields) if fields else None)
    return OcrConfig(
        enabled=switch == "on",
        collections=load_collection_settings(Path(collections) if collections else None),
        field_rules=Path(fields) if fields else None,
        record_types=tuple(t.strip().upper() for t in types.split(",") if t.strip()),
        workers=int(workers),
    )


def field_rules_digest(path: Path | None) -> str:
    """Eight hex digits of the field rules file and every gazetteer it names: readings made
    under other rules are read again where that matters (the records' images)."""
    rules = path or DEFAULT_RULES_PATH
    digest = hashlib.sha256()
    try:
        data = rules.read_bytes()
        digest.update(data)
        document = tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return digest.hexdigest()[:8]  # load_field_rules has said what is wrong
    entries = document.get("gazetteer")
    for entry in entries if isinstance(entries, list) else []:
        name = entry.get("file") if isinstance(entry, dict) else None
        if isinstance(name, str):
            try:
                digest.update((rules.parent / name).read_bytes())
            except OSError:
                digest.update(name.encode())
    return digest.hexdigest()[:8]


def reading_digest(settings: OcrSettings, rules_digest: str) -> str:
    """Eight hex digits naming a reading: the OCR settings and the field rules."""
    return hashlib.sha256(f"{settings.digest()}/{rules_digest}".encode()).hexdigest()[:8]


def read_to_entry(
    path: Path, folder: Path, settings: OcrSettings, rules: FieldRules, reader: PageReader
) -> dict[str, Any]:
    """Read the file's pages and extract their fields: its entry
    (:func:`heritage.ocr.ocr_results.file_entry`), each page's text and hOCR written to
    ``folder`` and named in the page's ``text_file`` / ``hocr_file``."""
    reading = read_file(path, settings, reader)
    entry = file_entry(reading, reading_fields(reading, rules), settings)
    folder.mkdir(parents=True, exist_ok=True)
    for page, kept in zip(reading.pages, entry["pages"], strict=True):
        text_path = folder / f"page-{page.number:04d}.txt"
        text_path.write_text(page.text, encoding="utf-8")
        kept["text_file"] = str(text_path)
        if page.hocr:
            hocr_path = folder / f"page-{page.number:04d}.hocr"
            hocr_path.write_text(page.hocr, encoding="utf-8")
            kept["hocr_file"] = str(hocr_path)
    return entry


@functools.lru_cache(maxsize=8)
def field_rules_for(path: Path | None, institution: str | None) -> FieldRules:
    """The field rules of ``institution`` (a data provider's name, matched to the rules'
    institution keys case- and space-insensitively), or the default rules when it has none
    of its own. Cached per worker process."""
    if institution is None:
        return load_field_rules(path, None)
    try:
        return load_field_rules(path, _institution_key(institution))
    except FieldRulesError:
        # The file's own problems show again here; an institution without rules does not.
        return load_field_rules(path, None)


def _institution_key(name: str) -> str:
    return "".join(char for char in name.casefold() if char.isalnum())


# One reader per settings per worker process, its engines kept open for the packages that
# follow (loading a model costs a tenth of a second or more); they close with the process.
_READERS: dict[OcrSettings, PageReader] = {}


def reader_for(settings: OcrSettings) -> PageReader:
    reader = _READERS.get(settings)
    if reader is None:
        reader = PageReader(settings)
        _READERS[settings] = reader
    return reader
