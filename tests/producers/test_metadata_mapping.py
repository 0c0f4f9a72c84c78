"""Metadata formats onto the common record model, on the real corpus files and inline EDM."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from heritage.producers.embargo_inputs import CREATOR_DEATH_YEAR, EMBARGO_FIELDS
from heritage.producers.metadata_mapping import (
    SUPPORTED_PREFIXES,
    MappingError,
    europeana_type_from_dcmi,
    iso639_language,
    lido_record_problems,
    map_lido_record,
    map_record,
)
from heritage.record_model import COMMON_RECORD_FIELDS

LIDO = "{http://www.lido-schema.org}lido"
OAI_METADATA = "{http://www.openarchives.org/OAI/2.0/}metadata"


def parse(source: Path | bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    if isinstance(source, bytes):
        return etree.fromstring(source, parser)
    return etree.parse(str(source), parser).getroot()


def lido_records(path: Path) -> list[etree._Element]:
    return list(parse(path).iter(LIDO))


def assert_common_shape(record: dict) -> None:
    assert set(record) <= set(COMMON_RECORD_FIELDS), set(record) - set(COMMON_RECORD_FIELDS)
    for name, value in record.items():
        if name in ("id", "type", "timestamp_update", *EMBARGO_FIELDS):
            assert isinstance(value, str) and value == value.strip() and value
        elif name == CREATOR_DEATH_YEAR:
            assert isinstance(value, int) and not isinstance(value, bool)
        elif name == "dcTitleLangAware":
            assert all(isinstance(v, list) and v for v in value.values())
        else:
            assert isinstance(value, list) and value, name
            assert all(isinstance(v, str) and v == v.strip() and v for v in value), name


# --- languages and types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("de", "de"),
        ("EN", "en"),
        ("ger", "de"),
        ("deu", "de"),
        ("dut", "nl"),
        ("eng; CAN", "en"),
        ("de-DE", "de"),
        (" fr ", "fr"),
        ("mul", "mul"),
        ("gsw", "gsw"),
        ("deutsch", "deutsch"),
        ("Dutch (Netherlands)", "Dutch (Netherlands)"),
    ],
)
def test_languages_become_iso_639_codes_or_stay_as_written(written: str, code: str) -> None:
    assert iso639_language(written) == code


def test_dcmi_types_become_europeana_types_else_stay_as_written() -> None:
    assert europeana_type_from_dcmi(["info:eu-repo/semantics/article", "text"]) == "TEXT"
    assert europeana_type_from_dcmi(["http://purl.org/dc/dcmitype/StillImage"]) == "IMAGE"
    assert europeana_type_from_dcmi(["Moving Image"]) == "VIDEO"
    assert europeana_type_from_dcmi(["Physical object"]) == "Physical object"
    assert europeana_type_from_dcmi([]) is None


def test_unsupported_prefix_and_wrong_element_are_named() -> None:
    dc = parse(b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"/>')
    with pytest.raises(MappingError, match=r"'marcxml' has no mapping.*oai_dc, lido, edm"):
        map_record("marcxml", dc)
    with pytest.raises(MappingError, match=r"metadataPrefix 'lido' expects .*lido.*oai_dc"):
        map_record("lido", dc)
    assert SUPPORTED_PREFIXES == ("oai_dc", "lido", "edm", "iso19139")


# --- oai_dc --------------------------------------------------------------------------


def test_oai_dc_record_maps_as_written(corpus_dir: Path) -> None:
    root = parse(corpus_dir / "oaipmh/sickle/GetRecord.xml")
    record = map_record("oai_dc", next(root.iter(OAI_METADATA))[0])
    assert record == {
        "id": "http://test.example.com/publication/1996652",
        "type": "TEXT",
        "title": ["Sample Title"],
        "dcTitleLangAware": {"def": ["Sample Title"]},
        "dcCreator": ["John Doe"],
        "dcDate": ["2011"],
        "language": ["en"],
    }


def test_every_oai_dc_record_of_the_sickle_samples_maps(corpus_dir: Path) -> None:
    mapped = []
    for path in sorted((corpus_dir / "oaipmh/sickle").glob("*.xml")):
        if path.name == "ListRecordsBroken.xml":
            continue  # 10 bytes that are not XML: the harvester's concern, not the mapping's
        for metadata in parse(path).iter(OAI_METADATA):
            record = map_record("oai_dc", metadata[0])
            assert_common_shape(record)
            mapped.append((path.name, record))
    assert len(mapped) == 6  # two GetRecord samples and one record per ListRecords page
    utf8 = dict(mapped)["GetRecord_utf8test.xml"]
    assert utf8["dcCreator"] == ["某人"]
    page = dict(mapped)["ListRecords.xml"]
    assert page["dcDescription"][0].startswith("Lorem ipsum dolor sit amet")
    assert page["dcDescription"][0].endswith("id est laborum.")


# --- LIDO ----------------------------------------------------------------------------


def test_every_valid_lido_file_maps_to_records(corpus_dir: Path) -> None:
    files = sorted((corpus_dir / "lido/valid").glob("*.xml"))
    assert len(files) == 17
    count = 0
    for path in files:
        for element in lido_records(path):
            record = map_record("lido", element)
            assert_common_shape(record)
            assert record["id"] and record["title"], path.name
            assert record["dataProvider"], path.name
            count += 1
    assert count == 21  # Fontana del Moro (LIDO 1.0 and 1.1) wraps three records each


def test_lido_mapping_of_the_graphics_example(corpus_dir: Path) -> None:
    (element,) = lido_records(corpus_dir / "lido/valid/graphics_example_record.xml")
    assert map_lido_record(element) == {
        "id": "DE-MUS-079214/lido/05091715,T,001",
        "type": "IMAGE",  # objectWorkType woodcut (Holzschnitt, aat/300041405)
        "title": ["Die Jungfrau erscheint Johannes", "Die Apokalypse"],
        "dcTitleLangAware": {"de": ["Die Jungfrau erscheint Johannes", "Die Apokalypse"]},
        "dcCreator": ["Dürer, Albrecht"],
        "dcDescription": map_lido_record(element)["dcDescription"],
        # designing (1498) and production of the printing block (1511); not publication
        "dcDate": ["1498", "1511"],
        "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
        # the provided image (lido00464) before the preview (lido00451)
        "edmIsShownBy": [
            "http://www.bildindex.de/bilder/d/mi11813c13",
            "http://www.bildindex.de/bilder/m/mi11813c13",
        ],
        "dataProvider": ["Wallraf-Richartz-Museum - Fondation Corboud (Köln)"],
        "provider": ["Wallraf-Richartz-Museum - Fondation Corboud"],
        "language": ["de"],
        # Dürer's vitalDatesActor latestDate 1528-04-06
        "creator_death_year": 1528,
    }
    assert len(map_lido_record(element)["dcDescription"]) == 2


def test_lido_mapping_keeps_aggregator_as_provider_and_master_images_first(
    corpus_dir: Path,
) -> None:
    (museum_digital,) = lido_records(
        corpus_dir / "lido/valid/museum-digital_Terra_Sigillata_Museum.xml"
    )
    record = map_lido_record(museum_digital)
    assert record["dataProvider"] == ["Terra Sigillata Museum"]
    assert record["provider"] == ["museum-digital"]
    assert record["dcDate"] == ["1953", "1953年", "1953년"]  # each written form once
    assert record["edmIsShownBy"][0].startswith("https://rlp.museum-digital.de/")
    assert "_DSC3552_kleib.jpg" in record["edmIsShownBy"]  # a file name is kept, not dropped
    assert record["timestamp_update"] == "2022-09-05 16:04:06"

    (coin,) = lido_records(corpus_dir / "lido/valid/Münzkabinett.xml")
    images = map_lido_record(coin)["edmIsShownBy"]
    assert images[:2] == [
        "https://ikmk.smb.museum/image/18314033/vs_org.jpg",
        "https://ikmk.smb.museum/image/18314033/rs_org.jpg",
    ]
    assert (
        map_lido_record(coin)["rights"][0] == "https://creativecommons.org/publicdomain/mark/1.0/"
    )


def test_lido_1_1_titles_by_language_and_skos_event_types(corpus_dir: Path) -> None:
    (element,) = lido_records(
        corpus_dir / "lido/valid/LIDO-v1.1-Example_FMobj00154983-LaPrimavera.xml"
    )
    record = map_lido_record(element)
    assert record["title"][0] == "La Primavera"
    assert record["dcTitleLangAware"]["en"] == ["Spring"]
    assert record["dcTitleLangAware"]["it"] == ["La Primavera", "allegoria della primavera"]
    assert record["dcCreator"] == ["Botticelli, Sandro"]  # eventType as skos:Concept
    assert record["dataProvider"] == ["Galleria degli Uffizi"]  # not the former repository


def test_lido_wrap_maps_its_first_record_and_empty_wrap_is_an_error(corpus_dir: Path) -> None:
    wrap = parse(corpus_dir / "lido/valid/LIDO-Example_FMobj20344012-Fontana_del_Moro.xml")
    assert map_record("lido", wrap)["id"] == "DE-Mb112/lido-obj20344012"
    with pytest.raises(MappingError, match="holds no lido:lido record"):
        map_record("lido", parse(b'<lidoWrap xmlns="http://www.lido-schema.org"/>'))


def test_lido_source_without_languages_or_events_leaves_fields_absent() -> None:
    element = parse(
        b"""<lido xmlns="http://www.lido-schema.org"><lidoRecID>x-1</lidoRecID>
        <descriptiveMetadata><objectIdentificationWrap><titleWrap><titleSet>
        <appellationValue>  Jug  </appellationValue></titleSet></titleWrap>
        </objectIdentificationWrap></descriptiveMetadata></lido>"""
    )
    assert map_lido_record(element) == {
        "id": "x-1",
        "title": ["Jug"],
        "dcTitleLangAware": {"def": ["Jug"]},
    }


# --- LIDO content rules --------------------------------------------------------------


def test_every_valid_lido_record_passes_the_content_rules(corpus_dir: Path) -> None:
    for path in sorted((corpus_dir / "lido/valid").glob("*.xml")):
        for element in lido_records(path):
            assert lido_record_problems(element) == [], path.name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "DDB_LIDO_record_1.xml",
            [
                "lidoRecID (line 5) 'DE-MUS-059918/dc00018495äöü?-_' has characters that are "
                "not safe in an identifier ('ä' 'ö' 'ü' '?')",
                "term (line 12) in objectWorkType is empty",
                "recordType appears 2 times in recordWrap (line 189)",
                "linkResource appears 2 times in resourceRepresentation (line 229)",
                "resourceType appears 2 times in resourceSet (line 252)",
                "'http://terminology.lido-schema.org/lido001234' (@type of conceptID (line 10))"
                " is not a LIDO terminology URI",
            ],
        ),
        (
            "DDB_LIDO_record_2.xml",
            [
                "no lidoRecID",
                "no title",
                "xml:lang 'deutsch' on descriptiveMetadata (line 4) is not an ISO 639",
                "term (line 16) holds the placeholder '?'",
            ],
        ),
        (
            "graphics_LIDO_record.xml",
            [
                "titleSet (line 61) has an appellationValue that is empty",
                "term (line 52) in classification is empty",
                "appellationValue (line 91) holds only whitespace",
                "'http://vocab.getty.edu/aat/234872903472304570359093572' (value of conceptID "
                "(line 37)) is not a Getty AAT URI",
                "conceptID (line 41) 'AAT 300041405' is typed as a URI but is not a full URI",
                "'http://terminology.lido-schema.org/lido987654' (@type of conceptID (line 47))",
                "linkResource (line 463) 'http://www.bildindex.de/bilder/m/mi11813dsfsfsfjösfc13'"
                " is not a valid web link",
                "no rights for the metadata",
                "no rights for the digital resources",
                "repositoryName (line 81) names no institution",
            ],
        ),
    ],
)
def test_every_invalid_lido_record_fails_with_its_specific_reasons(
    corpus_dir: Path, name: str, expected: list[str]
) -> None:
    (element,) = lido_records(corpus_dir / "lido/invalid" / name)
    problems = lido_record_problems(element)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), (problem, start)


def test_a_link_with_another_scheme_and_a_placeholder_are_named() -> None:
    element = parse(
        b"""<lido xmlns="http://www.lido-schema.org"><lidoRecID>x-1</lidoRecID>
        <descriptiveMetadata xml:lang="en"><objectIdentificationWrap><titleWrap><titleSet>
        <appellationValue>n/a</appellationValue></titleSet></titleWrap>
        </objectIdentificationWrap></descriptiveMetadata>
        <administrativeMetadata><recordWrap><recordRights><rightsType><term>CC0</term>
        </rightsType></recordRights><recordInfoSet><recordInfoLink>javascript:alert(1)
        </recordInfoLink></recordInfoSet></recordWrap></administrativeMetadata></lido>"""
    )
    problems = lido_record_problems(element)
    assert problems[0].startswith("appellationValue (line 3) holds the placeholder 'n/a'")
    assert problems[1].startswith("recordInfoLink (line 6) 'javascript:alert(1)' uses the scheme")
    assert len(problems) == 2


# --- ISO 19139 -----------------------------------------------------------------------


def test_every_iso19139_file_maps(corpus_dir: Path) -> None:
    files = sorted((corpus_dir / "iso19139").glob("*.xml"))
    assert len(files) == 6
    for path in files:
        record = map_record("iso19139", parse(path.read_bytes()))
        assert_common_shape(record)
        assert record["id"] and record["title"] and record["language"], path.name


def test_iso19139_latin1_free_text_language_and_csw_wrapper(corpus_dir: Path) -> None:
    canada = map_record(
        "iso19139", parse(corpus_dir / "iso19139/9250AA67-F3AC-6C12-0CB9-0662231AA181_iso.xml")
    )
    assert canada["id"] == "3f342f64-9348-11df-ba6a-0014c2c00eab"
    assert canada["title"] == ["ALLSPECIES"]
    assert canada["language"] == ["en"]  # written as free text "eng; CAN"
    assert canada["dataProvider"] == ["Environment Canada"]
    assert canada["country"] == ["CAN"]
    assert canada["timestamp_update"] == "2009-09-03"

    wrapped = parse(corpus_dir / "iso19139/csw_dov_getrecordbyid.xml")
    assert etree.QName(wrapped).localname == "GetRecordByIdResponse"
    flemish = map_record("iso19139", wrapped)
    assert flemish["id"] == "6c39d716-aecc-4fbc-bac8-4f05a49a78d5"
    assert flemish["dcTitleLangAware"] == {"nl": ["Grondwatermeetnetten"]}
    assert flemish["rights"][0].startswith("https://inspire.ec.europa.eu/")  # Anchor link first

    service = map_record("iso19139", parse(corpus_dir / "iso19139/iso19139_srv.xml"))
    assert service["type"] == "service"
    assert service["language"] == ["de"]  # codeListValue "ger", text "Deutsch"
    assert service["edmIsShownBy"] == [
        "https://geoportal.bayern.de/gdiadmin/preview/6d7059fc-32ab-4466-b65a-fc5c18dedace"
    ]


def test_iso19139_without_metadata_is_an_error() -> None:
    with pytest.raises(MappingError, match="expects a gmd:MD_Metadata"):
        map_record("iso19139", parse(b"<GetRecordsResponse/>"))


# --- EDM -----------------------------------------------------------------------------

EDM_RECORD = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"
    xmlns:edm="http://www.europeana.eu/schemas/edm/" xmlns:ore="http://www.openarchives.org/ore/terms/"
    xmlns:skos="http://www.w3.org/2004/02/skos/core#">
  <edm:ProvidedCHO rdf:about="http://data.example.org/item/SK-C-5">
    <dc:title xml:lang="nl">De Nachtwacht</dc:title>
    <dc:title xml:lang="en">The Night Watch</dc:title>
    <dc:creator rdf:resource="http://vocab.getty.edu/ulan/500011051"/>
    <dc:creator>workshop of Rembrandt</dc:creator>
    <dc:description xml:lang="en"> Militia company of District II </dc:description>
    <dcterms:created>1642</dcterms:created>
    <dc:language>dut</dc:language>
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
  <edm:EuropeanaAggregation rdf:about="/aggregation/europeana/90402/SK_C_5">
    <edm:country>Netherlands</edm:country>
    <edm:language>nl</edm:language>
    <dcterms:modified>2024-05-02T10:00:00Z</dcterms:modified>
  </edm:EuropeanaAggregation>
</rdf:RDF>"""


def test_edm_record_maps_with_agents_resolved() -> None:
    assert map_record("edm", parse(EDM_RECORD)) == {
        "id": "http://data.example.org/item/SK-C-5",
        "type": "IMAGE",
        "title": ["De Nachtwacht", "The Night Watch"],
        "dcTitleLangAware": {"nl": ["De Nachtwacht"], "en": ["The Night Watch"]},
        "dcCreator": ["Rembrandt van Rijn", "workshop of Rembrandt"],
        "dcDescription": ["Militia company of District II"],
        "dcDate": ["1642"],
        "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
        "edmIsShownBy": ["https://images.example.org/SK-C-5.jpg"],
        "dataProvider": ["Rijksmuseum"],
        "provider": ["Digitale Collectie"],
        "country": ["Netherlands"],
        "language": ["nl"],
        "timestamp_update": "2024-05-02T10:00:00Z",
    }


def test_edm_without_aggregation_keeps_the_cho_and_an_unresolved_reference() -> None:
    rdf = parse(
        b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:edm="http://www.europeana.eu/schemas/edm/">
        <edm:ProvidedCHO rdf:about="urn:x:1"><dc:title>Map</dc:title>
        <dc:creator rdf:resource="http://viaf.org/viaf/1"/><dc:language>fre</dc:language>
        </edm:ProvidedCHO></rdf:RDF>"""
    )
    assert map_record("edm", rdf) == {
        "id": "urn:x:1",
        "title": ["Map"],
        "dcTitleLangAware": {"def": ["Map"]},
        "dcCreator": ["http://viaf.org/viaf/1"],
        "language": ["fr"],
    }


def test_edm_without_provided_cho_is_an_error() -> None:
    rdf = parse(b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>')
    with pytest.raises(MappingError, match="no edm:ProvidedCHO"):
        map_record("edm", rdf)
