"""OAI-PMH response parsing: every corpus response, recoverable and fatal XML faults, XXE."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from heritage.producers.oai_pmh_protocol import (
    Granularity,
    IdentifiersPage,
    Identify,
    MetadataFormats,
    OaiErrorResponse,
    OaiMalformedResponse,
    RecordsPage,
    SetsPage,
    datestamp_as_utc_iso,
    format_datestamp,
    later_datestamp,
    list_request,
    parse_datestamp,
    parse_response,
    resume_request,
)

# Expected outcome of every file in corpus/oaipmh/sickle (see corpus SOURCES.md):
# ("records", records, deleted, problems, token) | ("identifiers", headers, deleted, token)
# | ("identify", ...) | ("formats", n) | ("sets", n) | ("error", code, standard) | ("fatal",).
EXPECTED: dict[str, tuple[Any, ...]] = {
    "GetRecord.xml": ("records", 1, 0, 0, None),
    "GetRecord_utf8test.xml": ("records", 1, 0, 0, None),
    "Identify.xml": ("identify", "test.example.com", Granularity.DAY, "1970-01-01T00:00:00Z"),
    "ListIdentifiers.xml": ("identifiers", 2, 1, "ListIdentifiers2.xml"),
    "ListIdentifiers2.xml": ("identifiers", 2, 1, None),
    "ListMetadataFormats.xml": ("formats", 5),
    "ListRecords.xml": ("records", 2, 1, 0, "ListRecords2.xml"),
    "ListRecords2.xml": ("records", 2, 1, 0, "ListRecords3.xml"),
    "ListRecords3.xml": ("records", 2, 1, 0, "ListRecords4.xml"),
    # Its deleted header has neither identifier nor datestamp: a problem, not a record.
    "ListRecords4.xml": ("records", 1, 0, 1, None),
    "ListRecordsBroken.xml": ("fatal",),
    "ListSets.xml": ("sets", 131),
    "badArgument.xml": ("error", "badArgument", True),
    "badResumptionToken.xml": ("error", "badResumptionToken", True),
    "cannotDisseminateFormat.xml": ("error", "cannotDisseminateFormat", True),
    "idDoesNotExist.xml": ("error", "idDoesNotExist", True),
    "noRecordsMatch.xml": ("error", "noRecordsMatch", True),
    "noSetHierarchy.xml": ("error", "noSetHierarchy", True),
    # Not one of the protocol's eight codes, but reported with the code the server sent.
    "undefinedError.xml": ("error", "undefinedError", False),
}


@pytest.fixture(scope="module")
def sickle_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "oaipmh" / "sickle"


def test_every_corpus_response_has_an_expected_outcome(sickle_dir: Path) -> None:
    assert sorted(p.name for p in sickle_dir.iterdir() if p.is_file()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_response(sickle_dir: Path, name: str) -> None:
    payload = (sickle_dir / name).read_bytes()
    expected = EXPECTED[name]
    kind = expected[0]
    if kind == "fatal":
        with pytest.raises(OaiMalformedResponse) as fatal:
            parse_response(payload)
        assert fatal.value.payload == payload
        return
    if kind == "error":
        with pytest.raises(OaiErrorResponse) as error:
            parse_response(payload)
        assert error.value.code == expected[1]
        assert error.value.errors[0].standard is expected[2]
        assert error.value.request.get("verb")
        return
    response = parse_response(payload)
    if kind == "records":
        assert isinstance(response, RecordsPage)
        _, count, deleted, problems, token = expected
        assert len(response.records) == count
        assert sum(r.header.deleted for r in response.records) == deleted
        assert len(response.problems) == problems
        assert (response.token.value if response.token else None) == token
        for record in response.records:
            assert record.header.identifier.startswith("oai:test.example.com:")
            parse_datestamp(record.header.datestamp)
            assert record.xml.startswith("<record")
            assert (record.metadata is None) == record.header.deleted
    elif kind == "identifiers":
        assert isinstance(response, IdentifiersPage)
        _, count, deleted, token = expected
        assert len(response.headers) == count
        assert sum(h.deleted for h in response.headers) == deleted
        assert (response.token.value if response.token else None) == token
    elif kind == "identify":
        assert isinstance(response, Identify)
        assert response.repository_identifier == expected[1]
        assert response.granularity is expected[2]
        assert response.earliest_datestamp == expected[3]
        assert response.base_url == "http://test.example.com/oai"
    elif kind == "formats":
        assert isinstance(response, MetadataFormats)
        assert len(response.formats) == expected[1]
        assert "oai_dc" in {f.prefix for f in response.formats}
    elif kind == "sets":
        assert isinstance(response, SetsPage)
        assert len(response.sets) == expected[1]
        assert response.sets[0].spec == "bi"
    else:
        pytest.fail(f"unknown expectation {kind}")


def test_paging_attributes_and_cjk_content(sickle_dir: Path) -> None:
    page = parse_response((sickle_dir / "ListRecords.xml").read_bytes())
    assert isinstance(page, RecordsPage)
    assert page.token is not None
    assert (page.token.complete_list_size, page.token.cursor) == (8, 0)
    utf8 = parse_response((sickle_dir / "GetRecord_utf8test.xml").read_bytes())
    assert isinstance(utf8, RecordsPage)
    assert utf8.verb == "GetRecord"
    assert "某人" in utf8.records[0].xml


def test_problem_item_keeps_the_raw_record(sickle_dir: Path) -> None:
    page = parse_response((sickle_dir / "ListRecords4.xml").read_bytes())
    assert isinstance(page, RecordsPage)
    assert page.problems[0].reason == "header without identifier and datestamp"
    assert 'status="deleted"' in page.problems[0].xml


def _page(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2024-05-01T10:00:00Z</responseDate>"
        f'<request verb="ListRecords">http://h/oai</request>{body}</OAI-PMH>'
    ).encode()


_RECORDS = (
    "<ListRecords>"
    + "".join(
        f"<record><header><identifier>oai:h:{i}</identifier>"
        f"<datestamp>2024-01-0{i}</datestamp><setSpec>a:b</setSpec></header>"
        '<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Title {i}</dc:title>'
        "</oai_dc:dc></metadata></record>"
        for i in range(1, 4)
    )
    + '<resumptionToken expirationDate="2024-05-01T11:00:00Z" completeListSize="9" '
    'cursor="0">next</resumptionToken></ListRecords>'
)


def test_clean_page_has_no_recovered_faults() -> None:
    page = parse_response(_page(_RECORDS))
    assert isinstance(page, RecordsPage)
    assert page.recovered_faults == ()
    assert [r.header.set_specs for r in page.records] == [("a:b",)] * 3
    assert page.token is not None
    assert page.token.expiration_date == "2024-05-01T11:00:00Z"


@pytest.mark.parametrize(
    ("fault", "damaged"),
    [
        ("undefined entity", _RECORDS.replace("Title 2<", "Title&nbsp;2<").encode()),
        ("bad byte", _RECORDS.encode().replace(b"Title 2", b"Title \xff\xfe2")),
        ("control character", _RECORDS.encode().replace(b"Title 2", b"Title \x012")),
    ],
)
def test_character_level_faults_are_recovered_and_reported(fault: str, damaged: bytes) -> None:
    body = _page("").replace(b"</OAI-PMH>", damaged + b"</OAI-PMH>")
    page = parse_response(body)
    assert isinstance(page, RecordsPage), fault
    assert len(page.records) == 3
    assert page.token is not None
    assert page.token.value == "next"
    assert page.recovered_faults


@pytest.mark.parametrize(
    ("reason", "body"),
    [
        ("truncated inside a record", _page(_RECORDS)[:400]),
        ("truncated before the root closes", _page(_RECORDS)[:-5]),
        ("not XML", b"<html><body>502 Bad Gateway</body></html>"),
        ("empty", b"   "),
        ("tags that do not match", _page(_RECORDS).replace(b"</dc:title>", b"</dc:titel>", 1)),
        ("JSON", b'{"error": "maintenance"}'),
        ("OAI root without a verb", _page("")),
    ],
)
def test_fatal_faults_raise_with_the_raw_payload(reason: str, body: bytes) -> None:
    with pytest.raises(OaiMalformedResponse) as fatal:
        parse_response(body)
    assert fatal.value.payload == body, reason


def test_external_entities_and_entity_expansion_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">'
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2024-05-01T10:00:00Z</responseDate><request>u</request>"
        "<GetRecord><record><header><identifier>oai:h:1&x;&b;</identifier>"
        "<datestamp>2024-01-01</datestamp></header></record></GetRecord></OAI-PMH>"
    ).encode()
    try:
        page = parse_response(xxe)
    except OaiMalformedResponse:
        return  # refusing the document is safe too
    assert isinstance(page, RecordsPage)
    assert "TOP-SECRET" not in page.records[0].xml
    assert "aaaaaaaaaa" not in page.records[0].header.identifier


def test_bad_verb_and_no_metadata_formats_which_the_corpus_lacks() -> None:
    for code in ("badVerb", "noMetadataFormats"):
        body = _page(f'<error code="{code}">explained</error>')
        with pytest.raises(OaiErrorResponse) as error:
            parse_response(body)
        assert error.value.code == code
        assert error.value.errors[0].message == "explained"
        assert error.value.errors[0].standard


def test_several_errors_are_all_kept() -> None:
    body = _page('<error code="badArgument">a</error><error code="badVerb">b</error>')
    with pytest.raises(OaiErrorResponse) as error:
        parse_response(body)
    assert [e.code for e in error.value.errors] == ["badArgument", "badVerb"]
    assert error.value.has("badVerb")


def test_datestamps() -> None:
    assert parse_datestamp("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_datestamp("2024-03-01T10:20:30Z") == datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)
    assert parse_datestamp("2024-03-01T12:20:30+02:00") == datetime(
        2024, 3, 1, 10, 20, 30, tzinfo=UTC
    )
    moment = datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert format_datestamp(moment, Granularity.DAY) == "2024-03-01"
    assert format_datestamp(moment, Granularity.SECOND) == "2024-03-01T23:59:59Z"
    assert datestamp_as_utc_iso("2024-03-01") == "2024-03-01T00:00:00Z"
    assert later_datestamp("2024-03-01", "2024-02-28T23:00:00Z") == "2024-03-01"
    assert later_datestamp(None, "2024-01-01") == "2024-01-01"
    with pytest.raises(ValueError, match="neither YYYY-MM-DD"):
        parse_datestamp("yesterday")


def test_request_arguments() -> None:
    assert list_request("ListRecords", "lido", "a:b", "2024-01-01", "2024-02-01") == {
        "verb": "ListRecords",
        "metadataPrefix": "lido",
        "set": "a:b",
        "from": "2024-01-01",
        "until": "2024-02-01",
    }
    assert list_request("ListIdentifiers", "oai_dc") == {
        "verb": "ListIdentifiers",
        "metadataPrefix": "oai_dc",
    }
    assert resume_request("ListRecords", "t") == {"verb": "ListRecords", "resumptionToken": "t"}
