"""CSV drops: a collection's export as CSV, published row by row, changes only.

Each row becomes one record keyed ``csv:<collection>:<id>``: the payload is the row as
received (``{column: cell}``), the record its mapping onto the common model through a
:class:`CsvColumnMapping`. A per-collection state (SQLite, beside the publish ledger) keeps
``id -> row hash``, so a rerun publishes only new and changed rows and turns rows that
disappeared since the collection's last run into tombstones. The state changes only after
Kafka confirmed what it covers.

Rows that cannot be read (no id, a repeated id, the wrong number of cells, bytes that are
not in the file's encoding, a quote never closed) are never skipped silently: each goes to
the dead-letter topic with the file, the line, the reason and the raw text. A row that could
not be identified also withholds this run's tombstones, since the missing id might be that
row's. A quote that is never closed does not swallow the rows after it: its line is
rejected and the lines it ran over are read again as rows. A row whose ``embargo_until`` is
no date (or a date and time with neither an offset nor an ``embargo_zone``), whose
``embargo_zone`` is no IANA zone, or whose ``creator_death_year`` is no year is rejected
the same way, with the reason from :mod:`heritage.embargo_time`.

Encodings: a byte-order mark names the encoding (UTF-8, UTF-16 or UTF-32, either byte
order: Excel's "Unicode Text" is UTF-16 LE with a mark, tab-separated); else the encoding the
caller declares (UTF-8 by default, cp1252, latin-1, utf-16...); in byte-oriented encodings a
line that does not decode can fall back to a declared second encoding (a UTF-8 export with a
few cp1252 lines). Lines end in CR LF, LF or CR alone (classic Mac exports), mixed in one file
too. The delimiter is the one of ``,``, ``;`` and tab that the header line uses most, unless
given. Cells are kept exactly as received: one that looks like a spreadsheet formula stays
text here; exports to spreadsheets escape it (:mod:`heritage.spreadsheet_cells`).
"""

from __future__ import annotations

import base64
import codecs
import csv
import io
import logging
import re
import sqlite3
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AnyStr, BinaryIO, NamedTuple

from tqdm import tqdm

from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.embargo_inputs import (
    CREATOR_DEATH_YEAR,
    death_year,
    latest_end_fields,
    source_embargo_end,
)
from heritage.producers.kafka_publisher import (
    create_producer,
    ensure_topics_when_reachable,
    envelopes_from,
    publish_envelopes,
)
from heritage.producers.lido_drop import safe_key_part
from heritage.producers.metadata_mapping import UNKNOWN_LANGUAGE_KEY, iso639_language
from heritage.producers.publish_ledger import PublishLedger
from heritage.publication_settings import PublicationPolicy, load_publication_policy
from heritage.record_model import SourceRecord, content_hash, unidentified_record_id, utc_now_iso
from heritage.settings import Settings
from heritage.source_rejections import SourceRejection

log = logging.getLogger(__name__)

SOURCE = "csv"
STAGE = "csv-drop"
# The row hashes of every collection, in the csv producer's state folder.
ROW_STATE_FILE = "csv_rows.sqlite"
DELIMITER_CANDIDATES = (",", ";", "\t")
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Bytes read at a time; lines are split from these chunks, so a file streams in any size.
READ_CHUNK_BYTES = 1 << 16
_TEXT_LINE_PIECES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The codec error handler that keeps undecodable bytes as escapes (registered below).
_UNDECODABLE = "heritage-csv-undecodable"
# Escaped undecodable bytes, and lone surrogates, which no correctly decoded text holds.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_RUN = re.compile("([\ud800-\udfff]+)")
# What the csv module says when a file ends inside a quoted cell.
_END_OF_DATA = "unexpected end of data"


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
    # The embargo end as written: a date, year-month, year or date and time
    # (``embargo_until``; with ``embargo_zone``, ``embargo_rule`` and ``embargo_end_utc``).
    embargo_until: str | None = "embargo_until"
    # The IANA zone the embargo end is read in; blank: the data provider's from the
    # publication policy. A date and time without an offset needs one.
    embargo_zone: str | None = "embargo_zone"
    # The year the (last-dying) creator died, or an ISO date of it (``creator_death_year``).
    creator_death_year: str | None = "creator_death_year"
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


class CsvDropError(SourceRejection):
    """The export cannot be read at all (no header, no id column, unknown encoding...)."""


class CsvRowError(SourceRejection):
    """A row read well whose values cannot be mapped (a death year that is no year); an
    embargo end that is no date raises EmbargoDateError, also a SourceRejection."""


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
    # (record_id, reasons) of rows published that the record contract flags as invalid.
    invalid: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

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


def map_csv_row(
    cells: dict[str, str], columns: CsvColumnMapping, policy: PublicationPolicy | None = None
) -> dict[str, Any]:
    """A row (``{column: cell}``, columns as in the header) -> common record. Multi-value
    cells split on the separator; values trimmed; empty fields left out. The embargo end is
    read by ``policy`` (None: the built-in policy, UTC); one that is no date, or a death year
    that is no year, raises a SourceRejection naming the row and the column."""
    # Only the mapped columns are looked up: an export with tens of thousands of columns
    # costs one pass over the names, not a second dictionary of them all.
    wanted = {
        name.strip().lower()
        for name in (
            columns.id,
            columns.type,
            columns.updated,
            columns.embargo_until,
            columns.embargo_zone,
            columns.creator_death_year,
            *(getattr(columns, option) for option in _LIST_FIELDS),
        )
        if name
    }
    by_name = {
        key: value for name, value in cells.items() if (key := name.strip().lower()) in wanted
    }

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
    record = {name: value for name, value in record.items() if value}
    record.update(_embargo_cells(column, columns, record, policy or PublicationPolicy()))
    return record


def _embargo_cells(
    column: Callable[[str | None], str | None],
    columns: CsvColumnMapping,
    record: dict[str, Any],
    policy: PublicationPolicy,
) -> dict[str, Any]:
    """The embargo and death-year fields of a row (none for blank cells)."""
    row = f"row {record.get('id', '')!r}"
    fields: dict[str, Any] = {}
    until = (column(columns.embargo_until) or "").strip()
    zone = (column(columns.embargo_zone) or "").strip() or None
    if until:
        where = f"{row}, column {columns.embargo_until!r}"
        if zone:
            where += f" (zone from column {columns.embargo_zone!r})"
        provider = (record.get("dataProvider") or [None])[0]
        end = source_embargo_end(until, policy, provider, zone, where)
        fields.update(latest_end_fields([end]))
    died = (column(columns.creator_death_year) or "").strip()
    if died:
        year = death_year(died)
        if year is None:
            raise CsvRowError(
                f"{row}, column {columns.creator_death_year!r}: {died!r} is not a year; "
                "write the year the creator died (1954) or the date (1954-11-03)"
            )
        fields[CREATOR_DEATH_YEAR] = year
    return fields


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter the header line uses most (``,`` on a tie or none)."""
    counts = {d: header_line.count(d) for d in DELIMITER_CANDIDATES}
    best = max(DELIMITER_CANDIDATES, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class _Line(NamedTuple):
    """One physical line of the export: its number, its bytes, and its text."""

    number: int
    data: bytes
    text: str
    # False when some bytes are not in the file's encoding (they are escaped in ``text``).
    decoded: bool


@dataclass(frozen=True)
class FileEncoding:
    """How the bytes of one export become text."""

    # Codecs tried on each line in turn: the file's, then the declared fallback.
    codecs: tuple[str, ...]
    # Bytes of the byte-order mark the file starts with (0 when it has none).
    bom_length: int
    # True where CR and LF are not single ASCII bytes (UTF-16, UTF-32): the stream is decoded
    # first and split into lines after.
    decode_first: bool


def _undecodable_as_escapes(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that do not decode become the code points U+DC00 + byte
    (:func:`_encoded_line` turns them back into the same bytes), so each line keeps its
    exact bytes and the reader stays in step."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


codecs.register_error(_UNDECODABLE, _undecodable_as_escapes)


def _ascii_line_ends(codec: str) -> bool:
    """Whether the codec writes CR, LF, quote and the delimiters as their ASCII bytes, so
    that lines can be split before decoding (UTF-8, cp1252, latin-1...; not UTF-16)."""
    sample = 'id,;\t"\r\n'
    try:
        return sample.encode(codec) == sample.encode("ascii")
    except UnicodeError:
        return False


def detect_file_encoding(start: bytes, encodings: tuple[str, ...]) -> FileEncoding:
    """The encoding of an export from its first bytes and the declared ``encodings`` (the
    file's, then a fallback). A byte-order mark wins over the declaration; a declared
    ``utf-16`` or ``utf-32`` without a mark is read in the byte order its first character
    shows."""
    for bom, codec in _BYTE_ORDER_MARKS:
        if start.startswith(bom):
            if codec == "utf-8":
                return FileEncoding((codec, *encodings[1:]), len(bom), False)
            return FileEncoding((codec,), len(bom), True)
    declared = codecs.lookup(encodings[0]).name
    if declared in ("utf-16", "utf-32"):
        width = 2 if declared == "utf-16" else 4
        big_endian = start[:1] == b"\x00" and start[width - 1 : width] != b"\x00"
        return FileEncoding((f"{declared}-{'be' if big_endian else 'le'}",), 0, True)
    if declared == "utf-8-sig":
        declared = "utf-8"
    if _ascii_line_ends(declared):
        return FileEncoding((declared, *encodings[1:]), 0, False)
    return FileEncoding((declared,), 0, True)


def _chunks(raw: BinaryIO) -> Iterator[bytes]:
    while chunk := raw.read(READ_CHUNK_BYTES):
        yield chunk


def _decoded_chunks(raw: BinaryIO, codec: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(codec)(errors=_UNDECODABLE)
    for chunk in _chunks(raw):
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


def _line_pieces(chunk: AnyStr) -> list[AnyStr]:
    """Lines with their ends (CR LF, CR or LF), the last maybe without one."""
    if isinstance(chunk, bytes):
        return chunk.splitlines(keepends=True)  # bytes split on these three ends only
    return _TEXT_LINE_PIECES.findall(chunk)  # str.splitlines would split on more


def split_lines(chunks: Iterable[AnyStr], ends: tuple[AnyStr, AnyStr]) -> Iterator[AnyStr]:
    """Lines with their ends, where a line ends in CR LF, CR alone or LF alone, from chunks
    that may cut a line, or a CR LF pair, anywhere; ``ends`` is CR and LF as str or bytes.
    Linear in the size of the input."""
    carriage_return = ends[0]
    empty = carriage_return[:0]
    partial: list[AnyStr] = []  # the start of a line that goes on in the next chunk
    held = empty  # a CR closing a chunk: the next chunk may open with its LF
    for chunk in chunks:
        chunk = held + chunk
        held = empty
        if chunk.endswith(carriage_return):
            chunk, held = chunk[:-1], carriage_return
        pieces = _line_pieces(chunk)
        tail = pieces.pop() if pieces and not pieces[-1].endswith(ends) else None
        if pieces:
            if partial:
                partial.append(pieces[0])
                pieces[0] = empty.join(partial)
                partial = []
            yield from pieces
        if tail is not None:
            partial.append(tail)
    partial.append(held)
    last = empty.join(partial)
    if last:
        yield last


def _decode_line(data: bytes, fallbacks: tuple[str, ...], primary: str) -> tuple[str, bool]:
    """A line that is not in the file's encoding: in a fallback one, else kept escaped."""
    for encoding in fallbacks:
        try:
            return data.decode(encoding), True
        except UnicodeDecodeError:
            continue
    return data.decode(primary, errors=_UNDECODABLE), False


def _encoded_line(text: str, codec: str) -> bytes:
    """The bytes a decoded line came from, escaped undecodable bytes included."""
    return b"".join(  # split() alternates: text, escapes, text, ..., text
        part.encode(codec) if index % 2 == 0 else bytes(ord(char) - 0xDC00 for char in part)
        for index, part in enumerate(_SURROGATE_RUN.split(text))
    )


def _physical_lines(raw: BinaryIO, encoding: FileEncoding) -> Iterator[_Line]:
    """The lines of the export after its byte-order mark, numbered from 1, read in chunks."""
    if encoding.decode_first:
        codec = encoding.codecs[0]
        texts = split_lines(_decoded_chunks(raw, codec), ("\r", "\n"))
        for number, text in enumerate(texts, start=1):
            decoded = not _SURROGATE.search(text)
            data = text.encode(codec) if decoded else _encoded_line(text, codec)
            yield _Line(number, data, text, decoded)
    else:
        primary = encoding.codecs[0]
        for number, data in enumerate(split_lines(_chunks(raw), (b"\r", b"\n")), start=1):
            try:
                text = data.decode(primary)
            except UnicodeDecodeError:
                yield _Line(number, data, *_decode_line(data, encoding.codecs[1:], primary))
                continue
            yield _Line(number, data, text, True)


class _LineTape:
    """Lines handed to the csv reader, remembering which lines each record took; lines
    can be put back to be read again."""

    def __init__(self, lines: Iterator[_Line]) -> None:
        self._lines = lines
        self._again: deque[_Line] = deque()
        self._taken: list[_Line] = []

    def __iter__(self) -> _LineTape:
        return self

    def __next__(self) -> str:
        line = self._again.popleft() if self._again else next(self._lines)
        self._taken.append(line)
        return line.text

    def take(self) -> list[_Line]:
        """The lines of the record just read."""
        taken, self._taken = self._taken, []
        return taken

    def read_again(self, lines: list[_Line]) -> None:
        self._again.extendleft(reversed(lines))


def _encodings(encoding: str, fallback_encoding: str | None) -> tuple[str, ...]:
    names = (encoding, *([fallback_encoding] if fallback_encoding else []))
    for name in names:
        try:
            codecs.lookup(name)
        except LookupError:
            raise CsvDropError(
                f"unknown encoding {name!r}; name a Python codec such as "
                "'utf-8', 'cp1252', 'latin-1' or 'utf-16'"
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
    declared = _encodings(encoding, fallback_encoding)
    with path.open("rb") as raw:
        file_encoding = detect_file_encoding(raw.read(4), declared)
        raw.seek(file_encoding.bom_length)
        tape = _LineTape(_physical_lines(raw, file_encoding))
        header_line = next(tape, None)
        tape.take()
        if header_line is None:
            raise CsvDropError(f"{path}: the file is empty; a CSV export starts with a header")
        _check_header_text(path, header_line, file_encoding)
        chosen = delimiter or sniff_delimiter(header_line)
        header = _header_columns(path, header_line, chosen)
        id_index = _id_column_index(path, header, columns)
        layout = _RowLayout(header, chosen, columns.id, id_index, file_encoding.codecs)
        yield from _data_rows(tape, layout)


@dataclass(frozen=True)
class _RowLayout:
    """What reading the data rows needs to know of the header and the file."""

    header: list[str]
    delimiter: str
    id_column: str
    # Where the id column is in the header.
    id_index: int
    encodings: tuple[str, ...]


def _data_rows(tape: _LineTape, layout: _RowLayout) -> Iterator[CsvRow | BadCsvRow]:
    reader = csv.reader(tape, delimiter=layout.delimiter, strict=True)
    id_index = layout.id_index
    seen: dict[str, int] = {}
    while True:
        error: str | None = None
        try:
            cells: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as failure:
            cells, error = [], str(failure)
        lines = tape.take()
        if len(lines) > 1 and _quote_swallowed_rows(lines, error is None, cells, layout):
            tape.read_again(lines[1:])
            opener = _cells_of_opening_line(lines[0].text, layout.delimiter)
            reason = _swallowed_rows_reason(lines, at_end=error == _END_OF_DATA)
            yield _bad(lines[:1], reason, _readable_id(opener, id_index))
            continue
        if error is None and (not cells or (len(cells) == 1 and not cells[0].strip())):
            continue  # a blank line is no row
        row_id = _readable_id(cells, id_index)
        problem = (
            f"not valid CSV: {error}" if error else _row_problem(lines, cells, row_id, layout, seen)
        )
        if problem:
            yield _bad(lines, _spanning(lines, problem), row_id)
            continue
        seen[row_id] = lines[0].number
        size = len(lines[0].data) if len(lines) == 1 else sum(len(x.data) for x in lines)
        yield CsvRow(lines[0].number, row_id, dict(zip(layout.header, cells, strict=True)), size)


def _row_problem(
    lines: list[_Line], cells: list[str], row_id: str, layout: _RowLayout, seen: dict[str, int]
) -> str | None:
    """Why a row read as CSV cannot be published, or None when it can."""
    if not (lines[0].decoded if len(lines) == 1 else all(line.decoded for line in lines)):
        return (
            f"bytes that are not {' or '.join(layout.encodings)}; declare the file's encoding "
            "(encoding=... or fallback_encoding=...)"
        )
    if len(cells) != len(layout.header):
        return (
            f"{len(cells)} cells where the header has {len(layout.header)} columns; quote "
            f"cells that contain the delimiter {layout.delimiter!r}"
        )
    if not row_id:
        return f"no id in column {layout.id_column!r}; every row needs one"
    if row_id in seen:
        return f"id {row_id!r} repeats the row at line {seen[row_id]}; ids must be unique"
    return None


def _readable_id(cells: list[str], id_index: int) -> str:
    """The row's id, or "" when it has none or its bytes did not decode."""
    row_id = cells[id_index].strip() if len(cells) > id_index else ""
    return "" if _SURROGATE.search(row_id) else row_id


def _line_cells(text: str, delimiter: str) -> list[str]:
    """The cells of one line read by itself (none where the csv module refuses it)."""
    try:
        return next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        return []


def _cells_of_opening_line(text: str, delimiter: str) -> list[str]:
    """The cells of a line whose last quote is never closed, that quote read as a plain
    character: what the line holds if the quote was a typing slip."""
    cells = _line_cells(text, delimiter)
    if not cells:
        return []
    return [*cells[:-1], *cells[-1].rstrip("\r\n").split(delimiter)]


def _is_whole_row(cells: list[str], layout: _RowLayout, id_index: int) -> bool:
    return len(cells) == len(layout.header) and bool(_readable_id(cells, id_index))


def _quote_swallowed_rows(
    lines: list[_Line], valid: bool, cells: list[str], layout: _RowLayout
) -> bool:
    """Whether a record over several lines is rows run together by a quote never closed,
    rather than one row with a multi-line cell (descriptions with line breaks are common).

    A record that is broken anyway (not valid CSV, the wrong number of cells) is rows run
    together when its opening line holds a whole row by itself. A record that reads well is
    only when every one of its lines holds a whole row (all the columns, an id), which a
    cell's text over several lines hardly ever does, and it spans three lines or its last
    quote is not at a line end; with fewer than three columns the quotes are trusted."""
    id_index = layout.id_index
    opener = _cells_of_opening_line(lines[0].text, layout.delimiter)
    if not _is_whole_row(opener, layout, id_index):
        return False
    if not valid or len(cells) != len(layout.header):
        return True
    if len(layout.header) < 3:
        return False
    closes_at_line_end = lines[-1].text.rstrip("\r\n").endswith('"')
    if len(lines) == 2 and closes_at_line_end:
        return False
    return all(
        _is_whole_row(_line_cells(line.text, layout.delimiter), layout, id_index)
        for line in lines[1:]
    )


def _swallowed_rows_reason(lines: list[_Line], at_end: bool) -> str:
    opened, first, last = lines[0].number, lines[1].number, lines[-1].number
    count = last - opened
    span = f"{first}-{last}" if count > 1 else f"{first}"
    until = " up to the end of the file" if at_end else ""
    return (
        f"the quote opened at line {opened} is never closed: it swallowed {count} "
        f"line{'s' if count > 1 else ''} ({span}){until} into one cell; those lines are read "
        'as rows of their own. Close the quote, or double it ("") where it is part of the '
        "text, and export again"
    )


def _spanning(lines: list[_Line], reason: str) -> str:
    if len(lines) == 1:
        return reason
    return f"a record over lines {lines[0].number}-{lines[-1].number}: {reason}"


def _header_columns(path: Path, header_line: str, delimiter: str) -> list[str]:
    try:
        names = next(csv.reader([header_line], delimiter=delimiter), [])
    except csv.Error as error:
        raise CsvDropError(
            f"{path}: the header line is not valid CSV ({error}); the first line must name "
            f"the columns, separated by {delimiter!r}"
        ) from None
    return [name.strip() for name in names]


def _check_header_text(path: Path, header_line: str, encoding: FileEncoding) -> None:
    if _SURROGATE.search(header_line):
        raise CsvDropError(
            f"{path}: the header line is not {' or '.join(encoding.codecs)}; declare the "
            "file's encoding (encoding=...)"
        )
    if "\x00" in header_line:
        raise CsvDropError(
            f"{path}: the header line holds NUL characters, as UTF-16 without a byte-order "
            "mark reads as UTF-8; declare the encoding (encoding='utf-16')"
        )


def _id_column_index(path: Path, header: list[str], columns: CsvColumnMapping) -> int:
    """Where the id column is; raises when the header repeats a name or lacks the id."""
    lowered = [name.lower() for name in header]
    if len(set(lowered)) != len(lowered):
        counts = Counter(lowered)
        repeated = sorted(name for name, count in counts.items() if name and count > 1)
        if repeated:
            raise CsvDropError(f"{path}: header repeats the columns {repeated}; name each once")
    try:
        return lowered.index(columns.id.strip().lower())
    except ValueError:
        raise CsvDropError(
            f"{path}: no {columns.id!r} column (the header has {header}); name the id column "
            "with CsvColumnMapping(id=...)"
        ) from None


def _readable_text(line: _Line) -> str:
    """The line's text, with bytes that did not decode written as ``\\xNN``."""
    if line.decoded:
        return line.text
    return _SURROGATE.sub(lambda match: f"\\x{ord(match[0]) - 0xDC00:02x}", line.text)


def _bad(lines: list[_Line], reason: str, row_id: str) -> BadCsvRow:
    data = b"".join(line.data for line in lines)
    text = "".join(_readable_text(line) for line in lines)
    try:
        data.decode("utf-8")
        exact = None
    except UnicodeDecodeError:
        exact = base64.b64encode(data).decode("ascii")
    return BadCsvRow(lines[0].number, reason, text, exact, row_id or None, len(data))


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
    layout: LakehouseLayout,
    path: Path,
    collection: str,
    *,
    columns: CsvColumnMapping = CsvColumnMapping(),
    encoding: str = "utf-8",
    fallback_encoding: str | None = None,
    delimiter: str | None = None,
    allow_empty_export: bool = False,
    progress: bool = True,
) -> CsvDropResult:
    """Publish what changed in ``collection`` since its last run: new and changed rows of
    ``path`` to the layout's records topic, tombstones for rows gone, unreadable rows to its
    dead-letter topic; the row hashes live in the layout's csv state folder."""
    if not _COLLECTION_NAME.match(collection):
        raise CsvDropError(
            f"collection name {collection!r} is not a safe key part; use letters, digits, "
            "'.', '_' and '-' (e.g. 'rijksmuseum-prints')"
        )
    if not path.is_file():
        raise CsvDropError(f"{path}: no such file; pass the collection's CSV export")
    path = path.resolve()  # dead letters name the file the same way from any directory
    topic, dlq_topic = layout.records_topic, layout.dead_letter_topic
    ensure_topics_when_reachable(settings, (topic, dlq_topic))
    result = CsvDropResult()
    policy = load_publication_policy(settings)
    state = CsvRowState(layout.state_dir_for(SOURCE) / ROW_STATE_FILE)
    ledger_path = layout.ledger_for(SOURCE)
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
            present.add(item.row_id)
            digest = content_hash(item.cells)
            before = previous.get(item.row_id)
            if before == digest:
                result.rows += 1
                result.unchanged += 1
                continue
            try:
                record = map_csv_row(item.cells, columns, policy)
            except SourceRejection as rejection:
                # Rejected like an unreadable row: its state stays, so it is tried again.
                result.bad_rows.append(unmappable_row(item, str(rejection)))
                continue
            result.rows += 1
            result.new += before is None
            result.changed += before is not None
            confirmed.append((item.row_id, digest))
            yield SourceRecord(csv_record_id(collection, item.row_id), item.cells, record=record)

    producer = create_producer(settings)
    records_ledger = _StateDecidesLedger(ledger_path)
    dead_letter_ledger = PublishLedger(ledger_path)
    try:
        sent = publish_envelopes(
            producer, records_ledger, topic, envelopes_from(SOURCE, changed_rows()), progress=False
        )
        result.published += sent.published
        result.invalid.extend(sent.invalid)
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


def unmappable_row(row: CsvRow, reason: str) -> BadCsvRow:
    """A row read well whose values cannot be mapped, as a bad row: its cells written back
    as one CSV line (the reader keeps no raw text of rows it could read)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(row.cells.values())
    return BadCsvRow(row.line, reason, text.getvalue(), None, row.row_id, row.raw_bytes)


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
