"""LIDO file drops: files and folders of LIDO XML published record by record.

A file holds one ``lido:lido``, a ``lido:lidoWrap`` of many, or an OAI-PMH response with
LIDO metadata; folders are searched recursively for ``*.xml``. Files are streamed with
``iterparse`` and each record is freed once handled, so memory stays flat however big the
file. Parsing is XXE-safe: entities are never expanded, nothing is fetched from the
network, and a file that declares a DTD is refused; a file over the size cap is refused
before it is read.

Every record ends in one place. One that passes :func:`lido_record_problems` and the LIDO
XSD (:func:`lido_schema_problems`) goes to
``heritage.records`` keyed ``lido:<lidoRecID>`` (``lido:<source>:<lidoRecID>`` when the
lidoRecID names its source) with its XML text as payload and the mapped common record; one
that fails goes to the dead-letter topic with its XML, the file, the line and every
reason. A file that cannot be read at all (not XML, a DTD, too big, no LIDO inside) goes
to the dead-letter topic as one message naming the file and the reason.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

from lxml import etree
from tqdm import tqdm

from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.kafka_publisher import (
    create_producer,
    ensure_topics_when_reachable,
    envelopes_from,
    publish_envelopes,
)
from heritage.producers.lido_schema import lido_schema_problems
from heritage.producers.metadata_mapping import (
    LIDO_NS,
    MappingError,
    lido_record_problems,
    map_lido_record,
)
from heritage.producers.publish_ledger import PublishLedger
from heritage.publication_settings import PublicationPolicy, load_publication_policy
from heritage.record_model import SourceRecord, unidentified_record_id
from heritage.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "lido"
STAGE = "lido-drop"
# Refuse files bigger than this before reading them (streaming keeps memory flat, the cap
# keeps a runaway export from occupying the producer for hours).
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3
# One record's XML must fit one Kafka message (1 MiB by default) with its envelope.
MAX_RECORD_XML_BYTES = 512 * 1024
# How much of an oversized record or unreadable file the dead-letter message carries.
DEAD_LETTER_XML_EXCERPT_BYTES = 64 * 1024

_LIDO = f"{{{LIDO_NS}}}lido"
_LIDO_REC_ID = f"{{{LIDO_NS}}}lidoRecID"
_LIDO_SOURCE = f"{{{LIDO_NS}}}source"
_OAI_HEADER = "{http://www.openarchives.org/OAI/2.0/}header"
_OAI_IDENTIFIER = "{http://www.openarchives.org/OAI/2.0/}identifier"
_OAI_METADATA = "{http://www.openarchives.org/OAI/2.0/}metadata"
_LIDO_ROOTS = (_LIDO, f"{{{LIDO_NS}}}lidoWrap")
# Characters that would make a key read as spaced text, a query string or a fragment.
_UNSAFE_IN_KEY = re.compile(r"[\s%?#]")


class LidoDropError(ValueError):
    """The drop cannot start: a path given does not exist."""


class LidoFileError(Exception):
    """A file cannot be read as LIDO; the message is the reason, for the dead-letter topic."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class LidoRecordRead:
    """One ``lido:lido`` read from a file: its XML, key, mapped record and problems."""

    file: Path
    line: int | None
    xml: str
    record_id: str
    record: dict[str, Any] | None
    problems: list[str]


@dataclass(frozen=True)
class LidoFileFailure:
    """A file that yielded no further records, and why."""

    file: Path
    reason: str
    line: int | None
    excerpt: str
    excerpt_truncated: bool


@dataclass(frozen=True)
class Rejection:
    """What went to the dead-letter topic, for the run's report."""

    file: Path
    line: int | None
    record_id: str
    reasons: list[str]


@dataclass
class LidoDropResult:
    # XML files read.
    files: int = 0
    # lido:lido records found in them.
    records: int = 0
    # Records sent to the records topic in this run.
    published: int = 0
    # Records already confirmed by an earlier run with the same content, not re-sent.
    skipped: int = 0
    # Records and whole files sent to the dead-letter topic (or already there).
    rejected: int = 0
    # Of those, whole files that could not be read.
    rejected_files: int = 0
    # Deleted-record headers in OAI-PMH responses: deletions are the harvester's to apply.
    oai_deleted_headers: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    # (record_id, reasons) of records published that the record contract flags as invalid.
    invalid: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.records} LIDO records: {self.published} published, "
            f"{self.skipped} already published, {self.rejected} rejected "
            f"({self.rejected_files} whole files) to the dead-letter topic"
        )


def lido_files(paths: Iterable[Path]) -> list[Path]:
    """The XML files to read: each file given, and every ``*.xml`` under each folder given,
    sorted so that runs are repeatable; each file once."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".xml"
            )
            if not inside:
                log.warning("folder holds no *.xml file", extra={"folder": str(path)})
            found.update(dict.fromkeys(p.resolve() for p in inside))
        elif path.is_file():
            found[path.resolve()] = None
        else:
            raise LidoDropError(f"{path}: no such file or folder; pass LIDO files or folders")
    return list(found)


def safe_key_part(value: str) -> str:
    """``value`` NFC-normalised and trimmed, with whitespace, ``%``, ``?`` and ``#``
    percent-encoded: a key has no spaces, no query string, no fragment, and two different
    values never collide."""
    text = unicodedata.normalize("NFC", value.strip())
    return _UNSAFE_IN_KEY.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)


def lido_record_id(lido: etree._Element) -> str | None:
    """``lido:<lidoRecID>``, or ``lido:<source>:<lidoRecID>`` when the first non-blank
    lidoRecID carries ``lido:source``; None without a lidoRecID. A source URL loses its
    query string and fragment, which may carry credentials and never name the source."""
    for element in lido.iterchildren(_LIDO_REC_ID):
        identifier = "".join(element.itertext()).strip()
        if not identifier:
            continue
        source = (element.get(_LIDO_SOURCE) or "").strip()
        if re.match(r"^https?://", source, re.IGNORECASE):
            source = urlunsplit(urlsplit(source)._replace(query="", fragment=""))
        parts = [SOURCE, *([safe_key_part(source)] if source else []), safe_key_part(identifier)]
        return ":".join(parts)
    return None


class _CappedReader:
    """A binary file that refuses to yield more than ``limit`` bytes (a file that grows
    while it is read is caught too)."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._read += len(data)
        if self._read > self._limit:
            raise LidoFileError(
                f"file grew past the {self._limit}-byte cap while it was read; "
                "split it or raise the cap (max_file_bytes)"
            )
        return data


def _free(element: etree._Element) -> None:
    """Drop a handled element and everything before it, so the tree stays small."""
    element.clear(keep_tail=False)
    for node in (element, *element.iterancestors()):
        parent = node.getparent()
        while parent is not None and node.getprevious() is not None:
            del parent[0]


def iter_lido_elements(path: Path, max_file_bytes: int) -> Iterator[etree._Element]:
    """Stream the ``lido:lido`` elements of one file, and the OAI-PMH ``header`` and
    ``metadata`` elements of a response, so deletions and non-LIDO metadata are seen. Each
    element is valid only until the next is requested: it is freed then. Raises
    :class:`LidoFileError` when the file cannot be read as LIDO."""
    size = path.stat().st_size
    if size > max_file_bytes:
        raise LidoFileError(
            f"file is {size} bytes, over the {max_file_bytes}-byte cap; split it into "
            "smaller lidoWrap files or raise the cap (max_file_bytes)"
        )
    checked_doctype = False
    with path.open("rb") as raw:
        events = etree.iterparse(
            _CappedReader(raw, max_file_bytes),
            events=("end",),
            tag=(_LIDO, _OAI_HEADER, _OAI_METADATA),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        try:
            for _, element in events:
                if not checked_doctype:
                    _refuse_doctype(element)
                    checked_doctype = True
                yield element
                _free(element)
        except etree.XMLSyntaxError as error:
            raise LidoFileError(
                f"not well-formed XML at line {error.lineno}: {error.msg}; fix the file and "
                "drop it again",
                error.lineno,
            ) from None
        if not checked_doctype and events.root is not None:
            _refuse_doctype(events.root)


def _refuse_doctype(element: etree._Element) -> None:
    doctype = element.getroottree().docinfo.doctype
    if doctype:
        raise LidoFileError(
            f"file declares a DTD ({doctype}); LIDO needs none and a DTD can pull in "
            "external entities, so remove the DOCTYPE and drop the file again",
            1,
        )


def _excerpt(text: str) -> tuple[str, bool]:
    data = text.encode("utf-8")
    if len(data) <= DEAD_LETTER_XML_EXCERPT_BYTES:
        return text, False
    return data[:DEAD_LETTER_XML_EXCERPT_BYTES].decode("utf-8", errors="ignore"), True


def _read_record(
    path: Path, element: etree._Element, policy: PublicationPolicy | None = None
) -> LidoRecordRead:
    xml = etree.tostring(element, encoding="unicode", with_tail=False)
    problems = lido_record_problems(element)
    try:
        record: dict[str, Any] | None = map_lido_record(element, policy)
    except MappingError as error:
        record = None
        problems.append(str(error))
    size = len(xml.encode("utf-8"))
    if size <= MAX_RECORD_XML_BYTES:
        # Validation logs each error with its element's path, which libxml2 finds by
        # walking the siblings before it: unbounded records would make that quadratic.
        problems.extend(lido_schema_problems(element))
    else:
        problems.append(
            f"record XML is {size} bytes, over the {MAX_RECORD_XML_BYTES}-byte limit of one "
            "message; move large embedded content (e.g. GML, long texts) out of the record"
        )
    record_id = lido_record_id(element) or unidentified_record_id(SOURCE, xml.encode("utf-8"))
    return LidoRecordRead(path, element.sourceline, xml, record_id, record, problems)


def read_lido_file(
    path: Path,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    policy: PublicationPolicy | None = None,
) -> Iterator[LidoRecordRead | LidoFileFailure | str]:
    """Each record of one file as it is read; then, when the file breaks off or holds no
    LIDO, one :class:`LidoFileFailure`. The identifier of an OAI-PMH header marked deleted
    comes as a plain ``str``."""
    found = 0
    try:
        for element in iter_lido_elements(path, max_file_bytes):
            if element.tag == _OAI_HEADER:
                if element.get("status") == "deleted":
                    found += 1
                    yield (element.findtext(_OAI_IDENTIFIER) or "").strip()
            elif element.tag == _OAI_METADATA:
                content = next((c for c in element if isinstance(c.tag, str)), None)
                if content is not None and content.tag not in _LIDO_ROOTS:
                    found += 1
                    yield _not_lido_metadata(path, content)
            else:
                found += 1
                yield _read_record(path, element, policy)
    except LidoFileError as error:
        read = f" ({found} records before it were read)" if found else ""
        yield _file_failure(path, error.reason + read, error.line)
        return
    except OSError as error:
        yield _file_failure(path, f"cannot read the file: {error.strerror}", None)
        return
    if not found:
        yield _file_failure(
            path,
            "no lido:lido record in the file; a LIDO drop takes lido:lido, lido:lidoWrap or "
            "OAI-PMH responses with LIDO metadata (namespace http://www.lido-schema.org)",
            None,
        )


def _not_lido_metadata(path: Path, content: etree._Element) -> LidoRecordRead:
    """An OAI-PMH record whose metadata is another format: rejected, never dropped."""
    xml = etree.tostring(content, encoding="unicode", with_tail=False)
    reason = (
        f"OAI-PMH record metadata is {content.tag}, not LIDO; harvest that repository with "
        "the OAI-PMH harvester instead of dropping its responses as LIDO files"
    )
    record_id = unidentified_record_id(SOURCE, xml.encode("utf-8"))
    return LidoRecordRead(path, content.sourceline, xml, record_id, None, [reason])


def _file_failure(path: Path, reason: str, line: int | None) -> LidoFileFailure:
    try:
        with path.open("rb") as raw:
            head = raw.read(DEAD_LETTER_XML_EXCERPT_BYTES + 1)
    except OSError:
        head = b""
    excerpt = head[:DEAD_LETTER_XML_EXCERPT_BYTES].decode("utf-8", errors="replace")
    return LidoFileFailure(path, reason, line, excerpt, len(head) > DEAD_LETTER_XML_EXCERPT_BYTES)


def dead_letter_record(item: LidoRecordRead | LidoFileFailure) -> SourceRecord:
    """The dead-letter message of a rejected record or an unreadable file."""
    if isinstance(item, LidoFileFailure):
        key_material = f"{item.file}\n".encode() + item.excerpt.encode("utf-8")
        payload: dict[str, Any] = {
            "xml": item.excerpt,
            "xml_truncated": item.excerpt_truncated,
            "reasons": [f"{item.file}: {item.reason}"],
            "file": str(item.file),
            "line": item.line,
            "stage": STAGE,
        }
        return SourceRecord(unidentified_record_id(SOURCE, key_material), payload)
    xml, truncated = _excerpt(item.xml)
    payload = {
        "xml": xml,
        "xml_truncated": truncated,
        "reasons": item.problems,
        "file": str(item.file),
        "line": item.line,
        "stage": STAGE,
    }
    return SourceRecord(item.record_id, payload)


def publish_lido(
    settings: Settings,
    layout: LakehouseLayout,
    paths: Iterable[Path],
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    progress: bool = True,
    chunk_size: int = 500,
) -> LidoDropResult:
    """Publish the LIDO records of ``paths`` (files or folders): valid ones to the layout's
    records topic, rejected ones and unreadable files to its dead-letter topic, each
    confirmed by Kafka before the lido ledger records it, so a rerun sends only new or
    changed records."""
    files = lido_files(paths)
    topic, dlq_topic = layout.records_topic, layout.dead_letter_topic
    ensure_topics_when_reachable(settings, (topic, dlq_topic))
    result = LidoDropResult()
    policy = load_publication_policy(settings)
    producer = create_producer(settings)
    ledger = PublishLedger(layout.ledger_for(SOURCE))
    valid: list[SourceRecord] = []
    rejected: list[SourceRecord] = []

    def flush() -> None:
        if valid:
            outcome = publish_envelopes(
                producer, ledger, topic, envelopes_from(SOURCE, valid), progress=False
            )
            result.published += outcome.published
            result.skipped += outcome.skipped
            result.invalid.extend(outcome.invalid)
        if rejected:
            publish_envelopes(
                producer, ledger, dlq_topic, envelopes_from(SOURCE, rejected), progress=False
            )
        valid.clear()
        rejected.clear()

    bar = tqdm(total=len(files), desc="lido drop", unit="file", disable=not progress)
    try:
        for path in files:
            result.files += 1
            for item in read_lido_file(path, max_file_bytes, policy):
                if isinstance(item, str):
                    result.oai_deleted_headers += 1
                    continue
                if isinstance(item, LidoRecordRead):
                    result.records += 1
                if isinstance(item, LidoRecordRead) and not item.problems:
                    valid.append(SourceRecord(item.record_id, item.xml, record=item.record))
                else:
                    _reject(result, item, rejected)
                if len(valid) + len(rejected) >= chunk_size:
                    flush()
            bar.update(1)
            bar.set_postfix(records=result.records, rejected=result.rejected)
        flush()
    finally:
        bar.close()
        producer.close()
        ledger.close()
    log.info(
        "lido drop finished",
        extra={
            "files": result.files,
            "records": result.records,
            "published": result.published,
            "already_published": result.skipped,
            "rejected": result.rejected,
            "rejected_files": result.rejected_files,
            "oai_deleted_headers": result.oai_deleted_headers,
        },
    )
    return result


def _reject(
    result: LidoDropResult,
    item: LidoRecordRead | LidoFileFailure,
    rejected: list[SourceRecord],
) -> None:
    message = dead_letter_record(item)
    reasons = message.payload["reasons"]
    result.rejected += 1
    result.rejected_files += isinstance(item, LidoFileFailure)
    result.rejections.append(Rejection(item.file, item.line, message.record_id, reasons))
    rejected.append(message)
    log.warning(
        "lido record rejected",
        extra={
            "file": str(item.file),
            "line": item.line,
            "record_id": message.record_id,
            "reasons": "; ".join(reasons),
        },
    )
