"""Known fields of loose scans, from a sidecar file, and a scan's record. Pure apart from
reading the sidecar.

A sidecar is a CSV file (a header row; a ``file`` column naming the scan by its path relative
to the folder given, or by its file name) or a JSON file (a list of objects with ``file``,
or an object keyed by file). Its other columns are any of :data:`SIDECAR_FIELDS`; several
values in one cell are separated by ``|``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from heritage.ocr.ocr_results import record_ocr
from heritage.record_model import SourceRecord
from heritage.source_rejections import SourceRejection

SOURCE = "scan"
# Sidecar column -> common record field.
SIDECAR_FIELDS = {
    "title": "title",
    "creator": "dcCreator",
    "date": "dcDate",
    "description": "dcDescription",
    "rights": "rights",
    "data_provider": "dataProvider",
    "language": "language",
    "type": "type",
}
_IDENTIFIER = "id"
_MAX_SIDECAR_BYTES = 64 * 1024 * 1024


class SidecarError(SourceRejection):
    """The sidecar cannot be read; the message names the file, what is wrong and the fix."""


@dataclass(frozen=True)
class KnownFields:
    """What the sidecar says of one scan: its id (if given) and its fields' values."""

    identifier: str | None
    values: Mapping[str, tuple[str, ...]]


def read_sidecar(path: Path) -> dict[str, KnownFields]:
    """The sidecar's rows by their ``file`` value (a relative path or a file name)."""
    if path.stat().st_size > _MAX_SIDECAR_BYTES:
        raise SidecarError(f"{path}: over {_MAX_SIDECAR_BYTES // 2**20} MiB; split it")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise SidecarError(f"{path}: not UTF-8 ({error}); save it as UTF-8") from error
    rows = _json_rows(path, text) if path.suffix.lower() == ".json" else _csv_rows(path, text)
    known: dict[str, KnownFields] = {}
    for number, row in enumerate(rows, start=1):
        name = str(row.get("file") or "").strip()
        if not name:
            raise SidecarError(f"{path}: row {number} has no 'file'; name the scan it describes")
        if name in known:
            raise SidecarError(f"{path}: '{name}' is described twice; keep one row")
        known[name] = _known(row)
    return known


def _csv_rows(path: Path, text: str) -> list[Mapping[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _checked_rows(path, reader)
    except csv.Error as error:  # a NUL byte, a cell over the csv module's field limit
        raise SidecarError(
            f"{path}: line {reader.line_num} is not CSV ({error}); fix that line"
        ) from error


def _checked_rows(path: Path, reader: csv.DictReader[str]) -> list[Mapping[str, Any]]:
    if not reader.fieldnames or "file" not in reader.fieldnames:
        raise SidecarError(f"{path}: no 'file' column in the header; add one naming each scan")
    unknown = set(reader.fieldnames) - {"file", _IDENTIFIER, *SIDECAR_FIELDS}
    if unknown:
        known = ", ".join(["file", _IDENTIFIER, *SIDECAR_FIELDS])
        raise SidecarError(
            f"{path}: unknown column(s) {', '.join(sorted(unknown))}; known: {known}"
        )
    return list(reader)


def _json_rows(path: Path, text: str) -> list[Mapping[str, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SidecarError(f"{path}: not valid JSON ({error}); fix the file") from error
    if isinstance(document, Mapping):
        if not all(isinstance(value, Mapping) for value in document.values()):
            raise SidecarError(f"{path}: an object keyed by file must hold objects of fields")
        document = [{**value, "file": key} for key, value in document.items()]
    if not isinstance(document, list) or not all(isinstance(v, Mapping) for v in document):
        raise SidecarError(f"{path}: expected a list of objects, or an object keyed by file")
    return document


def _known(row: Mapping[str, Any]) -> KnownFields:
    values: dict[str, tuple[str, ...]] = {}
    for column in SIDECAR_FIELDS:
        cell = row.get(column)
        items = cell if isinstance(cell, list) else str(cell or "").split("|")
        kept = tuple(str(item).strip() for item in items if str(item).strip())
        if kept:
            values[column] = kept
    identifier = str(row.get(_IDENTIFIER) or "").strip() or None
    return KnownFields(identifier, values)


def known_for(sidecar: Mapping[str, KnownFields], relative: PurePosixPath) -> KnownFields:
    """The sidecar row of a scan: by relative path, else by file name; none: empty."""
    return sidecar.get(str(relative)) or sidecar.get(relative.name) or KnownFields(None, {})


def duplicate_ids(ids: Mapping[str, str]) -> dict[str, list[str]]:
    """The record ids given to more than one scan (record id -> the scans' paths), from
    scan path -> record id."""
    by_id: dict[str, list[str]] = {}
    for path, record_id in ids.items():
        by_id.setdefault(record_id, []).append(path)
    return {record_id: paths for record_id, paths in by_id.items() if len(paths) > 1}


def scan_record_id(collection: str, relative: PurePosixPath, known: KnownFields) -> str:
    """``scan:<collection>:<id>``: the sidecar's id, else the scan's relative path."""
    return f"{SOURCE}:{collection}:{known.identifier or relative}"


def scan_record(
    collection: str,
    relative: PurePosixPath,
    sha256: str,
    known: KnownFields,
    entry: Mapping[str, Any],
    defaults: Mapping[str, str],
) -> SourceRecord:
    """The scan's record: the sidecar's fields (else ``defaults``: data_provider, rights),
    type TEXT unless the sidecar says otherwise, and what OCR read."""
    values = dict(known.values)
    for column, value in defaults.items():
        if value and column not in values:
            values[column] = (value,)
    record: dict[str, Any] = {
        "id": known.identifier or str(relative),
        "type": (values.pop("type", ("TEXT",))[0]).upper(),
    }
    for column, items in values.items():
        record[SIDECAR_FIELDS[column]] = list(items)
    record.setdefault("title", [relative.stem])
    record.update(record_ocr([(str(relative), entry)]))
    pages = [_page_without_text(page) for page in entry.get("pages") or []]
    payload = {
        "file": str(relative),
        "sha256": sha256,
        "collection": collection,
        "known": {column: list(items) for column, items in sorted(known.values.items())},
        "ocr": {
            "settings": entry.get("settings"),
            "failure": entry.get("failure"),
            "pages": pages,
        },
    }
    return SourceRecord(scan_record_id(collection, relative, known), payload, record=record)


def _page_without_text(page: Mapping[str, Any]) -> dict[str, Any]:
    keys: Sequence[str] = ("page", "confidence", "language", "rotation", "characters")
    return {key: page.get(key) for key in keys}
