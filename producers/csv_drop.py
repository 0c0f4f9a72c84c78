"""CSV drops: a collection's export as CSV, published row by row, changes only.

Each row becomes one record keyed ``csv:<collection>:<id>``: the payload is the row as
received (``{column: cell}``), the record its mapping onto the common model through a
:class:`CsvColumnMapping`. A per-collection state (SQLite, beside the publish ledger) keeps
``id -> row hash``, so a rerun publishes only new and changed rows and turns rows that
disappeared since the collection's last run into tombstones. The state changes only after
Kafka confirmed what it covers.

Rows that cannot be read (no id, a repeated id, the wrong number of cells, bytes that are
not in the file's encoding) are never skipped silently: each goes to the dead-letter topic
with the file, the line, the reason and the raw text. A row that could not be identified
also withholds this run's tombstones, since the missing id might be that row's.

Encodings: UTF-8 with or without a byte-order mark, else the encoding the caller declares
(byte-oriented ones: cp1252, latin-1...); a line that does not decode can fall back to a
declared second encoding (a UTF-8 export with a few cp1252 lines). The delimiter is the one
of ``,``, ``;`` and tab that the header line uses most, unless given.
"""

from __future__ import annotations

import base64
import codecs
import csv
import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from heritage.kafka_topics import DEAD_LETTER_TOPIC, RECORDS_TOPIC, ensure_topics
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.lido_drop import safe_key_part
from heritage.producers.metadata_mapping import UNKNOWN_LANGUAGE_KEY, iso639_language
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import SourceRecord, content_hash, unidentified_record_id, utc_now_iso
from heritage.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "csv"
STAGE = "csv-drop"
DELIMITER_CANDIDATES = (",", ";", "\t")
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_UTF8_BOM = codecs.BOM_UTF8
# What undecodable bytes become when a line is kept with errors="surrogateescape".
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class CsvColumnMapping:
    """Which CSV column fills which common-record field; None leaves a field unmapped.
    Column names match the header case-insensitively, surrounding spaces ignored."""

    # The row's own identifier, unique within the collection (required).
    id: str = "id"
    # Titles (common field ``title``; also ``dcTitleLangAware`` under "def").
    title: str | None = "title"
    # Creators (``dcCreator``).
    creator: str | None = "creator"
    # Descriptions (``dcDescription``).
    description: str | None = "description"
    # Dates as written (``dcDate``).
    date: str | None = "date"
    # Rights statement URIs (``rights``).
    rights: str | None = "rights"
    # URLs of the digital object (``edmIsShownBy``).
    image_url: str | None = "image_url"
    # The institution holding the object (``dataProvider``).
    data_provider: str | None = "data_provider"
    # The aggregator or repository that delivered it (``provider``).
    provider: str | None = "provider"
    # IMAGE, TEXT, SOUND, VIDEO or 3D (``type``; the first value).
    type: str | None = "type"
    # Languages, mapped to ISO 639 codes (``language``).
    language: str | None = "language"
    # Countries (``country``).
    country: str | None = "country"
    # When the source last changed the row, ISO 8601 (``timestamp_update``).
    updated: str | None = "updated"
    # Data provider for every row when the export has no such column (the exporting museum).
    default_data_provider: str | None = None
    # Separator of several values in one cell.
    multi_value_separator: str = "|"


# CsvColumnMapping field -> common record field, for the list-valued fields.
_LIST_FIELDS = {
    "title": "title",
    "creator": "dcCreator",
    "description": "dcDescription",
    "date": "dcDate",
    "rights": "rights",
    "image_url": "edmIsShownBy",
    "data_provider": "dataProvider",
    "provider": "provider",
    "language": "language",
    "country": "country",
}


class CsvDropError(ValueError):
    """The export cannot be read at all (no header, no id column, unknown encoding...)."""


@dataclass(frozen=True)
class CsvRow:
    """A row read and identified: its cells by column, as received."""

    line: int
    row_id: str
    cells: dict[str, str]
    raw_bytes: int


@dataclass(frozen=True)
class BadCsvRow:
    """A row that cannot be published, with everything needed to fix it."""

    line: int
    reason: str
    raw: str
    raw_base64: str | None
    row_id: str | None
    raw_bytes: int


@dataclass
class CsvDropResult:
    # Data rows in the file (blank lines not counted).
    rows: int = 0
    # Rows whose id the collection's state did not hold.
    new: int = 0
    # Rows whose content differs from the last confirmed run.
    changed: int = 0
    # Rows identical to the last confirmed run: not sent again.
    unchanged: int = 0
    # Ids gone since the last run: sent as tombstones.
    removed: int = 0
    # Messages sent to the records topic (new + changed + removed).
    published: int = 0
    # Rows sent to the dead-letter topic (or already there from an earlier run).
    rejected: int = 0
    # True when unidentifiable bad rows kept this run from sending tombstones.
    tombstones_withheld: bool = False
    bad_rows: list[BadCsvRow] = field(default_factory=list)

    def summary(self) -> str:
        withheld = ", tombstones withheld" if self.tombstones_withheld else ""
        return (
            f"{self.rows} rows: {self.new} new, {self.changed} changed, {self.removed} removed, "
            f"{self.unchanged} unchanged; {self.published} published, {self.rejected} rejected "
            f"to the dead-letter topic{withheld}"
        )


def csv_record_id(collection: str, row_id: str) -> str:
    return f"{SOURCE}:{collection}:{safe_key_part(row_id)}"


def _cells(value: str | None, separator: str) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(separator) if part.strip()]


def map_csv_row(cells: dict[str, str], columns: CsvColumnMapping) -> dict[str, Any]:
    """A row (``{column: cell}``, columns as in the header) -> common record. Multi-value
    cells split on the separator; values trimmed; empty fields left out."""
    by_name = {name.strip().lower(): value for name, value in cells.items()}

    def column(name: str | None) -> str | None:
        return by_name.get(name.strip().lower()) if name else None

    record: dict[str, Any] = {"id": (column(columns.id) or "").strip()}
    separator = columns.multi_value_separator
    for option, common in _LIST_FIELDS.items():
        values = _cells(column(getattr(columns, option)), separator)
        if common == "language":
            values = [iso639_language(v) for v in values]
        if values:
            record[common] = list(dict.fromkeys(values))
    if "dataProvider" not in record and columns.default_data_provider:
        record["dataProvider"] = [columns.default_data_provider]
    if "title" in record:
        record["dcTitleLangAware"] = {UNKNOWN_LANGUAGE_KEY: record["title"]}
    kinds = _cells(column(columns.type), separator)
    if kinds:
        record["type"] = kinds[0]
    updated = (column(columns.updated) or "").strip()
    if updated:
        record["timestamp_update"] = updated
    return {name: value for name, value in record.items() if value}


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter the header line uses most (``,`` on a tie or none)."""
    counts = {d: header_line.count(d) for d in DELIMITER_CANDIDATES}
    best = max(DELIMITER_CANDIDATES, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class _LineTape:
    """Binary lines decoded for the csv reader, remembering what each record consumed."""

    def __init__(self, raw: BinaryIO, encodings: tuple[str, ...]) -> None:
        self._raw = raw
        self._encodings = encodings
        self._first = True
        self.taken: list[tuple[bytes, str, bool]] = []

    def __iter__(self) -> _LineTape:
        return self

    def __next__(self) -> str:
        data = self._raw.readline()
        if not data:
            raise StopIteration
        if self._first:
            self._first = False
            data = data.removeprefix(_UTF8_BOM)
        for encoding in self._encodings:
            try:
                text = data.decode(encoding)
                self.taken.append((data, text, True))
                return text
            except UnicodeDecodeError:
                continue
        # Keep the row in the stream (surrogate escapes) so the reader stays in step; the
        # row is reported as undecodable.
        text = data.decode(self._encodings[0], errors="surrogateescape")
        self.taken.append((data, text, False))
        return text

    def take(self) -> tuple[bytes, bool]:
        """The bytes of the record just read, and whether all of them decoded."""
        data = b"".join(d for d, _, _ in self.taken)
        decoded = all(ok for _, _, ok in self.taken)
        self.taken = []
        return data, decoded


def _encodings(encoding: str, fallback_encoding: str | None) -> tuple[str, ...]:
    names = (encoding, *([fallback_encoding] if fallback_encoding else []))
    for name in names:
        try:
            codecs.lookup(name)
        except LookupError:
            raise CsvDropError(
                f"unknown encoding {name!r}; name a Python codec such as "
                "'utf-8', 'cp1252' or 'latin-1'"
            ) from None
    return names


def read_csv_rows(
    path: Path,
    columns: CsvColumnMapping = CsvColumnMapping(),
    encoding: str = "utf-8",
    fallback_encoding: str | None = None,
    delimiter: str | None = None,
) -> Iterator[CsvRow | BadCsvRow]:
    """Stream the data rows of one export. Raises :class:`CsvDropError` when the header
    cannot be read or lacks the id column."""
    encodings = _encodings(encoding, fallback_encoding)
    with path.open("rb") as raw:
        tape = _LineTape(raw, encodings)
        header_line = next(tape, None)
        if header_line is None:
            raise CsvDropError(f"{path}: the file is empty; a CSV export starts with a header")
        _, decoded = tape.take()
        if not decoded:
            raise CsvDropError(
                f"{path}: the header line is not {' or '.join(encodings)}; declare the file's "
                "encoding (encoding=...)"
            )
        chosen = delimiter or sniff_delimiter(header_line)
        header = [name.strip() for name in next(csv.reader([header_line], delimiter=chosen))]
        _check_header(path, header, columns)
        id_index = [h.lower() for h in header].index(columns.id.strip().lower())
        reader = csv.reader(tape, delimiter=chosen, strict=True)
        line = 1
        seen: dict[str, int] = {}
        while True:
            start = line + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                data, _ = tape.take()
                line = reader.line_num + 1
                yield _bad(start, f"not valid CSV: {error}", data, None)
                continue
            line = reader.line_num + 1
            data, decoded = tape.take()
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line is no row
            row_id = cells[id_index].strip() if len(cells) > id_index else ""
            if _SURROGATE.search(row_id):
                row_id = ""  # the id itself did not decode: the row is unidentified
            if not decoded:
                reason = (
                    f"bytes that are not {' or '.join(encodings)}; declare the file's encoding "
                    "(encoding=... or fallback_encoding=...)"
                )
                yield _bad(start, reason, data, row_id or None)
            elif len(cells) != len(header):
                reason = (
                    f"{len(cells)} cells where the header has {len(header)} columns; quote "
                    f"cells that contain the delimiter {chosen!r}"
                )
                yield _bad(start, reason, data, row_id or None)
            elif not row_id:
                yield _bad(
                    start, f"no id in column {columns.id!r}; every row needs one", data, None
                )
            elif row_id in seen:
                reason = f"id {row_id!r} repeats the row at line {seen[row_id]}; ids must be unique"
                yield _bad(start, reason, data, row_id)
            else:
                seen[row_id] = start
                yield CsvRow(start, row_id, dict(zip(header, cells, strict=True)), len(data))


def _check_header(path: Path, header: list[str], columns: CsvColumnMapping) -> None:
    lowered = [h.lower() for h in header]
    repeated = sorted({h for h in lowered if h and lowered.count(h) > 1})
    if repeated:
        raise CsvDropError(f"{path}: header repeats the columns {repeated}; name each once")
    if columns.id.strip().lower() not in lowered:
        raise CsvDropError(
            f"{path}: no {columns.id!r} column (the header has {header}); name the id column "
            "with CsvColumnMapping(id=...)"
        )


def _bad(line: int, reason: str, data: bytes, row_id: str | None) -> BadCsvRow:
    text = data.decode("utf-8", errors="backslashreplace")
    try:
        data.decode("utf-8")
        exact = None
    except UnicodeDecodeError:
        exact = base64.b64encode(data).decode("ascii")
    return BadCsvRow(line, reason, text, exact, row_id, len(data))


class CsvRowState:
    """Per collection, the hash of each row as last confirmed by Kafka."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS csv_rows ("
            " collection TEXT NOT NULL, row_id TEXT NOT NULL, row_hash TEXT NOT NULL,"
            " PRIMARY KEY (collection, row_id)) WITHOUT ROWID"
        )
        self._db.commit()

    def hashes(self, collection: str) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT row_id, row_hash FROM csv_rows WHERE collection = ?", (collection,)
        )
        return {str(row_id): str(digest) for row_id, digest in rows}

    def apply(
        self, collection: str, current: Iterable[tuple[str, str]], removed: Iterable[str]
    ) -> None:
        """Record confirmed rows and forget removed ones, in one transaction."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO csv_rows (collection, row_id, row_hash) VALUES (?,?,?)",
                [(collection, row_id, digest) for row_id, digest in current],
            )
            self._db.executemany(
                "DELETE FROM csv_rows WHERE collection = ? AND row_id = ?",
                [(collection, row_id) for row_id in removed],
            )

    def close(self) -> None:
        self._db.close()


class _StateDecidesLedger(PublishLedger):
    """The publish ledger, recording confirmations but vetoing nothing: the row state has
    already chosen what changed, and the ledger, which remembers every pair it ever
    confirmed, would wrongly hold back a row restored after its tombstone or reverted to
    earlier content."""

    def already_published(
        self, topic: str, pairs: Iterable[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        return set()


def publish_csv(
    settings: Settings,
    path: Path,
    collection: str,
    ledger_path: Path,
    state_path: Path,
    topic: str = RECORDS_TOPIC,
    dlq_topic: str = DEAD_LETTER_TOPIC,
    columns: CsvColumnMapping = CsvColumnMapping(),
    encoding: str = "utf-8",
    fallback_encoding: str | None = None,
    delimiter: str | None = None,
    allow_empty_export: bool = False,
    progress: bool = True,
) -> CsvDropResult:
    """Publish what changed in ``collection`` since its last run: new and changed rows of
    ``path`` to ``topic``, tombstones for rows gone, unreadable rows to ``dlq_topic``."""
    if not _COLLECTION_NAME.match(collection):
        raise CsvDropError(
            f"collection name {collection!r} is not a safe key part; use letters, digits, "
            "'.', '_' and '-' (e.g. 'rijksmuseum-prints')"
        )
    if not path.is_file():
        raise CsvDropError(f"{path}: no such file; pass the collection's CSV export")
    path = path.resolve()  # dead letters name the file the same way from any directory
    ensure_topics(settings, (topic, dlq_topic))
    result = CsvDropResult()
    state = CsvRowState(state_path)
    previous = state.hashes(collection)
    confirmed: list[tuple[str, str]] = []
    present: set[str] = set()
    bar = tqdm(
        total=path.stat().st_size,
        desc=f"csv {collection}",
        unit="B",
        unit_scale=True,
        disable=not progress,
    )

    def changed_rows() -> Iterator[SourceRecord]:
        for item in read_csv_rows(path, columns, encoding, fallback_encoding, delimiter):
            bar.update(item.raw_bytes)
            if isinstance(item, BadCsvRow):
                result.bad_rows.append(item)
                if item.row_id:
                    present.add(item.row_id)
                continue
            result.rows += 1
            present.add(item.row_id)
            digest = content_hash(item.cells)
            before = previous.get(item.row_id)
            if before == digest:
                result.unchanged += 1
                continue
            result.new += before is None
            result.changed += before is not None
            confirmed.append((item.row_id, digest))
            record = map_csv_row(item.cells, columns)
            yield SourceRecord(csv_record_id(collection, item.row_id), item.cells, record=record)

    producer = create_producer(settings)
    records_ledger = _StateDecidesLedger(ledger_path)
    dead_letter_ledger = PublishLedger(ledger_path)
    try:
        sent = publish_envelopes(
            producer, records_ledger, topic, envelopes_from(SOURCE, changed_rows()), progress=False
        )
        result.published += sent.published
        unidentified = [row for row in result.bad_rows if not row.row_id]
        if result.rows == 0 and not result.bad_rows and previous and not allow_empty_export:
            raise CsvDropError(
                f"{path} has no data rows; publishing it would delete all {len(previous)} "
                f"records of collection {collection!r}. Check the export, or pass "
                "allow_empty_export=True if the collection really is empty now"
            )
        removed = [] if unidentified else sorted(set(previous) - present)
        result.tombstones_withheld = bool(unidentified) and bool(set(previous) - present)
        now = utc_now_iso()
        tombstones = [
            SourceRecord(
                csv_record_id(collection, row_id),
                {"id": row_id, "collection": collection},
                record={"id": row_id, "timestamp_update": now},
                deleted=True,
            )
            for row_id in removed
        ]
        if tombstones:
            sent = publish_envelopes(
                producer, records_ledger, topic, envelopes_from(SOURCE, tombstones), progress=False
            )
            result.published += sent.published
        result.removed = len(removed)
        # Kafka confirmed every change above: only now does the state move on.
        state.apply(collection, confirmed, removed)
        if result.bad_rows:
            publish_envelopes(
                producer,
                dead_letter_ledger,
                dlq_topic,
                envelopes_from(
                    SOURCE, (dead_letter_row(path, collection, r) for r in result.bad_rows)
                ),
                progress=False,
            )
        result.rejected = len(result.bad_rows)
    finally:
        bar.close()
        producer.close()
        records_ledger.close()
        dead_letter_ledger.close()
        state.close()
    for row in result.bad_rows:
        log.warning(
            "csv row rejected",
            extra={"file": str(path), "line": row.line, "reason": row.reason},
        )
    if result.tombstones_withheld:
        log.warning(
            "tombstones withheld: some bad rows have no readable id and may be rows that still "
            "exist; fix them and rerun to detect removals",
            extra={"collection": collection, "file": str(path)},
        )
    log.info(
        "csv drop finished",
        extra={
            "collection": collection,
            "file": str(path),
            "rows": result.rows,
            "new": result.new,
            "changed": result.changed,
            "removed": result.removed,
            "unchanged": result.unchanged,
            "published": result.published,
            "rejected": result.rejected,
        },
    )
    return result


def dead_letter_row(path: Path, collection: str, row: BadCsvRow) -> SourceRecord:
    """The dead-letter message of one unreadable row."""
    record_id = (
        csv_record_id(collection, row.row_id)
        if row.row_id
        else unidentified_record_id(SOURCE, f"{collection}\n{row.raw}".encode())
    )
    payload: dict[str, Any] = {
        "raw": row.raw,
        "reasons": [f"{path}, line {row.line}: {row.reason}"],
        "file": str(path),
        "line": row.line,
        "collection": collection,
        "stage": STAGE,
    }
    if row.raw_base64:
        payload["raw_base64"] = row.raw_base64
    return SourceRecord(record_id, payload)
