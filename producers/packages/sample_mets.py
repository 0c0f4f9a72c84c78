"""METS documents for the sample submission packages, shaped like what repositories export.

Two shapes:

- :func:`dspace_item_mets`: a DSpace item AIP (``TYPE="DSpace ITEM"``, ``OBJID="hdl:..."``,
  PROFILE ``mets_aip_1_0``): a MODS dmdSec, one PREMIS techMD per bitstream, a fileSec with
  one fileGrp per bundle (ORIGINAL, TEXT, THUMBNAIL, LICENSE) whose files carry ``SIZE``,
  ``CHECKSUM``/``CHECKSUMTYPE="MD5"`` and ``FLocat LOCTYPE="URL"`` hrefs, a ``LOGICAL``
  structMap labelled "DSpace Object" and the "AIP Parent Link" structMap.
- :func:`digitised_volume_mets`: a digitised book as Kitodo/Goobi deliver it: MODS, fileGrps
  MASTER/DEFAULT/FULLTEXT/DOWNLOAD, a ``PHYSICAL`` structMap of pages and a ``LOGICAL`` one.

Checksums are computed from the file bytes unless a file declares its own (a wrong one, for
the package whose fixity check must fail). An item with an embargo gets a ``rightsMD`` with a
PREMIS 3 rightsStatement as Archivematica writes one: ``Disseminate`` granted with the
restriction ``Disallow`` until the ``termOfRestriction`` endDate.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

METS_NS = "http://www.loc.gov/METS/"
MODS_NS = "http://www.loc.gov/mods/v3"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PREMIS_NS = "http://www.loc.gov/standards/premis"
PREMIS_V3_NS = "http://www.loc.gov/premis/v3"
NSMAP = {"mets": METS_NS, "mods": MODS_NS, "premis": PREMIS_NS, "xlink": XLINK_NS, "xsi": XSI_NS}
DSPACE_AIP_PROFILE = "http://www.dspace.org/schema/aip/mets_aip_1_0.xsd"
_SCHEMA_LOCATION = (
    "http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd "
    "http://www.loc.gov/mods/v3 http://www.loc.gov/standards/mods/v3/mods-3-7.xsd"
)


@dataclass(frozen=True)
class ItemDescription:
    """The descriptive metadata a MODS dmdSec carries."""

    title: str
    identifier_uri: str  # the persistent URL (http://hdl.handle.net/..., urn:nbn:...)
    author: str  # "Family, Given"
    date_issued: str  # ISO 8601 date
    language: str  # ISO 639-2/B code
    rights_uri: str  # a Creative Commons or RightsStatements.org URI
    genre: str
    abstract: str
    # The end of the item's embargo as the depositor set it (a date, a year, an instant);
    # None: no embargo.
    embargo_until: str | None = None


_SUBJECTS = (
    "harbour ledgers",
    "parish registers",
    "estate maps",
    "herbarium sheets",
    "guild minutes",
    "railway survey drawings",
    "school photographs",
    "conservation reports",
)
_PLACES = ("Aberdeen", "Leiden", "Ghent", "Lübeck", "Bergen", "Gdańsk", "Porto", "Trieste")
_FAMILY_NAMES = ("Okafor", "van der Berg", "Nowak", "Lindqvist", "Moreau", "Ferreira", "Brennan")
_GIVEN_NAMES = ("Amara", "Pieter", "Zofia", "Erik", "Claire", "João", "Siobhán")
RIGHTS_URIS = (
    "http://creativecommons.org/licenses/by/4.0/",
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "http://rightsstatements.org/vocab/InC/1.0/",
)


def invented_description(
    rng: random.Random, identifier_uri: str, genre: str, language: str = "eng"
) -> ItemDescription:
    """A plausible item description (title, author, date, rights), drawn from ``rng``."""
    start = rng.randint(1650, 1900)
    subject = rng.choice(_SUBJECTS)
    place = rng.choice(_PLACES)
    return ItemDescription(
        title=f"The {subject} of {place}, {start}\u2013{start + rng.randint(5, 60)}",
        identifier_uri=identifier_uri,
        author=f"{rng.choice(_FAMILY_NAMES)}, {rng.choice(_GIVEN_NAMES)}",
        date_issued=f"{rng.randint(2005, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        language=language,
        rights_uri=rng.choice(RIGHTS_URIS),
        genre=genre,
        abstract=f"A study of the {subject} kept in {place}, with a transcription and an index.",
    )


@dataclass(frozen=True)
class MetsFile:
    """One file of the package, as the fileSec lists it."""

    href: str  # its path inside the package (FLocat xlink:href)
    data: bytes
    mimetype: str
    use: str  # the fileGrp (DSpace bundle, or Kitodo file group)
    derived_from: str | None = None  # href of the original a TEXT/THUMBNAIL file came from
    page: int | None = None  # physical page (digitised volumes)
    declared_md5: str | None = None  # overrides the computed MD5 (a deliberately wrong one)

    @property
    def md5(self) -> str:
        return self.declared_md5 or hashlib.md5(self.data).hexdigest()


@dataclass(frozen=True)
class MetsHeader:
    mets_id: str
    objid: str
    mets_type: str
    profile: str | None
    created: str  # ISO 8601 UTC
    custodian: str
    creator: str  # the software that wrote the METS


@dataclass
class _Ids:
    """Document-wide ids ``dmdSec_1``, ``amd_2``... in order of creation, as DSpace makes them."""

    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next(self, prefix: str) -> str:
        return f"{prefix}_{next(self.counter)}"


def _sub(
    parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}")
    for name, value in attrib.items():
        element.set(name, value)
    if text is not None:
        element.text = text
    return element


def _xlink(element: etree._Element, href: str) -> etree._Element:
    element.set(f"{{{XLINK_NS}}}type", "simple")
    element.set(f"{{{XLINK_NS}}}href", href)
    return element


def _root(header: MetsHeader) -> etree._Element:
    root = etree.Element(f"{{{METS_NS}}}mets", nsmap=NSMAP)
    root.set("ID", header.mets_id)
    root.set("OBJID", header.objid)
    root.set("TYPE", header.mets_type)
    if header.profile:
        root.set("PROFILE", header.profile)
    root.set(f"{{{XSI_NS}}}schemaLocation", _SCHEMA_LOCATION)
    mets_header = _sub(root, METS_NS, "metsHdr", CREATEDATE=header.created)
    custodian = _sub(mets_header, METS_NS, "agent", ROLE="CUSTODIAN", TYPE="ORGANIZATION")
    _sub(custodian, METS_NS, "name", header.custodian)
    creator = _sub(mets_header, METS_NS, "agent", ROLE="CREATOR", TYPE="OTHER")
    creator.set("OTHERTYPE", "Software")
    _sub(creator, METS_NS, "name", header.creator)
    return root


def _mods(parent: etree._Element, description: ItemDescription) -> None:
    mods = _sub(parent, MODS_NS, "mods", version="3.7")
    title_info = _sub(mods, MODS_NS, "titleInfo")
    _sub(title_info, MODS_NS, "title", description.title)
    name = _sub(mods, MODS_NS, "name", type="personal")
    _sub(name, MODS_NS, "namePart", description.author)
    role = _sub(name, MODS_NS, "role")
    _sub(role, MODS_NS, "roleTerm", "author", type="text", authority="marcrelator")
    _sub(mods, MODS_NS, "genre", description.genre)
    origin = _sub(mods, MODS_NS, "originInfo")
    _sub(origin, MODS_NS, "dateIssued", description.date_issued, encoding="iso8601")
    language = _sub(mods, MODS_NS, "language")
    _sub(
        language, MODS_NS, "languageTerm", description.language, type="code", authority="iso639-2b"
    )
    _sub(mods, MODS_NS, "abstract", description.abstract)
    _sub(mods, MODS_NS, "identifier", description.identifier_uri, type="uri")
    rights = _sub(mods, MODS_NS, "accessCondition", description.rights_uri)
    rights.set("type", "use and reproduction")
    _xlink(rights, description.rights_uri)


def _dmd_sec(root: etree._Element, ids: _Ids, description: ItemDescription) -> str:
    dmd_id = ids.next("dmdSec")
    wrap = _sub(_sub(root, METS_NS, "dmdSec", ID=dmd_id), METS_NS, "mdWrap", MDTYPE="MODS")
    _mods(_sub(wrap, METS_NS, "xmlData"), description)
    return dmd_id


def _rights_md(root: etree._Element, ids: _Ids, description: ItemDescription) -> None:
    """The embargo as a PREMIS 3 rightsStatement in its own amdSec (nothing without one)."""
    if description.embargo_until is None:
        return
    rights_md = _sub(
        _sub(root, METS_NS, "amdSec", ID=ids.next("amd")),
        METS_NS,
        "rightsMD",
        ID=ids.next("rightsMD"),
    )
    wrap = _sub(_sub(rights_md, METS_NS, "mdWrap", MDTYPE="PREMIS:RIGHTS"), METS_NS, "xmlData")
    rights = etree.SubElement(wrap, f"{{{PREMIS_V3_NS}}}rights", nsmap={"premis3": PREMIS_V3_NS})
    rights.set("version", "3.0")
    statement = _sub(rights, PREMIS_V3_NS, "rightsStatement")
    identifier = _sub(statement, PREMIS_V3_NS, "rightsStatementIdentifier")
    _sub(identifier, PREMIS_V3_NS, "rightsStatementIdentifierType", "URI")
    _sub(
        identifier,
        PREMIS_V3_NS,
        "rightsStatementIdentifierValue",
        f"{description.identifier_uri}#embargo",
    )
    _sub(statement, PREMIS_V3_NS, "rightsBasis", "Donor")
    granted = _sub(statement, PREMIS_V3_NS, "rightsGranted")
    _sub(granted, PREMIS_V3_NS, "act", "Disseminate")
    _sub(granted, PREMIS_V3_NS, "restriction", "Disallow")
    term = _sub(granted, PREMIS_V3_NS, "termOfRestriction")
    _sub(term, PREMIS_V3_NS, "startDate", description.date_issued)
    _sub(term, PREMIS_V3_NS, "endDate", description.embargo_until)
    _sub(granted, PREMIS_V3_NS, "rightsGrantedNote", "Embargo requested by the author")


def _techmd(root: etree._Element, ids: _Ids, file: MetsFile) -> str:
    """The bitstream's PREMIS object (DSpace repeats size and MD5 there)."""
    amd_id = ids.next("amd")
    techmd = _sub(
        _sub(root, METS_NS, "amdSec", ID=amd_id), METS_NS, "techMD", ID=ids.next("techMD")
    )
    wrap = _sub(_sub(techmd, METS_NS, "mdWrap", MDTYPE="PREMIS"), METS_NS, "xmlData")
    premis_object = _sub(_sub(wrap, PREMIS_NS, "premis"), PREMIS_NS, "object")
    identifier = _sub(premis_object, PREMIS_NS, "objectIdentifier")
    _sub(identifier, PREMIS_NS, "objectIdentifierType", "URL")
    _sub(identifier, PREMIS_NS, "objectIdentifierValue", file.href)
    _sub(premis_object, PREMIS_NS, "objectCategory", "File")
    characteristics = _sub(premis_object, PREMIS_NS, "objectCharacteristics")
    fixity = _sub(characteristics, PREMIS_NS, "fixity")
    _sub(fixity, PREMIS_NS, "messageDigestAlgorithm", "MD5")
    _sub(fixity, PREMIS_NS, "messageDigest", file.md5)
    _sub(characteristics, PREMIS_NS, "size", str(len(file.data)))
    designation = _sub(_sub(characteristics, PREMIS_NS, "format"), PREMIS_NS, "formatDesignation")
    _sub(designation, PREMIS_NS, "formatName", file.mimetype)
    _sub(premis_object, PREMIS_NS, "originalName", file.href.rsplit("/", 1)[-1])
    return amd_id


def _file_sec(
    root: etree._Element,
    files: Sequence[MetsFile],
    file_ids: dict[str, str],
    amd_ids: dict[str, str],
) -> None:
    """One fileGrp per USE, in order of first appearance; derived files share a GROUPID."""
    file_sec = _sub(root, METS_NS, "fileSec")
    groups: dict[str, etree._Element] = {}
    for sequence, file in enumerate(files, start=1):
        if file.use not in groups:
            groups[file.use] = _sub(file_sec, METS_NS, "fileGrp", USE=file.use)
        element = _sub(
            groups[file.use],
            METS_NS,
            "file",
            ID=file_ids[file.href],
            MIMETYPE=file.mimetype,
            SEQ=str(sequence),
            SIZE=str(len(file.data)),
            CHECKSUM=file.md5,
            CHECKSUMTYPE="MD5",
            GROUPID=f"GROUP_{file_ids[file.derived_from or file.href]}",
        )
        if file.href in amd_ids:
            element.set("ADMID", amd_ids[file.href])
        _xlink(_sub(element, METS_NS, "FLocat", LOCTYPE="URL"), file.href)


def _serialised(root: etree._Element) -> bytes:
    return etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", standalone=False, pretty_print=True
    )


def dspace_item_mets(
    header: MetsHeader,
    description: ItemDescription,
    files: Sequence[MetsFile],
    parent_handle: str,
) -> bytes:
    """A DSpace item AIP METS (see the module docstring) listing ``files``."""
    ids = _Ids()
    root = _root(header)
    dmd_id = _dmd_sec(root, ids, description)
    amd_ids = {file.href: _techmd(root, ids, file) for file in files}
    _rights_md(root, ids, description)
    file_ids = {file.href: f"bitstream_{number}" for number, file in enumerate(files, start=1)}
    _file_sec(root, files, file_ids, amd_ids)
    struct = _sub(root, METS_NS, "structMap", ID=ids.next("struct"), TYPE="LOGICAL")
    struct.set("LABEL", "DSpace Object")
    contents = _sub(struct, METS_NS, "div", ID=ids.next("div"), TYPE="DSpace Object Contents")
    contents.set("DMDID", dmd_id)
    for file in files:
        if file.use == "ORIGINAL":
            bitstream = _sub(contents, METS_NS, "div", ID=ids.next("div"), TYPE="DSpace BITSTREAM")
            _sub(bitstream, METS_NS, "fptr", FILEID=file_ids[file.href])
    parent = _sub(root, METS_NS, "structMap", ID=ids.next("struct"), TYPE="LOGICAL", LABEL="Parent")
    link = _sub(parent, METS_NS, "div", ID=ids.next("div"), TYPE="AIP Parent Link")
    link.set("LABEL", "Parent of this DSpace Object")
    _xlink(_sub(link, METS_NS, "mptr", ID=ids.next("mptr"), LOCTYPE="HANDLE"), parent_handle)
    return _serialised(root)


def digitised_volume_mets(
    header: MetsHeader, description: ItemDescription, files: Sequence[MetsFile]
) -> bytes:
    """A Kitodo-style METS of a digitised volume: files with a ``page`` are that page's."""
    ids = _Ids()
    root = _root(header)
    dmd_id = _dmd_sec(root, ids, description)
    _rights_md(root, ids, description)
    file_ids = {file.href: f"FILE_{number:04d}" for number, file in enumerate(files, start=1)}
    _file_sec(root, files, file_ids, {})
    physical = _sub(root, METS_NS, "structMap", TYPE="PHYSICAL")
    sequence = _sub(physical, METS_NS, "div", ID="PHYS_0000", TYPE="physSequence")
    pages: dict[int, etree._Element] = {}
    for file in files:
        if file.page is None:
            _sub(sequence, METS_NS, "fptr", FILEID=file_ids[file.href])
            continue
        if file.page not in pages:
            pages[file.page] = _sub(
                sequence,
                METS_NS,
                "div",
                ID=f"PHYS_{file.page:04d}",
                TYPE="page",
                ORDER=str(file.page),
            )
        _sub(pages[file.page], METS_NS, "fptr", FILEID=file_ids[file.href])
    logical = _sub(root, METS_NS, "structMap", TYPE="LOGICAL")
    _sub(logical, METS_NS, "div", ID="LOG_0000", TYPE="monograph", DMDID=dmd_id)
    return _serialised(root)
