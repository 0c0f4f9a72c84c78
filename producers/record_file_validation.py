"""Checking source files against the record contract before anything is published.

Each record of a LIDO, CSV, OAI-PMH, EDM or Europeana JSON file is read and mapped with the
very code its producer uses, then classified with the cleanse stage's rules
(:func:`heritage.record_contract.classify_record`), so a museum or an operator learns which
records the lakehouse would reject, and why, without Kafka, Spark or any service. The
``heritage validate`` command only wires :func:`validate_paths` to the command line.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from heritage.producers.csv_drop import (
    BadCsvRow,
    CsvColumnMapping,
    csv_record_id,
    map_csv_row,
    read_csv_rows,
)
from heritage.producers.europeana_client import (
    START_CURSOR,
    EuropeanaPageError,
    EuropeanaPageSyntaxError,
    read_search_page,
    source_record_from_item,
)
from heritage.producers.json_page_split import JsonSyntaxError, split_json_object
from heritage.producers.leading_bytes import without_bom_and_whitespace
from heritage.producers.lido_drop import LidoFileFailure, LidoRecordRead, read_lido_file
from heritage.producers.metadata_mapping import LIDO_NS, NS, map_edm_record
from heritage.producers.oai_pmh_harvester import source_record_for
from heritage.producers.oai_pmh_mapping_pool import map_metadata
from heritage.producers.oai_pmh_protocol import (
    OAI_NS,
    OaiProtocolError,
    RecordsPage,
    parse_response,
    xml_parser,
)
from heritage.record_contract import classify_record, record_shape_problems
from heritage.record_model import SourceRecord, unidentified_record_id
from heritage.settings import Secret
from heritage.source_rejections import SourceRejection

FORMATS = ("lido", "csv", "oai-xml", "edm", "europeana-json")
# Files a folder is searched for; a file named explicitly is read whatever its name.
_FOLDER_SUFFIXES = (".xml", ".csv", ".tsv", ".json")
# The metadata namespace of an OAI-PMH record -> the metadataPrefix the harvester maps it as.
_PREFIX_BY_NAMESPACE = {
    NS["oai_dc"]: "oai_dc",
    LIDO_NS: "lido",
    NS["rdf"]: "edm",
    NS["gmd"]: "iso19139",
}
_RDF = f"{{{NS['rdf']}}}RDF"
_OAI_ROOT = f"{{{OAI_NS}}}OAI-PMH"
_LIDO_ROOTS = (f"{{{LIDO_NS}}}lido", f"{{{LIDO_NS}}}lidoWrap")
# Where an OAI-PMH file's records are keyed from: a file names no repository.
_FILE_NAMESPACE = "file"
# How much of a file's start is read to tell its format.
_SNIFF_BYTES = 64 * 1024
# A saved Europeana response holds no API key to remove.
_NO_API_KEY = Secret("")
# The member of a Search API page that holds its items.
_ITEMS = "items"
_JSON_WHITESPACE = " \t\r\n"


class ValidationInputError(SourceRejection):
    """The paths given cannot be validated at all (missing, or a folder of nothing)."""


@dataclass(frozen=True)
class CsvReading:
    """How CSV exports are decoded and split: what ``heritage produce csv`` is told."""

    # Encoding of a file without a byte-order mark (a BOM names its own encoding).
    encoding: str = "utf-8"
    # Tried on a line that does not decode in the file's encoding; None tries none.
    fallback_encoding: str | None = None
    # Field delimiter; None sniffs it from the header line.
    delimiter: str | None = None


@dataclass(frozen=True)
class RecordCheck:
    """The verdict on one record, or on a file that yielded no records."""

    # file:line, or file and record id where a format has no lines.
    where: str
    # Every reason the record would be rejected; empty when it would be kept.
    reasons: tuple[str, ...] = ()
    # Fields of the wrong JSON type that cleanse reads leniently (a number as an id, say):
    # worth fixing at the source, but no reason for rejection.
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reasons


@dataclass
class ValidationReport:
    checks: list[RecordCheck] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return sum(not check.ok for check in self.checks)

    @property
    def all_ok(self) -> bool:
        return self.invalid == 0

    def lines(self) -> Iterator[str]:
        """``OK <where>`` per good record, ``<where>: <reason>`` per reason and
        ``<where>: warning: <problem>`` per shape warning, then the summary."""
        for check in self.checks:
            if check.ok:
                yield f"OK {check.where}"
            for reason in check.reasons:
                yield f"{check.where}: {reason}"
            for warning in check.warnings:
                yield f"{check.where}: warning: {warning}"
        yield self.summary()

    def summary(self) -> str:
        total = len(self.checks)
        noun = "record" if total == 1 else "records"
        return f"{total} {noun}: {total - self.invalid} ok, {self.invalid} invalid"


def validation_files(paths: Iterable[Path]) -> list[Path]:
    """Each file given, and the XML, CSV and JSON files under each folder given (sorted)."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _FOLDER_SUFFIXES
            )
            if not inside:
                raise ValidationInputError(
                    f"{path}: the folder holds no {', '.join(_FOLDER_SUFFIXES)} file; pass "
                    "the folder of the export, or the files themselves"
                )
            found.update(dict.fromkeys(inside))
        elif path.is_file():
            found[path] = None
        else:
            raise ValidationInputError(f"{path}: no such file or folder; check the path")
    return list(found)


def _root_tag(head: bytes) -> str | None:
    """The root element's tag of an XML document's start, or None (never expands entities)."""
    parser = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    try:
        parser.feed(head)
        for _, element in parser.read_events():
            return str(element.tag)
    except etree.XMLSyntaxError:
        return None
    return None


def detect_format(path: Path) -> str | None:
    """The format of one file from its name and first bytes; None when it cannot be told."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".json":
        return "europeana-json"
    with path.open("rb") as raw:
        head = raw.read(_SNIFF_BYTES)
    text = without_bom_and_whitespace(head)
    if text.startswith((b"{", b"[")):
        return "europeana-json"
    tag = _root_tag(head)
    if tag is None:
        # Not well-formed from the start: guess from the text, so the reader can say where.
        if b"OAI-PMH" in head:
            return "oai-xml"
        if LIDO_NS.encode() in head:
            return "lido"
        return None
    if tag in _LIDO_ROOTS:
        return "lido"
    if tag == _OAI_ROOT:
        return "oai-xml"
    if tag == _RDF:
        return "edm"
    return None


def _lido_checks(path: Path) -> Iterator[RecordCheck]:
    for item in read_lido_file(path):
        if isinstance(item, str):
            yield RecordCheck(f"{path}: deleted {item}")
        elif isinstance(item, LidoFileFailure):
            yield RecordCheck(_where(path, item.line), (item.reason,))
        elif isinstance(item, LidoRecordRead):
            where = _where(path, item.line)
            if item.record is None:
                yield RecordCheck(where, tuple(item.problems))
            else:
                source_record = SourceRecord(item.record_id, item.xml, item.record)
                yield _check(where, source_record, item.problems)


def _csv_checks(path: Path, collection: str, reading: CsvReading) -> Iterator[RecordCheck]:
    columns = CsvColumnMapping()
    rows = read_csv_rows(
        path, columns, reading.encoding, reading.fallback_encoding, reading.delimiter
    )
    for row in rows:
        if isinstance(row, BadCsvRow):
            yield RecordCheck(_where(path, row.line), (row.reason,))
            continue
        try:
            record = map_csv_row(row.cells, columns)
        except SourceRejection as rejection:
            yield RecordCheck(_where(path, row.line), (str(rejection),))
            continue
        source_record = SourceRecord(csv_record_id(collection, row.row_id), row.cells, record)
        yield _check(_where(path, row.line), source_record)


def _oai_checks(path: Path) -> Iterator[RecordCheck]:
    response = parse_response(path.read_bytes())
    if not isinstance(response, RecordsPage):
        raise ValidationInputError(
            f"an OAI-PMH {response.verb} response holds no records; validate ListRecords or "
            "GetRecord responses"
        )
    for problem in response.problems:
        yield RecordCheck(f"{path}", (f"OAI-PMH record {problem.reason}",))
    for record in response.records:
        where = f"{path}: {record.header.identifier}"
        if record.header.deleted:
            yield RecordCheck(f"{where} (deleted)")
            continue
        namespace = "" if record.metadata is None else etree.QName(record.metadata).namespace
        prefix = _PREFIX_BY_NAMESPACE.get(namespace or "", namespace or "none")
        mapped = source_record_for(
            record, _FILE_NAMESPACE, "", map_metadata(prefix, record.metadata)
        )
        problems = [mapped.mapping_error] if mapped.mapping_error else []
        yield _check(where, mapped.source_record, problems)


def _edm_checks(path: Path) -> Iterator[RecordCheck]:
    data = path.read_bytes()
    root = etree.fromstring(data, xml_parser())
    record = map_edm_record(root)
    record_id = f"edm:{record['id']}" if record.get("id") else unidentified_record_id("edm", data)
    yield _check(f"{path}: {record.get('id') or 'record'}", SourceRecord(record_id, "", record))


def _page_items(page: str, path: Path) -> list[Any]:
    """The items of the Search API page ``page`` as ``heritage produce europeana`` reads
    them: each decoded on its own (one it cannot decode, nested too deep say, is an
    UnreadableItem), so one bad item does not cost the others."""
    return read_search_page(page, _NO_API_KEY, START_CURSOR, str(path)).items


def _items_as_in_a_page(text: str, path: Path) -> list[Any]:
    """The items of the JSON list ``text``, or the one item it is, read as a page's items;
    a syntax error names its place in ``text``."""
    opening = text.lstrip(_JSON_WHITESPACE)[:1]
    if not opening:
        raise JsonSyntaxError("the file holds no JSON value", len(text))
    prefix, suffix = (f'{{"{_ITEMS}": ', "}") if opening == "[" else (f'{{"{_ITEMS}": [', "]}")
    page = f"{prefix}{text}{suffix}"
    try:
        return _page_items(page, path)
    except EuropeanaPageSyntaxError:
        try:
            split_json_object(page, _ITEMS)
        except JsonSyntaxError as error:
            offset = error.offset - len(prefix)
            if offset >= len(text.rstrip(_JSON_WHITESPACE)):
                reason = "brackets do not match at the end of the text (truncated?)"
                raise JsonSyntaxError(reason, offset) from None
            raise JsonSyntaxError(error.reason, offset) from None
        raise


def _europeana_items(path: Path) -> list[Any]:
    """The items of a Search API page (an object whose ``items`` is a list), of a JSON list
    of items, or the one item in a file."""
    data = path.read_bytes()
    # As json.loads reads bytes: UTF-8, -16 or -32, a byte-order mark dropped.
    text = data.decode(json.detect_encoding(data), "surrogatepass")
    if text.lstrip(_JSON_WHITESPACE).startswith("{"):
        with contextlib.suppress(EuropeanaPageError):
            items = _page_items(text, path)
            if items:
                return items
        # No items read: an empty page, one item, or no page at all; splitting tells which.
        if split_json_object(text, _ITEMS).elements is not None:
            return _page_items(text, path)
    return _items_as_in_a_page(text, path)


def _europeana_checks(path: Path) -> Iterator[RecordCheck]:
    for index, item in enumerate(_europeana_items(path)):
        label = item.get("id") if isinstance(item, dict) and item.get("id") else f"item {index}"
        try:
            source_record = source_record_from_item(item, position=index + 1)
        except SourceRejection as error:  # the producer dead-letters such an item
            yield RecordCheck(f"{path}: {label}", (str(error),))
            continue
        yield _check(f"{path}: {label}", source_record)


def _check(where: str, item: SourceRecord, problems: Iterable[str] = ()) -> RecordCheck:
    """The check of one record as its producer would publish it: the producer's own
    problems, then cleanse's reasons; shape problems of its common record as warnings."""
    record = item.record if item.record is not None else item.payload
    verdict = classify_record(item.record_id, record, item.deleted)
    warnings = record_shape_problems(record) if isinstance(record, dict) else []
    return RecordCheck(where, _unique([*problems, *verdict.reasons]), tuple(warnings))


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _unique(reasons: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reasons))


def check_file(
    path: Path,
    file_format: str | None = None,
    collection: str = "validate",
    csv_reading: CsvReading = CsvReading(),
) -> list[RecordCheck]:
    """The verdict on every record of one file; a file that cannot be read gives one failed
    check naming the file and the reason."""
    chosen = file_format or detect_format(path)
    try:
        match chosen:
            case "lido":
                return list(_lido_checks(path))
            case "csv":
                return list(_csv_checks(path, collection, csv_reading))
            case "oai-xml":
                return list(_oai_checks(path))
            case "edm":
                return list(_edm_checks(path))
            case "europeana-json":
                return list(_europeana_checks(path))
            case _:
                reason = (
                    "cannot tell the format: not .csv or .json, and the root element is not "
                    "lido:lido, lido:lidoWrap, OAI-PMH or rdf:RDF; pass --format "
                    f"({', '.join(FORMATS)}) if it is one of them"
                )
                return [RecordCheck(str(path), (reason,))]
    except (ValueError, OSError, RecursionError, OaiProtocolError, etree.LxmlError) as error:
        return [RecordCheck(str(path), (f"cannot be read as {chosen}: {error}",))]


def validate_paths(
    paths: Iterable[Path],
    file_format: str | None = None,
    collection: str = "validate",
    csv_reading: CsvReading = CsvReading(),
) -> ValidationReport:
    """Check every record of the files and folders given; raises ValidationInputError when a
    path does not exist or a folder holds nothing to check."""
    report = ValidationReport()
    for path in validation_files(paths):
        report.checks.extend(check_file(path, file_format, collection, csv_reading))
    return report
