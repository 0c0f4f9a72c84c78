"""Seed samples, hostile inputs and hypothesis strategies for fuzzing the parsers and mappers.

Seeds are real-shaped records of each input a producer reads: the shared corpus files when
the corpus is present beside the project, plus small inline samples that are always there.
Mutations are what arrives from the field: cut-off transfers, flipped bytes, the wrong
encoding, HTML entities, external entities and entity bombs, huge values, deep nesting.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from heritage.producers.metadata_mapping import NS
from heritage.producers.simulators.annotation_simulator import make_annotation

# The same place tests/conftest.py looks for the corpus; absent on machines without it.
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
EUROPEANA_PAGES = Path(__file__).resolve().parent / "europeana_responses"

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
# Prefix -> namespace of everything the generated trees may use.
PREFIXES: dict[str, str] = {**NS, "oai": OAI_NS, "xsi": XSI_NS}

# A line of /etc/passwd that no parser output may ever contain.
PASSWD_MARKER = "root:x:0:0:"

# --- inline seeds ---------------------------------------------------------------------------

OAI_DC_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
  <responseDate>2026-11-20T10:00:00Z</responseDate>
  <request verb="ListRecords" metadataPrefix="oai_dc">https://repo.example.org/oai</request>
  <ListRecords>
    <record>
      <header><identifier>oai:repo.example.org:1</identifier>
        <datestamp>2026-11-01</datestamp><setSpec>paintings</setSpec></header>
      <metadata>
        <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
                   xmlns:dc="http://purl.org/dc/elements/1.1/">
          <dc:title xml:lang="nl">De Nachtwacht</dc:title>
          <dc:title xml:lang="en">The Night Watch</dc:title>
          <dc:creator>Rembrandt van Rijn</dc:creator>
          <dc:date>1642</dc:date>
          <dc:type>Image</dc:type>
          <dc:language>dut</dc:language>
          <dc:identifier>http://repo.example.org/item/1</dc:identifier>
          <dc:rights>http://rightsstatements.org/vocab/NoC-NC/1.0/</dc:rights>
        </oai_dc:dc>
      </metadata>
    </record>
    <record>
      <header status="deleted"><identifier>oai:repo.example.org:2</identifier>
        <datestamp>2026-11-02</datestamp></header>
    </record>
    <resumptionToken completeListSize="3" cursor="0">page2</resumptionToken>
  </ListRecords>
</OAI-PMH>
"""

OAI_ERROR = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
  <responseDate>2026-11-20T10:00:00Z</responseDate>
  <request verb="ListRecords" metadataPrefix="oai_dc">https://repo.example.org/oai</request>
  <error code="noRecordsMatch">No records match the request</error>
</OAI-PMH>
"""

LIDO_RECORD = b"""<?xml version="1.0" encoding="UTF-8"?>
<lido:lidoWrap xmlns:lido="http://www.lido-schema.org">
 <lido:lido>
  <lido:lidoRecID lido:source="Example Museum" lido:type="local">EM-1234</lido:lidoRecID>
  <lido:category><lido:conceptID lido:type="URI">http://www.cidoc-crm.org/crm-concepts/E22</lido:conceptID>
   <lido:term xml:lang="en">Man-Made Object</lido:term></lido:category>
  <lido:descriptiveMetadata xml:lang="de">
   <lido:objectClassificationWrap><lido:objectWorkTypeWrap><lido:objectWorkType>
    <lido:term>Gemaelde</lido:term></lido:objectWorkType></lido:objectWorkTypeWrap>
   </lido:objectClassificationWrap>
   <lido:objectIdentificationWrap><lido:titleWrap><lido:titleSet lido:type="preferred">
    <lido:appellationValue lido:pref="preferred" xml:lang="de">Bildnis einer Dame
    </lido:appellationValue>
   </lido:titleSet></lido:titleWrap>
   <lido:repositoryWrap><lido:repositorySet lido:type="current"><lido:repositoryName>
    <lido:legalBodyName><lido:appellationValue>Example Museum</lido:appellationValue>
    </lido:legalBodyName>
   </lido:repositoryName></lido:repositorySet></lido:repositoryWrap>
   </lido:objectIdentificationWrap>
   <lido:eventWrap><lido:eventSet><lido:event>
    <lido:eventType><lido:conceptID lido:type="URI">http://terminology.lido-schema.org/lido00007</lido:conceptID>
     <lido:term xml:lang="en">Production</lido:term></lido:eventType>
    <lido:eventActor><lido:actorInRole><lido:actor><lido:nameActorSet>
     <lido:appellationValue>Anna Maler</lido:appellationValue></lido:nameActorSet></lido:actor>
    </lido:actorInRole></lido:eventActor>
    <lido:eventDate><lido:displayDate>um 1650</lido:displayDate></lido:eventDate>
   </lido:event></lido:eventSet></lido:eventWrap>
  </lido:descriptiveMetadata>
  <lido:administrativeMetadata xml:lang="de">
   <lido:rightsWorkWrap><lido:rightsWorkSet><lido:rightsType>
    <lido:conceptID lido:type="URI">http://rightsstatements.org/vocab/InC/1.0/</lido:conceptID>
   </lido:rightsType></lido:rightsWorkSet></lido:rightsWorkWrap>
   <lido:recordWrap><lido:recordID lido:type="local">EM-1234</lido:recordID>
    <lido:recordType><lido:term>item</lido:term></lido:recordType>
    <lido:recordSource><lido:legalBodyName>
     <lido:appellationValue>Example Museum</lido:appellationValue>
    </lido:legalBodyName></lido:recordSource></lido:recordWrap>
   <lido:resourceWrap><lido:resourceSet><lido:resourceRepresentation lido:type="image_master">
    <lido:linkResource>https://images.example.org/EM-1234.jpg</lido:linkResource>
   </lido:resourceRepresentation></lido:resourceSet></lido:resourceWrap>
  </lido:administrativeMetadata>
 </lido:lido>
</lido:lidoWrap>
"""

EDM_RECORD = b"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"
    xmlns:edm="http://www.europeana.eu/schemas/edm/" xmlns:ore="http://www.openarchives.org/ore/terms/"
    xmlns:skos="http://www.w3.org/2004/02/skos/core#">
  <edm:ProvidedCHO rdf:about="http://data.example.org/item/SK-C-5">
    <dc:title xml:lang="nl">De Nachtwacht</dc:title>
    <dc:creator rdf:resource="http://vocab.getty.edu/ulan/500011051"/>
    <dc:date>1642</dc:date>
    <dc:language>nl</dc:language>
    <edm:type>IMAGE</edm:type>
  </edm:ProvidedCHO>
  <edm:Agent rdf:about="http://vocab.getty.edu/ulan/500011051">
    <skos:prefLabel xml:lang="en">Rembrandt van Rijn</skos:prefLabel>
  </edm:Agent>
  <ore:Aggregation rdf:about="http://data.example.org/aggregation/SK-C-5">
    <edm:aggregatedCHO rdf:resource="http://data.example.org/item/SK-C-5"/>
    <edm:isShownBy rdf:resource="https://images.example.org/SK-C-5.jpg"/>
    <edm:dataProvider>Rijksmuseum</edm:dataProvider>
    <edm:provider>Digitale Collectie</edm:provider>
    <edm:rights rdf:resource="http://creativecommons.org/publicdomain/mark/1.0/"/>
  </ore:Aggregation>
</rdf:RDF>
"""

ISO19139_RECORD = b"""<?xml version="1.0" encoding="UTF-8"?>
<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"
    xmlns:gco="http://www.isotc211.org/2005/gco" xmlns:gmx="http://www.isotc211.org/2005/gmx"
    xmlns:xlink="http://www.w3.org/1999/xlink">
  <gmd:fileIdentifier><gco:CharacterString>3f1c-historic-maps</gco:CharacterString></gmd:fileIdentifier>
  <gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/"
    codeListValue="ger">ger</gmd:LanguageCode></gmd:language>
  <gmd:hierarchyLevel><gmd:MD_ScopeCode codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#MD_ScopeCode"
    codeListValue="dataset">dataset</gmd:MD_ScopeCode></gmd:hierarchyLevel>
  <gmd:dateStamp><gco:DateTime>2026-10-01T12:00:00</gco:DateTime></gmd:dateStamp>
  <gmd:identificationInfo><gmd:MD_DataIdentification>
    <gmd:citation><gmd:CI_Citation>
      <gmd:title><gco:CharacterString>Historische Karten 1850</gco:CharacterString></gmd:title>
      <gmd:date><gmd:CI_Date><gmd:date><gco:Date>1850-01-01</gco:Date></gmd:date>
        <gmd:dateType><gmd:CI_DateTypeCode codeList="x" codeListValue="creation">creation
        </gmd:CI_DateTypeCode></gmd:dateType>
      </gmd:CI_Date></gmd:date>
    </gmd:CI_Citation></gmd:citation>
    <gmd:abstract><gco:CharacterString>Digitised historic maps.</gco:CharacterString></gmd:abstract>
    <gmd:pointOfContact><gmd:CI_ResponsibleParty>
      <gmd:organisationName><gco:CharacterString>Landesarchiv</gco:CharacterString></gmd:organisationName>
      <gmd:role><gmd:CI_RoleCode codeList="x" codeListValue="owner">owner</gmd:CI_RoleCode>
      </gmd:role>
    </gmd:CI_ResponsibleParty></gmd:pointOfContact>
    <gmd:resourceConstraints><gmd:MD_LegalConstraints><gmd:otherConstraints>
      <gmx:Anchor xlink:href="http://creativecommons.org/licenses/by/4.0/">CC BY 4.0</gmx:Anchor>
    </gmd:otherConstraints></gmd:MD_LegalConstraints></gmd:resourceConstraints>
  </gmd:MD_DataIdentification></gmd:identificationInfo>
</gmd:MD_Metadata>
"""

CSV_EXPORT = (
    b"id,title,creator,date,rights,image_url,data_provider,type,language\n"
    b"1,De Nachtwacht,Rembrandt van Rijn,1642,http://rightsstatements.org/vocab/NoC-NC/1.0/,"
    b"https://images.example.org/1.jpg,Rijksmuseum,IMAGE,nl\n"
    b'2,"Stilleven, met bloemen",Rachel Ruysch|Jan van Huysum,1700,,,Rijksmuseum,IMAGE,dut\n'
    b"3,Brief an Goethe,Schiller,1795,,,Goethe-Museum,TEXT,de\n"
)

EUROPEANA_ITEM: dict[str, Any] = {
    "id": "/2021672/resource_document_mauritshuis_670",
    "type": "IMAGE",
    "title": ["Girl with a Pearl Earring"],
    "dcTitleLangAware": {"en": ["Girl with a Pearl Earring"], "nl": ["Meisje met de parel"]},
    "dcCreator": ["Johannes Vermeer"],
    "dcDate": ["c. 1665"],
    "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
    "edmIsShownBy": ["https://www.mauritshuis.nl/media/iiif/670/full/max/0/default.jpg"],
    "dataProvider": ["Mauritshuis"],
    "provider": ["Digitale Collectie"],
    "country": ["Netherlands"],
    "language": ["nl"],
    "score": 14.2,
    "completeness": 10,
    "timestamp_update": "2024-03-12T08:00:00.000Z",
}


def annotation_seed() -> dict[str, Any]:
    """An annotation exactly as the simulator makes it."""
    return make_annotation(
        random.Random(7), 1, 0, "europeana:/2021672/rijksmuseum_0000123", "2026-11-20T10:00:00Z"
    )


# --- seeds by input kind (corpus files added when present) ----------------------------------


def _corpus_files(folder: str, pattern: str = "*.xml") -> list[bytes]:
    root = CORPUS / folder
    if not root.is_dir():
        return []
    return [path.read_bytes() for path in sorted(root.rglob(pattern))]


def _metadata_of(page: bytes, marker: bytes) -> list[bytes]:
    """The first metadata element starting with ``marker`` in an OAI page, as a document."""
    start = page.find(marker)
    if start < 0:
        return []
    end = page.find(b"</metadata>", start)
    return [page[start:end].strip()] if end > start else []


def oai_seeds() -> list[bytes]:
    return [OAI_DC_PAGE, OAI_ERROR, *_corpus_files("oaipmh")]


def mapping_seeds(prefix: str) -> list[bytes]:
    if prefix == "oai_dc":
        dc = [d for page in oai_seeds() for d in _metadata_of(page, b"<oai_dc:dc")]
        return [*_metadata_of(OAI_DC_PAGE, b"<oai_dc:dc"), *dc[:6]]
    if prefix == "lido":
        return lido_seeds()
    if prefix == "edm":
        return [EDM_RECORD]
    return [ISO19139_RECORD, *_corpus_files("iso19139")]


def lido_seeds() -> list[bytes]:
    # The smaller corpus files keep examples fast; every kind of root is among them.
    corpus = [data for data in _corpus_files("lido") if len(data) < 60_000]
    return [LIDO_RECORD, *corpus]


def csv_seeds() -> list[bytes]:
    return [CSV_EXPORT]


def europeana_page_texts() -> list[str]:
    return [path.read_text("utf-8") for path in sorted(EUROPEANA_PAGES.glob("*.json"))]


def europeana_item_seeds() -> list[Any]:
    items: list[Any] = [EUROPEANA_ITEM]
    for text in europeana_page_texts():
        items.extend(json.loads(text).get("items") or [])
    return items


# --- mutations of bytes ----------------------------------------------------------------------

XXE_FILE = '<!ENTITY xxe SYSTEM "file:///etc/passwd">'
XXE_HTTP = '<!ENTITY xxe SYSTEM "http://127.0.0.1:9/passwd">'
XXE_PARAMETER = '<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;'
BILLION_LAUGHS = (
    '<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
              for i in range(1, 10))
)  # fmt: skip
BOMB_REFERENCE = "&lol9;"
ENTITY_TRICKS = (
    "&nbsp;",
    "&eacute;",
    "&copy;",
    "&#xD800;",
    "&#55296;",
    "&#0;",
    "&#x0;",
    "&#1114112;",
    "&#x110000;",
    "&#99999999999999999999;",
    "&amp",
    "&;",
    "&#;",
    "\x00",
    "\x1b",
    "\ufffe",
)


def _without_declaration(document: bytes) -> bytes:
    text = document.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml"):
        end = text.find(b"?>")
        text = text[end + 2 :] if end > 0 else text
    return text


def _root_start(document: bytes) -> int:
    """Offset of the root element's start tag (past declarations, comments and DTDs)."""
    position = document.find(b"<")
    while position >= 0 and document[position + 1 : position + 2] in (b"?", b"!"):
        position = document.find(b"<", position + 1)
    return max(position, 0)


def _text_positions(document: bytes) -> list[int]:
    """Offsets right after a start or end tag inside the root, where text content may go."""
    start = _root_start(document)
    return [i + 1 for i in range(start, len(document)) if document[i : i + 1] == b">"]


def insert_text(document: bytes, text: bytes, choice: int) -> bytes:
    """``text`` after the ``choice``-th tag (modulo) inside the root element."""
    positions = _text_positions(document)
    if len(positions) < 2:
        return document + text
    position = positions[choice % (len(positions) - 1)]
    return document[:position] + text + document[position:]


def with_doctype(document: bytes, declarations: str, reference: str, choice: int) -> bytes:
    """The document with an internal DTD subset and ``reference`` in some element's text."""
    body = insert_text(_without_declaration(document), reference.encode(), choice)
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE root [{declarations}]>\n'
    return head.encode() + body


def reencode(document: bytes, encoding: str) -> bytes:
    """The document's text in another encoding; the XML declaration is left as it was."""
    text = document.decode("utf-8", errors="replace")
    if encoding == "utf-8-bom":
        return b"\xef\xbb\xbf" + document
    if encoding == "utf-16-nobom":
        return text.encode("utf-16-le", errors="replace")
    return text.encode(encoding, errors="replace")


def flip_bytes(document: bytes, flips: Sequence[tuple[int, int]]) -> bytes:
    data = bytearray(document)
    for position, mask in flips:
        if data:
            data[position % len(data)] ^= mask or 1
    return bytes(data)


@dataclass(frozen=True)
class Mutation:
    """A named change of a seed; ``name`` goes into the failure report."""

    name: str
    apply: Callable[[bytes], bytes]


def mutations(xml: bool) -> st.SearchStrategy[Mutation]:
    """The cheap mutations (every example may draw them); the costly hostile inputs are in
    :func:`hostile_documents`."""
    plain: list[st.SearchStrategy[Mutation]] = [
        st.just(Mutation("unchanged", lambda d: d)),
        st.integers(0, 1 << 20).map(
            lambda n: Mutation(f"truncate at {n}", lambda d: d[: n % (len(d) + 1)])
        ),
        st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8)
        .map(lambda flips: Mutation(f"flip {flips}", lambda d: flip_bytes(d, flips))),
        st.sampled_from(["utf-16", "utf-16-nobom", "utf-16-be", "latin-1", "cp1252",
                         "utf-8-bom", "utf-32"])
        .map(lambda e: Mutation(f"re-encode {e}", lambda d: reencode(d, e))),
        st.tuples(st.sampled_from(ENTITY_TRICKS), st.integers(0, 1000))
        .map(lambda t: Mutation(f"insert {t[0]!r} after tag {t[1]}",
                                lambda d: insert_text(d, t[0].encode("utf-8", "surrogatepass"),
                                                      t[1]))),
    ]  # fmt: skip
    if xml:
        plain.append(
            st.tuples(st.sampled_from([XXE_FILE, XXE_HTTP]), st.integers(0, 1000)).map(
                lambda t: Mutation(
                    f"external entity {t[0]} at tag {t[1]}",
                    lambda d: with_doctype(d, t[0], "&xxe;", t[1]),
                )
            )
        )
    return st.one_of(plain)


def hostile_documents(seed: bytes) -> dict[str, bytes]:
    """Costly hostile variants of one XML seed, each checked once per entry point."""
    huge_text = b"x" * (1 << 20)
    many_attributes = b" ".join(b'a%d="v"' % i for i in range(50_000))
    root_end = _text_positions(seed)[0] - 1
    if seed[root_end - 1 : root_end] == b"/":
        root_end -= 1
    return {
        "external entity file:///etc/passwd": with_doctype(seed, XXE_FILE, "&xxe;", 1),
        "external entity over http": with_doctype(seed, XXE_HTTP, "&xxe;", 1),
        "external parameter entity": with_doctype(seed, XXE_PARAMETER, "", 1),
        "billion laughs": with_doctype(seed, BILLION_LAUGHS, BOMB_REFERENCE, 1),
        "1 MB text value": insert_text(seed, huge_text, 3),
        "50,000 attributes on the root": (
            seed[:root_end] + b" " + many_attributes + seed[root_end:]
        ),
        "nesting 5,000 deep": insert_text(seed, b"<x>" * 5000 + b"</x>" * 5000, 3),
        "nesting 200 deep": insert_text(seed, b"<x>" * 200 + b"</x>" * 200, 3),
    }


def hostile_csv() -> dict[str, bytes]:
    columns = 50_000
    header = "id," + ",".join(f"c{i}" for i in range(columns))
    row = "1," + ",".join("v" for _ in range(columns))
    return {
        "50,000 columns": f"{header}\n{row}\n".encode(),
        "1 MB cell": b"id,title\n1," + b"x" * (1 << 20) + b"\n",
        "1 MB quoted cell never closed": b'id,title\n1,"' + b"x" * (1 << 20),
        "NUL bytes": b"id,title\n1,a\x00b\n",
        "UTF-16 with BOM": CSV_EXPORT.decode().encode("utf-16"),
        "latin-1 header": "id,titre,créateur\n1,Été,Zoë\n".encode("latin-1"),
        "only a BOM": b"\xef\xbb\xbf",
        "no id column": b"title,creator\nA,B\n",
        "1 MB header line": b"id," + b"y" * (1 << 20) + b"\n1,2\n",
    }


# --- generated XML trees ---------------------------------------------------------------------

# (prefix, local name) vocabularies of each format; random names are mixed in.
OAI_ELEMENTS = [("oai", n) for n in (
    "OAI-PMH", "responseDate", "request", "error", "Identify", "ListRecords", "GetRecord",
    "ListIdentifiers", "ListSets", "ListMetadataFormats", "record", "header", "identifier",
    "datestamp", "setSpec", "metadata", "about", "resumptionToken", "set", "setName",
    "metadataFormat", "metadataPrefix", "schema", "metadataNamespace", "repositoryName",
    "baseURL", "protocolVersion", "earliestDatestamp", "deletedRecord", "granularity",
    "adminEmail",
)]  # fmt: skip
DC_ELEMENTS = [("oai_dc", "dc")] + [("dc", n) for n in (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights",
)]  # fmt: skip
LIDO_ELEMENTS = [("lido", n) for n in (
    "lidoWrap", "lido", "lidoRecID", "objectPublishedID", "category", "term", "conceptID",
    "descriptiveMetadata", "objectClassificationWrap", "objectWorkTypeWrap", "objectWorkType",
    "objectIdentificationWrap", "titleWrap", "titleSet", "appellationValue", "repositoryWrap",
    "repositorySet", "repositoryName", "legalBodyName", "workID", "eventWrap", "eventSet",
    "event", "eventType", "eventActor", "actorInRole", "actor", "nameActorSet", "eventDate",
    "displayDate", "date", "earliestDate", "latestDate", "administrativeMetadata",
    "rightsWorkWrap", "rightsWorkSet", "rightsType", "recordWrap", "recordID", "recordType",
    "recordSource", "recordInfoSet", "recordMetadataDate", "resourceWrap", "resourceSet",
    "resourceRepresentation", "linkResource", "resourceType", "rightsResource", "creditLine",
    "displayStateEditionWrap", "objectDescriptionWrap", "descriptiveNoteValue",
)]  # fmt: skip
EDM_ELEMENTS = [("rdf", "RDF"), ("rdf", "Description")] + [
    ("edm", n) for n in (
        "ProvidedCHO", "Agent", "Place", "TimeSpan", "WebResource", "type", "isShownBy",
        "isShownAt", "object", "dataProvider", "provider", "rights", "aggregatedCHO",
        "hasView", "country", "language",
    )
] + [("ore", "Aggregation"), ("skos", "prefLabel"), ("skos", "Concept"),
     ("skos", "altLabel")] + [("dc", n) for n in (
        "title", "creator", "date", "description", "language", "type", "identifier", "subject",
    )] + [("dcterms", n) for n in ("created", "issued", "alternative", "isPartOf")]  # fmt: skip
ISO_ELEMENTS = [("gmd", n) for n in (
    "MD_Metadata", "fileIdentifier", "language", "LanguageCode", "hierarchyLevel",
    "MD_ScopeCode", "dateStamp", "identificationInfo", "MD_DataIdentification",
    "SV_ServiceIdentification", "citation", "CI_Citation", "title", "date", "CI_Date",
    "dateType", "CI_DateTypeCode", "abstract", "pointOfContact", "CI_ResponsibleParty",
    "organisationName", "role", "CI_RoleCode", "resourceConstraints", "MD_LegalConstraints",
    "otherConstraints", "useLimitation", "descriptiveKeywords", "MD_Keywords", "keyword",
    "graphicOverview", "MD_BrowseGraphic", "fileName", "distributionInfo", "onLine",
    "CI_OnlineResource", "linkage", "URL", "contact",
)] + [("gco", n) for n in ("CharacterString", "Date", "DateTime")] + [
    ("gmx", "Anchor"), ("gmd", "PT_FreeText"), ("gmd", "LocalisedCharacterString"),
]  # fmt: skip
ATTRIBUTES: list[tuple[str | None, str]] = [
    (None, "code"), (None, "status"), (None, "verb"), (None, "metadataPrefix"),
    (None, "completeListSize"), (None, "cursor"), (None, "expirationDate"),
    (None, "codeList"), (None, "codeListValue"), (None, "id"),
    ("rdf", "resource"), ("rdf", "about"), ("lido", "type"), ("lido", "pref"),
    ("lido", "source"), ("lido", "label"), ("xml", "lang"), ("xlink", "href"),
    ("xsi", "schemaLocation"),
]  # fmt: skip
ROOTS = {
    "oai": ("oai", "OAI-PMH"),
    "oai_dc": ("oai_dc", "dc"),
    "lido": ("lido", "lido"),
    "edm": ("rdf", "RDF"),
    "iso19139": ("gmd", "MD_Metadata"),
}
VOCABULARY = {
    "oai": OAI_ELEMENTS + DC_ELEMENTS,
    "oai_dc": DC_ELEMENTS,
    "lido": LIDO_ELEMENTS,
    "edm": EDM_ELEMENTS,
    "iso19139": ISO_ELEMENTS,
}
VALUES = st.one_of(
    st.sampled_from([
        "", " ", "deleted", "noRecordsMatch", "badVerb", "preferred", "alternate", "en", "ger",
        "deutsch", "x-klingon", "2026-11-01", "2026-11-01T10:00:00Z", "-1", "0",
        "99999999999999999999999", "http://terminology.lido-schema.org/lido00007",
        "http://rightsstatements.org/vocab/InC/1.0/", "https://images.example.org/a.jpg",
        "image_master", "#agent1", "urn:x", "javascript:alert(1)", "http://[::1", "?",
        "creation", "dataset", "Image", "Text",
    ]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
)  # fmt: skip
_NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
NAMES = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(_NAME_START),
    st.text(_NAME_START + "0123456789.-", max_size=10),
)


def _escape(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


@dataclass(frozen=True)
class Node:
    tag: tuple[str | None, str]
    attributes: tuple[tuple[tuple[str | None, str], str], ...]
    text: str
    children: tuple[Node, ...]

    def render(self) -> str:
        name = _qualified(self.tag)
        attributes = "".join(f' {_qualified(k)}="{_escape(v, True)}"' for k, v in self.attributes)
        inner = _escape(self.text) + "".join(child.render() for child in self.children)
        return f"<{name}{attributes}>{inner}</{name}>"


def _qualified(name: tuple[str | None, str]) -> str:
    prefix, local = name
    return f"{prefix}:{local}" if prefix else local


def _nodes(vocabulary: list[tuple[str, str]]) -> st.SearchStrategy[Node]:
    tags: st.SearchStrategy[tuple[str | None, str]] = st.one_of(
        st.sampled_from(vocabulary),
        st.tuples(st.sampled_from([*PREFIXES, None]), NAMES),
    )
    attributes = st.dictionaries(
        st.one_of(st.sampled_from(ATTRIBUTES), st.tuples(st.none(), NAMES)), VALUES, max_size=4
    ).map(lambda d: tuple(d.items()))
    leaf = st.builds(Node, tags, attributes, VALUES, st.just(()))
    return st.recursive(
        leaf,
        lambda children: st.builds(
            Node, tags, attributes, VALUES, st.lists(children, max_size=4).map(tuple)
        ),
        max_leaves=12,
    )


def _namespace_declarations() -> str:
    return "".join(f' xmlns:{p}="{uri}"' for p, uri in PREFIXES.items() if p != "xml")


@st.composite
def generated_documents(draw: st.DrawFn, kind: str) -> bytes:
    """A random tree in the namespaces of ``kind`` under its expected root (most of the
    time), every prefix declared on the root."""
    vocabulary = VOCABULARY[kind]
    root_tag: tuple[str | None, str] = draw(
        st.one_of(st.just(ROOTS[kind]), st.sampled_from(vocabulary))
    )
    children = draw(st.lists(_nodes(vocabulary), max_size=4))
    text = draw(VALUES)
    name = _qualified(root_tag)
    default = f' xmlns="{OAI_NS}"' if kind == "oai" and draw(st.booleans()) else ""
    body = "".join(child.render() for child in children)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{name}{_namespace_declarations()}{default}>'
        f"{_escape(text)}{body}</{name}>"
    ).encode()


@st.composite
def generated_oai_pages(draw: st.DrawFn) -> bytes:
    """A ListRecords/GetRecord/ListIdentifiers page whose headers and metadata are random."""
    verb = draw(st.sampled_from(["ListRecords", "GetRecord", "ListIdentifiers", "Identify",
                                 "ListSets", "ListMetadataFormats"]))  # fmt: skip
    prefix = draw(st.sampled_from(["oai_dc", "lido", "edm", "iso19139"]))
    items = []
    for _ in range(draw(st.integers(0, 4))):
        identifier = _escape(draw(VALUES))
        datestamp = _escape(draw(VALUES))
        status = ' status="deleted"' if draw(st.booleans()) else ""
        metadata = draw(st.lists(_nodes(VOCABULARY[prefix]), max_size=2))
        header = (
            f"<header{status}><identifier>{identifier}</identifier>"
            f"<datestamp>{datestamp}</datestamp></header>"
        )
        inner = "".join(m.render() for m in metadata)
        items.append(header if verb == "ListIdentifiers" else
                     f"<record>{header}<metadata>{inner}</metadata></record>")  # fmt: skip
    extra = "".join(node.render() for node in draw(st.lists(_nodes(OAI_ELEMENTS), max_size=3)))
    token = _escape(draw(VALUES))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI_NS}"'
        f"{_namespace_declarations()}><responseDate>2026-11-20T10:00:00Z</responseDate>"
        f'<request verb="{verb}">https://repo.example.org/oai</request><{verb}>'
        f"{''.join(items)}{extra}<resumptionToken>{token}</resumptionToken></{verb}></OAI-PMH>"
    ).encode()


# --- generated CSV and JSON ------------------------------------------------------------------

CSV_COLUMNS = st.sampled_from([
    "id", "ID", " id ", "title", "creator", "description", "date", "rights", "image_url",
    "data_provider", "provider", "type", "language", "country", "updated", "",
])  # fmt: skip
CSV_CELLS = st.one_of(
    VALUES,
    st.text(max_size=20),
    st.sampled_from(['"', '""', ",", ";", "\t", "\r", "\n", "|", "a|b||c", '"a,b"', "\x00"]),
)


@st.composite
def generated_csv(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.one_of(CSV_COLUMNS, NAMES), min_size=1, max_size=8))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    rows = draw(st.lists(st.lists(CSV_CELLS, max_size=len(header) + 2), max_size=6))
    quote = draw(st.booleans())

    def line(cells: list[str]) -> str:
        if quote:
            cells = ['"' + cell.replace('"', '""') + '"' for cell in cells]
        return delimiter.join(cells)

    text = "\n".join(line(row) for row in [header, *rows]) + draw(st.sampled_from(["", "\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="surrogatepass" if encoding == "utf-8" else "replace")


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(st.characters(), max_size=10).map(lambda t: t + "\ud800"),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
EUROPEANA_FIELDS = sorted(EUROPEANA_ITEM)


@st.composite
def generated_items(draw: st.DrawFn) -> Any:
    """A Europeana item: mostly an object with the API's field names, sometimes anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    item: dict[str, Any] = dict(draw(st.sampled_from([{}, EUROPEANA_ITEM])))
    for name in draw(st.lists(st.one_of(st.sampled_from(EUROPEANA_FIELDS), st.text(max_size=8)),
                              max_size=6)):  # fmt: skip
        item[name] = draw(JSON_VALUES)
    if draw(st.booleans()):
        item["id"] = draw(st.one_of(
            st.sampled_from(["/1/a", "/1/", "//x", "/1/a?b", "/1/a b", "", "/9200397/ark_\u00e9"]),
            st.text(max_size=20), JSON_VALUES,
        ))  # fmt: skip
    return item


@st.composite
def generated_annotations(draw: st.DrawFn) -> Any:
    """An annotation as the simulator makes it with some fields replaced or dropped; now
    and then any JSON value at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    annotation = annotation_seed()
    for name in draw(st.lists(st.sampled_from(sorted(annotation)), max_size=4)):
        if draw(st.integers(0, 4)) == 0:
            annotation.pop(name, None)
        else:
            annotation[name] = draw(JSON_VALUES)
    return annotation


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = {"level": level, "value": value} if level % 2 else [value]
    return value
