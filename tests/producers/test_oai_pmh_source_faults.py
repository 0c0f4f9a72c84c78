"""What real repositories send that must not fail a list: bytes before the XML declaration,
datestamps that are not dates, UTF-16 surrogates written as character references, HTML
entities, and elements with tens of thousands of attributes."""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from http_server import Reply, Request, serve
from producer_layouts import producer_layout

from heritage.kafka_topics import ensure_topics
from heritage.producers.oai_pmh_harvest_state import load_list_state
from heritage.producers.oai_pmh_harvester import (
    ListResult,
    OaiEndpointConfig,
    harvest,
    harvest_window,
)
from heritage.producers.oai_pmh_mapping_pool import InlineMapper, ProcessMapper
from heritage.producers.oai_pmh_protocol import (
    Granularity,
    IdentifiersPage,
    Identify,
    OaiErrorResponse,
    OaiMalformedResponse,
    OaiProtocolError,
    RecordsPage,
    datestamp_as_utc_iso,
    later_datestamp,
    parse_datestamp,
    parse_response,
    shift_datestamp,
)
from heritage.settings import Settings
from heritage.source_rejections import SourceRejection

_DC = (
    '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/">'
)


def _response(body: str, verb: str = "ListRecords", encoding: str = "UTF-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        "  <responseDate>2024-05-01T10:00:00Z</responseDate>\n"
        f'  <request verb="{verb}" metadataPrefix="oai_dc">https://repo.example.org/oai</request>\n'
        f"  {body}\n</OAI-PMH>\n"
    )


def _record(identifier: str, datestamp: str, title: str, deleted: bool = False) -> str:
    status = ' status="deleted"' if deleted else ""
    metadata = (
        ""
        if deleted
        else f"<metadata>{_DC}<dc:title>{title}</dc:title>"
        f"<dc:identifier>{identifier}</dc:identifier></oai_dc:dc></metadata>"
    )
    return (
        f"<record><header{status}><identifier>{identifier}</identifier>"
        f"<datestamp>{datestamp}</datestamp><setSpec>paintings</setSpec></header>"
        f"{metadata}</record>"
    )


def _list_records(records: list[str], token: str = "") -> str:
    resumption = (
        f'<resumptionToken completeListSize="9" cursor="0">{token}</resumptionToken>'
        if token
        else ""
    )
    return f"<ListRecords>{''.join(records)}{resumption}</ListRecords>"


_NO_RECORDS = _response(
    '<error code="noRecordsMatch">No records match the request arguments.</error>'
)
_BAD_TOKEN = _response('<error code="badResumptionToken">The token has expired.</error>')
_PAGE = _response(
    _list_records([_record("oai:repo.example.org:1", "2024-01-02", "Stillleben")], "t-2")
)


# -- bytes before the XML declaration ------------------------------------------------------

_PREFIXES: dict[str, Callable[[str], bytes]] = {
    "blank lines (a PHP include)": lambda xml: b"\n\n" + xml.encode(),
    "CRLF and indentation": lambda xml: b"\r\n   \t" + xml.encode(),
    "UTF-8 BOM then a newline": lambda xml: codecs.BOM_UTF8 + b"\n" + xml.encode(),
    "a newline then a UTF-8 BOM": lambda xml: b"\n" + codecs.BOM_UTF8 + xml.encode(),
    "UTF-16 LE with BOM and a newline": lambda xml: (
        "\n" + xml.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    ).encode("utf-16"),
    "UTF-16 BE with BOM": lambda xml: (
        codecs.BOM_UTF16_BE
        + (" " + xml.replace('encoding="UTF-8"', 'encoding="UTF-16"')).encode("utf-16-be")
    ),
}


@pytest.mark.parametrize("prefix", sorted(_PREFIXES))
def test_error_answers_after_leading_bytes_keep_their_code(prefix: str) -> None:
    for xml, code in ((_NO_RECORDS, "noRecordsMatch"), (_BAD_TOKEN, "badResumptionToken")):
        with pytest.raises(OaiErrorResponse) as error:
            parse_response(_PREFIXES[prefix](xml))
        assert error.value.code == code, prefix
        assert error.value.request["verb"] == "ListRecords"


@pytest.mark.parametrize("prefix", sorted(_PREFIXES))
def test_pages_after_leading_bytes_are_read_whole(prefix: str) -> None:
    page = parse_response(_PREFIXES[prefix](_PAGE))
    assert isinstance(page, RecordsPage)
    assert [r.header.identifier for r in page.records] == ["oai:repo.example.org:1"]
    assert page.token is not None
    assert page.token.value == "t-2"
    assert "Stillleben" in page.records[0].xml


def test_a_body_of_only_a_bom_and_blank_lines_is_empty() -> None:
    with pytest.raises(OaiMalformedResponse, match="empty body"):
        parse_response(codecs.BOM_UTF8 + b"\r\n\n")


def test_protocol_errors_are_source_rejections() -> None:
    assert issubclass(OaiProtocolError, SourceRejection)
    assert issubclass(OaiErrorResponse, SourceRejection)
    assert issubclass(OaiMalformedResponse, SourceRejection)


# -- datestamps that are not dates ---------------------------------------------------------

_BAD_DATESTAMPS = (
    "0000-00-00T00:00:00Z",  # a database's zero date
    "2021-13-45",
    "9999-12-31T23:59:59-14:00",  # overflows once converted to UTC
    "0001-01-01T00:00:00+01:00",  # underflows once converted to UTC
    "",
    "   ",
    "n/a",
    "2021-02-30T10:00:00Z",
)


@pytest.mark.parametrize("text", _BAD_DATESTAMPS)
def test_invalid_datestamps_are_rejections_naming_the_value(text: str) -> None:
    for read in (
        parse_datestamp,
        datestamp_as_utc_iso,
        lambda t: shift_datestamp(t, 60, Granularity.SECOND),
    ):
        with pytest.raises(SourceRejection) as rejected:
            read(text)
        assert repr(text) in str(rejected.value)


def test_datestamp_arithmetic_at_the_edges_of_the_calendar() -> None:
    assert datestamp_as_utc_iso("0001-01-01") == "0001-01-01T00:00:00Z"
    assert shift_datestamp("0999-05-01", 86400, Granularity.DAY) == "0999-05-02"
    with pytest.raises(SourceRejection, match="9999-12-31T23:59:59Z"):
        shift_datestamp("9999-12-31T23:59:59Z", 1, Granularity.SECOND)


@pytest.mark.parametrize("text", _BAD_DATESTAMPS)
def test_the_later_datestamp_ignores_values_that_are_not_dates(text: str) -> None:
    assert later_datestamp(text, "2024-01-01") == "2024-01-01"
    assert later_datestamp("2024-01-01", text) == "2024-01-01"
    assert later_datestamp(None, text) is None
    assert later_datestamp(text, text) is None


def test_records_with_invalid_datestamps_are_problems_and_the_page_goes_on() -> None:
    records = [_record("oai:repo.example.org:ok-1", "2024-01-02", "Erste")]
    records += [
        _record(f"oai:repo.example.org:bad-{i}", datestamp, f"Bild {i}")
        for i, datestamp in enumerate(_BAD_DATESTAMPS)
    ]
    records.append(_record("oai:repo.example.org:gone", "2021-13-45", "", deleted=True))
    records.append(_record("oai:repo.example.org:ok-2", "2024-01-03T04:05:06Z", "Letzte"))
    page = parse_response(_response(_list_records(records, "t-2")).encode())
    assert isinstance(page, RecordsPage)
    assert [r.header.identifier for r in page.records] == [
        "oai:repo.example.org:ok-1",
        "oai:repo.example.org:ok-2",
    ]
    assert page.token is not None and page.token.value == "t-2"
    assert len(page.problems) == len(_BAD_DATESTAMPS) + 1
    for problem, datestamp in zip(page.problems, _BAD_DATESTAMPS, strict=False):
        assert "oai:repo.example.org:bad-" in problem.reason
        if datestamp.strip():
            assert repr(datestamp.strip()) in problem.reason
        else:
            assert "without datestamp" in problem.reason
        assert "<record" in problem.xml
    assert "oai:repo.example.org:gone" in page.problems[-1].reason


def test_identifier_headers_with_invalid_datestamps_are_problems() -> None:
    headers = (
        "<header><identifier>oai:repo.example.org:1</identifier>"
        "<datestamp>2024-01-02</datestamp></header>"
        "<header><identifier>oai:repo.example.org:2</identifier>"
        "<datestamp>9999-12-31T23:59:59-14:00</datestamp></header>"
    )
    page = parse_response(
        _response(f"<ListIdentifiers>{headers}</ListIdentifiers>", "ListIdentifiers").encode()
    )
    assert isinstance(page, IdentifiersPage)
    assert [h.identifier for h in page.headers] == ["oai:repo.example.org:1"]
    assert "oai:repo.example.org:2" in page.problems[0].reason
    assert "9999-12-31T23:59:59-14:00" in page.problems[0].reason


def test_token_expiration_and_earliest_datestamp_that_are_not_dates_are_dropped() -> None:
    page = parse_response(
        _response(
            "<ListRecords>"
            + _record("oai:repo.example.org:1", "2024-01-02", "Eins")
            + '<resumptionToken expirationDate="0000-00-00T00:00:00Z">t-2</resumptionToken>'
            "</ListRecords>"
        ).encode()
    )
    assert isinstance(page, RecordsPage)
    assert page.token is not None
    assert (page.token.value, page.token.expiration_date) == ("t-2", None)
    identify = parse_response(
        _response(
            "<Identify><repositoryName>Repo</repositoryName>"
            "<baseURL>https://repo.example.org/oai</baseURL>"
            "<protocolVersion>2.0</protocolVersion><adminEmail>a@example.org</adminEmail>"
            "<earliestDatestamp>9999-12-31T23:59:59-14:00</earliestDatestamp>"
            "<deletedRecord>persistent</deletedRecord>"
            "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity><description>"
            '<oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier">'
            "<scheme>oai</scheme><repositoryIdentifier>repo.example.org</repositoryIdentifier>"
            "<delimiter>:</delimiter><sampleIdentifier>oai:repo.example.org:1</sampleIdentifier>"
            "</oai-identifier></description></Identify>",
            "Identify",
        ).encode()
    )
    assert isinstance(identify, Identify)
    assert identify.earliest_datestamp == ""


def _identify(response_date: str) -> Identify:
    return Identify(
        response_date=response_date,
        repository_name="Repo",
        base_url="https://repo.example.org/oai",
        protocol_version="2.0",
        earliest_datestamp="2000-01-01",
        deleted_record="persistent",
        granularity=Granularity.SECOND,
        admin_emails=(),
        repository_identifier="repo.example.org",
    )


@pytest.mark.parametrize("response_date", ["9999-12-31T23:59:59-14:00", "2999-01-01T00:00:00Z"])
def test_a_repository_clock_out_of_range_never_becomes_the_watermark(response_date: str) -> None:
    _, until = harvest_window(_identify(response_date), None, None)
    assert abs(parse_datestamp(until) - datetime.now(tz=UTC)).total_seconds() < 120


def test_an_initial_from_that_is_not_a_datestamp_is_refused_with_the_endpoint() -> None:
    with pytest.raises(SourceRejection, match="2021-13-45"):
        OaiEndpointConfig("https://repo.example.org/oai", initial_from="2021-13-45")


def _canned_repository(bodies: dict[str, bytes]) -> Callable[[Request], Reply]:
    """A repository that answers each request with a fixed body: Identify, the first page,
    and the page of each resumptionToken or GetRecord identifier."""

    def answer(request: Request) -> Reply:
        arguments = request.query
        if arguments.get("verb") == "Identify":
            payload = _response(_IDENTIFY_BODY, "Identify").encode()
        else:
            key = arguments.get("resumptionToken") or arguments.get("identifier") or "first"
            payload = bodies[key]
        return Reply(body=payload, content_type="text/xml; charset=utf-8")

    return answer


_IDENTIFY_BODY = (
    "<Identify><repositoryName>Repo</repositoryName><baseURL>https://repo.example.org/oai"
    "</baseURL><protocolVersion>2.0</protocolVersion><earliestDatestamp>2000-01-01T00:00:00Z"
    "</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
    "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity><description>"
    '<oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier">'
    "<scheme>oai</scheme><repositoryIdentifier>repo.example.org</repositoryIdentifier>"
    "<delimiter>:</delimiter><sampleIdentifier>oai:repo.example.org:1</sampleIdentifier>"
    "</oai-identifier></description></Identify>"
)


@dataclass(frozen=True)
class _Harvested:
    result: ListResult
    records: list[tuple[str, dict[str, Any]]]
    dead_letters: list[dict[str, Any]]
    base_url: str


def _run_list(
    settings: Settings,
    read_topic: Callable[[str], list[tuple[str, dict[str, Any]]]],
    bodies: dict[str, bytes],
    state_dir: Path,
    list_identifiers: bool = False,
) -> _Harvested:
    """One harvest of the canned repository into fresh topics of the live broker."""
    suffix = uuid.uuid4().hex[:8]
    topic, dlq = f"heritage.test.oai.faults.{suffix}", f"heritage.test.oai.faults.dlq.{suffix}"
    ensure_topics(settings, (topic, dlq))
    with serve(_canned_repository(bodies)) as server:
        base_url = f"{server.base_url}/oai"
        endpoint = OaiEndpointConfig(base_url, use_list_identifiers=list_identifiers)
        harvested = harvest(settings, producer_layout(settings, state_dir, topic, dlq), endpoint)
    (result,) = harvested.lists
    return _Harvested(
        result, read_topic(topic), [m["payload"] for _, m in read_topic(dlq)], base_url
    )


@pytest.mark.integration
def test_a_list_with_invalid_datestamps_completes_and_dead_letters_them(
    live_settings: Settings,
    read_topic: Callable[[str], list[tuple[str, dict[str, Any]]]],
    tmp_path: Path,
) -> None:
    first = _list_records(
        [
            _record("oai:repo.example.org:1", "2024-01-02", "Eins"),
            _record("oai:repo.example.org:2", "9999-12-31T23:59:59-14:00", "Zwei"),
            _record("oai:repo.example.org:3", "0000-00-00T00:00:00Z", "Drei"),
        ],
        "t-2",
    )
    second = _list_records(
        [
            _record("oai:repo.example.org:4", "2021-13-45", "Vier"),
            _record("oai:repo.example.org:5", "2024-03-04T05:06:07Z", "Fünf"),
        ]
    )
    bodies = {"first": _response(first).encode(), "t-2": _response(second).encode()}
    run = _run_list(live_settings, read_topic, bodies, tmp_path)
    result = run.result
    assert result.completed and result.error is None
    assert result.published == 2
    assert sorted(key for key, _ in run.records) == [
        "oai:repo.example.org:1",
        "oai:repo.example.org:5",
    ]
    reasons = sorted(letter["reason"] for letter in run.dead_letters)
    assert len(reasons) == 3 and result.dead_lettered == 3 and len(result.rejections) == 3
    assert "oai:repo.example.org:2" in reasons[0] and "9999-12-31T23:59:59-14:00" in reasons[0]
    assert "oai:repo.example.org:3" in reasons[1] and "0000-00-00T00:00:00Z" in reasons[1]
    assert "oai:repo.example.org:4" in reasons[2] and "2021-13-45" in reasons[2]
    state = load_list_state(tmp_path, run.base_url, "oai_dc", None)
    assert state.completed_until == "2024-05-01T10:00:00Z"  # the next harvest's `from`
    assert state.last_committed_datestamp == "2024-03-04T05:06:07Z"
    assert not state.in_progress


@pytest.mark.integration
def test_get_record_answers_with_invalid_datestamps_are_dead_lettered(
    live_settings: Settings,
    read_topic: Callable[[str], list[tuple[str, dict[str, Any]]]],
    tmp_path: Path,
) -> None:
    headers = "".join(
        f"<header><identifier>oai:repo.example.org:{i}</identifier>"
        "<datestamp>2024-01-02</datestamp></header>"
        for i in (1, 2)
    )
    bodies = {
        "first": _response(
            f"<ListIdentifiers>{headers}</ListIdentifiers>", "ListIdentifiers"
        ).encode(),
        "oai:repo.example.org:1": _response(
            f"<GetRecord>{_record('oai:repo.example.org:1', '2024-01-02', 'Eins')}</GetRecord>",
            "GetRecord",
        ).encode(),
        "oai:repo.example.org:2": _response(
            f"<GetRecord>{_record('oai:repo.example.org:2', '2021-13-45', 'Zwei')}</GetRecord>",
            "GetRecord",
        ).encode(),
    }
    run = _run_list(live_settings, read_topic, bodies, tmp_path, list_identifiers=True)
    assert run.result.completed and run.result.published == 1
    (letter,) = run.dead_letters
    assert "oai:repo.example.org:2" in letter["reason"]
    assert "2021-13-45" in letter["reason"]
    assert letter["request"]["identifier"] == "oai:repo.example.org:2"


# -- surrogates written as character references, HTML entities --------------------------

_SMILE = "\U0001f600"
_TEXT_FAULTS = {
    # (what the repository wrote, the title a mapper must see, whether it is a fault)
    "surrogate pair, decimal": ("Lachen &#55357;&#56832; im Bild", f"Lachen {_SMILE} im Bild"),
    "surrogate pair, hexadecimal": ("Lachen &#xD83D;&#xde00; im Bild", f"Lachen {_SMILE} im Bild"),
    "lone high surrogate": ("Vorher &#55357; nachher", "Vorher \ufffd nachher"),
    "lone low surrogate": ("Vorher &#xDE00; nachher", "Vorher \ufffd nachher"),
    "reversed pair": ("a&#56832;&#55357;b", "a\ufffd\ufffdb"),
    "HTML entities": (
        "Caf&eacute; am&nbsp;Platz, M&uuml;nchen &ndash; &Auml;gypten",
        "Caf\u00e9 am\u00a0Platz, M\u00fcnchen \u2013 \u00c4gypten",
    ),
    "a name no HTML knows": ("Preis &euro; und &foo; hier", "Preis \u20ac und &foo; hier"),
    "an unescaped ampersand": (
        "Gebr\u00fcder Grimm & S\u00f6hne",
        "Gebr\u00fcder Grimm & S\u00f6hne",
    ),
}


def _fault_page() -> bytes:
    records = [
        _record(f"oai:repo.example.org:{i}", "2024-01-02", written)
        for i, (written, _) in enumerate(_TEXT_FAULTS.values())
    ]
    records.append(_record("oai:repo.example.org:clean", "2024-01-02", "Caf&#233; &amp; Bar"))
    return _response(_list_records(records, "t-2")).encode()


def test_character_references_and_html_entities_keep_the_text() -> None:
    page = parse_response(_fault_page())
    assert isinstance(page, RecordsPage)
    assert page.token is not None and page.token.value == "t-2"
    outcomes = InlineMapper().map_records("oai_dc", list(page.records))
    titles = [mapped["title"][0] if mapped else error for mapped, error in outcomes]
    assert titles == [expected for _, expected in _TEXT_FAULTS.values()] + ["Caf\u00e9 & Bar"]
    faults = " ".join(page.recovered_faults)
    for reported in ("&#55357;", "&#xDE00;", "&eacute;", "&nbsp;", "&uuml;", "&foo;", "'&'"):
        assert reported in faults, reported
    assert "&#233;" not in faults


def test_worker_processes_give_the_in_thread_outcomes_on_damaged_text() -> None:
    damaged = (
        _fault_page()
        .replace(b"Caf&#233;", b"Caf\xff\xfe")  # a byte that is not UTF-8
        .replace(b"Bar", b"B\x01ar")  # a control character
    )
    page = parse_response(damaged)
    assert isinstance(page, RecordsPage)
    records = list(page.records)
    mapper = ProcessMapper(1)
    try:
        in_worker = mapper.map_records("oai_dc", records)
    finally:
        mapper.close()
    assert in_worker == InlineMapper().map_records("oai_dc", records)
    assert all(mapped is not None for mapped, _ in in_worker)


def test_character_data_and_comments_are_not_rewritten() -> None:
    title = "<![CDATA[Caf&eacute; &#55357; & Co]]><!-- &nbsp; -->"
    page = parse_response(
        _response(_list_records([_record("oai:repo.example.org:1", "2024-01-02", title)])).encode()
    )
    assert isinstance(page, RecordsPage)
    ((mapped, _),) = InlineMapper().map_records("oai_dc", list(page.records))
    assert mapped is not None
    assert mapped["title"] == ["Caf&eacute; &#55357; & Co"]
    assert page.recovered_faults == ()


def test_entity_expansion_and_external_entities_stay_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "TOP-SECRET from a DTD">')
    laughs = "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )  # 10^9 'lol' if expanded
    doctype = (
        f'<!DOCTYPE OAI-PMH [<!ENTITY lol0 "lol">{laughs}'
        f'<!ENTITY secret SYSTEM "file://{secret}"><!ENTITY nbsp SYSTEM "file://{secret}">'
        f'<!ENTITY % external SYSTEM "file://{dtd}">%external;]>'
    )
    body = _response(
        _list_records(
            [_record("oai:repo.example.org:1", "2024-01-02", "&lol9;&secret;&nbsp;&leak;x")]
        )
    ).replace("?>\n", f"?>\n{doctype}", 1)
    try:
        page = parse_response(body.encode())
    except OaiMalformedResponse:
        return  # refusing the document is safe too
    assert isinstance(page, RecordsPage)
    xml = page.records[0].xml
    assert "TOP-SECRET" not in xml
    assert "lollol" not in xml
    mapper = ProcessMapper(1)
    try:
        ((mapped, _),) = mapper.map_records("oai_dc", list(page.records))
    finally:
        mapper.close()
    assert mapped is not None
    assert "TOP-SECRET" not in mapped["title"][0]
    assert "lollol" not in mapped["title"][0]


# -- elements with tens of thousands of attributes ------------------------------------


def _many_attributes(count: int, element: str) -> bytes:
    """A badResumptionToken answer whose request or error element has ``count`` extra
    attributes."""
    attributes = " ".join(f'x{i}="value {i}"' for i in range(count))
    body = _response('<error code="badResumptionToken">The token has expired.</error>')
    opening = {"request": "<request ", "error": "<error "}[element]
    return body.replace(opening, f"{opening}{attributes} ", 1).encode()


@pytest.mark.parametrize("element", ["request", "error"])
def test_error_answers_with_many_attributes_are_read_with_a_short_message(element: str) -> None:
    with pytest.raises(OaiErrorResponse) as error:
        parse_response(_many_attributes(20_000, element))
    assert error.value.code == "badResumptionToken"
    assert error.value.request["verb"] == "ListRecords"
    assert len(str(error.value)) < 2000


def test_attributes_beyond_the_cap_are_reported_and_the_protocol_ones_kept() -> None:
    with pytest.raises(OaiErrorResponse) as error:
        parse_response(_many_attributes(5_000, "request").replace(b"<error ", b"<error x='1' "))
    assert error.value.request == {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    with pytest.raises(OaiErrorResponse) as error:
        parse_response(_many_attributes(5_000, "error"))
    assert error.value.code == "badResumptionToken"
    page = parse_response(
        _PAGE.replace(
            "<request ", "<request " + " ".join(f'x{i}="{i}"' for i in range(100)) + " "
        ).encode()
    )
    assert isinstance(page, RecordsPage)
    assert any("<request> has 102 attributes" in fault for fault in page.recovered_faults)
