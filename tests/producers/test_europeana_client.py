"""The Europeana client: pure logic, the client against the local replay server, and whole
harvests published to the real Kafka broker (resume, the API key never leaking)."""

from __future__ import annotations

import io
import json
import logging
import random
import socket
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from producer_layouts import producer_layout
from topic_reader import TopicReader

from heritage.http_policy import RetryAfterTooLong, RetrySchedule
from heritage.json_logging import configure_logging
from heritage.kafka_topics import ensure_topics
from heritage.producers.europeana_client import (
    API_KEY_ENV,
    START_CURSOR,
    ApiKeyMissingError,
    ClientConfig,
    CursorState,
    EuropeanaAuthError,
    EuropeanaHarvestResult,
    EuropeanaQuery,
    EuropeanaRequestError,
    EuropeanaSearchClient,
    EuropeanaUnavailableError,
    TokenBucket,
    cursor_state_path,
    load_api_key,
    load_cursor_state,
    parse_redacted_response,
    publish_europeana,
    query_state_key,
    redact_api_key,
    resume_point,
    save_cursor_state,
    scrub_secret,
    source_record_from_item,
)
from heritage.producers.simulators.europeana_replay import (
    RecordedPages,
    ReplayFaults,
    ReplayServer,
    SyntheticPages,
)
from heritage.settings import Secret, Settings
from heritage.source_settings import EUROPEANA_HTTP_POLICY

RESPONSES = Path(__file__).parent / "europeana_responses"
FAST_RETRIES = ClientConfig(
    requests_per_second=0, http=replace(EUROPEANA_HTTP_POLICY, max_attempts=4, backoff_base_s=0.01)
)


def recorded_pages() -> RecordedPages:
    return RecordedPages.from_folder(RESPONSES)


# --- the query and its state key ------------------------------------------------------------


def test_query_params_repeat_qf_and_hold_neither_key_nor_cursor() -> None:
    query = EuropeanaQuery("vermeer", qf=("TYPE:IMAGE", "COUNTRY:Netherlands"), rows=50)
    assert query.params() == [
        ("query", "vermeer"),
        ("qf", "TYPE:IMAGE"),
        ("qf", "COUNTRY:Netherlands"),
        ("profile", "standard"),
        ("rows", "50"),
    ]


@pytest.mark.parametrize("rows", [0, 101])
def test_rows_outside_the_api_limit_are_refused(rows: int) -> None:
    with pytest.raises(ValueError, match="1 to 100"):
        EuropeanaQuery(rows=rows)


def test_state_key_ignores_filter_order_but_not_the_query_or_endpoint() -> None:
    a = EuropeanaQuery("vermeer", qf=("TYPE:IMAGE", "COUNTRY:Netherlands"))
    b = EuropeanaQuery("vermeer", qf=("COUNTRY:Netherlands", "TYPE:IMAGE"))
    assert query_state_key(a, "https://x/search.json") == query_state_key(
        b, "https://x/search.json"
    )
    assert query_state_key(a, "https://x") != query_state_key(EuropeanaQuery("steen"), "https://x")
    assert query_state_key(a, "https://x") != query_state_key(a, "http://127.0.0.1:1/search.json")
    assert len(query_state_key(a, "https://x")) == 64


# --- the key --------------------------------------------------------------------------------


def test_key_from_environment_or_from_a_stripped_secret_file(tmp_path: Path) -> None:
    assert load_api_key(environ={API_KEY_ENV: " from-env \n"}).reveal() == "from-env"
    secret_file = tmp_path / "europeana.key"
    secret_file.write_text("  from-file\n")
    # A file named for this run wins over the ambient environment.
    key = load_api_key(secret_file, environ={API_KEY_ENV: "from-env"})
    assert key.reveal() == "from-file"
    assert "from-file" not in repr(key) and "from-file" not in str(key)


def test_missing_key_names_both_ways_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(ApiKeyMissingError) as missing:
        load_api_key(environ={})
    assert API_KEY_ENV in str(missing.value) and "secret file" in str(missing.value)
    empty = tmp_path / "empty.key"
    empty.write_text("\n  \n")
    with pytest.raises(ApiKeyMissingError, match="is empty"):
        load_api_key(empty, environ={})
    with pytest.raises(ApiKeyMissingError, match="cannot be read"):
        load_api_key(tmp_path / "absent.key", environ={})


def test_scrubbing_masks_the_key_in_every_form() -> None:
    secret = Secret("k3y/with+odd=chars")
    text = (
        "HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: "
        "/record/v2/search.json?wskey=k3y%2Fwith%2Bodd%3Dchars&query=* (raw k3y/with+odd=chars, "
        "plus k3y%2Fwith%2Bodd%3Dchars and k3y/with+odd=chars)"
    )
    scrubbed = scrub_secret(text, secret)
    assert "k3y" not in scrubbed
    assert "wskey=***" in scrubbed
    # Any wskey parameter is masked, even one holding another key.
    assert scrub_secret("?wskey=other&rows=1", secret) == "?wskey=***&rows=1"


def test_redaction_removes_the_echoed_key_the_same_way_for_any_key() -> None:
    def item(key: str) -> dict[str, object]:
        return {
            "id": "/90402/SK_A_2344",
            "guid": f"https://www.europeana.eu/item/90402/SK_A_2344?utm_source=api&utm_medium=api&utm_campaign={key}",
            "link": f"https://api.europeana.eu/record/v2/90402/SK_A_2344.json?wskey={key}",
            "dcDescription": [f"note mentioning {key} in text"],
            "nested": {"urls": [f"https://x.example/?a=1&wskey={key}"]},
        }

    first = redact_api_key(item("FirstKey123"), Secret("FirstKey123"))
    second = redact_api_key(item("OtherKey456"), Secret("OtherKey456"))
    assert first == second
    assert first["guid"] == (
        "https://www.europeana.eu/item/90402/SK_A_2344?utm_source=api&utm_medium=api"
    )
    assert first["link"] == "https://api.europeana.eu/record/v2/90402/SK_A_2344.json"
    assert first["dcDescription"] == ["note mentioning [redacted] in text"]
    assert "FirstKey123" not in json.dumps(first)


def test_redacting_the_raw_response_equals_redacting_each_string() -> None:
    key = "Ab3.k-e_y~9"
    rng = random.Random(4)
    pieces = [key, f"?wskey={key}", f"&utm_campaign={key}", f"?a={key}&b=1", "&", "?", "#",
              '"', "\\", "/", "\n", " ", "é", "x=", "wskey=", "%2F", "Ω"]  # fmt: skip
    strings = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(400)]
    page = {"apikey": key, "items": [{"link": text, key: [text, {"n": text}]} for text in strings]}
    expected = redact_api_key(page, Secret(key))
    for text in (json.dumps(page, ensure_ascii=False), json.dumps(page)):  # 2nd: \\u escapes
        assert parse_redacted_response(text, Secret(key)) == expected
    assert key not in json.dumps(expected)
    odd = Secret('k"ey/with\\escapes')  # not URL-safe: decoded string by string
    odd_page = {"items": [{"guid": f"https://e.eu/item/1/2?utm_campaign={odd.reveal()}"}]}
    assert parse_redacted_response(json.dumps(odd_page), odd) == {
        "items": [{"guid": "https://e.eu/item/1/2"}]
    }


# --- pacing and retries ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4, capacity=2, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(6)]
    assert waits[:2] == [0, 0]
    assert waits[2:] == pytest.approx([0.25] * 4)
    clock.now += 10  # idle: refills, but only up to the burst
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0, 0, 0.25])


def test_the_client_s_policy_honours_retry_after_and_stops_beyond_its_limit() -> None:
    schedule = RetrySchedule(ClientConfig().http, random.Random(2))
    assert all(7 <= schedule.delay_before_retry(7.0) <= 8 for _ in range(5))
    with pytest.raises(RetryAfterTooLong):
        RetrySchedule(ClientConfig().http).delay_before_retry(61.0)


# --- the cursor state -----------------------------------------------------------------------


def test_cursor_state_round_trips_and_decides_where_to_resume(tmp_path: Path) -> None:
    query = EuropeanaQuery("steen")
    path = cursor_state_path(tmp_path / "state", query, "https://api.example/search.json")
    assert load_cursor_state(path) is None
    assert resume_point(None) == (START_CURSOR, 0, 0)
    state = CursorState("AoJ4abc", finished=False, pages=3, records=300, query=query.params())
    save_cursor_state(path, state)
    assert load_cursor_state(path) == state
    assert resume_point(state) == ("AoJ4abc", 3, 300)
    # A finished query starts over from the first page; the ledger skips what is unchanged.
    assert resume_point(CursorState(START_CURSOR, True, 9, 900)) == (START_CURSOR, 0, 0)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_unreadable_cursor_state_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "europeana-cursor-x.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="delete it"):
        load_cursor_state(path)


def test_items_are_keyed_by_europeana_id_or_an_unidentified_key() -> None:
    item = {"id": "/2021672/resource_document_mauritshuis_670", "title": ["Girl"]}
    assert source_record_from_item(item).record_id == (
        "europeana:/2021672/resource_document_mauritshuis_670"
    )
    assert source_record_from_item(item).payload is item
    no_id = source_record_from_item({"title": ["Winter Landscape"]})
    bad_id = source_record_from_item({"id": "mauritshuis-742"})
    assert no_id.record_id.startswith("europeana:unidentified:")
    assert bad_id.record_id.startswith("europeana:unidentified:")
    assert no_id.record_id != bad_id.record_id
    assert source_record_from_item({"title": ["Winter Landscape"]}) == no_id  # deterministic


# --- the client against the replay server (no Kafka) ----------------------------------------


def test_replay_server_refuses_a_request_without_a_key() -> None:
    with ReplayServer(recorded_pages()) as server:
        response = requests.get(server.base_url, params={"query": "*", "cursor": "*"}, timeout=5)
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert "API key" in response.json()["error"]


def test_client_walks_the_recorded_cursor_chain_and_redacts_the_echoed_key() -> None:
    key = "Tessellate42"
    with (
        ReplayServer(recorded_pages()) as server,
        EuropeanaSearchClient(Secret(key), server.base_url, FAST_RETRIES) as client,
    ):
        cursor: str | None = START_CURSOR
        pages = []
        while cursor is not None:
            page = client.fetch_page(EuropeanaQuery(rows=4, qf=("TYPE:IMAGE", "TYPE:TEXT")), cursor)
            pages.append(page)
            cursor = page.next_cursor
        sent = server.requests
    assert [len(page.items) for page in pages] == [4, 4, 3]
    assert {page.total_results for page in pages} == {11}
    assert [request.cursor for request in sent] == [
        "*",
        pages[0].next_cursor,
        pages[1].next_cursor,
    ]
    assert [value for name, value in sent[0].params if name == "qf"] == ["TYPE:IMAGE", "TYPE:TEXT"]
    assert all(request.had_key for request in sent)
    assert key not in json.dumps([page.items for page in pages])
    first = pages[0].items[0]
    assert first["link"] == (
        "https://api.europeana.eu/record/v2/2021672/resource_document_mauritshuis_670.json"
    )
    assert "utm_campaign" not in first["guid"]


def test_client_retries_throttling_errors_resets_and_timeouts() -> None:
    faults = ReplayFaults(
        throttled=frozenset({1}),
        retry_after_s=7,
        server_errors=frozenset({2}),
        connection_resets=frozenset({3}),
        stalled=frozenset({4}),
        stall_s=1.0,
    )
    waits: list[float] = []
    config = ClientConfig(
        requests_per_second=0,
        http=replace(EUROPEANA_HTTP_POLICY, max_attempts=5, read_timeout_s=0.3),
    )
    with ReplayServer(recorded_pages(), faults) as server:
        client = EuropeanaSearchClient(
            Secret("Retry4Me"), server.base_url, config, random.Random(0), sleep=waits.append
        )
        with client:
            page = client.fetch_page(EuropeanaQuery(rows=4), START_CURSOR)
        # The server sets a status when its handler returns, which can be just after the
        # client has read the answer.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and 200 not in [r.status for r in server.requests]:
            time.sleep(0.05)
        statuses = [request.status for request in server.requests]
    assert len(page.items) == 4
    # The stalled request (4th) may still be unanswered: the client gave up on it.
    assert len(statuses) == 5
    assert statuses[:3] == [429, 500, 0] and 200 in statuses[3:]
    assert len(waits) == 4
    assert waits[0] >= 7  # Retry-After honoured
    assert all(wait < 7 for wait in waits[1:])


def test_a_retry_after_beyond_the_longest_wait_stops_instead_of_sleeping() -> None:
    faults = ReplayFaults(throttled=frozenset({1}), retry_after_s=3600)
    waits: list[float] = []
    with ReplayServer(recorded_pages(), faults) as server:
        client = EuropeanaSearchClient(
            Secret("Patient1"), server.base_url, FAST_RETRIES, sleep=waits.append
        )
        with client, pytest.raises(EuropeanaUnavailableError, match=r"3600 s \(Retry-After\)"):
            client.fetch_page(EuropeanaQuery(), START_CURSOR)
    assert waits == []


def test_a_refused_key_is_not_retried_and_not_shown(tmp_path: Path) -> None:
    bad_key = "not a valid key"  # the API answers 401 for it
    with ReplayServer(recorded_pages()) as server:
        client = EuropeanaSearchClient(Secret(bad_key), server.base_url, FAST_RETRIES)
        with client, pytest.raises(EuropeanaAuthError) as refused:
            client.fetch_page(EuropeanaQuery(), START_CURSOR)
        assert len(server.requests) == 1
    assert "refused the API key" in str(refused.value) and API_KEY_ENV in str(refused.value)
    assert bad_key not in "".join(traceback.format_exception(refused.value))


def test_a_bad_request_names_the_query_without_the_key() -> None:
    with ReplayServer(recorded_pages()) as server:
        client = EuropeanaSearchClient(Secret("Query4Me"), server.base_url, FAST_RETRIES)
        with client, pytest.raises(EuropeanaRequestError) as refused:
            client.fetch_page(EuropeanaQuery("steen"), "no-such-cursor")
    text = str(refused.value)
    assert "HTTP 400" in text and "query=steen" in text and "Query4Me" not in text


def test_synthetic_pages_follow_the_clients_rows() -> None:
    pages = SyntheticPages.from_sample_collection(45, seed=3)
    with (
        ReplayServer(pages) as server,
        EuropeanaSearchClient(Secret("Synth1"), server.base_url, FAST_RETRIES) as client,
    ):
        cursor: str | None = START_CURSOR
        sizes: list[int] = []
        ids: list[str] = []
        while cursor is not None:
            page = client.fetch_page(EuropeanaQuery(rows=20), cursor)
            sizes.append(len(page.items))
            ids.extend(item["id"] for item in page.items)
            cursor = page.next_cursor
    assert sizes == [20, 20, 5]
    assert len(set(ids)) == 45


# --- whole harvests against the real broker -------------------------------------------------


def raw_messages(read_topic: TopicReader, topic: str) -> list[tuple[bytes, bytes]]:
    """Every message of the topic as the broker holds it (key and value bytes)."""
    return [(m.key.encode(), m.raw or b"") for m in read_topic.messages(topic)]


@pytest.fixture
def topic(live_settings: Settings) -> str:
    name = f"heritage.test.europeana.{uuid.uuid4().hex[:8]}"
    ensure_topics(live_settings, (name,))
    return name


@pytest.fixture
def json_log_lines() -> Iterator[io.StringIO]:
    """Everything logged, as the CLI's JSON lines at DEBUG (the HTTP libraries included,
    which the CLI keeps at WARNING), into a buffer; logging is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in ("urllib3", "requests")}
    configure_logging("DEBUG")
    buffer = io.StringIO()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)
    for name in saved_levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, old in saved_levels.items():
        logging.getLogger(name).setLevel(old)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _exception_texts(error: BaseException) -> str:
    texts = ["".join(traceback.format_exception(error)), repr(error)]
    seen: BaseException | None = error
    while seen is not None:  # the raw chain too, even where a traceback would hide it
        texts.append(repr(seen))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


@pytest.mark.integration
def test_the_api_key_never_leaves_the_wire(
    live_settings: Settings,
    read_topic: TopicReader,
    topic: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    json_log_lines: io.StringIO,
) -> None:
    key = "Zq7LeakCanaryXw9"
    state_dir = tmp_path / "state"
    faults = ReplayFaults(
        server_errors=frozenset({1, 4}),
        connection_resets=frozenset({2}),
        throttled=frozenset({5}),
        stalled=frozenset({6}),
        stall_s=1.0,
    )
    config = ClientConfig(
        requests_per_second=0,
        http=replace(
            EUROPEANA_HTTP_POLICY, max_attempts=4, backoff_base_s=0.05, read_timeout_s=0.5
        ),
    )
    errors: list[BaseException] = []
    with ReplayServer(recorded_pages(), faults) as server:
        result = publish_europeana(
            live_settings,
            producer_layout(live_settings, tmp_path, topic),
            EuropeanaQuery(rows=4),
            Secret(key),
            state_dir=state_dir,
            base_url=server.base_url,
            client_config=config,
        )
        # A page that fails every time: the error quotes the last (key-echoing) 500 body.
        server.faults = ReplayFaults(broken_pages=frozenset({1}))
        with pytest.raises(EuropeanaUnavailableError) as unavailable:
            publish_europeana(
                live_settings,
                producer_layout(live_settings, tmp_path, topic),
                EuropeanaQuery(rows=4, qf=("TYPE:IMAGE",)),
                Secret(key),
                state_dir=state_dir,
                base_url=server.base_url,
                client_config=config,
            )
        errors.append(unavailable.value)
        received = server.received_keys
        statuses = [request.status for request in server.requests]
    # Nothing listening: requests' own error text carries the full URL.
    with pytest.raises(EuropeanaUnavailableError) as refused:
        publish_europeana(
            live_settings,
            producer_layout(live_settings, tmp_path, topic),
            EuropeanaQuery(rows=4),
            Secret(key),
            state_dir=state_dir,
            base_url=f"http://127.0.0.1:{_free_port()}/record/v2/search.json",
            client_config=ClientConfig(
                requests_per_second=0,
                http=replace(EUROPEANA_HTTP_POLICY, max_attempts=2, backoff_base_s=0),
            ),
        )
    errors.append(refused.value)
    logging.getLogger("heritage.test").exception("reported", exc_info=refused.value)
    logs = json_log_lines.getvalue() + capsys.readouterr().err
    assert '"logger": "urllib3.connectionpool"' in logs

    assert received == {key}, "the server must have been sent the key"
    assert {500, 0, 429} <= set(statuses)
    assert (result.pages, result.records, result.published, result.unidentified) == (3, 11, 11, 2)
    assert "wskey=***" in logs  # urllib3's URL lines were logged, masked
    assert "retrying" in logs
    messages = raw_messages(read_topic, topic)
    assert len(messages) == 11
    state_files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("europeana-cursor-") for p in state_files)
    places = {
        "logs": logs,
        "exceptions": "\n".join(_exception_texts(error) for error in errors),
        "kafka": "\n".join((k + b"\t" + v).decode("utf-8") for k, v in messages),
        "files": "\n".join(p.read_bytes().decode("utf-8", errors="replace") for p in state_files),
        "result": repr(result),
    }
    for place, text in places.items():
        assert key not in text, f"the API key leaked into {place}"
    assert "Internal server error" in places["exceptions"]


@pytest.mark.integration
def test_an_interrupted_harvest_resumes_and_publishes_every_record_once(
    live_settings: Settings, read_topic: TopicReader, topic: str, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    query = EuropeanaQuery(rows=20)
    config = ClientConfig(
        requests_per_second=0,
        http=replace(EUROPEANA_HTTP_POLICY, max_attempts=2, backoff_base_s=0.01),
    )
    with ReplayServer(
        SyntheticPages.from_sample_collection(100, seed=5),
        ReplayFaults(broken_pages=frozenset({4})),
    ) as server:

        def harvest() -> EuropeanaHarvestResult:
            return publish_europeana(
                live_settings,
                producer_layout(live_settings, tmp_path, topic),
                query,
                Secret("Resume0K"),
                state_dir=state_dir,
                base_url=server.base_url,
                client_config=config,
                progress=False,
            )

        with pytest.raises(EuropeanaUnavailableError, match="resumes from its saved cursor"):
            harvest()
        saved = load_cursor_state(cursor_state_path(state_dir, query, server.base_url))
        assert saved is not None and not saved.finished
        assert (saved.pages, saved.records) == (3, 60)
        cursor_of_page_4 = server.requests[-1].cursor
        assert saved.cursor == cursor_of_page_4

        server.faults = ReplayFaults()  # the outage is over
        requests_before = len(server.requests)
        second = harvest()
        first_request_of_rerun = server.requests[requests_before]
        third = harvest()  # a finished query starts over; the ledger skips everything

    assert first_request_of_rerun.cursor == cursor_of_page_4
    assert (second.resumed, second.pages, second.published, second.finished) == (
        True,
        2,
        40,
        True,
    )
    assert (third.resumed, third.pages, third.published, third.skipped) == (False, 5, 0, 100)
    messages = raw_messages(read_topic, topic)
    keys = [key.decode() for key, _value in messages]
    assert len(keys) == 100 and len(set(keys)) == 100
    envelopes = [json.loads(value) for _key, value in messages]
    assert {e["source"] for e in envelopes} == {"europeana"}
    assert all(e["record_id"] == f"europeana:{e['payload']['id']}" for e in envelopes)


@pytest.mark.integration
def test_max_records_stops_inside_a_page_and_the_next_run_completes_it(
    live_settings: Settings, read_topic: TopicReader, topic: str, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    with ReplayServer(SyntheticPages.from_sample_collection(50, seed=9)) as server:

        def harvest(max_records: int | None) -> EuropeanaHarvestResult:
            return publish_europeana(
                live_settings,
                producer_layout(live_settings, tmp_path, topic),
                EuropeanaQuery(rows=20),
                Secret("Limit3d"),
                state_dir=state_dir,
                base_url=server.base_url,
                max_records=max_records,
                client_config=FAST_RETRIES,
                progress=False,
            )

        first = harvest(30)
        second = harvest(None)
    assert (first.records, first.published, first.finished) == (30, 30, False)
    # The part-used page is fetched again; its first 10 records are already published.
    assert (second.resumed, second.records, second.published, second.skipped) == (
        True,
        30,
        20,
        10,
    )
    keys = [key for key, _value in raw_messages(read_topic, topic)]
    assert len(keys) == 50 and len(set(keys)) == 50


def _hostile_page(items: list[str], next_cursor: str | None) -> str:
    header = {"apikey": "__REPLAY_WSKEY__", "success": True, "totalResults": 9}
    if next_cursor:
        header["nextCursor"] = next_cursor
    return json.dumps(header)[:-1] + ',"items":[' + ",".join(items) + "]}"


def _museum_item(local_id: str, title: str = "Winterlandschap met ijsvermaak") -> str:
    return json.dumps(
        {
            "id": f"/90402/{local_id}",
            "type": "IMAGE",
            "title": [title],
            "dcCreator": ["Hendrick Avercamp"],
            "rights": ["http://creativecommons.org/publicdomain/zero/1.0/"],
            "dataProvider": ["Rijksmuseum"],
            "link": f"https://api.europeana.eu/record/v2/90402/{local_id}.json?wskey=__REPLAY_WSKEY__",
        },
        ensure_ascii=False,
    )


@pytest.mark.integration
def test_hostile_items_go_to_the_dead_letters_and_the_harvest_goes_on(
    live_settings: Settings, read_topic: TopicReader, topic: str, tmp_path: Path
) -> None:
    dlq_topic = f"heritage.test.dlq.{uuid.uuid4().hex[:8]}"
    key = "Hostile0K"
    first_page = [
        _museum_item("SK_A_1718"),
        _museum_item("SK_A_4118").replace("Winterlandschap", "\\ud83d Winter", 1),
        '{"id": "/90402/SK_A_9999", "title": ' + "[" * 100_000 + "]" * 100_000 + "}",
        _museum_item("SK_A_2344"),
        _museum_item("SK_C_5").replace('"title": [', '"title": 5, "x": [', 1),
        '"abc"',
    ]
    pages = RecordedPages(
        {
            START_CURSOR: (1, _hostile_page(first_page, "AoJpage2")),
            "AoJpage2": (2, _hostile_page([_museum_item("SK_A_3262")], None)),
        }
    )
    with ReplayServer(pages) as server:

        def harvest() -> EuropeanaHarvestResult:
            return publish_europeana(
                live_settings,
                producer_layout(live_settings, tmp_path, topic, dlq_topic),
                EuropeanaQuery(rows=6),
                Secret(key),
                state_dir=tmp_path / "state",
                base_url=server.base_url,
                client_config=FAST_RETRIES,
                progress=False,
            )

        first = harvest()
        again = harvest()  # the query starts over; the ledger skips both topics' messages
    assert (first.pages, first.records, first.published, first.rejected) == (2, 7, 3, 4)
    assert first.finished
    assert (again.published, again.skipped, again.rejected) == (0, 3, 4)
    records = raw_messages(read_topic, topic)
    assert sorted(k.decode() for k, _v in records) == [
        "europeana:/90402/SK_A_1718",
        "europeana:/90402/SK_A_2344",
        "europeana:/90402/SK_A_3262",
    ]
    dead = raw_messages(read_topic, dlq_topic)
    assert len(dead) == 4, "a rerun sent the dead letters again"
    payloads = [json.loads(value.decode("utf-8"))["payload"] for _k, value in dead]
    assert sorted(p["position"] for p in payloads) == [2, 3, 5, 6]
    reasons = " ".join(r for p in payloads for r in p["reasons"])
    assert "surrogate" in reasons and "levels deep" in reasons
    assert "'title' is a number" in reasons and "is a string, expected a JSON object" in reasons
    assert all(p["cursor"] == START_CURSOR for p in payloads)
    assert key not in json.dumps(payloads)
