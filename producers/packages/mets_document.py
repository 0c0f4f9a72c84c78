"""The METS document of a submission package: descriptive metadata, rights, files, structure.

Plain lxml with the XXE-safe parser every producer uses (no entity is resolved, no DTD or
network is loaded, depth and text sizes stay within libxml2's default limits); each part of
the tree is visited a bounded number of times, so parsing is linear in the document's size.
metsrw is not used: it is AGPL-3.0 and needs a lower-case ``physical`` structMap, which
DSpace (``LOGICAL``) and OCR-D (``PHYSICAL``) METS do not have.

What is read:

- dmdSecs, every one except those Archivematica marks as replaced (``STATUS`` ``deleted`` or
  ending in ``-superseded``): MODS (``http://www.loc.gov/mods/v3``) and Dublin Core, simple
  (``dc:``) or qualified (``dcterms:``), inside ``mdWrap/xmlData``. A ``mdRef`` (metadata kept
  elsewhere) is listed in ``metadata_refs`` and never fetched.
- Rights: PREMIS ``rightsStatement`` (v2 ``info:lc/xmlns/premis-v2`` and v3) in a rightsMD or
  a dmdSec, one :class:`RightsStatement` per ``rightsGranted`` (one for the basis alone when
  none is granted); METSRights ``RightsDeclarationMD``; MODS ``accessCondition`` and DC
  ``rights``/``license``/``accessRights``, which are also kept as texts in ``rights``.
- fileSec: every ``file`` at any depth, with ``CHECKSUM``/``CHECKSUMTYPE``/``SIZE`` as
  written; where they are absent (Archivematica), the PREMIS object fixity and size of the
  amdSec or techMD its ``ADMID`` names.
- structMaps of any ``TYPE`` (or none), with their div trees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from lxml import etree

from heritage.producers.oai_pmh_protocol import xml_parser
from heritage.producers.packages.mets_rights import (
    METSRIGHTS_NS,
    PREMIS_NAMESPACES,
    RightsStatement,
    metsrights_statement,
    premis_rights_statements,
)
from heritage.producers.packages.xml_values import child_text as _child_text
from heritage.producers.packages.xml_values import element_text as _text
from heritage.producers.packages.xml_values import uri_or_none as _uri_or_none
from heritage.producers.xml_sniff import not_xml_description
from heritage.source_rejections import SourceRejection

METS_NS = "http://www.loc.gov/METS/"
MODS_NS = "http://www.loc.gov/mods/v3"
DC_NS = "http://purl.org/dc/elements/1.1/"
DCTERMS_NS = "http://purl.org/dc/terms/"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Larger METS documents are refused: real ones stay well below (a 10,000-file AIP is ~30 MB).
MAX_METS_BYTES = 50 * 1024 * 1024
# Bytes looked at to tell a document that is not XML at all.
_SNIFF_BYTES = 4096

_HREF = f"{{{XLINK_NS}}}href"
_M = f"{{{METS_NS}}}"
_MODS_DATES = frozenset({"dateIssued", "dateCreated", "dateCaptured", "copyrightDate"})
# Dublin Core element (and DCMI term) local names, by the field they fill.
_DC_FIELDS = {
    "title": "titles",
    "identifier": "identifiers",
    "creator": "names",
    "contributor": "names",
    "date": "dates",
    "created": "dates",
    "issued": "dates",
    "language": "languages",
    "rights": "rights",
    "license": "rights",
    "accessRights": "rights",
}
_METS_NAMES = ("mets.xml", "METS.xml")
# MODS subtrees about something else than the described object: its subjects, related
# items and the catalogue record itself.
_MODS_SKIPPED = frozenset({"relatedItem", "subject", "recordInfo"})
_DIGITS = re.compile(r"[0-9]+")
_T = TypeVar("_T")


class MetsError(SourceRejection):
    """A METS document that cannot be read; ``str()`` names the file and the reason."""


@dataclass(frozen=True)
class MetsFile:
    file_id: str | None
    use: str | None
    mimetype: str | None
    size: int | None
    checksum: str | None
    # As written, e.g. "MD5", "SHA-256" (from PREMIS: "sha256").
    checksum_type: str | None
    # FLocat xlink:href as written: relative, "file://...", or a URL; never resolved here.
    href: str | None
    group_id: str | None


@dataclass(frozen=True)
class StructDiv:
    type: str | None
    label: str | None
    order: str | None
    file_ids: tuple[str, ...]
    children: tuple[StructDiv, ...]


@dataclass(frozen=True)
class MetsDocument:
    objid: str | None
    titles: tuple[str, ...]
    identifiers: tuple[str, ...]
    names: tuple[str, ...]
    dates: tuple[str, ...]
    languages: tuple[str, ...]
    # Rights texts and URIs from the descriptive metadata.
    rights: tuple[str, ...]
    rights_statements: tuple[RightsStatement, ...]
    files: tuple[MetsFile, ...]
    # (structMap TYPE as written, root div); a structMap without a div is left out.
    struct_maps: tuple[tuple[str | None, StructDiv], ...]
    # "MODS" or "DC" (MODS when both are present), None without descriptive metadata read.
    metadata_format: str | None
    # xlink:href of each mdRef: metadata kept outside this document, not fetched.
    metadata_refs: tuple[str, ...] = ()
    # The institution keeping the object: metsHdr's agent with ROLE="CUSTODIAN" (DSpace names
    # its repository there), else an organisation agent in ROLE="CREATOR".
    custodian: str | None = None


@dataclass
class _Descriptive:
    titles: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    rights: list[str] = field(default_factory=list)
    statements: list[RightsStatement] = field(default_factory=list)
    formats: set[str] = field(default_factory=set)
    refs: list[str] = field(default_factory=list)


def find_mets(root: Path) -> Path | None:
    """The METS file of an unpacked package: ``mets.xml`` or ``METS.xml``, else the first
    (by name) ``*.xml`` whose name contains "mets" in any case; looked for in ``root``, then
    in its folders by name (one level down, which covers a bag's ``data/``). Links are
    never followed."""
    if not root.is_dir():
        return None
    levels = [root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())]
    for folder in levels:
        found = _mets_in(folder)
        if found is not None:
            return found
    return None


def _mets_in(folder: Path) -> Path | None:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    for name in _METS_NAMES:
        for path in files:
            if path.name == name:
                return path
    for path in files:
        lower = path.name.lower()
        if lower.endswith(".xml") and "mets" in lower:
            return path
    return None


def parse_mets(data: bytes, source: str) -> MetsDocument:
    """The METS document in ``data`` (its declared encoding honoured); raises
    :class:`MetsError` naming ``source`` when it is not a METS document that can be read."""
    root = _parsed_root(data, source)
    descriptive = _Descriptive()
    for dmd in root.iterchildren(f"{_M}dmdSec"):
        if _is_current(dmd):
            _read_dmd_sec(dmd, descriptive)
    for rights_md in root.iter(f"{_M}rightsMD"):
        _read_rights_md(rights_md, descriptive)
    return MetsDocument(
        objid=_attribute(root, "OBJID"),
        titles=_unique(descriptive.titles),
        identifiers=_unique(descriptive.identifiers),
        names=_unique(descriptive.names),
        dates=_unique(descriptive.dates),
        languages=_unique(descriptive.languages),
        rights=_unique(descriptive.rights),
        rights_statements=_unique(descriptive.statements),
        files=tuple(_files(root)),
        struct_maps=tuple(_struct_maps(root)),
        metadata_format=_metadata_format(descriptive.formats),
        metadata_refs=_unique(descriptive.refs),
        custodian=_custodian(root),
    )


def _custodian(root: etree._Element) -> str | None:
    agents = [
        (agent.get("ROLE"), agent.get("TYPE"), _child_text(agent, METS_NS, "name"))
        for header in root.iterchildren(f"{_M}metsHdr")
        for agent in header.iterchildren(f"{_M}agent")
    ]
    for role, _kind, name in agents:
        if role == "CUSTODIAN" and name:
            return name
    for role, kind, name in agents:
        if role == "CREATOR" and kind == "ORGANIZATION" and name:
            return name
    return None


def _parsed_root(data: bytes, source: str) -> etree._Element:
    if len(data) > MAX_METS_BYTES:
        raise MetsError(
            f"{source}: METS document of {len(data)} bytes is over the {MAX_METS_BYTES}-byte "
            "limit; split the package or send the METS without embedded payload"
        )
    not_xml = not_xml_description(data[:_SNIFF_BYTES], at_end=len(data) <= _SNIFF_BYTES)
    if not_xml is not None:
        raise MetsError(f"{source}: not XML, {not_xml}; send the package's METS document")
    try:
        root = etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as error:
        raise MetsError(
            f"{source}: not well-formed XML at line {error.lineno}: {error.msg}; fix the "
            "METS document and send the package again"
        ) from None
    doctype = root.getroottree().docinfo.doctype
    if doctype:
        raise MetsError(
            f"{source}: declares a DTD ({doctype}); METS needs none, and its entities are "
            "never expanded here, so remove the DOCTYPE and send the package again"
        )
    if root.tag != f"{_M}mets":
        raise MetsError(
            f"{source}: root element is {root.tag!r}, not a METS document "
            f"({{{METS_NS}}}mets); send the package's METS file"
        )
    return root


def _is_current(dmd: etree._Element) -> bool:
    status = (dmd.get("STATUS") or "").strip().lower()
    return status != "deleted" and not status.endswith("-superseded")


def _read_dmd_sec(dmd: etree._Element, into: _Descriptive) -> None:
    for ref in dmd.iterchildren(f"{_M}mdRef"):
        _note_ref(ref, into)
    for content in _wrapped_content(dmd):
        namespace = etree.QName(content).namespace
        if namespace == MODS_NS:
            into.formats.add("MODS")
            _read_mods(content, into)
        else:
            _read_dc(content, into)
        _read_premis_rights(content, into)


def _read_rights_md(rights_md: etree._Element, into: _Descriptive) -> None:
    for ref in rights_md.iterchildren(f"{_M}mdRef"):
        _note_ref(ref, into)
    for content in _wrapped_content(rights_md):
        _read_premis_rights(content, into)
        for declaration in content.iter(f"{{{METSRIGHTS_NS}}}RightsDeclarationMD"):
            into.statements.append(metsrights_statement(declaration))


def _note_ref(ref: etree._Element, into: _Descriptive) -> None:
    href = ref.get(_HREF)
    if href:
        into.refs.append(href)


def _wrapped_content(section: etree._Element) -> Iterator[etree._Element]:
    """The elements inside each ``mdWrap/xmlData`` of a metadata section."""
    for wrap in section.iterchildren(f"{_M}mdWrap"):
        for xml_data in wrap.iterchildren(f"{_M}xmlData"):
            yield from (child for child in xml_data if isinstance(child.tag, str))


def _read_mods(mods: etree._Element, into: _Descriptive) -> None:
    """MODS fields of the described object; ``relatedItem`` subtrees describe other objects
    and are skipped, as are subjects and the record's own info. Works on a ``mods:mods``
    element or a ``modsCollection``."""
    for element in _mods_elements(mods):
        name = etree.QName(element).localname
        if name == "titleInfo":
            _append(into.titles, mods_title(element))
        elif name == "identifier":
            _append(into.identifiers, _text(element))
        elif name == "name":
            _append(into.names, mods_name(element))
        elif name in _MODS_DATES and _parent_name(element) == "originInfo":
            _append(into.dates, _text(element))
        elif name == "languageTerm":
            _append(into.languages, _text(element))
        elif name == "accessCondition":
            _read_access_condition(element, into)


def _mods_elements(mods: etree._Element) -> Iterator[etree._Element]:
    """Every MODS element under ``mods`` (in document order) outside the _MODS_SKIPPED
    subtrees, without descending into titleInfo or name (each is read as a whole)."""
    stack = [mods]
    while stack:
        element = stack.pop()
        yield element
        if etree.QName(element).localname in {"titleInfo", "name"}:
            continue
        stack.extend(
            child
            for child in reversed(list(_mods_children(element)))
            if etree.QName(child).localname not in _MODS_SKIPPED
        )


def mods_title(title_info: etree._Element) -> str | None:
    """``nonSort title: subTitle. partNumber, partName`` of one titleInfo."""
    parts = {etree.QName(child).localname: _text(child) for child in _mods_children(title_info)}
    title = " ".join(p for p in (parts.get("nonSort"), parts.get("title")) if p)
    subtitle = parts.get("subTitle")
    if subtitle:
        title = f"{title}: {subtitle}" if title else subtitle
    extra = ", ".join(p for p in (parts.get("partNumber"), parts.get("partName")) if p)
    if extra:
        title = f"{title}. {extra}" if title else extra
    return title or None


def mods_name(name: etree._Element) -> str | None:
    """displayForm when given; else ``family, given`` or the name parts in order."""
    children = list(_mods_children(name))
    for child in children:
        if etree.QName(child).localname == "displayForm" and _text(child):
            return _text(child)
    parts = [child for child in children if etree.QName(child).localname == "namePart"]
    typed = {part.get("type"): _text(part) for part in parts if part.get("type")}
    if typed.get("family") and typed.get("given"):
        return f"{typed['family']}, {typed['given']}"
    untyped = [_text(part) for part in parts if part.get("type") not in {"date", "termsOfAddress"}]
    return " ".join(text for text in untyped if text) or None


def _mods_children(element: etree._Element) -> Iterator[etree._Element]:
    return (
        child
        for child in element
        if isinstance(child.tag, str) and etree.QName(child).namespace == MODS_NS
    )


def _read_access_condition(element: etree._Element, into: _Descriptive) -> None:
    text, href = _text(element), element.get(_HREF)
    _append(into.rights, text)
    _append(into.rights, href)
    if text or href:
        into.statements.append(
            RightsStatement(
                basis=element.get("type"),
                act=None,
                restriction=None,
                start_date=None,
                end_date=None,
                note=text,
                uri=href or _uri_or_none(text),
            )
        )


def _read_dc(container: etree._Element, into: _Descriptive) -> None:
    """Dublin Core elements under ``container``: itself one, or any wrapper of them
    (``oai_dc:dc``, ``dcterms:dublincore``, ``srw_dc:dc``, ...)."""
    found = False
    for element in container.iter(f"{{{DC_NS}}}*", f"{{{DCTERMS_NS}}}*"):
        target = _DC_FIELDS.get(etree.QName(element).localname)
        if target is None:
            continue
        found = True
        text = _text(element)
        _append(getattr(into, target), text)
        if target == "rights" and text:
            into.statements.append(
                RightsStatement(None, None, None, None, None, text, _uri_or_none(text))
            )
    if found:
        into.formats.add("DC")


def _read_premis_rights(content: etree._Element, into: _Descriptive) -> None:
    for namespace in PREMIS_NAMESPACES:
        for statement in content.iter(f"{{{namespace}}}rightsStatement"):
            into.statements.extend(premis_rights_statements(statement, namespace))


def _files(root: etree._Element) -> Iterator[MetsFile]:
    premis = _premis_file_facts(root)
    for file_sec in root.iterchildren(f"{_M}fileSec"):
        for element in file_sec.iter(f"{_M}file"):
            yield _mets_file(element, premis)


def _mets_file(
    element: etree._Element, premis: dict[str, tuple[str | None, str | None, int | None]]
) -> MetsFile:
    checksum, checksum_type = _attribute(element, "CHECKSUM"), _attribute(element, "CHECKSUMTYPE")
    size = _integer(element.get("SIZE"))
    facts = next((premis[i] for i in (element.get("ADMID") or "").split() if i in premis), None)
    if facts is not None:
        if checksum is None:
            checksum, checksum_type = facts[0], facts[1]
        size = size if size is not None else facts[2]
    location = next(element.iterchildren(f"{_M}FLocat"), None)
    return MetsFile(
        file_id=_attribute(element, "ID"),
        use=_attribute(element, "USE") or _group_use(element),
        mimetype=_attribute(element, "MIMETYPE"),
        size=size,
        checksum=checksum,
        checksum_type=checksum_type,
        href=location.get(_HREF) if location is not None else None,
        group_id=_attribute(element, "GROUPID"),
    )


def _group_use(element: etree._Element) -> str | None:
    for ancestor in element.iterancestors(f"{_M}fileGrp"):
        use = _attribute(ancestor, "USE")
        if use:
            return use
    return None


def _premis_file_facts(
    root: etree._Element,
) -> dict[str, tuple[str | None, str | None, int | None]]:
    """(digest, algorithm, size) of the first PREMIS object with a fixity in each amdSec,
    keyed by the amdSec's ID and by its techMD's ID (either may be a file's ADMID)."""
    facts: dict[str, tuple[str | None, str | None, int | None]] = {}
    for amd in root.iterchildren(f"{_M}amdSec"):
        for tech in amd.iterchildren(f"{_M}techMD"):
            found = _premis_fixity(tech)
            if found is None:
                continue
            for key in (tech.get("ID"), amd.get("ID")):
                if key and key not in facts:
                    facts[key] = found
    return facts


def _premis_fixity(tech: etree._Element) -> tuple[str | None, str | None, int | None] | None:
    for namespace in PREMIS_NAMESPACES:
        for characteristics in tech.iter(f"{{{namespace}}}objectCharacteristics"):
            fixity = next(characteristics.iterchildren(f"{{{namespace}}}fixity"), None)
            if fixity is None:
                continue
            return (
                _child_text(fixity, namespace, "messageDigest"),
                _child_text(fixity, namespace, "messageDigestAlgorithm"),
                _integer(_child_text(characteristics, namespace, "size")),
            )
    return None


def _struct_maps(root: etree._Element) -> Iterator[tuple[str | None, StructDiv]]:
    for struct_map in root.iterchildren(f"{_M}structMap"):
        top = next(struct_map.iterchildren(f"{_M}div"), None)
        if top is not None:
            yield _attribute(struct_map, "TYPE"), struct_div(top)


def struct_div(div: etree._Element) -> StructDiv:
    """A div and its descendants (depth is bounded by the parser's nesting limit)."""
    file_ids = [
        file_id
        for pointer in div.iterchildren(f"{_M}fptr")
        for file_id in _pointer_file_ids(pointer)
    ]
    return StructDiv(
        type=_attribute(div, "TYPE"),
        label=_attribute(div, "LABEL"),
        order=_attribute(div, "ORDER"),
        file_ids=tuple(file_ids),
        children=tuple(struct_div(child) for child in div.iterchildren(f"{_M}div")),
    )


def _pointer_file_ids(pointer: etree._Element) -> Iterator[str]:
    """FILEID of an fptr, or of the areas inside it (par, seq, area)."""
    if pointer.get("FILEID"):
        yield pointer.get("FILEID") or ""
        return
    for area in pointer.iter(f"{_M}area"):
        if area.get("FILEID"):
            yield area.get("FILEID") or ""


def _metadata_format(formats: set[str]) -> str | None:
    for name in ("MODS", "DC"):
        if name in formats:
            return name
    return None


def _parent_name(element: etree._Element) -> str | None:
    parent = element.getparent()
    return etree.QName(parent).localname if parent is not None else None


def _attribute(element: etree._Element, name: str) -> str | None:
    value = element.get(name)
    return value.strip() or None if value is not None else None


def _integer(value: str | None) -> int | None:
    if value is None or not _DIGITS.fullmatch(value.strip()):
        return None
    return int(value.strip())


def _append(values: list[str], value: str | None) -> None:
    if value:
        values.append(value)


def _unique(values: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(values))
