"""OAI-PMH 2.0 responses parsed into typed values: pure, no I/O.

Every verb's response is read here (Identify, ListMetadataFormats, ListSets, ListRecords,
ListIdentifiers, GetRecord). An OAI error element becomes :class:`OaiErrorResponse` with its
code. Parsing is XXE-safe (no entities resolved, no DTD, no network). A payload with only
character-level faults (an undefined entity, a byte that is not valid in its encoding, a
control character) is recovered with lxml's recover parser and the faults are reported on the
result, because the records around the fault are still whole. A payload whose *structure* is
damaged (not XML, truncated, tags that do not match, not an OAI-PMH document) raises
:class:`OaiMalformedResponse` with the raw bytes, because a recovered tree could silently miss
records or the resumption token and end a list early.

Before parsing, what real repositories put around otherwise good XML is repaired, each
repair reported with the recovered faults: blank lines or a byte-order mark before the XML
declaration (a UTF-16 body becomes UTF-8), character references to UTF-16 surrogates (a
pair becomes the one character it encodes, a lone one U+FFFD), and entity references XML
does not define (an HTML 5 name becomes its character, any other name stays as text).
A header whose datestamp is not a date is a per-record problem, never an error of the page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from html.entities import html5
from typing import Any

from lxml import etree

from heritage.producers.leading_bytes import UTF16_BOMS, without_bom_and_whitespace
from heritage.source_rejections import SourceRejection

log = logging.getLogger(__name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_IDENTIFIER_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
_O = f"{{{OAI_NS}}}"

# The eight error codes of OAI-PMH 2.0, section 3.6.
OAI_ERROR_CODES = frozenset(
    {
        "badArgument",
        "badResumptionToken",
        "badVerb",
        "cannotDisseminateFormat",
        "idDoesNotExist",
        "noRecordsMatch",
        "noMetadataFormats",
        "noSetHierarchy",
    }
)
VERBS = (
    "Identify",
    "ListMetadataFormats",
    "ListSets",
    "ListRecords",
    "ListIdentifiers",
    "GetRecord",
)

# libxml2 errors that damage characters, not structure: the recovered tree keeps every
# element, so the page can be used (with the fault logged).
_CHARACTER_LEVEL_ERRORS = frozenset(
    {
        "ERR_UNDECLARED_ENTITY",
        "WAR_UNDECLARED_ENTITY",
        "ERR_INVALID_ENCODING",
        "ERR_INVALID_CHAR",
        "ERR_INVALID_CHARREF",
        "ERR_INVALID_DEC_CHARREF",
        "ERR_INVALID_HEX_CHARREF",
        "ERR_NAME_REQUIRED",
        "ERR_ENTITYREF_SEMICOL_MISSING",
        "ERR_ENTITY_NOT_FINISHED",
    }
)
_ROOT_CLOSED = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?OAI-PMH\s*>\s*(?:<!--.*?-->\s*)*\Z", re.S)
_PAYLOAD_PREVIEW = 120
# The arguments a <request> element may carry (OAI-PMH 3.2); nothing else is read from it.
REQUEST_ARGUMENTS = (
    "verb",
    "identifier",
    "metadataPrefix",
    "from",
    "until",
    "set",
    "resumptionToken",
)
# Error elements and repaired references described one by one; the rest are counted.
_DESCRIBED_AT_MOST = 20
_MESSAGE_CHARS = 300


class OaiProtocolError(SourceRejection):
    """A response that is not a usable OAI-PMH answer."""


class InvalidDatestamp(SourceRejection):
    """A datestamp that is not a date OAI-PMH can express (or not one in range in UTC)."""


class OaiMalformedResponse(OaiProtocolError):
    """The body is not a (recoverable) OAI-PMH document; ``payload`` holds it unchanged."""

    def __init__(self, reason: str, payload: bytes) -> None:
        preview = payload[:_PAYLOAD_PREVIEW].decode("utf-8", "replace")
        super().__init__(
            f"OAI-PMH response unusable: {reason} ({len(payload)} bytes, starting {preview!r}); "
            "the page is dead-lettered and the request retried"
        )
        self.reason = reason
        self.payload = payload


class UnreadableRecordXml(SourceRejection):
    """A harvested record's serialised XML that cannot be parsed again where it is mapped:
    one record's problem, never its page's."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(
            f"record XML cannot be read: {reason} ({len(text)} characters, starting "
            f"{text[:_PAYLOAD_PREVIEW]!r}); this record is kept without mapped metadata, "
            "the rest of its page is mapped"
        )
        self.reason = reason


@dataclass(frozen=True)
class OaiError:
    code: str
    message: str

    @property
    def standard(self) -> bool:
        """Whether the code is one of the protocol's eight (some servers invent others)."""
        return self.code in OAI_ERROR_CODES


class OaiErrorResponse(OaiProtocolError):
    """The repository answered with one or more OAI error elements."""

    def __init__(self, errors: tuple[OaiError, ...], request: dict[str, str]) -> None:
        described = "; ".join(
            f"{e.code}: {e.message[:_MESSAGE_CHARS]}" if e.message else e.code
            for e in errors[:_DESCRIBED_AT_MOST]
        )
        if len(errors) > _DESCRIBED_AT_MOST:
            described += f"; and {len(errors) - _DESCRIBED_AT_MOST} more errors"
        super().__init__(f"OAI-PMH error for request {request}: {described}")
        self.errors = errors
        self.request = request

    @property
    def code(self) -> str:
        return self.errors[0].code

    def has(self, code: str) -> bool:
        return any(error.code == code for error in self.errors)


class Granularity(Enum):
    DAY = "YYYY-MM-DD"
    SECOND = "YYYY-MM-DDThh:mm:ssZ"


@dataclass(frozen=True)
class OaiHeader:
    identifier: str
    # As the repository wrote it (day or second granularity).
    datestamp: str
    set_specs: tuple[str, ...] = ()
    deleted: bool = False


@dataclass(frozen=True)
class OaiRecord:
    header: OaiHeader
    # The child of <metadata> (None for a deleted record, or when the repository sent none).
    metadata: Any
    # The whole <record> element (header, metadata, about) serialised as XML text.
    xml: str


@dataclass(frozen=True)
class MalformedItem:
    """A header or record that cannot be keyed (no identifier or no datestamp)."""

    reason: str
    xml: str


@dataclass(frozen=True)
class ResumptionToken:
    # Empty on the last page of a list that was paged.
    value: str
    expiration_date: str | None = None
    complete_list_size: int | None = None
    cursor: int | None = None


@dataclass(frozen=True)
class Identify:
    response_date: str
    repository_name: str
    base_url: str
    protocol_version: str
    earliest_datestamp: str
    deleted_record: str
    granularity: Granularity
    admin_emails: tuple[str, ...]
    # From the oai-identifier description, when the repository declares one.
    repository_identifier: str | None
    verb: str = "Identify"


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


@dataclass(frozen=True)
class MetadataFormats:
    response_date: str
    formats: tuple[MetadataFormat, ...]
    verb: str = "ListMetadataFormats"


@dataclass(frozen=True)
class OaiSet:
    spec: str
    name: str


@dataclass(frozen=True)
class SetsPage:
    response_date: str
    sets: tuple[OaiSet, ...]
    token: ResumptionToken | None
    verb: str = "ListSets"


@dataclass(frozen=True)
class RecordsPage:
    """A ListRecords page, or a GetRecord answer (one record, no token)."""

    response_date: str
    records: tuple[OaiRecord, ...]
    token: ResumptionToken | None
    problems: tuple[MalformedItem, ...] = ()
    # Character-level XML faults that were recovered from (empty for a clean page).
    recovered_faults: tuple[str, ...] = ()
    verb: str = "ListRecords"


@dataclass(frozen=True)
class IdentifiersPage:
    response_date: str
    headers: tuple[OaiHeader, ...]
    token: ResumptionToken | None
    problems: tuple[MalformedItem, ...] = ()
    recovered_faults: tuple[str, ...] = ()
    verb: str = "ListIdentifiers"


OaiResponse = Identify | MetadataFormats | SetsPage | RecordsPage | IdentifiersPage


def xml_parser(recover: bool = False) -> Any:
    """The XXE-safe parser every OAI payload goes through (a fresh one: not thread-safe)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=recover,
    )


@dataclass(frozen=True)
class ParsedDocument:
    root: Any
    recovered_faults: tuple[str, ...]


_XML_DECLARATION = re.compile(r"<\?xml\s[^>]*\?>")
# References that never need repair: XML's five entities, and character references to
# characters XML allows that lie below the surrogates (U+0020 to U+C34F written in decimal,
# to U+CFFF in hex; by far the most written). Everything else that starts with '&' is
# looked at; '&' inside these sections is only text.
_VALID_REFERENCE = (
    rb"(?:amp|lt|gt|quot|apos);"
    rb"|#(?:3[2-9]|[4-9][0-9]|[1-9][0-9]{2,3}|[1-4][0-9]{4}"
    rb"|[xX](?:[2-9A-Fa-f][0-9A-Fa-f]|[1-9A-Fa-f][0-9A-Fa-f]{2}|[1-9A-Ca-c][0-9A-Fa-f]{3}));"
)
_NEEDS_REPAIR = re.compile(rb"&(?!" + _VALID_REFERENCE + rb")")
_REFERENCE_OR_LITERAL_SECTION = re.compile(
    rb"&(?!" + _VALID_REFERENCE + rb")"
    rb"(?:#(?:[0-9]{1,32}|[xX][0-9A-Fa-f]{1,32});|[A-Za-z_][A-Za-z0-9._-]{0,63};)?"
    rb"|<!\[CDATA\[|<!--|<\?"
)
_CHARACTER_REFERENCE = re.compile(rb"&#(?:([0-9]{1,32})|[xX]([0-9A-Fa-f]{1,32}));")
_SECTION_END = {b"<![CDATA[": b"]]>", b"<!--": b"-->", b"<?": b"?>"}
_REPLACEMENT_CHARACTER = b"&#65533;"


def without_leading_bytes(payload: bytes) -> tuple[bytes, tuple[str, ...]]:
    """``payload`` with what servers put before the XML declaration removed: whitespace (a
    blank line from a script that printed before the XML) and a byte-order mark, in either
    order; a UTF-16 body (which has a BOM) is re-encoded as UTF-8 without its declaration."""
    body = without_bom_and_whitespace(payload)
    if not body.startswith(UTF16_BOMS):
        return body, ()
    faults: tuple[str, ...] = ()
    try:
        text = body.decode("utf-16")
    except UnicodeDecodeError as error:
        text = body.decode("utf-16", "replace")
        faults = (f"UTF-16 body: {error.reason} at byte {error.start}; replaced with U+FFFD",)
    text = text.lstrip(" \t\r\n")
    declaration = _XML_DECLARATION.match(text)
    if declaration is not None:
        text = text[declaration.end() :]
    return text.encode("utf-8"), faults


class _FaultLog:
    """Faults of one payload, each with its line; the first few described, the rest counted.
    Lines are counted incrementally, so reporting stays linear in the payload."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._line = 1
        self._counted_to = 0
        self.described: list[str] = []
        self.more = 0

    def add(self, offset: int, fault: str) -> None:
        if len(self.described) >= _DESCRIBED_AT_MOST:
            self.more += 1
            return
        self._line += self._body.count(b"\n", self._counted_to, offset)
        self._counted_to = offset
        self.described.append(f"line {self._line}: {fault}")

    def faults(self) -> tuple[str, ...]:
        more = (f"and {self.more} more repaired references",) if self.more else ()
        return (*self.described, *more)


def _code_point(reference: bytes) -> int | None:
    match = _CHARACTER_REFERENCE.fullmatch(reference)
    if match is None:
        return None
    decimal, hexadecimal = match.groups()
    return int(decimal) if decimal is not None else int(hexadecimal, 16)


def _is_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _character_reference_repair(
    body: bytes, match: re.Match[bytes], log: _FaultLog
) -> tuple[bytes, int] | None:
    """(replacement, end) for a character reference XML forbids, None for a valid one."""
    reference = match.group()
    code = _code_point(reference)
    if code is None or _is_xml_char(code):
        return None
    text = reference.decode("ascii")
    if 0xD800 <= code <= 0xDBFF:
        low = _CHARACTER_REFERENCE.match(body, match.end())
        low_code = _code_point(low.group()) if low is not None else None
        if low is not None and low_code is not None and 0xDC00 <= low_code <= 0xDFFF:
            joined = 0x10000 + ((code - 0xD800) << 10) + (low_code - 0xDC00)
            pair = text + low.group().decode("ascii")
            log.add(match.start(), f"UTF-16 surrogate pair {pair} read as U+{joined:04X}")
            return f"&#{joined};".encode("ascii"), low.end()
    kind = "lone UTF-16 surrogate" if 0xD800 <= code <= 0xDFFF else "character XML forbids"
    log.add(match.start(), f"{kind} {text} replaced with U+FFFD")
    return _REPLACEMENT_CHARACTER, match.end()


def _entity_reference_repair(reference: bytes, offset: int, log: _FaultLog) -> bytes:
    """What an entity reference XML does not define becomes: its HTML 5 character, or text."""
    if reference == b"&":
        log.add(offset, "unescaped '&' kept as text")
        return b"&amp;"
    name = reference[1:].decode("ascii")
    characters = html5.get(name)
    if characters is None:
        log.add(offset, f"undeclared entity &{name} kept as text")
        return b"&amp;" + reference[1:]
    log.add(offset, f"HTML entity &{name} read as {characters!r}")
    return "".join(f"&#{ord(c)};" for c in characters).encode("ascii")


def repair_references(body: bytes) -> tuple[bytes, tuple[str, ...]]:
    """``body`` with the references XML rejects made well-formed, and what was repaired.

    Character references to UTF-16 surrogates and to characters XML forbids, entity
    references to names XML does not predefine (HTML's, or a DTD's, which are never
    expanded) and a bare '&' are rewritten as character references or as text, in one
    linear pass; CDATA sections, comments and processing instructions are left alone.
    The body is read as ASCII-compatible (UTF-8 or a single-byte encoding)."""
    if _NEEDS_REPAIR.search(body) is None:
        return body, ()
    log = _FaultLog(body)
    parts: list[bytes] = []
    copied_to = position = 0
    while (match := _REFERENCE_OR_LITERAL_SECTION.search(body, position)) is not None:
        token = match.group()
        position = match.end()
        if token in _SECTION_END:
            end = body.find(_SECTION_END[token], position)
            if end < 0:
                break  # unterminated: the parser reports it
            position = end + len(_SECTION_END[token])
            continue
        if token.startswith(b"&#"):
            repaired = _character_reference_repair(body, match, log)
            if repaired is None:
                continue
            replacement, position = repaired
        else:
            replacement = _entity_reference_repair(token, match.start(), log)
        parts += (body[copied_to : match.start()], replacement)
        copied_to = position
    if not parts:
        return body, ()
    parts.append(body[copied_to:])
    return b"".join(parts), log.faults()


# The envelope's elements (root, responseDate, request, error, the verb's element) come
# first; their attributes beyond this many are dropped before parsing, except namespace
# declarations and the ones OAI-PMH defines, and the record metadata after them is never
# touched. libxml2 builds an element's attributes in time that grows faster than their
# number once they outgrow the caches, and none of these elements needs more than a few.
_ENVELOPE_ELEMENTS = frozenset(
    name.encode() for name in ("OAI-PMH", "responseDate", "request", "error", *VERBS)
)
_ENVELOPE_START_TAGS = 32
_ENVELOPE_ATTRIBUTES = 64
_PROTOCOL_ATTRIBUTES = frozenset(
    name.encode() for name in (*REQUEST_ARGUMENTS, "code", "status", "schemaLocation")
)
_START_TAG_NAME = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_ATTRIBUTE = re.compile(rb"\s+([^\s=<>/]+)\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_MARKUP_END = {b"<!--": b"-->", b"<?": b"?>", b"</": b">"}


def _kept_attribute(name: bytes, index: int) -> bool:
    local = name.rpartition(b":")[2]
    return (
        index < _ENVELOPE_ATTRIBUTES
        or name == b"xmlns"
        or name.startswith(b"xmlns:")
        or local in _PROTOCOL_ATTRIBUTES
    )


def _start_tag_attributes(body: bytes, start: int) -> tuple[int, int, list[bytes]]:
    """(where the attributes from ``start`` end, how many there are, the ones kept), each
    attribute read once."""
    kept: list[bytes] = []
    count = 0
    position = start
    while (attribute := _ATTRIBUTE.match(body, position)) is not None:
        if count < _ENVELOPE_ATTRIBUTES or _kept_attribute(attribute.group(1), count):
            kept.append(attribute.group())
        count += 1
        position = attribute.end()
    return position, count, kept


def capped_envelope_attributes(body: bytes) -> tuple[bytes, tuple[str, ...]]:
    """``body`` with the attributes of its envelope elements capped (see above), in time
    linear in the attributes read, and a fault for each element that had too many."""
    parts: list[bytes] = []
    faults: list[str] = []
    copied_to = position = 0
    for _ in range(_ENVELOPE_START_TAGS):
        position = body.find(b"<", position)
        if position < 0 or body.startswith(b"<!DOCTYPE", position):
            break
        opener = next((o for o in _MARKUP_END if body.startswith(o, position)), None)
        if opener is not None:
            end = body.find(_MARKUP_END[opener], position + len(opener))
            if end < 0:
                break
            position = end
            continue
        tag = _START_TAG_NAME.match(body, position)
        if tag is None or tag.group(1).rpartition(b":")[2] not in _ENVELOPE_ELEMENTS:
            break
        position, count, kept = _start_tag_attributes(body, tag.end())
        if count <= _ENVELOPE_ATTRIBUTES:
            continue
        parts += (body[copied_to : tag.end()], *kept)
        copied_to = position
        faults.append(
            f"element <{tag.group(1).decode('ascii', 'replace')}> has {count} attributes; "
            f"{count - len(kept)} beyond the first {_ENVELOPE_ATTRIBUTES} were not read"
        )
    if not parts:
        return body, ()
    parts.append(body[copied_to:])
    return b"".join(parts), tuple(faults)


def parse_document(payload: bytes) -> ParsedDocument:
    """The OAI-PMH root of ``payload``; repairs and recovers character-level faults, raises
    on the rest."""
    body, leading_faults = without_leading_bytes(payload)
    if not body.strip():
        raise OaiMalformedResponse("empty body", payload)
    body, capped = capped_envelope_attributes(body)
    body, repaired = repair_references(body)
    repairs = leading_faults + capped + repaired
    strict = xml_parser()
    try:
        return _oai_root(etree.fromstring(body, strict), repairs, payload)
    except etree.XMLSyntaxError:
        errors = list(strict.error_log)
    structural = [e for e in errors if e.type_name not in _CHARACTER_LEVEL_ERRORS]
    if structural:
        first = structural[0]
        raise OaiMalformedResponse(
            f"not well-formed XML: {first.message.strip()} (line {first.line})", payload
        )
    if not _ROOT_CLOSED.search(body[-4096:]):
        raise OaiMalformedResponse("truncated: the OAI-PMH root is never closed", payload)
    root = etree.fromstring(body, xml_parser(recover=True))
    if root is None:
        raise OaiMalformedResponse("no XML element could be recovered", payload)
    faults = tuple(f"line {e.line}: {e.message.strip()}" for e in errors)
    return _oai_root(root, repairs + faults, payload)


def parse_record_xml(text: str) -> Any:
    """A serialised ``<record>`` (``OaiRecord.xml``) read again, as a mapping worker does:
    with the repairs and recovery of :func:`parse_document`, so it is the page's tree.
    Raises :class:`UnreadableRecordXml` for text that yields no element."""
    try:
        body, _ = repair_references(text.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise UnreadableRecordXml(
            f"character {error.start} is a lone surrogate, not encodable as UTF-8", text
        ) from None
    try:
        return etree.fromstring(body, xml_parser())
    except etree.LxmlError as error:
        strict_error = _parse_error_text(error)
    try:
        # The recover parser still raises where nothing is left to recover ("Document is
        # empty" for "" or a lone NUL).
        root = etree.fromstring(body, xml_parser(recover=True))
    except etree.LxmlError as error:
        raise UnreadableRecordXml(_parse_error_text(error), text) from None
    if root is None:
        raise UnreadableRecordXml(f"no element could be recovered ({strict_error})", text)
    return root


def _parse_error_text(error: etree.LxmlError) -> str:
    """lxml's message with its line and column, without the "(<string>, line 1)" it adds."""
    return str(getattr(error, "msg", "") or error)


def _oai_root(root: Any, faults: tuple[str, ...], payload: bytes) -> ParsedDocument:
    if root.tag != f"{_O}OAI-PMH":
        raise OaiMalformedResponse(
            f"root element is {root.tag!r}, not OAI-PMH in namespace {OAI_NS}", payload
        )
    return ParsedDocument(root, faults)


def _text(element: Any, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _request_arguments(root: Any) -> dict[str, str]:
    """The protocol's arguments echoed in <request>: each looked up once by name, never the
    whole attribute list (lxml reads each attribute of a list by a scan of the list, so
    reading them all is quadratic in their number)."""
    request = root.find(f"{_O}request")
    if request is None:
        return {}
    found = ((name, request.get(name)) for name in REQUEST_ARGUMENTS)
    return {name: value for name, value in found if value is not None}


def _raise_errors(root: Any) -> None:
    errors = tuple(
        OaiError(code=e.get("code", ""), message=" ".join((e.text or "").split()))
        for e in root.iterfind(f"{_O}error")
    )
    if errors:
        raise OaiErrorResponse(errors, _request_arguments(root))


def _optional_int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _token(container: Any) -> ResumptionToken | None:
    element = container.find(f"{_O}resumptionToken")
    if element is None:
        return None
    expiration_date = element.get("expirationDate")
    if expiration_date is not None and _moment_or_none(expiration_date) is None:
        log.warning(
            "resumptionToken expirationDate is not a datestamp; ignored",
            extra={"expiration_date": expiration_date[:_MESSAGE_CHARS]},
        )
        expiration_date = None
    return ResumptionToken(
        value=(element.text or "").strip(),
        expiration_date=expiration_date,
        complete_list_size=_optional_int(element.get("completeListSize")),
        cursor=_optional_int(element.get("cursor")),
    )


def _header(element: Any) -> OaiHeader | MalformedItem:
    """The header, or why it cannot key a record: no identifier, or no datestamp that is a
    date (which would make the record's change time, and the list's watermark, wrong)."""
    identifier = _text(element, f"{_O}identifier")
    datestamp = _text(element, f"{_O}datestamp")
    if not identifier:
        missing = "identifier and datestamp" if not datestamp else "identifier"
        return MalformedItem(
            f"header without {missing}", etree.tostring(element, encoding="unicode")
        )
    if not datestamp:
        return MalformedItem(
            f"header of {identifier!r} without datestamp; the repository must send one",
            etree.tostring(element, encoding="unicode"),
        )
    if _moment_or_none(datestamp) is None:
        return MalformedItem(
            f"header of {identifier!r} has datestamp {datestamp[:_MESSAGE_CHARS]!r}, which is "
            "not a date in range (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ); the record is left "
            "out until the repository corrects it",
            etree.tostring(element, encoding="unicode"),
        )
    return OaiHeader(
        identifier=identifier,
        datestamp=datestamp,
        set_specs=tuple((s.text or "").strip() for s in element.iterfind(f"{_O}setSpec")),
        deleted=element.get("status") == "deleted",
    )


def _records(container: Any) -> tuple[tuple[OaiRecord, ...], tuple[MalformedItem, ...]]:
    records: list[OaiRecord] = []
    problems: list[MalformedItem] = []
    for element in container.iterfind(f"{_O}record"):
        header_element = element.find(f"{_O}header")
        if header_element is None:
            problems.append(
                MalformedItem("record without header", etree.tostring(element, encoding="unicode"))
            )
            continue
        header = _header(header_element)
        xml = etree.tostring(element, encoding="unicode")
        if isinstance(header, MalformedItem):
            problems.append(MalformedItem(header.reason, xml))
            continue
        metadata = element.find(f"{_O}metadata")
        child = None
        if metadata is not None:
            child = next((c for c in metadata if isinstance(c.tag, str)), None)
        records.append(OaiRecord(header=header, metadata=child, xml=xml))
    return tuple(records), tuple(problems)


def _verb_element(root: Any) -> Any:
    for verb in VERBS:
        element = root.find(f"{_O}{verb}")
        if element is not None:
            return element
    return None


def parse_response(payload: bytes) -> OaiResponse:
    """Any OAI-PMH response; raises OaiErrorResponse for error elements and
    OaiMalformedResponse for bodies that are not OAI-PMH."""
    document = parse_document(payload)
    root = document.root
    _raise_errors(root)
    element = _verb_element(root)
    if element is None:
        raise OaiMalformedResponse("no verb element and no error element", payload)
    verb = etree.QName(element).localname
    response_date = _text(root, f"{_O}responseDate")
    if document.recovered_faults:
        log.warning(
            "recovered from XML faults in an OAI-PMH response",
            extra={"verb": verb, "faults": "; ".join(document.recovered_faults[:5])},
        )
    if verb == "Identify":
        return _identify(element, response_date)
    if verb == "ListMetadataFormats":
        return MetadataFormats(
            response_date=response_date,
            formats=tuple(
                MetadataFormat(
                    prefix=_text(f, f"{_O}metadataPrefix"),
                    schema=_text(f, f"{_O}schema"),
                    namespace=_text(f, f"{_O}metadataNamespace"),
                )
                for f in element.iterfind(f"{_O}metadataFormat")
            ),
        )
    if verb == "ListSets":
        return SetsPage(
            response_date=response_date,
            sets=tuple(
                OaiSet(spec=_text(s, f"{_O}setSpec"), name=_text(s, f"{_O}setName"))
                for s in element.iterfind(f"{_O}set")
            ),
            token=_token(element),
        )
    if verb == "ListIdentifiers":
        headers: list[OaiHeader] = []
        problems: list[MalformedItem] = []
        for header_element in element.iterfind(f"{_O}header"):
            header = _header(header_element)
            if isinstance(header, MalformedItem):
                problems.append(header)
            else:
                headers.append(header)
        return IdentifiersPage(
            response_date=response_date,
            headers=tuple(headers),
            token=_token(element),
            problems=tuple(problems),
            recovered_faults=document.recovered_faults,
        )
    records, record_problems = _records(element)
    return RecordsPage(
        response_date=response_date,
        records=records,
        token=_token(element) if verb == "ListRecords" else None,
        problems=record_problems,
        recovered_faults=document.recovered_faults,
        verb=verb,
    )


def _identify(element: Any, response_date: str) -> Identify:
    granularity_text = _text(element, f"{_O}granularity")
    try:
        granularity = Granularity(granularity_text)
    except ValueError:
        # The protocol allows only these two; a repository that says something else is
        # harvested at day granularity, which every repository must support.
        log.warning(
            "repository declares an unknown granularity; using days",
            extra={"granularity": granularity_text},
        )
        granularity = Granularity.DAY
    return Identify(
        response_date=response_date,
        repository_name=_text(element, f"{_O}repositoryName"),
        base_url=_text(element, f"{_O}baseURL"),
        protocol_version=_text(element, f"{_O}protocolVersion"),
        earliest_datestamp=_valid_datestamp_or_empty(_text(element, f"{_O}earliestDatestamp")),
        deleted_record=_text(element, f"{_O}deletedRecord"),
        granularity=granularity,
        admin_emails=tuple((e.text or "").strip() for e in element.iterfind(f"{_O}adminEmail")),
        repository_identifier=_text(
            element,
            f"{_O}description/{{{OAI_IDENTIFIER_NS}}}oai-identifier"
            f"/{{{OAI_IDENTIFIER_NS}}}repositoryIdentifier",
        )
        or None,
    )


def parse_datestamp(text: str) -> datetime:
    """An OAI datestamp (day or second granularity, 'Z' or offset) as an aware UTC time;
    raises InvalidDatestamp for anything else, a date that does not exist
    (``0000-00-00``, ``2021-13-45``) or one out of range in UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            moment = datetime.strptime(value, "%Y-%m-%d")
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidDatestamp(
            f"datestamp {text[:_MESSAGE_CHARS]!r} is neither YYYY-MM-DD nor "
            "YYYY-MM-DDThh:mm:ssZ of a real date in range in UTC; correct it where it was "
            "written (the repository's header, the harvest's --from, its state file)"
        ) from None


def _moment_or_none(text: str) -> datetime | None:
    try:
        return parse_datestamp(text)
    except InvalidDatestamp:
        return None


def _valid_datestamp_or_empty(text: str) -> str:
    if text and _moment_or_none(text) is None:
        log.warning(
            "Identify earliestDatestamp is not a datestamp; ignored",
            extra={"earliest_datestamp": text[:_MESSAGE_CHARS]},
        )
        return ""
    return text


def _utc_text(moment: datetime, granularity: Granularity) -> str:
    """Written with four-digit years (strftime drops the zeros of years before 1000)."""
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if granularity is Granularity.DAY:
        return day
    return f"{day}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"


def format_datestamp(moment: datetime, granularity: Granularity) -> str:
    """``moment`` written at the repository's granularity (truncated, never rounded up)."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise InvalidDatestamp(
            f"time {moment.isoformat()} is out of range in UTC; it cannot be a datestamp"
        ) from None
    return _utc_text(utc, granularity)


def datestamp_as_utc_iso(text: str) -> str:
    """The datestamp as ISO 8601 UTC with seconds, the form timestamp_update uses."""
    return _utc_text(parse_datestamp(text), Granularity.SECOND)


def later_datestamp(a: str | None, b: str | None) -> str | None:
    """The later of two datestamps, compared as times, not strings; a value that is None or
    not a datestamp never wins (None when neither is one), so a watermark built with it
    stays a datestamp."""
    moments = [(moment, text) for text in (a, b) if text and (moment := _moment_or_none(text))]
    if not moments:
        return None
    return max(moments, key=lambda pair: pair[0])[1]


def shift_datestamp(text: str, seconds: int, granularity: Granularity) -> str:
    """The datestamp moved by ``seconds``, at ``granularity``; InvalidDatestamp when either
    the datestamp or the result is out of range."""
    try:
        moment = parse_datestamp(text) + timedelta(seconds=seconds)
    except OverflowError:
        raise InvalidDatestamp(
            f"datestamp {text!r} shifted by {seconds}s is out of the calendar's range"
        ) from None
    return _utc_text(moment, granularity)


def list_request(
    verb: str,
    metadata_prefix: str,
    set_spec: str | None = None,
    from_datestamp: str | None = None,
    until_datestamp: str | None = None,
) -> dict[str, str]:
    """Arguments of the first request of a ListRecords/ListIdentifiers list."""
    arguments = {"verb": verb, "metadataPrefix": metadata_prefix}
    if set_spec:
        arguments["set"] = set_spec
    if from_datestamp:
        arguments["from"] = from_datestamp
    if until_datestamp:
        arguments["until"] = until_datestamp
    return arguments


def resume_request(verb: str, token: str) -> dict[str, str]:
    """Arguments of a follow-up request: the token is exclusive (OAI-PMH 3.5)."""
    return {"verb": verb, "resumptionToken": token}
