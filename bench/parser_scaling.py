"""Growth of every parser and mapper entry point's time with the size of one input.

    python bench/parser_scaling.py            # N = 20000 (scaled per input shape)
    python bench/parser_scaling.py --n 40000 --only csv

Each entry point is timed on inputs that are heavy in one dimension (attributes, CSV
columns, elements, references, JSON fields, nesting) at size N and 2N, best of --repeat
runs, input built outside the timing and the garbage collector off while timing (as
``timeit`` does). A linear entry point takes about twice as long at 2N;
the run exits 1 when any ratio exceeds --max-ratio (2.3 by default), which points at
quadratic work (a lookup by scanning, a count inside a loop, a string grown by copying).
An entry point that rejects the input still counts: its time is how long rejecting took,
and the table says that it raised. No services, no network.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from heritage.producers.csv_drop import CsvColumnMapping, CsvRow, map_csv_row, read_csv_rows
from heritage.producers.europeana_client import SOURCE as EUROPEANA_SOURCE
from heritage.producers.europeana_client import (
    read_search_page,
    sort_page_items,
    source_record_from_item,
)
from heritage.producers.json_page_split import split_json_object
from heritage.producers.lido_drop import read_lido_file
from heritage.producers.metadata_mapping import lido_record_problems, map_record
from heritage.producers.oai_pmh_protocol import parse_response, xml_parser
from heritage.producers.packages.checksums import parse_checksum_file
from heritage.producers.packages.mets_document import parse_mets
from heritage.producers.simulators.annotation_simulator import SOURCE as ANNOTATION_SOURCE
from heritage.producers.simulators.annotation_simulator import annotation_record, make_annotation
from heritage.record_model import SourceRecord, envelope_for
from heritage.settings import Secret

DEFAULT_N = 20_000
DEFAULT_MAX_RATIO = 2.3
# A size whose single run takes longer than this is not repeated (quadratic cases).
REPEAT_BUDGET_S = 5.0

OAI = "http://www.openarchives.org/OAI/2.0/"
LIDO = 'xmlns:lido="http://www.lido-schema.org"'
EDM_NAMESPACES = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:edm="http://www.europeana.eu/schemas/edm/" '
    'xmlns:ore="http://www.openarchives.org/ore/terms/" '
    'xmlns:skos="http://www.w3.org/2004/02/skos/core#"'
)
ISO_NAMESPACES = (
    'xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco"'
)
API_KEY = Secret("api2demo")


@dataclass(frozen=True)
class Case:
    """One entry point on one input shape; ``scale`` turns N into this shape's size."""

    entry_point: str
    shape: str
    build: Callable[[int, Path], Any]
    run: Callable[[Any], object]
    scale: float = 1.0


# --- inputs (pure builders; file-based ones write under the given folder) -------------------


def oai_error_with_attributes(n: int, _: Path) -> bytes:
    attributes = " ".join(f'a{i}="v{i}"' for i in range(n))
    return (
        f'<OAI-PMH xmlns="{OAI}"><responseDate>2026-11-20T10:00:00Z</responseDate>'
        f'<request verb="ListRecords">https://repo.example.org/oai</request>'
        f'<error code="badArgument" {attributes}>bad</error></OAI-PMH>'
    ).encode()


def oai_request_with_attributes(n: int, _: Path) -> bytes:
    attributes = " ".join(f'a{i}="v{i}"' for i in range(n))
    return (
        f'<OAI-PMH xmlns="{OAI}"><responseDate>2026-11-20T10:00:00Z</responseDate>'
        f'<request verb="ListRecords" {attributes}>https://repo.example.org/oai</request>'
        f'<error code="badResumptionToken">expired</error></OAI-PMH>'
    ).encode()


def oai_page_with_entity_references(n: int, _: Path) -> bytes:
    """A record whose title refers n times to an entity that would expand to 10^9 'lol's."""
    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE OAI-PMH [<!ENTITY lol0 "lol">'
        f'{laughs}]><OAI-PMH xmlns="{OAI}"><responseDate>2026-11-20T10:00:00Z</responseDate>'
        f'<request verb="ListRecords">https://repo.example.org/oai</request><ListRecords>'
        f"<record><header><identifier>oai:x:1</identifier><datestamp>2026-11-01</datestamp>"
        f"</header><metadata><dc xmlns='http://www.openarchives.org/OAI/2.0/oai_dc/'>"
        f"<title xmlns='http://purl.org/dc/elements/1.1/'>{'&lol9;' * n}</title></dc>"
        f"</metadata></record></ListRecords></OAI-PMH>"
    ).encode()


def oai_page_with_records(n: int, _: Path) -> bytes:
    records = "".join(
        f"<record><header><identifier>oai:x:{i}</identifier><datestamp>2026-11-01</datestamp>"
        f"<setSpec>s{i}</setSpec></header><metadata><dc xmlns='http://www.openarchives.org/OAI/"
        f"2.0/oai_dc/'/></metadata></record>"
        for i in range(n)
    )
    return (
        f'<OAI-PMH xmlns="{OAI}"><responseDate>2026-11-20T10:00:00Z</responseDate>'
        f'<request verb="ListRecords">https://repo.example.org/oai</request>'
        f"<ListRecords>{records}<resumptionToken>t</resumptionToken></ListRecords></OAI-PMH>"
    ).encode()


def oai_header_with_set_specs(n: int, _: Path) -> bytes:
    specs = "".join(f"<setSpec>s{i}</setSpec>" for i in range(n))
    return (
        f'<OAI-PMH xmlns="{OAI}"><responseDate>2026-11-20T10:00:00Z</responseDate>'
        f'<request verb="ListIdentifiers">https://repo.example.org/oai</request>'
        f"<ListIdentifiers><header><identifier>oai:x:1</identifier>"
        f"<datestamp>2026-11-01</datestamp>{specs}</header></ListIdentifiers></OAI-PMH>"
    ).encode()


def _element(document: str) -> Any:
    return etree.fromstring(document.encode(), xml_parser())


def dc_with_values(n: int, _: Path) -> Any:
    values = "".join(
        f'<dc:title xml:lang="l{i % 50}">t{i}</dc:title><dc:creator>c{i}</dc:creator>'
        for i in range(n)
    )
    return _element(
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier>1</dc:identifier>'
        f"{values}</oai_dc:dc>"
    )


def _lido_record(body: str, record_id: str = "R1") -> str:
    return (
        f"<lido:lido><lido:lidoRecID lido:type='local'>{record_id}</lido:lidoRecID>"
        f"<lido:descriptiveMetadata xml:lang='de'>{body}</lido:descriptiveMetadata>"
        "<lido:administrativeMetadata xml:lang='de'><lido:recordWrap><lido:recordID "
        "lido:type='local'>R1</lido:recordID><lido:recordType><lido:term>item</lido:term>"
        "</lido:recordType></lido:recordWrap></lido:administrativeMetadata></lido:lido>"
    )


def lido_with_actors(n: int, _: Path) -> Any:
    actors = "".join(
        f"<lido:eventActor><lido:actorInRole><lido:actor><lido:nameActorSet>"
        f"<lido:appellationValue>a{i}</lido:appellationValue></lido:nameActorSet>"
        f"</lido:actor></lido:actorInRole></lido:eventActor>"
        for i in range(n)
    )
    titles = "".join(
        f"<lido:titleSet><lido:appellationValue xml:lang='de'>t{i}</lido:appellationValue>"
        "</lido:titleSet>"
        for i in range(n)
    )
    body = (
        "<lido:objectIdentificationWrap><lido:titleWrap>"
        f"{titles}</lido:titleWrap></lido:objectIdentificationWrap><lido:eventWrap>"
        "<lido:eventSet><lido:event><lido:eventType><lido:term>Herstellung</lido:term>"
        f"</lido:eventType>{actors}</lido:event></lido:eventSet></lido:eventWrap>"
    )
    document = f"<lido:lidoWrap {LIDO}>{_lido_record(body)}</lido:lidoWrap>"
    return _element(document)[0]


def lido_with_attributes(n: int, _: Path) -> Any:
    attributes = " ".join(f'a{i}="v"' for i in range(n))
    body = (
        "<lido:objectIdentificationWrap><lido:titleWrap><lido:titleSet>"
        f"<lido:appellationValue {attributes}>t</lido:appellationValue></lido:titleSet>"
        "</lido:titleWrap></lido:objectIdentificationWrap>"
    )
    return _element(f"<lido:lidoWrap {LIDO}>{_lido_record(body)}</lido:lidoWrap>")[0]


def lido_with_long_work_type(n: int, _: Path) -> Any:
    """One objectWorkType term of ``n`` characters: a word, blanks, then unclosed ``(``."""
    term = "Gemälde" + " " * (n // 2) + "(" * max(0, n - n // 2 - 8) + "x"
    body = (
        "<lido:objectClassificationWrap><lido:objectWorkTypeWrap><lido:objectWorkType>"
        f"<lido:term>{term}</lido:term></lido:objectWorkType></lido:objectWorkTypeWrap>"
        "</lido:objectClassificationWrap>"
    )
    return _element(f"<lido:lidoWrap {LIDO}>{_lido_record(body)}</lido:lidoWrap>")[0]


def lido_with_terminology_attributes(n: int, _: Path) -> Any:
    """One value with n attributes holding LIDO terminology URIs, one of them unknown."""
    attributes = " ".join(
        f'x:a{i}="http://terminology.lido-schema.org/lido{i:05d}"' for i in range(n)
    )
    attributes += ' x:invented="http://terminology.lido-schema.org/lido123456"'
    body = (
        "<lido:objectIdentificationWrap><lido:titleWrap><lido:titleSet>"
        f"<lido:appellationValue {attributes}>t</lido:appellationValue></lido:titleSet>"
        "</lido:titleWrap></lido:objectIdentificationWrap>"
    )
    wrap = f'<lido:lidoWrap {LIDO} xmlns:x="urn:example:x">{_lido_record(body)}</lido:lidoWrap>'
    return _element(wrap)[0]


def edm_with_references(n: int, _: Path) -> Any:
    references = "".join(f'<dc:creator rdf:resource="#agent{i}"/>' for i in range(n))
    entities = "".join(
        f'<edm:Agent rdf:about="#agent{i}"><skos:prefLabel>a{i}</skos:prefLabel></edm:Agent>'
        for i in range(n)
    )
    return _element(
        f'<rdf:RDF {EDM_NAMESPACES}><edm:ProvidedCHO rdf:about="#cho">'
        f"<dc:title>t</dc:title>{references}<edm:type>IMAGE</edm:type></edm:ProvidedCHO>"
        f'{entities}<ore:Aggregation rdf:about="#agg"><edm:aggregatedCHO rdf:resource="#cho"/>'
        "<edm:dataProvider>d</edm:dataProvider></ore:Aggregation></rdf:RDF>"
    )


def iso_with_keywords(n: int, _: Path) -> Any:
    keywords = "".join(
        f"<gmd:keyword><gco:CharacterString>k{i}</gco:CharacterString></gmd:keyword>"
        for i in range(n)
    )
    contacts = "".join(
        "<gmd:pointOfContact><gmd:CI_ResponsibleParty><gmd:organisationName>"
        f"<gco:CharacterString>o{i}</gco:CharacterString></gmd:organisationName>"
        "</gmd:CI_ResponsibleParty></gmd:pointOfContact>"
        for i in range(n)
    )
    return _element(
        f"<gmd:MD_Metadata {ISO_NAMESPACES}><gmd:fileIdentifier><gco:CharacterString>f"
        "</gco:CharacterString></gmd:fileIdentifier><gmd:identificationInfo>"
        "<gmd:MD_DataIdentification><gmd:citation><gmd:CI_Citation><gmd:title>"
        "<gco:CharacterString>t</gco:CharacterString></gmd:title></gmd:CI_Citation>"
        f"</gmd:citation>{contacts}<gmd:descriptiveKeywords><gmd:MD_Keywords>{keywords}"
        "</gmd:MD_Keywords></gmd:descriptiveKeywords></gmd:MD_DataIdentification>"
        "</gmd:identificationInfo></gmd:MD_Metadata>"
    )


def lido_wrap_file(n: int, folder: Path) -> Path:
    body = (
        "<lido:objectIdentificationWrap><lido:titleWrap><lido:titleSet><lido:appellationValue>"
        "t</lido:appellationValue></lido:titleSet></lido:titleWrap></lido:objectIdentificationWrap>"
    )
    records = "".join(_lido_record(body, f"R{i}") for i in range(n))
    path = folder / f"wrap-{n}.xml"
    path.write_text(f"<lido:lidoWrap {LIDO}>{records}</lido:lidoWrap>", "utf-8")
    return path


def lido_attributes_file(n: int, folder: Path) -> Path:
    element = lido_with_attributes(n, folder)
    path = folder / f"attributes-{n}.xml"
    path.write_bytes(etree.tostring(element))
    return path


def lido_xsd_errors_file(n: int, folder: Path) -> Path:
    """One record on one line with N lidoRecIDs, the first carrying N attributes LIDO does
    not define: N XSD errors among N elements of one name on one line. (N faulty siblings
    would time libxml2 instead: it gives each error a path, found by scanning the siblings
    before the element.)"""
    attributes = " ".join(f'bogus{i}="x"' for i in range(n))
    more_ids = "".join(
        f"<lido:lidoRecID lido:type='local'>R{i}</lido:lidoRecID>" for i in range(1, n)
    )
    record = (
        _lido_record("")
        .replace("<lido:lidoRecID ", f"<lido:lidoRecID {attributes} ", 1)
        .replace("</lido:lidoRecID>", f"</lido:lidoRecID>{more_ids}", 1)
    )
    path = folder / f"xsd-errors-{n}.xml"
    path.write_text(f"<lido:lidoWrap {LIDO}>{record}</lido:lidoWrap>", "utf-8")
    return path


def csv_columns_file(n: int, folder: Path) -> Path:
    header = "id,title," + ",".join(f"extra{i}" for i in range(n))
    row = "1,t," + ",".join(f"v{i}" for i in range(n))
    path = folder / f"columns-{n}.csv"
    path.write_text(f"{header}\n{row}\n{row.replace('1,', '2,', 1)}\n", "utf-8")
    return path


def csv_rows_file(n: int, folder: Path) -> Path:
    rows = "".join(f"{i},title {i},creator {i}|other,1642,IMAGE,nl\n" for i in range(n))
    path = folder / f"rows-{n}.csv"
    path.write_text(f"id,title,creator,date,type,language\n{rows}", "utf-8")
    return path


def item_with_fields(n: int, _: Path) -> dict[str, Any]:
    return {"id": "/1/a", "title": ["t"], **{f"field{i}": [f"v{i}"] for i in range(n)}}


def item_nested(n: int, _: Path) -> dict[str, Any]:
    value: Any = "leaf"
    for level in range(n):
        value = {"level": level, "value": value}
    return {"id": "/1/a", "nested": value}


def page_with_items(n: int, _: Path) -> str:
    items = [
        {"id": f"/1/i{i}", "title": [f"t{i}"], "link": f"https://x/{i}.json?wskey=api2demo"}
        for i in range(n)
    ]
    return json.dumps({"apikey": "api2demo", "success": True, "items": items})


def json_page_nested(n: int, _: Path) -> str:
    return '{"items": [' + "[" * n + "]" * n + "]}"


def json_page_items(n: int, _: Path) -> str:
    return '{"items": [' + ",".join(['{"t": ["a\\"b"]}'] * n) + "]}"


def json_page_escapes(n: int, _: Path) -> str:
    return '{"items": ["' + '\\"' * n + '"]}'


def annotation_with_fields(n: int, _: Path) -> dict[str, Any]:
    made = make_annotation(random.Random(7), 1, 0, "europeana:/1/a", "2026-11-20T10:00:00Z")
    return {**made, **{f"f{i}": i for i in range(n)}}


# --- entry points ----------------------------------------------------------------------------


_METS = '<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink"'


def mets_with_files(n: int, _: Path) -> bytes:
    files = "".join(
        f'<file ID="F{i}" MIMETYPE="image/tiff" SIZE="{i}" CHECKSUM="{i:032x}"'
        f' CHECKSUMTYPE="MD5"><FLocat LOCTYPE="URL" xlink:href="images/{i:08d}.tif"/></file>'
        for i in range(n)
    )
    pointers = "".join(
        f'<div TYPE="page" ORDER="{i}"><fptr FILEID="F{i}"/></div>' for i in range(n)
    )
    return (
        f'{_METS} OBJID="hdl:1/2"><fileSec><fileGrp USE="ORIGINAL">{files}</fileGrp></fileSec>'
        f'<structMap TYPE="LOGICAL"><div TYPE="item">{pointers}</div></structMap></mets>'
    ).encode()


def mets_with_mods_values(n: int, _: Path) -> bytes:
    names = "".join(
        f"<mods:name><mods:namePart>Name {i}</mods:namePart></mods:name>" for i in range(n)
    )
    titles = "".join(
        f"<mods:titleInfo><mods:title>T {i}</mods:title></mods:titleInfo>" for i in range(n)
    )
    return (
        f'{_METS} xmlns:mods="http://www.loc.gov/mods/v3"><dmdSec ID="D1"><mdWrap MDTYPE="MODS">'
        f"<xmlData><mods:mods>{titles}{names}</mods:mods></xmlData></mdWrap></dmdSec></mets>"
    ).encode()


def checksum_file_lines(n: int, folder: Path) -> Path:
    path = folder / f"checksums-{n}.md5"
    path.write_text("".join(f"{i:032x}  data/{i:08d}.tif\n" for i in range(n)))
    return path


def envelope_json(source: str, record: SourceRecord) -> bytes:
    return envelope_for(source, record, "bench", "2026-11-20T10:00:00Z").to_json().encode()


def read_all_csv(path: Path) -> int:
    count = 0
    for row in read_csv_rows(path):
        if isinstance(row, CsvRow):
            map_csv_row(row.cells, CsvColumnMapping())
        count += 1
    return count


def europeana_items(items: list[Any]) -> int:
    """The harvest's path for a page's items: sorted, then each wrapped in an envelope."""
    sorted_items = sort_page_items(items, "*")
    for record in [*sorted_items.records, *sorted_items.dead_letters]:
        envelope_json(EUROPEANA_SOURCE, record)
    return len(items)


def europeana_page(text: str) -> int:
    return europeana_items(read_search_page(text, API_KEY, "*").items)


CASES = (
    Case("oai parse_response", "error element with 10N attributes", oai_error_with_attributes,
         parse_response, 10),
    Case("oai parse_response", "request with 10N attributes", oai_request_with_attributes,
         parse_response, 10),
    Case("oai parse_response", "ListRecords with N/10 records", oai_page_with_records,
         parse_response, 0.1),
    Case("oai parse_response", "N refs to a 10^9-fold entity", oai_page_with_entity_references,
         parse_response),
    Case("oai parse_response", "header with 10N setSpecs", oai_header_with_set_specs,
         parse_response, 10),
    Case("map_record oai_dc", "N titles and N creators", dc_with_values,
         lambda e: map_record("oai_dc", e)),
    Case("map_record lido", "N titles and N actors", lido_with_actors,
         lambda e: map_record("lido", e)),
    Case("map_record lido", "N attributes on one value (x50)", lido_with_attributes,
         lambda e: [map_record("lido", e) for _ in range(50)]),
    Case("map_record lido", "work-type term of N characters", lido_with_long_work_type,
         lambda e: map_record("lido", e)),
    Case("lido_record_problems", "N terminology URIs on one value",
         lido_with_terminology_attributes, lido_record_problems),
    Case("map_record edm", "N rdf:resource refs + N entities", edm_with_references,
         lambda e: map_record("edm", e)),
    Case("map_record iso19139", "N keywords and N contacts", iso_with_keywords,
         lambda e: map_record("iso19139", e)),
    Case("read_lido_file", "lidoWrap with N/10 records", lido_wrap_file,
         lambda p: list(read_lido_file(p)), 0.1),
    # Tens of thousands of attributes or columns, as hostile exports send. Past about
    # 100,000 distinct names on one element or row, the parse's and the row's dicts outgrow
    # the caches and every doubling costs about 2.4x more without any quadratic step:
    # measure that range with --n 50000.
    Case("read_lido_file", "2N attributes on one value", lido_attributes_file,
         lambda p: list(read_lido_file(p)), 2),
    Case("read_lido_file", "N XSD errors on one line", lido_xsd_errors_file,
         lambda p: list(read_lido_file(p))),
    Case("read_csv_rows+map_csv_row", "2N columns", csv_columns_file, read_all_csv, 2),
    Case("read_csv_rows+map_csv_row", "N rows", csv_rows_file, read_all_csv),
    Case("source_record_from_item", "item with 5N fields", item_with_fields,
         lambda item: envelope_json(EUROPEANA_SOURCE, source_record_from_item(item)), 5),
    Case("sort_page_items -> envelope", "item with 5N fields", item_with_fields,
         lambda item: europeana_items([item]), 5),
    Case("sort_page_items -> envelope", "N/50 nested levels (x200 items)", item_nested,
         lambda item: europeana_items([item] * 200), 0.02),
    Case("read_search_page+sort", "page with N/4 items", page_with_items,
         europeana_page, 0.25),
    Case("split_json_object", "items nested 5N deep", json_page_nested,
         lambda text: split_json_object(text, "items"), 5),
    Case("split_json_object", "N items", json_page_items,
         lambda text: split_json_object(text, "items")),
    Case("split_json_object", "a string of 100N escapes", json_page_escapes,
         lambda text: split_json_object(text, "items"), 100),
    Case("annotation_record -> envelope", "annotation with 5N fields", annotation_with_fields,
         lambda a: envelope_json(ANNOTATION_SOURCE, annotation_record(a)), 5),
    Case("parse_mets", "N/10 files in the fileSec and structMap", mets_with_files,
         lambda data: parse_mets(data, "mets.xml"), 0.1),
    Case("parse_mets", "N titles and N names in MODS", mets_with_mods_values,
         lambda data: parse_mets(data, "mets.xml")),
    Case("parse_checksum_file", "N lines", checksum_file_lines,
         lambda path: parse_checksum_file(path, "md5")),
)  # fmt: skip


# --- timing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    seconds: float
    outcome: str


def timed_run(case: Case, built: Any) -> Timing:
    """One run of the entry point on a built input."""
    gc.collect()
    gc.disable()  # as timeit does: collector passes grow with the heap, not the input
    outcome = "ok"
    start = time.perf_counter()
    try:
        case.run(built)
    except Exception as error:  # timed all the same; the table names it
        outcome = f"raised {type(error).__name__}"
    elapsed = time.perf_counter() - start
    gc.enable()
    return Timing(elapsed, outcome)


@dataclass(frozen=True)
class Row:
    case: Case
    size: int
    at_n: Timing
    at_2n: Timing

    @property
    def ratio(self) -> float:
        return self.at_2n.seconds / self.at_n.seconds if self.at_n.seconds else float("inf")


def measure(case: Case, n: int, folder: Path, repeat: int) -> Row:
    """Best of ``repeat`` runs at N and at 2N, alternating, so that a change in the
    machine's load hits both sizes alike; a size slower than REPEAT_BUDGET_S runs once."""
    size = max(1, int(n * case.scale))
    inputs = (case.build(size, folder), case.build(2 * size, folder))
    best: list[Timing | None] = [None, None]
    for _ in range(repeat):
        for index, built in enumerate(inputs):
            current = best[index]
            if current is not None and current.seconds > REPEAT_BUDGET_S:
                continue
            timing = timed_run(case, built)
            if current is None or timing.seconds < current.seconds:
                best[index] = timing
    at_n, at_2n = best
    assert at_n is not None and at_2n is not None
    return Row(case, size, at_n, at_2n)


def print_table(rows: list[Row], max_ratio: float) -> None:
    print(f"{'entry point':<30} {'input shape':<34} {'N':>8} {'t(N) ms':>10} {'t(2N) ms':>10} "
          f"{'ratio':>6}  outcome")  # fmt: skip
    for row in rows:
        flag = "  <-- over " + str(max_ratio) if row.ratio > max_ratio else ""
        outcome = row.at_2n.outcome if row.at_n.outcome == "ok" else row.at_n.outcome
        print(
            f"{row.case.entry_point:<30} {row.case.shape:<34} {row.size:>8} "
            f"{row.at_n.seconds * 1000:>10.1f} {row.at_2n.seconds * 1000:>10.1f} "
            f"{row.ratio:>6.2f}  {outcome}{flag}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n",
        type=int,
        default=DEFAULT_N,
        help=f"base size N, scaled per shape (default {DEFAULT_N})",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per size, best kept (5)")
    parser.add_argument(
        "--max-ratio",
        type=float,
        default=DEFAULT_MAX_RATIO,
        help=f"exit 1 when t(2N)/t(N) exceeds this ({DEFAULT_MAX_RATIO})",
    )
    parser.add_argument(
        "--only", default="", help="run only the entry points whose name contains this text"
    )
    args = parser.parse_args()  # fmt: skip
    cases = [case for case in CASES if args.only in case.entry_point]
    print(f"python {platform.python_version()}, lxml {etree.__version__}, N={args.n}, "
          f"best of {args.repeat}")  # fmt: skip
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="parser-scaling-") as folder:
        for case in cases:
            rows.append(measure(case, args.n, Path(folder), args.repeat))
            print(f"  measured {case.entry_point}: {case.shape}", file=sys.stderr, flush=True)
    print_table(rows, args.max_ratio)
    over = [row for row in rows if row.ratio > args.max_ratio]
    if over:
        print(f"{len(over)} of {len(rows)} grow faster than {args.max_ratio}x when N doubles")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
