"""Mappings on source shapes real institutions send: LIDO rights given in any of the places
LIDO carries them, Getty URIs in every published form, LIDO without a Europeana type,
Europeana's own proxy-based EDM, ISO 19115-2 records, and records with thousands of values,
references or attributes, every one of them kept (bench/parser_scaling.py times them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from heritage.producers import metadata_mapping
from heritage.producers.metadata_mapping import (
    LIDO_NS,
    MappingError,
    lido_record_problems,
    map_lido_record,
    map_record,
    rights_uri_from_licence_name,
)
from heritage.rights import canonical_rights_uri
from heritage.source_rejections import SourceRejection

LIDO = "{http://www.lido-schema.org}lido"


def parse(source: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    return etree.fromstring(source, parser)


def lido_record(
    *,
    rights: str = "",
    work_types: str = "",
    classifications: str = "",
    extra_namespaces: str = "",
) -> etree._Element:
    """A small LIDO record shaped like a museum export, with the given fragments."""
    return parse(
        f"""<lido:lido xmlns:lido="http://www.lido-schema.org"
        xmlns:skos="http://www.w3.org/2004/02/skos/core#"
        xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        xmlns:xlink="http://www.w3.org/1999/xlink" {extra_namespaces}>
  <lido:lidoRecID lido:type="local">DE-Mb112/lido-obj-1</lido:lidoRecID>
  <lido:descriptiveMetadata xml:lang="de">
    <lido:objectClassificationWrap>
      <lido:objectWorkTypeWrap>{work_types}</lido:objectWorkTypeWrap>
      <lido:classificationWrap>{classifications}</lido:classificationWrap>
    </lido:objectClassificationWrap>
    <lido:objectIdentificationWrap><lido:titleWrap><lido:titleSet>
      <lido:appellationValue>Bildnis einer Dame</lido:appellationValue>
    </lido:titleSet></lido:titleWrap>
    <lido:repositoryWrap><lido:repositorySet><lido:repositoryName><lido:legalBodyName>
      <lido:appellationValue>Stadtmuseum</lido:appellationValue>
    </lido:legalBodyName></lido:repositoryName></lido:repositorySet></lido:repositoryWrap>
    </lido:objectIdentificationWrap>
  </lido:descriptiveMetadata>
  <lido:administrativeMetadata xml:lang="de">
    <lido:recordWrap>
      <lido:recordID lido:type="local">1</lido:recordID>
      <lido:recordType><lido:term>item</lido:term></lido:recordType>
      <lido:recordSource><lido:legalBodyName><lido:appellationValue>Stadtmuseum
      </lido:appellationValue></lido:legalBodyName></lido:recordSource>
      <lido:recordRights><lido:rightsType><lido:conceptID lido:type="URI"
        >http://creativecommons.org/publicdomain/zero/1.0/</lido:conceptID></lido:rightsType>
      </lido:recordRights>
    </lido:recordWrap>
    <lido:resourceWrap><lido:resourceSet>
      <lido:resourceRepresentation>
        <lido:linkResource>https://images.example.org/1.jpg</lido:linkResource>
      </lido:resourceRepresentation>
      <lido:rightsResource>{rights}</lido:rightsResource>
    </lido:resourceSet></lido:resourceWrap>
  </lido:administrativeMetadata>
</lido:lido>""".encode()
    )


# --- LIDO rights ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rights", "expected"),
    [
        # the retired Europeana URI, written as the term only (DDB and Europeana 1.0 exports)
        (
            "<lido:rightsType><lido:term>http://www.europeana.eu/rights/rr-f/</lido:term>"
            "</lido:rightsType>",
            "http://www.europeana.eu/rights/rr-f/",
        ),
        # LIDO 1.1 terminology type of the identifier, https, deed page
        (
            '<lido:rightsType><lido:conceptID lido:type="http://terminology.lido-schema.org/'
            'lido00099">https://creativecommons.org/licenses/by/4.0/deed.de</lido:conceptID>'
            "</lido:rightsType>",
            "https://creativecommons.org/licenses/by/4.0/deed.de",
        ),
        # a local identifier type
        (
            '<lido:rightsType><lido:conceptID lido:type="local">'
            "http://rightsstatements.org/vocab/InC/1.0/</lido:conceptID></lido:rightsType>",
            "http://rightsstatements.org/vocab/InC/1.0/",
        ),
        # LIDO 1.1 skos:Concept
        (
            '<lido:rightsType><skos:Concept rdf:about="http://rightsstatements.org/vocab/'
            'NoC-OKLR/1.0/"><skos:prefLabel>No Copyright</skos:prefLabel></skos:Concept>'
            "</lido:rightsType>",
            "http://rightsstatements.org/vocab/NoC-OKLR/1.0/",
        ),
        # a link as rdf:resource or xlink:href
        (
            "<lido:rightsType><skos:Concept><skos:exactMatch rdf:resource="
            '"http://creativecommons.org/publicdomain/mark/1.0/"/></skos:Concept>'
            "</lido:rightsType>",
            "http://creativecommons.org/publicdomain/mark/1.0/",
        ),
        (
            '<lido:rightsType><lido:term xlink:href="http://creativecommons.org/licenses/'
            'by-sa/4.0/">Namensnennung - Weitergabe unter gleichen Bedingungen</lido:term>'
            "</lido:rightsType>",
            "http://creativecommons.org/licenses/by-sa/4.0/",
        ),
        # only a written licence name, with its version
        (
            "<lido:rightsType><lido:term>CC BY-SA 4.0</lido:term></lido:rightsType>",
            "http://creativecommons.org/licenses/by-sa/4.0/",
        ),
        (
            "<lido:rightsType><lido:term>Public Domain Mark 1.0</lido:term></lido:rightsType>",
            "http://creativecommons.org/publicdomain/mark/1.0/",
        ),
        (
            "<lido:rightsType><lido:term>CC0 1.0 Universell</lido:term></lido:rightsType>",
            "http://creativecommons.org/publicdomain/zero/1.0/",
        ),
    ],
)
def test_lido_rights_are_read_from_every_place_lido_carries_them(
    rights: str, expected: str
) -> None:
    record = map_lido_record(lido_record(rights=rights))
    assert record["rights"][0] == expected
    assert canonical_rights_uri(record["rights"][0]) is not None


def test_lido_known_rights_statements_come_before_other_uris() -> None:
    rights = (
        '<lido:rightsType><lido:conceptID lido:type="URI">'
        "http://www.deutsche-digitale-bibliothek.de/lizenzen/rv-fz/</lido:conceptID>"
        "</lido:rightsType><lido:rightsType><lido:term>"
        "http://www.europeana.eu/rights/rr-f/</lido:term></lido:rightsType>"
    )
    assert map_lido_record(lido_record(rights=rights))["rights"] == [
        "http://www.europeana.eu/rights/rr-f/",
        "http://www.deutsche-digitale-bibliothek.de/lizenzen/rv-fz/",
    ]


def test_lido_rights_kind_without_a_statement_stays_absent() -> None:
    rights = "<lido:rightsType><lido:term>Verwertungsrecht</lido:term></lido:rightsType>"
    assert "rights" not in map_lido_record(lido_record(rights=rights))


@pytest.mark.parametrize(
    ("name", "uri"),
    [
        ("CC BY-NC-SA 4.0 International", "http://creativecommons.org/licenses/by-nc-sa/4.0/"),
        ("Creative Commons BY 3.0 DE", "http://creativecommons.org/licenses/by/3.0/"),
        ("CC-BY-ND 2.0", "http://creativecommons.org/licenses/by-nd/2.0/"),
        ("CC0 1.0 Public Domain Dedication", "http://creativecommons.org/publicdomain/zero/1.0/"),
        ("CC BY-NC-SA", None),  # no version: no one statement
        ("Verwertungsrecht", None),
        ("Urheberrechtsschutz (In Copyright)", None),
    ],
)
def test_licence_names_with_a_version_become_their_uri(name: str, uri: str | None) -> None:
    assert rights_uri_from_licence_name(name) == uri


def test_corpus_rights_keep_known_statements_first(corpus_dir: Path) -> None:
    (benrath,) = parse((corpus_dir / "lido/valid/dkult-Benrath.xml").read_bytes()).iter(LIDO)
    rights = map_lido_record(benrath)["rights"]
    assert rights[0] == "http://www.europeana.eu/rights/rr-r/"
    assert canonical_rights_uri(rights[0]) == "http://rightsstatements.org/vocab/InC/1.0/"


# --- Getty vocabulary URIs -----------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://vocab.getty.edu/tgn/1000080",  # Italy: TGN ids also start with 1
        "http://vocab.getty.edu/tgn/7011179",  # Siena
        "https://vocab.getty.edu/page/tgn/1000080",
        "http://vocab.getty.edu/tgn/7011179-place",
        "http://vocab.getty.edu/ulan/500115493-agent",
        "http://vocab.getty.edu/aat/300033618.json",
        "http://vocab.getty.edu/aat/300033618.rdf",
        "http://vocab.getty.edu/page/aat/300033618.html",
        "https://vocab.getty.edu/aat/300033618/",
    ],
)
def test_getty_uris_in_their_published_forms_pass(uri: str) -> None:
    classification = (
        f'<lido:classification><lido:conceptID lido:type="URI">{uri}</lido:conceptID>'
        "<lido:term>Gemälde</lido:term></lido:classification>"
    )
    rights = (
        '<lido:rightsType><lido:conceptID lido:type="URI">'
        "http://creativecommons.org/publicdomain/mark/1.0/</lido:conceptID></lido:rightsType>"
    )
    problems = lido_record_problems(lido_record(classifications=classification, rights=rights))
    assert problems == []


@pytest.mark.parametrize(
    ("uri", "vocabulary"),
    [
        ("http://vocab.getty.edu/tgn/2000080", "TGN"),
        ("http://vocab.getty.edu/tgn/700117", "TGN"),
        ("http://vocab.getty.edu/aat/30003361", "AAT"),
        ("http://vocab.getty.edu/aat/400033618", "AAT"),
        ("http://vocab.getty.edu/ulan/300115493-agent", "ULAN"),
        ("http://vocab.getty.edu/aat/painting", "AAT"),
    ],
)
def test_getty_uris_outside_the_id_spaces_are_named(uri: str, vocabulary: str) -> None:
    classification = (
        f'<lido:classification><lido:conceptID lido:type="URI">{uri}</lido:conceptID>'
        "<lido:term>Gemälde</lido:term></lido:classification>"
    )
    rights = "<lido:rightsType><lido:term>CC0 1.0</lido:term></lido:rightsType>"
    problems = lido_record_problems(lido_record(classifications=classification, rights=rights))
    assert len(problems) == 1, problems
    assert f"is not a Getty {vocabulary} URI" in problems[0]


# --- EDM type of LIDO records --------------------------------------------------------


def _work_type(term: str, concept_id: str = "") -> str:
    concept = f'<lido:conceptID lido:type="URI">{concept_id}</lido:conceptID>' if concept_id else ""
    return f"<lido:objectWorkType>{concept}<lido:term>{term}</lido:term></lido:objectWorkType>"


@pytest.mark.parametrize(
    ("work_types", "expected"),
    [
        (_work_type("Gemälde"), "IMAGE"),
        (_work_type("Ölgemälde"), "IMAGE"),
        (_work_type("painting"), "IMAGE"),
        (_work_type("Druckgrafik (Visuelles Werk)"), "IMAGE"),
        (_work_type("Fotografie"), "IMAGE"),
        (_work_type("Plakat"), "IMAGE"),
        (_work_type("Landkarte"), "IMAGE"),
        (_work_type("dessin"), "IMAGE"),
        (_work_type("Brief"), "TEXT"),
        (_work_type("Handschrift"), "TEXT"),
        (_work_type("manuscript"), "TEXT"),
        (_work_type("Zeitschrift"), "TEXT"),
        (_work_type("Tonaufnahme"), "SOUND"),
        (_work_type("Tonbandaufzeichnung"), "SOUND"),
        (_work_type("Videoaufzeichnung"), "VIDEO"),  # not "Zeichnung" (a drawing)
        (_work_type("kolorierte Federzeichnung"), "IMAGE"),
        (_work_type("panel painting"), "IMAGE"),
        (_work_type("sound recording"), "SOUND"),
        (_work_type("Film"), "VIDEO"),
        (_work_type("video recording"), "VIDEO"),
        (_work_type("3D-Modell"), "3D"),
        # the concept id decides where the term is in a language the table lacks
        (_work_type("Könyv", "http://vocab.getty.edu/aat/300028051"), "TEXT"),
        (_work_type("obraz", "https://vocab.getty.edu/page/aat/300033618"), "IMAGE"),
    ],
)
def test_lido_type_comes_from_the_object_work_type(work_types: str, expected: str) -> None:
    assert map_lido_record(lido_record(work_types=work_types))["type"] == expected


def test_lido_type_comes_from_other_classifications_and_europeana_type_wins() -> None:
    plain = "<lido:classification><lido:term>Kaffeekanne</lido:term></lido:classification>"
    book = "<lido:classification><lido:term>Buch</lido:term></lido:classification>"
    explicit = (
        '<lido:classification lido:type="europeana:type"><lido:term>SOUND</lido:term>'
        "</lido:classification>"
    )
    assert map_lido_record(lido_record(classifications=plain + book))["type"] == "TEXT"
    record = map_lido_record(
        lido_record(work_types=_work_type("Gemälde"), classifications=book + explicit)
    )
    assert record["type"] == "SOUND"


def _with_resource(record: etree._Element, link: str, resource_type: str = "") -> etree._Element:
    """The record with its digital resource's link (and resourceType term) replaced."""
    (link_element,) = record.iter(f"{{{LIDO_NS}}}linkResource")
    link_element.text = link
    if resource_type:
        resource_set = next(record.iter(f"{{{LIDO_NS}}}resourceSet"))
        kind = etree.SubElement(resource_set, f"{{{LIDO_NS}}}resourceType")
        etree.SubElement(kind, f"{{{LIDO_NS}}}term").text = resource_type
    return record


def test_lido_type_stays_absent_for_objects_the_table_does_not_know() -> None:
    work_types = _work_type("Kaffeekanne") + _work_type("Skulptur")
    record = _with_resource(lido_record(work_types=work_types), "https://images.example.org/1")
    assert "type" not in map_lido_record(record)


@pytest.mark.parametrize(
    ("link", "resource_type", "expected"),
    [
        ("https://images.example.org/DE-MUS-038411/210566.jpg", "", "IMAGE"),
        ("https://images.example.org/view?id=210566", "Digitales Bild", "IMAGE"),
        ("https://img.example/v?id=1", "digital image (digitized from analog source)", "IMAGE"),
        ("https://images.example.org/v?id=1", "http://vocab.getty.edu/aat/300215302", "IMAGE"),
        ("https://repository.example.org/bitstream/4711/Inventar.pdf", "", "TEXT"),
        ("https://media.example.org/interview.mp3?download=1", "", "SOUND"),
        ("https://media.example.org/film", "Video", "VIDEO"),
        ("https://media.example.org/scan.glb", "", "3D"),
    ],
)  # fmt: skip
def test_an_object_the_table_does_not_know_gets_the_type_of_its_digital_resource(
    link: str, resource_type: str, expected: str
) -> None:
    # A coffee pot photographed is an image in EDM: edm:type is the digital object's type.
    record = lido_record(work_types=_work_type("Kaffeekanne"))
    assert map_lido_record(_with_resource(record, link, resource_type))["type"] == expected


def test_what_the_object_is_wins_over_its_digital_resource() -> None:
    # A book scanned page by page is TEXT, though every resource is an image.
    record = _with_resource(lido_record(work_types=_work_type("Buch")), "https://x.example/1.tif")
    assert map_lido_record(record)["type"] == "TEXT"


def test_the_type_table_holds_only_europeana_types() -> None:
    assert set(metadata_mapping.EUROPEANA_TYPE_BY_CLASSIFICATION.values()) == {
        "IMAGE",
        "TEXT",
        "SOUND",
        "VIDEO",
        "3D",
    }


def test_corpus_lido_records_get_types_from_their_work_types(corpus_dir: Path) -> None:
    def record_of(name: str) -> dict:
        (element,) = parse((corpus_dir / "lido/valid" / name).read_bytes()).iter(LIDO)
        return map_lido_record(element)

    assert record_of("KHB.xml")["type"] == "IMAGE"  # Gemälde, aat/300033618
    assert record_of("Wannseekonferenz.xml")["type"] == "IMAGE"  # Fotografie
    assert record_of("graphics_example_record.xml")["type"] == "IMAGE"  # Holzschnitt
    assert record_of("dkult-Benrath.xml")["type"] == "IMAGE"  # Kaffeekanne; resourceType image


# --- EDM as Europeana publishes it ---------------------------------------------------

# Shaped like a record of Europeana's Record API (.rdf) and OAI-PMH "edm" prefix: the CHO
# is empty, the provider's proxy holds the description, the Europeana proxy enrichments.
EUROPEANA_EDM = b"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"
    xmlns:edm="http://www.europeana.eu/schemas/edm/" xmlns:ore="http://www.openarchives.org/ore/terms/"
    xmlns:skos="http://www.w3.org/2004/02/skos/core#" xmlns:foaf="http://xmlns.com/foaf/0.1/">
  <edm:ProvidedCHO rdf:about="http://data.europeana.eu/item/92062/BibliographicResource_1000126015451"/>
  <edm:Agent rdf:about="http://data.europeana.eu/agent/base/60305">
    <skos:prefLabel xml:lang="en">Rembrandt</skos:prefLabel>
  </edm:Agent>
  <edm:TimeSpan rdf:about="http://data.europeana.eu/timespan/17">
    <skos:prefLabel xml:lang="en">17th century</skos:prefLabel>
  </edm:TimeSpan>
  <ore:Aggregation rdf:about="http://data.europeana.eu/aggregation/provider/92062/BibliographicResource_1000126015451">
    <edm:aggregatedCHO rdf:resource="http://data.europeana.eu/item/92062/BibliographicResource_1000126015451"/>
    <edm:dataProvider>\xc3\x96sterreichische Nationalbibliothek - Austrian National Library
    </edm:dataProvider>
    <edm:isShownBy rdf:resource="http://www.bildarchivaustria.at/Preview/3480072.jpg"/>
    <edm:provider>The European Library</edm:provider>
    <edm:rights rdf:resource="http://creativecommons.org/publicdomain/mark/1.0/"/>
  </ore:Aggregation>
  <edm:EuropeanaAggregation rdf:about="http://data.europeana.eu/aggregation/europeana/92062/BibliographicResource_1000126015451">
    <edm:aggregatedCHO rdf:resource="http://data.europeana.eu/item/92062/BibliographicResource_1000126015451"/>
    <dcterms:modified rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">2023-03-13T09:14:56.123Z</dcterms:modified>
    <edm:country>Austria</edm:country>
    <edm:language>de</edm:language>
  </edm:EuropeanaAggregation>
  <ore:Proxy rdf:about="http://data.europeana.eu/proxy/provider/92062/BibliographicResource_1000126015451">
    <dc:creator>Rembrandt Harmensz. van Rijn</dc:creator>
    <dc:date>1642</dc:date>
    <dc:description xml:lang="de">Radierung auf B\xc3\xbcttenpapier</dc:description>
    <dc:language>ger</dc:language>
    <dc:rights>\xc3\x96NB</dc:rights>
    <dc:subject xml:lang="de">Portr\xc3\xa4t</dc:subject>
    <dc:title xml:lang="de">Selbstbildnis mit Samtbarett</dc:title>
    <dc:title xml:lang="en">Self-portrait in a velvet cap</dc:title>
    <dcterms:created>um 1642</dcterms:created>
    <edm:europeanaProxy>false</edm:europeanaProxy>
    <ore:proxyFor rdf:resource="http://data.europeana.eu/item/92062/BibliographicResource_1000126015451"/>
    <ore:proxyIn rdf:resource="http://data.europeana.eu/aggregation/provider/92062/BibliographicResource_1000126015451"/>
    <edm:type>IMAGE</edm:type>
  </ore:Proxy>
  <ore:Proxy rdf:about="http://data.europeana.eu/proxy/europeana/92062/BibliographicResource_1000126015451">
    <dc:creator rdf:resource="http://data.europeana.eu/agent/base/60305"/>
    <dc:date rdf:resource="http://data.europeana.eu/timespan/17"/>
    <edm:europeanaProxy>true</edm:europeanaProxy>
    <ore:proxyFor rdf:resource="http://data.europeana.eu/item/92062/BibliographicResource_1000126015451"/>
    <ore:proxyIn rdf:resource="http://data.europeana.eu/aggregation/europeana/92062/BibliographicResource_1000126015451"/>
    <ore:lineage rdf:resource="http://data.europeana.eu/proxy/provider/92062/BibliographicResource_1000126015451"/>
  </ore:Proxy>
</rdf:RDF>"""


def test_europeana_edm_maps_from_the_provider_proxy_then_the_europeana_proxy() -> None:
    assert map_record("edm", parse(EUROPEANA_EDM)) == {
        "id": "http://data.europeana.eu/item/92062/BibliographicResource_1000126015451",
        "type": "IMAGE",
        "title": ["Selbstbildnis mit Samtbarett", "Self-portrait in a velvet cap"],
        "dcTitleLangAware": {
            "de": ["Selbstbildnis mit Samtbarett"],
            "en": ["Self-portrait in a velvet cap"],
        },
        "dcCreator": ["Rembrandt Harmensz. van Rijn", "Rembrandt"],
        "dcDescription": ["Radierung auf Büttenpapier"],
        "dcDate": ["1642", "um 1642", "17th century"],
        "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
        "edmIsShownBy": ["http://www.bildarchivaustria.at/Preview/3480072.jpg"],
        "dataProvider": ["Österreichische Nationalbibliothek - Austrian National Library"],
        "provider": ["The European Library"],
        "country": ["Austria"],
        "language": ["de"],
        "timestamp_update": "2023-03-13T09:14:56.123Z",
    }


def test_edm_proxy_of_another_cho_is_not_mixed_in() -> None:
    rdf = parse(
        b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:edm="http://www.europeana.eu/schemas/edm/"
        xmlns:ore="http://www.openarchives.org/ore/terms/">
        <edm:ProvidedCHO rdf:about="urn:x:1"/>
        <ore:Proxy rdf:about="urn:p:2"><dc:title>Other</dc:title>
          <ore:proxyFor rdf:resource="urn:x:2"/></ore:Proxy>
        <ore:Proxy rdf:about="urn:p:1"><dc:title>Mine</dc:title><dc:language>fre</dc:language>
          <ore:proxyFor rdf:resource="urn:x:1"/></ore:Proxy>
        </rdf:RDF>"""
    )
    assert map_record("edm", rdf) == {
        "id": "urn:x:1",
        "title": ["Mine"],
        "dcTitleLangAware": {"def": ["Mine"]},
        "language": ["fr"],
    }


# --- ISO 19115-2 ---------------------------------------------------------------------

ISO_19115_2 = b"""<gmi:MI_Metadata xmlns:gmi="http://www.isotc211.org/2005/gmi"
    xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco">
  <gmd:fileIdentifier><gco:CharacterString>gov.noaa.ncei:C00945</gco:CharacterString></gmd:fileIdentifier>
  <gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/php/code_list.php"
    codeListValue="eng">eng</gmd:LanguageCode></gmd:language>
  <gmd:hierarchyLevel><gmd:MD_ScopeCode codeList="http://www.isotc211.org/2005/resources/Codelist/gmxCodelists.xml#MD_ScopeCode"
    codeListValue="dataset">dataset</gmd:MD_ScopeCode></gmd:hierarchyLevel>
  <gmd:dateStamp><gco:DateTime>2024-02-01T00:00:00</gco:DateTime></gmd:dateStamp>
  <gmd:identificationInfo><gmd:MD_DataIdentification>
    <gmd:citation><gmd:CI_Citation>
      <gmd:title>
        <gco:CharacterString>Sea Surface Temperature, Daily</gco:CharacterString>
      </gmd:title>
    </gmd:CI_Citation></gmd:citation>
    <gmd:abstract>
      <gco:CharacterString>Daily optimum interpolation SST.</gco:CharacterString>
    </gmd:abstract>
  </gmd:MD_DataIdentification></gmd:identificationInfo>
  <gmi:acquisitionInformation><gmi:MI_AcquisitionInformation/></gmi:acquisitionInformation>
</gmi:MI_Metadata>"""

ISO_19115_2_EXPECTED = {
    "id": "gov.noaa.ncei:C00945",
    "type": "dataset",
    "title": ["Sea Surface Temperature, Daily"],
    "dcTitleLangAware": {"en": ["Sea Surface Temperature, Daily"]},
    "dcDescription": ["Daily optimum interpolation SST."],
    "language": ["en"],
    "timestamp_update": "2024-02-01T00:00:00",
}


def test_iso_19115_2_maps_as_iso_19139_does() -> None:
    assert map_record("iso19139", parse(ISO_19115_2)) == ISO_19115_2_EXPECTED


def test_iso_19115_2_inside_a_csw_response_maps() -> None:
    wrapped = (
        b'<csw:GetRecordByIdResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2">'
        + ISO_19115_2
        + b"</csw:GetRecordByIdResponse>"
    )
    assert map_record("iso19139", parse(wrapped)) == ISO_19115_2_EXPECTED


def test_mapping_errors_are_source_rejections() -> None:
    assert issubclass(MappingError, SourceRejection)
    with pytest.raises(SourceRejection, match=r"gmd:MD_Metadata or gmi:MI_Metadata"):
        map_record("iso19139", parse(b"<GetRecordsResponse/>"))


# --- thousands of values, references and attributes in one record --------------------


def _edm_with_references(count: int) -> etree._Element:
    creators = "".join(
        f'<dc:creator rdf:resource="http://data.example.org/agent/{i}"/>' for i in range(count)
    )
    agents = "".join(
        f'<edm:Agent rdf:about="http://data.example.org/agent/{i}">'
        f"<skos:prefLabel>Agent {i}</skos:prefLabel></edm:Agent>"
        for i in range(count)
    )
    return parse(
        f"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:edm="http://www.europeana.eu/schemas/edm/"
        xmlns:skos="http://www.w3.org/2004/02/skos/core#">
        <edm:ProvidedCHO rdf:about="urn:x:1"><dc:title>Album</dc:title>{creators}
        </edm:ProvidedCHO>{agents}</rdf:RDF>""".encode()
    )


def test_edm_with_many_resolved_references_maps_every_one() -> None:
    rdf = _edm_with_references(2_000)
    assert map_record("edm", rdf)["dcCreator"] == [f"Agent {i}" for i in range(2_000)]


def test_many_titles_in_one_language_all_map() -> None:
    titles = "".join(
        f"<lido:titleSet><lido:appellationValue>Blatt {i}</lido:appellationValue></lido:titleSet>"
        for i in range(4_000)
    )
    element = parse(
        f"""<lido:lido xmlns:lido="http://www.lido-schema.org"><lido:lidoRecID>x</lido:lidoRecID>
        <lido:descriptiveMetadata xml:lang="de"><lido:objectIdentificationWrap>
        <lido:titleWrap>{titles}</lido:titleWrap></lido:objectIdentificationWrap>
        </lido:descriptiveMetadata></lido:lido>""".encode()
    )
    titles_in_german = map_lido_record(element)["dcTitleLangAware"]["de"]
    assert titles_in_german == [f"Blatt {i}" for i in range(4_000)]


def test_a_once_only_element_repeated_in_the_record_is_named_once() -> None:
    element = lido_record(
        rights="<lido:rightsType><lido:term>CC0 1.0</lido:term></lido:rightsType>",
    )
    element.insert(1, etree.fromstring('<category xmlns="http://www.lido-schema.org"/>'))
    element.insert(1, etree.fromstring('<category xmlns="http://www.lido-schema.org"/>'))
    (problem,) = lido_record_problems(element)
    assert problem.startswith("category appears 2 times in lido (line 4)")


def test_content_rules_on_an_element_with_many_attributes_find_the_one_unknown_term() -> None:
    attributes = " ".join(
        f'x:a{i}="http://terminology.lido-schema.org/lido{i:05d}"' for i in range(4_000)
    )
    attributes += ' x:invented="http://terminology.lido-schema.org/lido123456"'
    element = parse(
        f"""<lido:lido xmlns:lido="http://www.lido-schema.org" xmlns:x="urn:example:x">
        <lido:lidoRecID>x-1</lido:lidoRecID><lido:descriptiveMetadata xml:lang="de">
        <lido:objectIdentificationWrap><lido:titleWrap><lido:titleSet>
        <lido:appellationValue {attributes}>Blatt</lido:appellationValue>
        </lido:titleSet></lido:titleWrap></lido:objectIdentificationWrap>
        </lido:descriptiveMetadata></lido:lido>""".encode()
    )
    terminology = [p for p in lido_record_problems(element) if "terminology" in p]
    assert len(terminology) == 1
    assert terminology[0].startswith(
        "'http://terminology.lido-schema.org/lido123456' (@invented of appellationValue"
    )
