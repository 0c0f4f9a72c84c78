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
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from lxml import etree

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


class OaiProtocolError(Exception):
    """A response that is not a usable OAI-PMH answer."""


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
        described = "; ".join(f"{e.code}: {e.message}" if e.message else e.code for e in errors)
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


def parse_document(payload: bytes) -> ParsedDocument:
    """The OAI-PMH root of ``payload``; recovers character-level faults, raises on the rest."""
    if not payload.strip():
        raise OaiMalformedResponse("empty body", payload)
    strict = xml_parser()
    try:
        return _oai_root(etree.fromstring(payload, strict), (), payload)
    except etree.XMLSyntaxError:
        errors = list(strict.error_log)
    structural = [e for e in errors if e.type_name not in _CHARACTER_LEVEL_ERRORS]
    if structural:
        first = structural[0]
        raise OaiMalformedResponse(
            f"not well-formed XML: {first.message.strip()} (line {first.line})", payload
        )
    if not _ROOT_CLOSED.search(payload[-4096:]):
        raise OaiMalformedResponse("truncated: the OAI-PMH root is never closed", payload)
    root = etree.fromstring(payload, xml_parser(recover=True))
    if root is None:
        raise OaiMalformedResponse("no XML element could be recovered", payload)
    faults = tuple(f"line {e.line}: {e.message.strip()}" for e in errors)
    return _oai_root(root, faults, payload)


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
    request = root.find(f"{_O}request")
    return dict(request.attrib) if request is not None else {}


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
    return ResumptionToken(
        value=(element.text or "").strip(),
        expiration_date=element.get("expirationDate"),
        complete_list_size=_optional_int(element.get("completeListSize")),
        cursor=_optional_int(element.get("cursor")),
    )


def _header(element: Any) -> OaiHeader | MalformedItem:
    identifier = _text(element, f"{_O}identifier")
    datestamp = _text(element, f"{_O}datestamp")
    if not identifier or not datestamp:
        missing = " and ".join(
            name
            for name, value in (("identifier", identifier), ("datestamp", datestamp))
            if not value
        )
        return MalformedItem(
            f"header without {missing}", etree.tostring(element, encoding="unicode")
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
        earliest_datestamp=_text(element, f"{_O}earliestDatestamp"),
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
    """An OAI datestamp (day or second granularity, 'Z' or offset) as an aware UTC time."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"datestamp {text!r} is neither YYYY-MM-DD nor YYYY-MM-DDThh:mm:ssZ"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_datestamp(moment: datetime, granularity: Granularity) -> str:
    """``moment`` written at the repository's granularity (truncated, never rounded up)."""
    utc = moment.astimezone(UTC)
    if granularity is Granularity.DAY:
        return utc.strftime("%Y-%m-%d")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def datestamp_as_utc_iso(text: str) -> str:
    """The datestamp as ISO 8601 UTC with seconds, the form timestamp_update uses."""
    return parse_datestamp(text).strftime("%Y-%m-%dT%H:%M:%SZ")


def later_datestamp(a: str | None, b: str | None) -> str | None:
    """The later of two datestamps (either may be None), compared as times, not strings."""
    if a is None or b is None:
        return a or b
    return a if parse_datestamp(a) >= parse_datestamp(b) else b


def shift_datestamp(text: str, seconds: int, granularity: Granularity) -> str:
    return format_datestamp(parse_datestamp(text) + timedelta(seconds=seconds), granularity)


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
