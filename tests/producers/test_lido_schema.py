"""LIDO XSD validation: the vendored schemas, offline compilation, reasons with lines, the drop."""

from __future__ import annotations

import fnmatch
import re
import socket
import tomllib
from pathlib import Path

import pytest
from lxml import etree

from heritage.producers import lido_schema
from heritage.producers.lido_drop import LidoRecordRead, dead_letter_record, read_lido_file
from heritage.producers.lido_drop import iter_lido_elements as stream_records
from heritage.producers.lido_schema import (
    MAX_SCHEMA_REASONS,
    SCHEMA_DIR,
    LidoSchemaUnavailable,
    VendoredSchemaResolver,
    declared_lido_version,
    lido_schema_problems,
    schema_errors,
    schema_parser,
    vendored_schema_path,
)
from heritage.producers.metadata_mapping import LIDO_NS, lido_record_problems
from heritage.producers.simulators.oai_pmh_generated_records import generated_object, lido_xml

ROOT = Path(__file__).resolve().parents[2]
SHARED_SCHEMAS = ROOT.parent / "shared" / "schemas" / "lido"
WRAP = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<lido:lidoWrap xmlns:lido="http://www.lido-schema.org"\n'
    '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
    '    xsi:schemaLocation="http://www.lido-schema.org '
    'http://www.lido-schema.org/schema/v1.1/lido-v1.1.xsd">\n'
    "{records}\n"
    "</lido:lidoWrap>\n"
)
# A museum export with the faults exporters make: an unqualified attribute, a missing
# mandatory wrapper, a word where a number belongs and children out of order.
BROKEN = """  <lido:lido>
    <lido:lidoRecID lido:source="DE-MUS-123456" type="local">DE-MUS-123456/1987-12</lido:lidoRecID>
    <lido:descriptiveMetadata xml:lang="de">
      <lido:objectClassificationWrap>
        <lido:classificationWrap>
          <lido:classification><lido:term>Gemälde</lido:term></lido:classification>
        </lido:classificationWrap>
      </lido:objectClassificationWrap>
      <lido:objectIdentificationWrap>
        <lido:titleWrap>
          <lido:titleSet lido:sortorder="erste">
            <lido:appellationValue>Bildnis einer Frau</lido:appellationValue>
          </lido:titleSet>
        </lido:titleWrap>
      </lido:objectIdentificationWrap>
    </lido:descriptiveMetadata>
    <lido:administrativeMetadata xml:lang="de">
      <lido:recordWrap>
        <lido:recordID lido:type="local">1987-12</lido:recordID>
        <lido:recordSource>
          <lido:legalBodyName><lido:appellationValue>Stadtmuseum</lido:appellationValue>
          </lido:legalBodyName>
        </lido:recordSource>
        <lido:recordType><lido:term>Einzelobjekt</lido:term></lido:recordType>
        <lido:recordRights><lido:rightsType><lido:conceptID lido:type="URI"
          >http://creativecommons.org/publicdomain/zero/1.0/</lido:conceptID></lido:rightsType>
        </lido:recordRights>
      </lido:recordWrap>
    </lido:administrativeMetadata>
  </lido:lido>"""


def records_of(path: Path) -> list[etree._Element]:
    """The records of a file, parsed whole (the drop's stream frees each record after use)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return list(etree.parse(str(path), parser).iter("{http://www.lido-schema.org}lido"))


def only_record(path: Path) -> etree._Element:
    [record] = records_of(path)
    return record


def problems_of_each_record(path: Path) -> list[tuple[str, list[str]]]:
    """Checked as the drop streams them: one record at a time, the rest of the file unread."""
    return [
        (declared_lido_version(r), lido_schema_problems(r)) for r in stream_records(path, 1 << 30)
    ]


# --- the corpus ----------------------------------------------------------------------


def test_every_valid_corpus_record_passes_the_xsd(corpus_dir: Path) -> None:
    files = sorted((corpus_dir / "lido/valid").glob("*.xml"))
    assert len(files) == 17
    checked = [(path.name, result) for path in files for result in problems_of_each_record(path)]
    assert len(checked) == 21
    assert [(name, problems) for name, (_, problems) in checked if problems] == []


def test_the_lido_1_1_examples_are_validated_against_lido_1_1(corpus_dir: Path) -> None:
    for path in sorted((corpus_dir / "lido/valid").glob("LIDO-v1.1-Example_*.xml")):
        for record in records_of(path):
            assert declared_lido_version(record) == "1.1"
            assert lido_schema_problems(record) == []
            # They use LIDO 1.1 elements: LIDO 1.0 would reject them.
            assert schema_errors(record, "1.0"), path.name
    # No schema location: LIDO 1.1, which accepts LIDO 1.0 records too.
    assert declared_lido_version(only_record(corpus_dir / "lido/valid/DSM.xml")) == "1.1"
    assert declared_lido_version(only_record(corpus_dir / "lido/valid/KHB.xml")) == "1.0"


def test_ddb_record_1_names_each_repeated_once_only_element(corpus_dir: Path) -> None:
    problems = lido_schema_problems(only_record(corpus_dir / "lido/invalid/DDB_LIDO_record_1.xml"))
    assert problems == [
        "XSD: line 197: element recordType: this element is not expected here (LIDO 1.0 "
        "allows one recordType in recordWrap); merge the repeated recordType into the first "
        "one or remove it",
        "XSD: line 231: element linkResource: this element is not expected here (LIDO 1.0 "
        "allows one linkResource in resourceRepresentation); merge the repeated linkResource "
        "into the first one or remove it",
        "XSD: line 258: element resourceType: this element is not expected here (LIDO 1.0 "
        "allows one resourceType in resourceSet); merge the repeated resourceType into the "
        "first one or remove it",
    ]


def test_ddb_record_2_names_the_missing_lido_rec_id(corpus_dir: Path) -> None:
    problems = lido_schema_problems(only_record(corpus_dir / "lido/invalid/DDB_LIDO_record_2.xml"))
    assert problems == [
        "XSD: line 4: element descriptiveMetadata: this element is not expected here (LIDO "
        "1.0 requires lidoRecID before it in lido); add the missing lidoRecID"
    ]


def test_the_graphics_record_passes_the_xsd_and_fails_only_the_content_rules(
    corpus_dir: Path,
) -> None:
    record = only_record(corpus_dir / "lido/invalid/graphics_LIDO_record.xml")
    assert lido_schema_problems(record) == []
    assert lido_record_problems(record)


# --- reasons for records built to break the schema -----------------------------------


def test_a_broken_export_gets_one_reason_per_fault_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(WRAP.format(records=BROKEN), encoding="utf-8")
    [record] = records_of(path)
    assert declared_lido_version(record) == "1.1"  # named by the lidoWrap around it
    assert lido_schema_problems(record) == [
        "XSD: line 6: element lidoRecID, attribute type: attribute type is not allowed here "
        "(LIDO 1.1 does not define it on lidoRecID); remove it, or write it as lido:type",
        "XSD: line 6: element lidoRecID: the required attribute lido:type is missing (LIDO "
        "1.1); add it",
        "XSD: line 9: element classificationWrap: this element is not expected here (LIDO "
        "1.1 requires objectWorkTypeWrap before it in objectClassificationWrap); add the "
        "missing objectWorkTypeWrap",
        "XSD: line 15: element titleSet, attribute lido:sortorder: 'erste' is not a valid "
        "xs:integer (LIDO 1.1); write a whole number, e.g. 1",
        "XSD: line 24: element recordSource: this element is not expected here (LIDO 1.1 "
        "expects one of recordID, recordType at this place in recordWrap); put the children "
        "of recordWrap in the order the schema defines, or remove recordSource",
    ]


@pytest.mark.parametrize("default_namespace", [False, True])
def test_reasons_on_a_one_line_record_name_the_element_at_fault(default_namespace: bool) -> None:
    """Generated and minified exports put a whole record on one line: the element is told
    apart from others of its name by its place, also where LIDO is the default namespace."""
    xml = (
        lido_xml(generated_object(7, 1), "oai:heritage.example.org:object-1", "2024-05-01")
        .replace(
            "</lido:resourceSet></lido:resourceWrap>",
            "</lido:resourceSet><lido:resourceSet><lido:resourceType><lido:term>Foto</lido:term>"
            "</lido:resourceType><lido:resourceType><lido:term>Scan</lido:term>"
            "</lido:resourceType></lido:resourceSet></lido:resourceWrap>",
        )
        .replace(
            "<lido:rightsResource>",
            "<lido:resourceType><lido:term>Bild</lido:term></lido:resourceType>"
            "<lido:rightsResource>",
        )
    )
    if default_namespace:
        xml = (
            xml.replace("<lido:", "<")
            .replace("</lido:", "</")
            .replace("xmlns:lido=", f'xmlns="{LIDO_NS}" xmlns:lido=')
        )
    record = etree.fromstring(xml.encode())
    # Three resourceType on line 1; only the second of the second resourceSet is at fault.
    assert lido_schema_problems(record) == [
        "XSD: line 1: element resourceType: this element is not expected here (LIDO 1.1 "
        "allows one resourceType in resourceSet); merge the repeated resourceType into the "
        "first one or remove it"
    ]


def test_a_record_that_is_not_lido_and_a_flood_of_errors_are_reported_briefly() -> None:
    [reason] = lido_schema_problems(etree.fromstring(b"<record><title>Jug</title></record>"))
    assert reason.startswith("XSD: line 1: element record: not a LIDO record")
    attributes = " ".join(f'lido:bogus{i}="x"' for i in range(MAX_SCHEMA_REASONS + 5))
    flood = etree.fromstring(
        f'<lido:lido xmlns:lido="http://www.lido-schema.org" {attributes}/>'.encode()
    )
    problems = lido_schema_problems(flood)
    assert len(problems) == MAX_SCHEMA_REASONS + 1
    assert problems[-1].startswith("XSD: 6 more LIDO 1.1 schema errors; fix the ones above")


def test_a_flood_of_errors_on_one_line_gives_one_reason_per_message_and_a_count() -> None:
    """Minified exports put thousands of faulty elements on one line: libxml2 reports each,
    the reasons say each fault once and count what is past the first ones."""
    lido = 'xmlns:lido="http://www.lido-schema.org"'
    repeated = "".join('<lido:lidoRecID bogus="x">R</lido:lidoRecID>' for _ in range(300))
    record = etree.fromstring(f"<lido:lido {lido}>{repeated}</lido:lido>".encode())
    assert len(schema_errors(record, "1.1")) == 601
    assert lido_schema_problems(record) == [
        "XSD: line 1: element lidoRecID, attribute bogus: attribute bogus is not allowed here "
        "(LIDO 1.1 does not define it on lidoRecID); remove it",
        "XSD: line 1: element lidoRecID: the required attribute lido:type is missing (LIDO "
        "1.1); add it",
        "XSD: line 1: element lido: a required child element is missing (LIDO 1.1 requires "
        "one of lidoRecID, objectPublishedID, category, applicationProfile, "
        "descriptiveMetadata in lido after its last child); add it",
    ]

    attributes = " ".join(f'bogus{i}="x"' for i in range(MAX_SCHEMA_REASONS + 5))
    valid = "".join(f"<lido:lidoRecID lido:type='local'>R{i}</lido:lidoRecID>" for i in range(300))
    record = etree.fromstring(
        f"<lido:lido {lido}>{valid}<lido:lidoRecID lido:type='local' {attributes}>R"
        f"</lido:lidoRecID></lido:lido>".encode()
    )
    problems = lido_schema_problems(record)
    assert len(problems) == MAX_SCHEMA_REASONS + 1
    assert problems[0] == (
        "XSD: line 1: element lidoRecID, attribute bogus0: attribute bogus0 is not allowed "
        "here (LIDO 1.1 does not define it on lidoRecID); remove it"
    )
    assert problems[-1].startswith("XSD: 6 more LIDO 1.1 schema errors; fix the ones above")


def test_the_version_follows_the_schema_location_of_the_record_or_its_wrap() -> None:
    def version(xml: str) -> str:
        root = etree.fromstring(xml.encode())
        return declared_lido_version(root if root.tag.endswith("}lido") else root[0])

    xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ns = 'xmlns="http://www.lido-schema.org"'
    v10 = "http://www.lido-schema.org/schema/v1.0/lido-v1.0.xsd"
    v11 = "http://www.lido-schema.org/schema/v1.1/lido-v1.1.xsd"
    assert version(f"<lido {ns}/>") == "1.1"
    assert (
        version(f'<lido {ns} {xsi} xsi:schemaLocation="http://www.lido-schema.org {v10}"/>')
        == "1.0"
    )
    assert (
        version(
            f'<lidoWrap {ns} {xsi} xsi:schemaLocation="http://www.opengis.net/gml {v10} '
            f'http://www.lido-schema.org {v11}"><lido/></lidoWrap>'
        )
        == "1.1"
    )
    assert (
        version(
            f'<lidoWrap {ns} {xsi} xsi:schemaLocation="http://www.lido-schema.org '
            f'file:///exports/lido-v1.0.xsd"><lido/></lidoWrap>'
        )
        == "1.0"
    )


def test_the_lido_the_oai_test_server_generates_passes_the_xsd() -> None:
    for index in range(200):
        for version in (0, 1):
            obj = generated_object(11, index, version)
            xml = lido_xml(obj, f"oai:heritage.example.org:{obj.local_id}", "2024-05-01T12:00:00Z")
            assert lido_schema_problems(etree.fromstring(xml.encode())) == [], obj.local_id


# --- offline and XXE-safe -------------------------------------------------------------


def test_the_resolver_serves_vendored_schemas_only() -> None:
    assert vendored_schema_path("http://www.w3.org/2001/xml.xsd") == SCHEMA_DIR / "xml.xsd"
    assert vendored_schema_path("https://schemas.opengis.net/gml/3.1.1/base/gml.xsd") == (
        SCHEMA_DIR / "gml" / "gml.xsd"
    )
    assert (
        vendored_schema_path("http://www.lido-schema.org/schema/v1.1/lido-v1.1.xsd")
        == SCHEMA_DIR / "lido-v1.1.xsd"
    )
    assert vendored_schema_path((SCHEMA_DIR / "smil/smil20.xsd").as_uri()) == (
        SCHEMA_DIR / "smil" / "smil20.xsd"
    )
    for refused in (
        "http://example.org/lido-v1.1.xsd",
        "http://schemas.opengis.net/gml/3.2.1/gml.xsd",
        "http://schemas.opengis.net/gml/3.1.1/base/../../../../etc/passwd",
        "ftp://www.w3.org/2001/xml.xsd",
        "http:xml.xsd",
        "http://www.w3.org/2001/xml.xsd?download=1",
        "xml.xsd\x00",
        "file:///etc/passwd",
        str(SCHEMA_DIR / ".." / ".." / "lido_drop.py"),
        str(SCHEMA_DIR / "LICENSE.md"),
    ):
        assert vendored_schema_path(refused) is None, refused
    with pytest.raises(LidoSchemaUnavailable, match="never from the network"):
        VendoredSchemaResolver().resolve("http://example.org/evil.xsd", None, None)


def test_compiling_the_schemas_attempts_no_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every document libxml2 loads goes through the resolver (which serves vendored files
    and refuses the rest, so libxml2's own loader never runs); Python sockets stay unused."""
    asked: list[str] = []
    refused: list[str] = []
    serve = VendoredSchemaResolver.resolve

    def recording(
        self: VendoredSchemaResolver, url: str | None, public_id: str | None, context: object
    ) -> object:
        asked.append(url or "")
        try:
            return serve(self, url, public_id, context)
        except LidoSchemaUnavailable:
            refused.append(url or "")
            raise

    sockets: list[object] = []

    def no_socket(*args: object, **kwargs: object) -> None:
        sockets.append(args)
        raise OSError("network access in a test of offline validation")

    monkeypatch.setattr(VendoredSchemaResolver, "resolve", recording)
    monkeypatch.setattr(socket, "getaddrinfo", no_socket)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    monkeypatch.setattr(socket.socket, "connect", no_socket)
    lido_schema.lido_schema.cache_clear()
    try:
        for version in ("1.0", "1.1"):
            assert lido_schema.lido_schema(version) is lido_schema.lido_schema(version)
        assert len(asked) > 30 and refused == []
        assert all(Path(url).is_relative_to(SCHEMA_DIR) for url in asked)

        remote = (
            b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
            b'<xs:import namespace="urn:remote" schemaLocation="http://example.org/remote.xsd"/>'
            b"</xs:schema>"
        )
        parsed = etree.fromstring(remote, schema_parser(), base_url=str(SCHEMA_DIR / "x.xsd"))
        with pytest.raises(
            etree.XMLSchemaParseError, match=re.escape("http://example.org/remote.xsd")
        ):
            etree.XMLSchema(parsed)
        assert refused == ["http://example.org/remote.xsd"]

        # A public location of a vendored schema is served from the package.
        public = (
            b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
            b'<xs:import namespace="http://www.w3.org/XML/1998/namespace" '
            b'schemaLocation="http://www.w3.org/2001/xml.xsd"/></xs:schema>'
        )
        etree.XMLSchema(etree.fromstring(public, schema_parser()))
        assert asked[-1] == "http://www.w3.org/2001/xml.xsd" and len(refused) == 1
    finally:
        lido_schema.lido_schema.cache_clear()
    assert sockets == []


def test_a_schema_document_with_an_external_entity_is_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    document = (
        f'<!DOCTYPE xs:schema [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        "<xs:annotation><xs:documentation>&s;</xs:documentation></xs:annotation></xs:schema>"
    ).encode()
    parsed = etree.fromstring(document, schema_parser())
    assert "TOP-SECRET-VALUE" not in etree.tostring(parsed, encoding="unicode")


# --- packaging --------------------------------------------------------------------------


def test_every_vendored_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["heritage.producers"]
    files = [p.relative_to(ROOT / "producers").as_posix() for p in SCHEMA_DIR.rglob("*")]
    files = [f for f in files if (ROOT / "producers" / f).is_file() and "/." not in f]
    assert {"schemas/lido/LICENSE.md", "schemas/lido/NOTICE.md", "schemas/lido/gml/gml.xsd"} <= (
        set(files)
    )
    assert [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)] == []


def test_the_vendored_schemas_are_byte_identical_to_their_source() -> None:
    if not SHARED_SCHEMAS.is_dir():
        pytest.skip(f"shared schemas not present at {SHARED_SCHEMAS}")
    source = {p.relative_to(SHARED_SCHEMAS): p for p in SHARED_SCHEMAS.rglob("*") if p.is_file()}
    assert len(source) == 37
    for name, path in source.items():
        assert (SCHEMA_DIR / name).read_bytes() == path.read_bytes(), name


# --- the drop ----------------------------------------------------------------------------


def test_the_drop_rejects_a_record_with_its_xsd_and_content_reasons(corpus_dir: Path) -> None:
    path = corpus_dir / "lido/invalid/DDB_LIDO_record_1.xml"
    [read] = list(read_lido_file(path))
    assert isinstance(read, LidoRecordRead)
    content = lido_record_problems(only_record(path))
    xsd = [p for p in read.problems if p.startswith("XSD: ")]
    assert read.problems == content + xsd
    assert [p.split(":")[1] for p in xsd] == [" line 197", " line 231", " line 258"]
    assert dead_letter_record(read).payload["reasons"] == read.problems


def test_the_drop_rejects_a_record_that_breaks_only_the_xsd(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(WRAP.format(records=BROKEN), encoding="utf-8")
    [read] = list(read_lido_file(path))
    assert isinstance(read, LidoRecordRead)
    assert lido_record_problems(only_record(path)) == []
    assert len(read.problems) == 5 and all(p.startswith("XSD: line ") for p in read.problems)
