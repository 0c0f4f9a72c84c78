"""LIDO XML Schema validation of one record at a time, offline.

The LIDO 1.0 and 1.1 XSDs (with the GML, SMIL, xml and xlink schemas they import) ship with
the package under ``schemas/lido`` (CC BY 4.0, see its NOTICE.md). Each version is compiled
once per process, on first use. Every schema document is loaded through
:class:`VendoredSchemaResolver`, which serves files of that folder only, also for the public
http locations of those schemas, and refuses anything else: compiling never touches the
network, and the parser expands no entities and loads no DTD.

:func:`lido_schema_problems` validates one ``lido:lido`` (as streamed by the LIDO drop)
against the version its ``xsi:schemaLocation`` names, 1.1 when it names none (1.1 is
backwards compatible with 1.0), and turns its XSD errors into reasons that name the line,
the element and the fix, in the style of the content rules of
:func:`heritage.producers.metadata_mapping.lido_record_problems`: each message once per
line, the first :data:`MAX_SCHEMA_REASONS` of them and a count of the rest. Reasons are built
for those first ones only, so a record with thousands of faults on one line costs no more
than one walk over its elements.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree

from heritage.producers.metadata_mapping import LIDO_NS

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "lido"
# Version -> the schema document of that version in SCHEMA_DIR.
LIDO_SCHEMA_FILES = {"1.0": "lido-v1.0.xsd", "1.1": "lido-v1.1.xsd"}
# Records that name no (known) schema location; LIDO 1.1 accepts LIDO 1.0 records.
DEFAULT_LIDO_VERSION = "1.1"
# At most this many XSD reasons per record; a badly broken record gets a count of the rest.
MAX_SCHEMA_REASONS = 20

XSI_SCHEMA_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation"
# Public locations of the vendored schemas, as upstream schemas and records name them.
PUBLIC_SCHEMA_LOCATIONS = {
    "http://www.lido-schema.org/schema/v1.0/lido-v1.0.xsd": "lido-v1.0.xsd",
    "http://www.lido-schema.org/schema/v1.1/lido-v1.1.xsd": "lido-v1.1.xsd",
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
    "http://www.w3.org/1999/xlink.xsd": "xlink.xsd",
    "http://www.w3.org/XML/2008/06/xlink.xsd": "xlink.xsd",
}
# Public folders whose files are vendored under a sub-folder of SCHEMA_DIR.
PUBLIC_SCHEMA_FOLDERS = {
    "http://schemas.opengis.net/gml/3.1.1/base/": "gml",
    "http://schemas.opengis.net/smil/": "smil",
}
# Prefixes for names outside LIDO in reasons; LIDO elements go by their local name.
_PREFIXES = {
    LIDO_NS: "lido",
    "http://www.opengis.net/gml": "gml",
    "http://www.w3.org/2004/02/skos/core#": "skos",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://www.w3.org/XML/1998/namespace": "xml",
    "http://www.w3.org/1999/xlink": "xlink",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/2001/XMLSchema": "xs",
}
# The attributes LIDO defines (qualified: lido:type), for the hint on an unqualified one.
_LIDO_ATTRIBUTES = frozenset(
    {
        "addedSearchTerm", "codecResource", "encodinganalog", "formatResource",
        "geographicalEntity", "label", "measurementsGroup", "mostNotableEvent",
        "politicalEntity", "pref", "relatedencoding", "sortorder", "source", "type",
    }
)  # fmt: skip
_V1_0_LOCATION = re.compile(r"lido-v1\.0\.xsd$|/v1\.0/", re.IGNORECASE)
_MESSAGE = re.compile(
    r"^Element '(?P<element>[^']+)'(?:, attribute '(?P<attribute>[^']+)')?: (?P<detail>.*)$",
    re.DOTALL,
)
_EXPECTED = re.compile(r"Expected is (?:one of )?\( (?P<names>[^)]*) \)")
_QNAME = re.compile(r"\{(?P<ns>[^}]*)\}(?P<local>[\w.\-]+)")
_BAD_VALUE = re.compile(
    r"^'(?P<value>.*)' is not a valid value of the (?:[\w ]+ )?type '(?P<type>[^']+)'",
    re.DOTALL,
)
# What a valid value of the XSD types LIDO attributes and values use looks like.
_TYPE_EXAMPLES = {
    "xs:integer": "a whole number, e.g. 1",
    "xs:boolean": "true or false",
    "xs:date": "a date as YYYY-MM-DD",
    "xs:dateTime": "a date and time as YYYY-MM-DDThh:mm:ss",
    "xs:anyURI": "a URI",
    "xs:language": "a language code, e.g. de",
}
_FACET = re.compile(r"^\[facet '(?P<facet>\w+)'\] (?P<text>.*)$", re.DOTALL)
# lxml validators keep their error log on the schema object: one validation at a time.
_VALIDATION_LOCK = threading.Lock()


class LidoSchemaUnavailable(RuntimeError):
    """The vendored LIDO schema cannot be compiled: a file is missing from the installation,
    or a schema refers to a document outside the vendored folder."""


def vendored_schema_path(url: str) -> Path | None:
    """The vendored file ``url`` names (a path or file URL inside :data:`SCHEMA_DIR`, or a
    public http(s) location of a vendored schema); None for anything else."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if parts.query or parts.fragment:
            return None
        public = f"http://{parts.netloc.lower()}{parts.path}"
        if public in PUBLIC_SCHEMA_LOCATIONS:
            return SCHEMA_DIR / PUBLIC_SCHEMA_LOCATIONS[public]
        for folder, vendored in PUBLIC_SCHEMA_FOLDERS.items():
            name = public.removeprefix(folder)
            if name != public and re.fullmatch(r"[\w\-]+\.xsd", name):
                candidate = SCHEMA_DIR / vendored / name
                return candidate if candidate.is_file() else None
        return None
    if scheme == "file":
        local = Path(unquote(parts.path))
    elif scheme == "" or len(scheme) == 1:  # a plain path (or a Windows drive letter)
        local = Path(url)
    else:
        return None
    try:
        local = local.resolve()
        inside = local.is_relative_to(SCHEMA_DIR) and local.suffix == ".xsd"
        return local if inside and local.is_file() else None
    except (OSError, ValueError):  # a name too long, a NUL byte
        return None


class VendoredSchemaResolver(etree.Resolver):
    """Loads schema documents from :data:`SCHEMA_DIR` only; refuses every other URL, so
    nothing is fetched from the network or read from elsewhere on disk."""

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> object:
        path = vendored_schema_path(system_url or "")
        if path is None:
            raise LidoSchemaUnavailable(
                f"LIDO schema compilation: {system_url!r} is not a vendored schema file; "
                f"only files under {SCHEMA_DIR} are loaded, never from the network. Vendor "
                "the missing schema there (with its licence) or fix the reference."
            )
        return self.resolve_filename(str(path), context)


def schema_parser() -> etree.XMLParser:
    """An XXE-safe parser for schema documents that loads imports through the resolver."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    parser.resolvers.add(VendoredSchemaResolver())
    return parser


@functools.cache
def lido_schema(version: str = DEFAULT_LIDO_VERSION) -> etree.XMLSchema:
    """The compiled LIDO schema of ``version`` ("1.0" or "1.1"), compiled on first use."""
    path = SCHEMA_DIR / LIDO_SCHEMA_FILES[version]
    try:
        return etree.XMLSchema(etree.parse(str(path), schema_parser()))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as error:
        raise LidoSchemaUnavailable(
            f"LIDO {version} schema ({path}) cannot be compiled: {error}; reinstall the "
            "package, the schemas ship with it as package data under schemas/lido"
        ) from error


def _lido_location(schema_location: str | None) -> str | None:
    """The location paired with the LIDO namespace in an ``xsi:schemaLocation`` value."""
    tokens = (schema_location or "").split()
    for namespace, location in zip(tokens[::2], tokens[1::2], strict=False):
        if namespace == LIDO_NS:
            return location
    return None


def declared_lido_version(record: etree._Element) -> str:
    """The LIDO version the ``xsi:schemaLocation`` of the record (or of the lidoWrap or
    response around it) names; :data:`DEFAULT_LIDO_VERSION` when none names a LIDO 1.0
    schema."""
    for element in (record, *record.iterancestors()):
        location = _lido_location(element.get(XSI_SCHEMA_LOCATION))
        if location:
            return "1.0" if _V1_0_LOCATION.search(location) else DEFAULT_LIDO_VERSION
    return DEFAULT_LIDO_VERSION


@dataclass(frozen=True)
class SchemaViolation:
    """One XSD validation error of a record, as libxml2 reports it."""

    line: int | None
    # The XPath of the element in the record; its first step is the record itself.
    path: str
    message: str


def schema_errors(record: etree._Element, version: str) -> list[SchemaViolation]:
    """The XSD errors of one ``lido:lido`` validated on its own, as if it were the root of
    its own document (the rest of the file is neither read nor changed)."""
    schema = lido_schema(version)
    with _VALIDATION_LOCK:
        if schema.validate(record):
            return []
        entries = [e for e in schema.error_log if e.level >= etree.ErrorLevels.ERROR]
    return [SchemaViolation(e.line or None, e.path or "", e.message) for e in entries]


def _display(qname: str, attribute: bool = False) -> str:
    """``recordType`` for a LIDO element, ``lido:type`` for a LIDO attribute, ``gml:Point``
    or ``{namespace}name`` for others."""
    match = _QNAME.fullmatch(qname)
    if not match:
        return qname
    namespace, local = match.group("ns", "local")
    if namespace == LIDO_NS and not attribute:
        return local
    prefix = _PREFIXES.get(namespace)
    return f"{prefix}:{local}" if prefix else qname


def _display_names(text: str) -> str:
    return _QNAME.sub(lambda m: _display(m.group(0)), text)


def _child_steps(parent: etree._Element) -> dict[str, etree._Element]:
    """Each element child of ``parent`` by its step in a libxml2 node path: ``lido:term``,
    ``lido:term[2]`` when siblings share the name, ``*[3]`` in a default namespace."""
    children = list(parent.iterchildren(etree.Element))
    keys: list[tuple[str | None, str] | None] = []
    for child in children:
        qname = etree.QName(child)
        # libxml2 cannot name an element of a default namespace: "*", counted among all.
        generic = qname.namespace is not None and child.prefix is None
        keys.append(None if generic else (child.prefix, qname.localname))
    totals = Counter(keys)
    seen: Counter[tuple[str | None, str] | None] = Counter()
    steps = {}
    for position, (child, key) in enumerate(zip(children, keys, strict=True), start=1):
        if key is None:
            name, occurrence, total = "*", position, len(children)
        else:
            prefix, local = key
            seen[key] += 1
            name = f"{prefix}:{local}" if prefix else local
            occurrence, total = seen[key], totals[key]
        steps[f"{name}[{occurrence}]" if total > 1 else name] = child
    return steps


class RecordElements:
    """The elements of one record, by tag and line and by the node path libxml2 gives an
    error; each index is built on first use, at most once per record."""

    def __init__(self, record: etree._Element) -> None:
        self.record = record
        self._by_line: dict[tuple[str, int | None], list[etree._Element]] | None = None
        self._steps: dict[etree._Element, dict[str, etree._Element]] = {}

    def on_line(self, tag: str, line: int | None) -> list[etree._Element]:
        """The elements named ``tag`` (``{namespace}local``) that start on ``line``."""
        if self._by_line is None:
            self._by_line = defaultdict(list)
            for element in self.record.iter(etree.Element):
                self._by_line[(element.tag, element.sourceline)].append(element)
        return self._by_line.get((tag, line), [])

    def at_path(self, path: str) -> etree._Element | None:
        """The element at ``path`` (``/lido:lido/lido:lidoRecID[2]``, its first step the
        record itself); None when no element of the record is there."""
        steps = path.split("/")
        if len(steps) < 2 or steps[0]:
            return None
        element = self.record
        for step in steps[2:]:
            children = self._steps.get(element)
            if children is None:
                children = self._steps[element] = _child_steps(element)
            found = children.get(step)
            if found is None:
                return None
            element = found
        return element


def _element_at(
    elements: RecordElements, error: SchemaViolation, tag: str
) -> etree._Element | None:
    """The element an error is about: the one with its tag on its line, told apart by its
    path when one line holds several."""
    candidates = elements.on_line(tag, error.line)
    if len(candidates) > 1:
        found = elements.at_path(error.path)
        if found is not None and found.tag == tag and found.sourceline == error.line:
            return found
    return candidates[0] if candidates else None


def _one_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def _unexpected(
    element: etree._Element | None, name: str, expected: list[str], version: str
) -> str:
    parent = element.getparent() if element is not None else None
    container = _display(parent.tag) if parent is not None else "the record"
    siblings = (
        [_display(s.tag) for s in parent.iterchildren(etree.Element)] if parent is not None else []
    )
    previous = element.getprevious() if element is not None else None
    while previous is not None and not isinstance(previous.tag, str):
        previous = previous.getprevious()
    if element is not None and previous is not None and previous.tag == element.tag:
        return (
            f"this element is not expected here (LIDO {version} allows one {name} in "
            f"{container}); merge the repeated {name} into the first one or remove it"
        )
    if not expected:
        return (
            f"this element is not expected here (LIDO {version} allows no further element in "
            f"{container} at this place); move {name} to its place in the schema's order or "
            "remove it"
        )
    if len(expected) == 1 and expected[0] not in siblings:
        return (
            f"this element is not expected here (LIDO {version} requires {expected[0]} before "
            f"it in {container}); add the missing {expected[0]}"
        )
    return (
        f"this element is not expected here (LIDO {version} expects {_one_of(expected)} at "
        f"this place in {container}); put the children of {container} in the order the "
        f"schema defines, or remove {name}"
    )


def _detail_reason(
    element: etree._Element | None,
    name: str,
    attribute: str | None,
    detail: str,
    version: str,
) -> str:
    """The reason for one libxml2 message ``detail`` about ``name`` (and ``attribute``)."""
    expected = _EXPECTED.search(detail)
    names = [_display(n) for n in expected.group("names").split(", ")] if expected else []
    if detail.startswith("This element is not expected"):
        return _unexpected(element, name, names, version)
    if detail.startswith("Missing child element"):
        child = next(element.iterchildren(etree.Element), None) if element is not None else None
        place = f"in {name} after its last child" if child is not None else f"in {name}"
        return (
            f"a required child element is missing (LIDO {version} requires "
            f"{_one_of(names)} {place}); add it"
        )
    if attribute and detail.endswith("is not allowed."):
        hint = f", or write it as lido:{attribute}" if attribute in _LIDO_ATTRIBUTES else ""
        return (
            f"attribute {attribute} is not allowed here (LIDO {version} does not define it on "
            f"{name}); remove it{hint}"
        )
    required = re.match(r"^The attribute '([^']+)' is required but missing", detail)
    if required:
        missing = _display(required.group(1), attribute=True)
        return f"the required attribute {missing} is missing (LIDO {version}); add it"
    bad_value = _BAD_VALUE.match(detail)
    if bad_value:
        kind = _display(bad_value.group("type"))
        example = _TYPE_EXAMPLES.get(kind, f"a valid {kind} value")
        return (
            f"{bad_value.group('value')!r} is not a valid {kind} (LIDO {version}); write {example}"
        )
    facet = _FACET.match(detail)
    if facet:
        return (
            f"{_display_names(facet.group('text')).rstrip('.')} (LIDO {version}, facet "
            f"{facet.group('facet')}); write a value the schema allows"
        )
    if detail.startswith("No matching global declaration"):
        return (
            f"not a LIDO record (LIDO {version} has no root element {name}); a record is a "
            f"lido:lido element in the namespace {LIDO_NS}"
        )
    if detail.startswith("Character content other than whitespace"):
        return (
            f"holds text, but LIDO {version} allows only child elements in {name}; move the "
            "text into the child element meant for it"
        )
    if detail.startswith("Element content is not allowed"):
        return (
            f"holds child elements, but LIDO {version} allows only a value in {name}; remove "
            "the child elements"
        )
    return f"{_display_names(detail).rstrip('.')}; correct it to match LIDO {version}"


def schema_error_reason(
    record: etree._Element,
    error: SchemaViolation,
    version: str,
    elements: RecordElements | None = None,
) -> str:
    """``XSD: line N: element X: <what is wrong> (<what LIDO allows>); <the fix>``; pass the
    ``elements`` of the record when explaining several of its errors."""
    where = f"XSD: line {error.line}: " if error.line else "XSD: "
    match = _MESSAGE.match(error.message)
    if not match:
        return f"{where}{_display_names(error.message).rstrip('.')}; correct it to match LIDO"
    tag, attribute = match.group("element", "attribute")
    element = _element_at(elements or RecordElements(record), error, tag)
    name = _display(tag)
    shown_attribute = _display(attribute, attribute=True) if attribute else None
    subject = f"element {name}" + (f", attribute {shown_attribute}" if shown_attribute else "")
    detail = _detail_reason(element, name, shown_attribute, match.group("detail"), version)
    return f"{where}{subject}: {detail}"


def lido_schema_problems(record: etree._Element) -> list[str]:
    """The XSD errors of one ``lido:lido`` as reasons naming the line, the element and the
    fix, at most :data:`MAX_SCHEMA_REASONS` and a count of the rest (empty when the record
    is valid against the LIDO version it declares)."""
    version = declared_lido_version(record)
    # libxml2 repeats a message for every faulty element of a run: once per line is enough.
    distinct: dict[tuple[int | None, str], SchemaViolation] = {}
    for violation in schema_errors(record, version):
        distinct.setdefault((violation.line, violation.message), violation)
    shown = itertools.islice(distinct.values(), MAX_SCHEMA_REASONS)
    elements = RecordElements(record)
    reasons = list(dict.fromkeys(schema_error_reason(record, v, version, elements) for v in shown))
    if len(distinct) > MAX_SCHEMA_REASONS:
        rest = len(distinct) - MAX_SCHEMA_REASONS
        reasons.append(
            f"XSD: {rest} more LIDO {version} schema errors; fix the ones above and validate "
            "the record again"
        )
    return reasons
