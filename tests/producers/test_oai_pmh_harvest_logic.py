"""Harvester logic without Kafka: record ids, windows, tombstones, dead letters, backoff,
Retry-After, redirects, atomic state, the circuit breaker, the concurrency cap and retries
against the local test repository."""

from __future__ import annotations

import gc
import json
import random
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from http_server import Reply, Request, serve
from producer_layouts import producer_layout

from heritage.producers.oai_pmh_harvest_state import (
    ListHarvestState,
    endpoint_health_path,
    endpoint_key,
    load_endpoint_health,
    load_list_state,
    reset_quarantine,
    save_list_state,
    write_json_atomically,
)
from heritage.producers.oai_pmh_harvester import (
    OaiEndpointConfig,
    dead_letter_payload,
    harvest,
    harvest_window,
    oai_record_id,
    source_record_for,
)
from heritage.producers.oai_pmh_http import (
    EndpointBreaker,
    EndpointLimit,
    EndpointQuarantined,
    OaiHttpClient,
    OaiHttpError,
    RedirectRefused,
    endpoint_limit,
    redirect_target,
    validate_base_url,
)
from heritage.producers.oai_pmh_mapping_pool import (
    InlineMapper,
    ProcessMapper,
    map_metadata,
)
from heritage.producers.oai_pmh_protocol import (
    Granularity,
    Identify,
    OaiErrorResponse,
    RecordsPage,
    parse_response,
)
from heritage.producers.simulators.oai_pmh_server import OaiServerConfig, OaiService, running_server
from heritage.settings import Settings
from heritage.source_settings import OAI_PMH_HTTP_POLICY


def _identify(granularity: Granularity, response_date: str = "2024-05-06T07:08:09Z") -> Identify:
    return Identify(
        response_date=response_date,
        repository_name="Repo",
        base_url="http://h/oai",
        protocol_version="2.0",
        earliest_datestamp="2000-01-01",
        deleted_record="persistent",
        granularity=granularity,
        admin_emails=(),
        repository_identifier="repo.example.org",
    )


def test_record_ids_are_namespaced_once() -> None:
    assert oai_record_id("repo.org", "oai:repo.org:item/1") == "oai:repo.org:item/1"
    assert oai_record_id("repo.org", "12345") == "oai:repo.org:12345"
    assert oai_record_id("repo.org", "oai:other.org:9") == "oai:repo.org:oai:other.org:9"


def test_harvest_window_follows_the_repository_clock_and_granularity() -> None:
    seconds = _identify(Granularity.SECOND)
    assert harvest_window(seconds, None, None) == (None, "2024-05-06T07:08:09Z")
    assert harvest_window(seconds, "2024-05-01T00:00:00Z", "1999-01-01") == (
        "2024-05-01T00:00:00Z",
        "2024-05-06T07:08:09Z",
    )
    days = _identify(Granularity.DAY)
    assert harvest_window(days, None, "2024-01-02T03:04:05Z") == ("2024-01-02", "2024-05-06")
    unreadable = _identify(Granularity.DAY, response_date="")
    assert harvest_window(unreadable, None, None)[1] == datetime.now(tz=UTC).strftime("%Y-%m-%d")


def _page(service: OaiService) -> RecordsPage:
    page = parse_response(
        service.answer({"verb": ["ListRecords"], "metadataPrefix": ["lido"]}).body
    )
    assert isinstance(page, RecordsPage)
    return page


def test_source_records_tombstones_and_mapping_failures() -> None:
    page = _page(OaiService(OaiServerConfig(records=120, deleted_fraction=0.2, seed=4)))
    live = next(r for r in page.records if not r.header.deleted)
    deleted = next(r for r in page.records if r.header.deleted)
    mapped = source_record_for(
        live, "heritage.example.org", "Repo", map_metadata("lido", live.metadata)
    )
    assert mapped.mapping_error is None
    item = mapped.source_record
    assert item.record_id == live.header.identifier  # already oai:heritage.example.org:...
    assert item.payload == live.xml
    assert item.record is not None
    assert item.record["id"] == live.header.identifier
    assert item.record["timestamp_update"] == live.header.datestamp
    assert item.record["provider"] == ["Heritage Test Aggregator"]  # the mapping's own
    tombstone = source_record_for(deleted, "heritage.example.org", "Repo", (None, None))
    assert tombstone.source_record.deleted
    assert tombstone.source_record.record == {
        "id": deleted.header.identifier,
        "timestamp_update": deleted.header.datestamp,
    }
    # Mapping LIDO metadata as Dublin Core fails: the record is still published, unmapped.
    failed = source_record_for(
        live, "heritage.example.org", "Repo", map_metadata("oai_dc", live.metadata)
    )
    assert failed.source_record.record is None
    assert failed.mapping_error and "oai_dc" in failed.mapping_error


def test_process_mapper_gives_the_inline_outcomes() -> None:
    page = _page(OaiService(OaiServerConfig(records=60, seed=8)))
    live = [r for r in page.records if not r.header.deleted]
    mapper = ProcessMapper(2)
    try:
        assert mapper.map_records("lido", live) == InlineMapper().map_records("lido", live)
        assert mapper.map_records("oai_dc", live[:3])[0][1]  # the failure reason travels too
    finally:
        mapper.close()


def test_dead_letter_payload_keeps_the_raw_body() -> None:
    text = dead_letter_payload("http://h/oai", {"verb": "ListRecords"}, "truncated", b"<OAI-PMH")
    assert text["raw_payload"] == "<OAI-PMH"
    assert text["raw_payload_encoding"] == "utf-8"
    assert text["stage"] == "oai-harvest"
    binary = dead_letter_payload("http://h/oai", {}, "bad bytes", b"\xff\xfe<")
    assert binary["raw_payload_encoding"] == "base64"
    assert binary["raw_payload"] == "//48"


def test_redirects_stay_on_the_configured_origin() -> None:
    assert redirect_target("http://h:8/oai?a=1", "/oai2?a=1") == "http://h:8/oai2?a=1"
    for location in ("http://evil.example/oai", "https://h:8/oai", "http://h:9/oai", "file:///x"):
        with pytest.raises(RedirectRefused, match="another origin"):
            redirect_target("http://h:8/oai", location)
    with pytest.raises(RedirectRefused, match="without a Location"):
        redirect_target("http://h:8/oai", None)


def test_only_http_base_urls_without_credentials() -> None:
    assert validate_base_url("https://repo.example.org/oai") == "https://repo.example.org/oai"
    for bad in ("ftp://repo/oai", "file:///etc/passwd", "repo.example.org/oai", "gopher://x"):
        with pytest.raises(ValueError, match="http"):
            validate_base_url(bad)
    with pytest.raises(ValueError, match="credentials"):
        validate_base_url("https://user:secret@repo.example.org/oai")


def test_state_is_replaced_atomically_and_round_trips(tmp_path: Path) -> None:
    state = ListHarvestState("http://h:1/oai", "lido", "a:b", run_until="2024-01-01", token="t1")
    save_list_state(tmp_path, state)
    again = load_list_state(tmp_path, "http://h:1/oai", "lido", "a:b")
    assert again.token == "t1"
    assert again.updated_at
    assert load_list_state(tmp_path, "http://h:1/oai", "lido", None).token is None
    path = next(tmp_path.rglob("list-lido-a_b-*.json"))
    before = path.read_text()
    with pytest.raises(TypeError):
        write_json_atomically(path, {"token": object()})
    assert path.read_text() == before  # a failed write leaves the old state whole
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    path.write_text("{not json")
    with pytest.raises(ValueError, match="delete it"):
        load_list_state(tmp_path, "http://h:1/oai", "lido", "a:b")


def test_endpoint_keys_are_distinct_and_safe() -> None:
    keys = {endpoint_key(u) for u in ("http://h:1/oai", "http://h:2/oai", "https://h:1/oai")}
    assert len(keys) == 3
    assert all("/" not in k and ":" not in k for k in keys)


def test_circuit_breaker_quarantines_persistently_and_resets(tmp_path: Path) -> None:
    url = "http://repo.example.org/oai"
    breaker = EndpointBreaker(tmp_path, url, threshold=3)
    breaker.record_failure("HTTP 503")
    breaker.record_success()
    breaker.record_failure("HTTP 503")
    breaker.record_failure("timed out")
    with pytest.raises(EndpointQuarantined) as quarantined:
        breaker.record_failure("HTTP 503")
    message = str(quarantined.value)
    assert url in message
    assert "--reset-quarantine" in message
    assert str(endpoint_health_path(tmp_path, url)) in message
    # A new process sees the quarantine too.
    with pytest.raises(EndpointQuarantined):
        EndpointBreaker(tmp_path, url, threshold=3).check()
    assert reset_quarantine(tmp_path, url) is True
    EndpointBreaker(tmp_path, url, threshold=3).check()
    assert load_endpoint_health(tmp_path, url).consecutive_failures == 0
    assert reset_quarantine(tmp_path, url) is False


def _client(base_url: str, state: Path, threshold: int = 50, **policy: float) -> OaiHttpClient:
    sleeps: list[float] = []
    client = OaiHttpClient(
        base_url,
        EndpointBreaker(state, base_url, threshold),
        replace(OAI_PMH_HTTP_POLICY, **policy),  # type: ignore[arg-type]
        sleep=sleeps.append,
        rng=random.Random(0),
    )
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def test_client_honours_retry_after_and_recovers(tmp_path: Path) -> None:
    config = OaiServerConfig(
        records=20, unavailable_fraction=0.5, throttle_fraction=0.2, retry_after_s=3
    )
    with running_server(config) as server:
        client = _client(server.base_url, tmp_path, max_attempts=30)
        for _ in range(10):
            page = client.fetch({"verb": "ListRecords", "metadataPrefix": "oai_dc"}, parse_response)
            assert isinstance(page, RecordsPage)
        stats = server.service.statistics
    sleeps = client.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == stats.unavailable + stats.throttled > 0
    assert all(3.0 <= s <= 3.3 for s in sleeps)
    assert load_endpoint_health(tmp_path, server.base_url).consecutive_failures == 0


def test_client_gives_up_after_max_attempts_and_then_quarantines(tmp_path: Path) -> None:
    config = OaiServerConfig(records=5, unavailable_fraction=1.0, retry_after_s=0)
    with running_server(config) as server:
        client = _client(server.base_url, tmp_path, threshold=5, max_attempts=3)
        with pytest.raises(OaiHttpError, match="failed 3 times"):
            client.fetch({"verb": "Identify"}, parse_response)
        with pytest.raises(EndpointQuarantined, match="quarantined"):
            client.fetch({"verb": "Identify"}, parse_response)
        requests_before = server.service.statistics.requests
        with pytest.raises(EndpointQuarantined):
            _client(server.base_url, tmp_path, threshold=5).fetch(
                {"verb": "Identify"}, parse_response
            )
        assert server.service.statistics.requests == requests_before  # nothing was sent


def test_client_retries_malformed_pages_after_reporting_them(tmp_path: Path) -> None:
    config = OaiServerConfig(records=50, page_size=10, truncated_fraction=0.5)
    seen: list[str] = []
    with running_server(config) as server:
        client = _client(server.base_url, tmp_path, max_attempts=40)
        for _ in range(6):
            page = client.fetch(
                {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
                parse_response,
                lambda error, request: seen.append(error.reason),
            )
            assert isinstance(page, RecordsPage)
        truncated = server.service.statistics.truncated
    assert len(seen) == truncated > 0


def test_protocol_errors_are_not_retried(tmp_path: Path) -> None:
    with running_server(OaiServerConfig(records=5)) as server:
        client = _client(server.base_url, tmp_path)
        with pytest.raises(OaiErrorResponse):
            client.fetch({"verb": "ListRecords", "metadataPrefix": "marc"}, parse_response)
        assert server.service.statistics.requests == 1


def test_concurrent_requests_are_capped_per_endpoint(tmp_path: Path) -> None:
    config = OaiServerConfig(records=5, delay_s=0.15)
    with running_server(config) as server:
        clients = [
            OaiHttpClient(
                server.base_url,
                EndpointBreaker(tmp_path, server.base_url, 50),
                OAI_PMH_HTTP_POLICY,
                max_concurrent_requests=3,
            )
            for _ in range(2)
        ]
        threads = [
            threading.Thread(
                target=clients[i % 2].fetch, args=({"verb": "Identify"}, parse_response)
            )
            for i in range(12)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Two clients of the same endpoint share one limit: never more than 3 at once.
        assert server.service.statistics.max_in_flight == 3
        assert server.service.statistics.requests == 12


def test_the_tightest_live_limit_holds_and_a_finished_one_is_not_inherited() -> None:
    base_url = "http://repository.invalid/oai"
    earlier = endpoint_limit(base_url, 50)
    assert endpoint_limit(base_url, 3) is earlier
    assert earlier.limit == 3
    assert endpoint_limit(base_url, 10).limit == 3
    del earlier
    gc.collect()
    # No client holds the endpoint's limit any more: a new configuration starts afresh.
    assert endpoint_limit(base_url, 10).limit == 10


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EndpointLimit(0)


def test_redirect_to_another_host_is_refused(tmp_path: Path) -> None:
    with running_server(OaiServerConfig(records=5)) as repository:
        # Same IP, other host name: still another origin.
        elsewhere = repository.base_url.replace("127.0.0.1", "localhost")

        def redirect(request: Request) -> Reply:
            query = request.target.partition("?")[2]
            return Reply(302, headers={"Location": f"{elsewhere}?{query}"})

        with serve(redirect) as redirecting:
            base_url = f"{redirecting.base_url}/oai"
            client = _client(base_url, tmp_path)
            with pytest.raises(RedirectRefused, match="another origin"):
                client.fetch({"verb": "Identify"}, parse_response)
        assert repository.service.statistics.requests == 0
    health = json.loads(endpoint_health_path(tmp_path, base_url).read_text())
    assert health["consecutive_failures"] == 1


def test_harvest_of_a_failing_endpoint_ends_in_quarantine(
    offline_settings: Settings, tmp_path: Path
) -> None:
    config = OaiServerConfig(records=5, unavailable_fraction=1.0, retry_after_s=0)
    with running_server(config) as server:
        endpoint = OaiEndpointConfig(
            server.base_url,
            failure_threshold=3,
            retry=replace(OAI_PMH_HTTP_POLICY, max_attempts=2, backoff_base_s=0.01),
        )
        # Identify fails twice: the harvest stops, nothing is published, the count is kept.
        layout = producer_layout(offline_settings, tmp_path, "unused-topic")
        with pytest.raises(OaiHttpError, match="rerun to resume"):
            harvest(offline_settings, layout, endpoint)
        with pytest.raises(EndpointQuarantined, match=server.base_url):
            harvest(offline_settings, layout, endpoint)
        sent = server.service.statistics.requests
        with pytest.raises(EndpointQuarantined):
            harvest(offline_settings, layout, endpoint)
        assert server.service.statistics.requests == sent == 3
