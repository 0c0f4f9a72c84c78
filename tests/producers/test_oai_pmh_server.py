"""The OAI-PMH test repository: protocol answers (pure, with a fake clock), generated
metadata in four formats, HTTP, fault injection, throughput and the CLI process."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

import pytest
import requests
from lxml import etree

from heritage.producers.metadata_mapping import map_record
from heritage.producers.oai_pmh_protocol import (
    Granularity,
    IdentifiersPage,
    Identify,
    MetadataFormats,
    OaiErrorResponse,
    OaiMalformedResponse,
    RecordsPage,
    SetsPage,
    parse_response,
    xml_parser,
)
from heritage.producers.simulators.oai_pmh_generated_records import (
    METADATA_FORMATS,
    generated_object,
    metadata_xml,
)
from heritage.producers.simulators.oai_pmh_server import OaiServerConfig, OaiService, running_server

START = 1_720_000_000.0  # July 2024


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _service(**overrides: Any) -> tuple[OaiService, FakeClock]:
    clock = FakeClock()
    config = replace(OaiServerConfig(records=250, page_size=40, seed=3), **overrides)
    return OaiService(config, "http://127.0.0.1:1/oai", clock), clock


def _ask(service: OaiService, **arguments: str) -> Any:
    answer = service.answer({name: [value] for name, value in arguments.items()})
    assert answer.status == 200
    return parse_response(answer.body)


def _whole_list(service: OaiService, verb: str = "ListRecords", **arguments: str) -> list[Any]:
    items: list[Any] = []
    page = _ask(service, verb=verb, **arguments)
    while True:
        items.extend(page.records if isinstance(page, RecordsPage) else page.headers)
        if page.token is None or not page.token.value:
            return items
        page = _ask(service, verb=verb, resumptionToken=page.token.value)


def test_identify_formats_and_sets() -> None:
    service, _ = _service()
    identify = _ask(service, verb="Identify")
    assert isinstance(identify, Identify)
    assert identify.repository_identifier == "heritage.example.org"
    assert identify.granularity is Granularity.SECOND
    assert identify.deleted_record == "persistent"
    formats = _ask(service, verb="ListMetadataFormats")
    assert isinstance(formats, MetadataFormats)
    assert {f.prefix for f in formats.formats} == set(METADATA_FORMATS)
    sets = _ask(service, verb="ListSets")
    assert isinstance(sets, SetsPage)
    assert "collections" in {s.spec for s in sets.sets}


def test_a_list_pages_through_every_record_once_with_tombstones() -> None:
    service, _ = _service()
    records = _whole_list(service, metadataPrefix="oai_dc")
    identifiers = [r.header.identifier for r in records]
    assert len(identifiers) == len(set(identifiers)) == 250
    deleted = [r for r in records if r.header.deleted]
    assert deleted and all(r.metadata is None for r in deleted)
    first = _ask(service, verb="ListRecords", metadataPrefix="oai_dc")
    assert first.token.complete_list_size == 250
    assert first.token.cursor == 0
    assert first.token.expiration_date


def test_from_until_and_set_select_records() -> None:
    service, _ = _service()
    everything = _whole_list(service, metadataPrefix="oai_dc")
    stamps = sorted(r.header.datestamp for r in everything)
    middle = stamps[len(stamps) // 2]
    later = _whole_list(service, metadataPrefix="oai_dc", **{"from": middle})
    assert {r.header.identifier for r in later} == {
        r.header.identifier for r in everything if r.header.datestamp >= middle
    }
    earlier = _whole_list(service, metadataPrefix="oai_dc", until=middle)
    assert len(earlier) + len(later) == len(everything) + 1  # `middle` itself is in both
    paintings = _whole_list(service, metadataPrefix="oai_dc", set="collections:paintings")
    parent = _whole_list(service, metadataPrefix="oai_dc", set="collections")
    assert paintings and all(r.header.set_specs == ("collections:paintings",) for r in paintings)
    assert len(parent) == len(everything)
    day = _whole_list(service, metadataPrefix="oai_dc", until=middle[:10])
    assert all(r.header.datestamp[:10] <= middle[:10] for r in day)


def test_expired_and_foreign_tokens_are_bad_resumption_tokens() -> None:
    service, clock = _service(token_lifetime_s=30)
    first = _ask(service, verb="ListRecords", metadataPrefix="lido")
    clock.now += 31
    with pytest.raises(OaiErrorResponse, match="expired") as expired:
        _ask(service, verb="ListRecords", resumptionToken=first.token.value)
    assert expired.value.code == "badResumptionToken"
    assert service.statistics.expired_tokens == 1
    tampered = first.token.value[:-1] + ("0" if first.token.value[-1] != "0" else "1")
    for token in (tampered, "garbage", ""):
        with pytest.raises(OaiErrorResponse) as bad:
            _ask(service, verb="ListRecords", resumptionToken=token)
        assert bad.value.code == "badResumptionToken"


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"verb": ["Frobnicate"]}, "badVerb"),
        ({}, "badVerb"),
        ({"verb": ["ListRecords"]}, "badArgument"),
        ({"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"], "color": ["red"]}, "badArgument"),
        ({"verb": ["ListRecords"], "metadataPrefix": ["oai_dc", "lido"]}, "badArgument"),
        ({"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"], "from": ["soon"]}, "badArgument"),
        (
            {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"], "resumptionToken": ["x"]},
            "badArgument",
        ),
        ({"verb": ["ListRecords"], "metadataPrefix": ["marc21"]}, "cannotDisseminateFormat"),
        (
            {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"], "from": ["2099-01-01"]},
            "noRecordsMatch",
        ),
        (
            {"verb": ["GetRecord"], "metadataPrefix": ["oai_dc"], "identifier": ["oai:x:y"]},
            "idDoesNotExist",
        ),
    ],
)
def test_protocol_errors(arguments: dict[str, list[str]], code: str) -> None:
    service, _ = _service()
    answer = service.answer(arguments)
    assert answer.status == 200
    with pytest.raises(OaiErrorResponse) as error:
        parse_response(answer.body)
    assert error.value.code == code


def test_day_granularity_rejects_seconds() -> None:
    service, _ = _service(granularity=Granularity.DAY)
    assert _ask(service, verb="Identify").granularity is Granularity.DAY
    with pytest.raises(OaiErrorResponse) as error:
        _ask(service, verb="ListRecords", metadataPrefix="oai_dc", until="2024-01-01T00:00:00Z")
    assert error.value.code == "badArgument"
    page = _ask(service, verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert isinstance(page, IdentifiersPage)
    assert len(page.headers[0].datestamp) == 10


def test_live_changes_appear_with_later_datestamps_and_do_not_shift_a_paged_list() -> None:
    service, clock = _service(live_change_fraction=0.3, live_change_window_s=10)
    before = {r.header.identifier: r for r in _whole_list(service, metadataPrefix="oai_dc")}
    first = _ask(service, verb="ListRecords", metadataPrefix="oai_dc")
    clock.now += 60  # every live change is visible now
    rest = _whole_list_from(service, first)
    # Records that changed after the list began drop out of it (their datestamp is past the
    # frozen `until`); every other record is still served exactly once.
    changed = {s.identifier for s in service.repository.snapshot(clock.now) if s.version == 1}
    changed |= {
        s.identifier
        for s in service.repository.snapshot(clock.now)
        if s.deleted and not before[s.identifier].header.deleted
    }
    served = [r.header.identifier for r in first.records] + [r.header.identifier for r in rest]
    assert len(served) == len(set(served))
    assert set(before) - set(served) <= changed
    assert set(before) - changed <= set(served)
    after = {r.header.identifier: r for r in _whole_list(service, metadataPrefix="oai_dc")}
    assert changed and all(after[i].header.datestamp > before[i].header.datestamp for i in changed)
    revised = [after[i] for i in changed if not after[i].header.deleted]
    assert revised and all("(revised 1)" in r.xml for r in revised)


def _whole_list_from(service: OaiService, page: RecordsPage) -> list[Any]:
    items: list[Any] = []
    while page.token is not None and page.token.value:
        page = _ask(service, verb="ListRecords", resumptionToken=page.token.value)
        items.extend(page.records)
    return items


def test_get_record_matches_the_list() -> None:
    service, _ = _service()
    listed = _ask(service, verb="ListRecords", metadataPrefix="edm").records[3]
    got = _ask(service, verb="GetRecord", metadataPrefix="edm", identifier=listed.header.identifier)
    assert got.records[0].xml == listed.xml


@pytest.mark.parametrize("prefix", sorted(METADATA_FORMATS))
def test_generated_metadata_parses_and_maps_onto_the_record_model(prefix: str) -> None:
    for index in range(30):
        obj = generated_object(seed=5, index=index, version=index % 2)
        xml = metadata_xml(prefix, obj, f"oai:heritage.example.org:{obj.local_id}", "2024-02-03")
        element = etree.fromstring(xml.encode(), xml_parser())
        record = map_record(prefix, element)
        assert record["title"][0] == obj.titles[0][1]
        assert record["rights"] == [obj.rights]
        assert record["dcCreator"] == [obj.creator]
        if prefix != "oai_dc":  # Dublin Core has no image link or data provider
            assert record["edmIsShownBy"] == [obj.image_url]
            assert record["dataProvider"] == [obj.data_provider]
        if prefix in ("oai_dc", "lido", "edm"):
            assert record["type"] == obj.europeana_type


def test_format_specific_elements() -> None:
    obj = generated_object(seed=1, index=7)
    ns = {
        "lido": "http://www.lido-schema.org",
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "edm": "http://www.europeana.eu/schemas/edm/",
        "ore": "http://www.openarchives.org/ore/terms/",
        "gmd": "http://www.isotc211.org/2005/gmd",
        "gco": "http://www.isotc211.org/2005/gco",
    }

    def parsed(prefix: str) -> Any:
        return etree.fromstring(metadata_xml(prefix, obj, "oai:h:1", "2024-01-01").encode())

    lido = parsed("lido")
    assert lido.xpath("lido:lidoRecID/text()", namespaces=ns) == [obj.local_id]
    assert lido.xpath("//lido:titleSet/lido:appellationValue/text()", namespaces=ns)
    assert lido.xpath("//lido:resourceRepresentation/lido:linkResource/text()", namespaces=ns)
    assert lido.xpath("//lido:rightsResource//lido:conceptID/text()", namespaces=ns)
    edm = parsed("edm")
    assert edm.xpath("edm:ProvidedCHO/@rdf:about", namespaces=ns)
    assert edm.xpath("ore:Aggregation/edm:isShownBy/@rdf:resource", namespaces=ns)
    assert edm.xpath("ore:Aggregation/edm:rights/@rdf:resource", namespaces=ns)
    assert edm.xpath("ore:Aggregation/edm:dataProvider/text()", namespaces=ns)
    iso = parsed("iso19139")
    assert iso.xpath("gmd:fileIdentifier/gco:CharacterString/text()", namespaces=ns) == [
        obj.local_id
    ]
    assert iso.xpath("//gmd:citation//gmd:title/gco:CharacterString/text()", namespaces=ns)
    assert iso.xpath("gmd:dateStamp/gco:Date/text()", namespaces=ns) == ["2024-01-01"]


def test_generation_is_deterministic() -> None:
    assert generated_object(9, 123) == generated_object(9, 123)
    assert generated_object(9, 123) != generated_object(10, 123)
    one, _ = _service()
    two, _ = _service()
    assert one.repository.snapshot(START) == two.repository.snapshot(START)


def test_http_server_get_post_faults_and_throughput() -> None:
    config = OaiServerConfig(records=6000, page_size=100, seed=2)
    with running_server(config) as server:
        session = requests.Session()
        got = session.get(server.base_url, params={"verb": "Identify"}, timeout=10)
        posted = session.post(server.base_url, data={"verb": "Identify"}, timeout=10)
        assert isinstance(parse_response(got.content), Identify)
        assert isinstance(parse_response(posted.content), Identify)
        assert session.get(server.base_url.replace("/oai", "/other"), timeout=10).status_code == 404

        started = time.perf_counter()
        records = 0
        params: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
        while True:
            body = session.get(server.base_url, params=params, timeout=10).content
            records += body.count(b"<record>")
            start = body.find(b"<resumptionToken")
            token = body[body.find(b">", start) + 1 : body.find(b"</resumptionToken>")]
            if start < 0 or not token:
                break
            params = {"verb": "ListRecords", "resumptionToken": token.decode()}
        rate = records / (time.perf_counter() - started)
    assert records == 6000
    # Well over the harvester's 2,000 records/s goal even on a busy two-core machine.
    assert rate > 2000, f"{rate:.0f} records/s"


def test_fault_injection() -> None:
    config = OaiServerConfig(
        records=300,
        page_size=20,
        throttle_fraction=0.2,
        unavailable_fraction=0.2,
        truncated_fraction=0.2,
        undefined_entity_fraction=0.2,
        retry_after_s=7,
    )
    with running_server(config) as server:
        statuses: dict[int, int] = {}
        malformed = recovered = 0
        for _ in range(200):
            response = requests.get(
                server.base_url,
                params={"verb": "ListRecords", "metadataPrefix": "oai_dc"},
                timeout=10,
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code != 200:
                assert response.headers["Retry-After"] == "7"
                continue
            try:
                page = parse_response(response.content)
            except OaiMalformedResponse:
                malformed += 1
                continue
            assert isinstance(page, RecordsPage)
            recovered += bool(page.recovered_faults)
        stats = server.service.statistics
    assert statuses.get(429) == stats.throttled > 10
    assert statuses.get(503) == stats.unavailable > 10
    assert malformed == stats.truncated > 5
    assert recovered == stats.undefined_entities > 5


def test_cli_process_serves_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "heritage.producers.simulators.oai_pmh_server", "--records", "50"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving http://127.0.0.1:")
        base_url = line.split()[-1]
        page = parse_response(
            requests.get(
                base_url, params={"verb": "ListIdentifiers", "metadataPrefix": "lido"}, timeout=10
            ).content
        )
        assert isinstance(page, IdentifiersPage)
        assert len(page.headers) == 50
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
