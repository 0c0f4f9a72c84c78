"""Source text at the edges: work-type terms of any length and shape, and serialised OAI
records that cannot be read again where they are mapped."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from heritage.producers.metadata_mapping import europeana_type_of_term, map_record
from heritage.producers.oai_pmh_mapping_pool import (
    InlineMapper,
    ProcessMapper,
    map_record_xml_batch,
)
from heritage.producers.oai_pmh_protocol import (
    OaiRecord,
    RecordsPage,
    UnreadableRecordXml,
    parse_record_xml,
    parse_response,
)
from heritage.source_rejections import SourceRejection

LIDO = "http://www.lido-schema.org"


def _lido_with_work_type(term: str) -> etree._Element:
    term_element = etree.Element(f"{{{LIDO}}}term")
    term_element.text = term
    document = etree.fromstring(
        f'<lido:lido xmlns:lido="{LIDO}"><lido:lidoRecID lido:type="local">R1</lido:lidoRecID>'
        '<lido:descriptiveMetadata xml:lang="de"><lido:objectClassificationWrap>'
        "<lido:objectWorkTypeWrap><lido:objectWorkType/></lido:objectWorkTypeWrap>"
        "</lido:objectClassificationWrap><lido:objectIdentificationWrap><lido:titleWrap>"
        "<lido:titleSet><lido:appellationValue>Stillleben</lido:appellationValue>"
        "</lido:titleSet></lido:titleWrap></lido:objectIdentificationWrap>"
        "</lido:descriptiveMetadata></lido:lido>"
    )
    document.find(f".//{{{LIDO}}}objectWorkType").append(term_element)
    return document


# -- work-type terms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Druckgrafik (Visuelles Werk)", "IMAGE"),
        ("Gemälde  (Öl auf Leinwand)  \n", "IMAGE"),
        # from the first "(" after the last but one ")": the whole "(Öl (auf Leinwand)"
        ("Gemälde (Öl (auf Leinwand)", "IMAGE"),
        # only the last qualifier goes; "gemälde (öl)" is no known term
        ("Gemälde (Öl) (Leinwand)", None),
        ("(Gemälde)", None),
        ("Foto)", None),
        ("3D-Modell", "3D"),
        ("Gemälde" + " " * 50_000 + "(Öl auf Leinwand)", "IMAGE"),
        ("Gemälde" + " " * 50_000 + "x", None),
        ("Gemälde " + "(" * 50_000, None),
        ("Gemälde" + " (" * 25_000 + ")", "IMAGE"),
        ("\u00a0" * 50_000, None),
    ],
    ids=lambda value: repr(value[:40]) if isinstance(value, str) else repr(value),
)
def test_work_type_terms_with_a_qualifier_or_long_runs_are_classified(
    term: str, expected: str | None
) -> None:
    assert europeana_type_of_term(term) == expected


def test_a_lido_record_with_a_work_type_of_many_blanks_maps() -> None:
    term = "Gemälde" + " " * 80_000 + "(" * 80_000 + "x"
    mapped = map_record("lido", _lido_with_work_type(term))
    assert mapped["title"] == ["Stillleben"]
    assert "type" not in mapped


def test_a_lido_work_type_with_a_long_qualifier_still_gives_the_type() -> None:
    mapped = map_record("lido", _lido_with_work_type("Gemälde" + " " * 80_000 + "(Öl)"))
    assert mapped["type"] == "IMAGE"


# -- serialised records that cannot be read again -----------------------------------------

_UNREADABLE = ["", "\x00", " ", "\n\n", "abc", "<!-- only a comment -->", "<", "\ud800"]


@pytest.mark.parametrize("text", _UNREADABLE, ids=repr)
def test_record_xml_that_yields_no_element_is_a_record_rejection(text: str) -> None:
    with pytest.raises(UnreadableRecordXml) as raised:
        parse_record_xml(text)
    assert isinstance(raised.value, SourceRejection)
    message = str(raised.value)
    assert message.startswith("record XML cannot be read: ")
    assert "page is dead-lettered" not in message
    assert "request retried" not in message


def test_an_empty_record_names_libxml2s_reason() -> None:
    with pytest.raises(UnreadableRecordXml, match="Document is empty"):
        parse_record_xml("")


def _page_records() -> list[OaiRecord]:
    page = parse_response(
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        b"<responseDate>2024-05-01T10:00:00Z</responseDate>"
        b'<request verb="ListRecords" metadataPrefix="oai_dc">https://repo.example.org/oai'
        b"</request><ListRecords>"
        + b"".join(
            b"<record><header><identifier>oai:repo.example.org:%d</identifier>"
            b"<datestamp>2024-01-02</datestamp></header><metadata>"
            b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Title %d</dc:title>'
            b"<dc:identifier>%d</dc:identifier></oai_dc:dc></metadata></record>" % (i, i, i)
            for i in range(3)
        )
        + b"</ListRecords></OAI-PMH>"
    )
    assert isinstance(page, RecordsPage)
    return list(page.records)


def test_one_unreadable_record_leaves_the_rest_of_the_batch_mapped() -> None:
    first, _, third = _page_records()
    outcomes = map_record_xml_batch("oai_dc", [first.xml, "", "\x00", third.xml, "\ud800"])
    assert [mapped is None for mapped, _ in outcomes] == [False, True, True, False, True]
    assert outcomes[0] == InlineMapper().map_records("oai_dc", [first])[0]
    assert outcomes[3] == InlineMapper().map_records("oai_dc", [third])[0]
    for _, reason in (outcomes[1], outcomes[2], outcomes[4]):
        assert reason is not None
        assert reason.startswith("record XML cannot be read: ")


def test_worker_process_and_calling_thread_give_the_same_outcomes_for_unreadable_xml() -> None:
    first, second, third = _page_records()
    records = [
        first,
        replace(second, xml=""),
        replace(second, xml="\x00"),
        third,
        replace(third, xml="  "),
    ]
    in_thread = map_record_xml_batch("oai_dc", [record.xml for record in records])
    mapper = ProcessMapper(1)
    try:
        in_worker = mapper.map_records("oai_dc", records)
    finally:
        mapper.close()
    assert in_worker == in_thread
    assert [mapped is None for mapped, _ in in_worker] == [False, True, True, False, True]
    assert in_worker[1][1] is not None
    assert "Document is empty" in in_worker[1][1]
