"""The shared HTTP policy: backoff bounds, Retry-After, the breaker's states, and urllib3's
Retry as the policy builds it, against a real loopback server."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests
from http_server import Reply, Request, serve
from requests.adapters import HTTPAdapter

from heritage.http_policy import (
    CircuitBreaker,
    CircuitOpen,
    HttpPolicy,
    RetriesExhausted,
    RetryAfterTooLong,
    RetrySchedule,
    build_retry,
    build_session,
    retry_after_seconds,
)
from heritage.settings import Settings
from heritage.source_settings import (
    IMAGE_HTTP_POLICY,
    OAI_PMH_HTTP_POLICY,
    load_europeana_settings,
    load_image_fetch_config,
    load_oai_pmh_settings,
)

POLICY = HttpPolicy(max_attempts=8, backoff_base_s=0.5, backoff_max_s=4.0, backoff_jitter_s=0.25)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_is_exponential_jittered_within_bounds_and_capped() -> None:
    spread: set[float] = set()
    for _ in range(50):
        schedule = RetrySchedule(POLICY)
        delays = [schedule.delay_before_retry() for _ in range(POLICY.max_attempts - 1)]
        assert delays[0] == 0  # urllib3 retries the first failure at once
        for retry, delay in enumerate(delays[1:], start=2):
            floor = min(POLICY.backoff_max_s, 0.5 * 2 ** (retry - 1))
            assert floor <= delay <= min(POLICY.backoff_max_s, floor + 0.25)
        spread.add(delays[1])
        with pytest.raises(RetriesExhausted):
            schedule.delay_before_retry()
    assert len(spread) > 10  # jittered: clients that failed together spread out


def test_retry_after_is_honoured_as_a_floor_and_refused_beyond_the_limit() -> None:
    schedule = RetrySchedule(POLICY, random.Random(3))
    assert all(7 <= schedule.delay_before_retry(7.0) <= 7.25 for _ in range(5))
    with pytest.raises(RetryAfterTooLong, match="exceeds the limit of 300 s"):
        RetrySchedule(POLICY).delay_before_retry(3600.0)
    ignoring = RetrySchedule(replace(POLICY, respect_retry_after=False))
    assert ignoring.delay_before_retry(3600.0) == 0


def test_retry_after_headers_in_seconds_and_dates() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(" 120 ") == 120
    assert retry_after_seconds(later) == pytest.approx(30, abs=2)
    assert retry_after_seconds(earlier) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_a_loopback_server_s_retry_after_sets_the_wait() -> None:
    routes = {"/busy": lambda _r: Reply(429, b"slow down", headers={"Retry-After": "4"})}
    with serve(routes) as server, build_session("policy-test") as session:
        schedule = RetrySchedule(POLICY, random.Random(1))
        response = session.get(server.base_url + "/busy", timeout=POLICY.timeout)
        seconds = retry_after_seconds(response.headers.get("Retry-After"))
        assert schedule.retries_status(response.status_code, seconds is not None)
        assert 4 <= schedule.delay_before_retry(seconds) <= 4.25
    assert server.hits["/busy"] == 1  # the session's adapters never retry by themselves


def test_only_the_policy_s_statuses_are_retried() -> None:
    schedule = RetrySchedule(POLICY)
    assert [
        s for s in (200, 400, 404, 429, 500, 501, 502, 503, 504) if schedule.retries_status(s)
    ] == [
        429,
        500,
        502,
        503,
        504,
    ]


def test_urllib3_retry_built_from_the_policy_retries_on_a_real_server() -> None:
    policy = replace(POLICY, max_attempts=3, backoff_base_s=0.0, backoff_jitter_s=0.0)
    routes = {
        "/flaky": lambda r: Reply(200, b"ok") if r.hit >= 3 else Reply(503, b"busy"),
        "/down": lambda _r: Reply(502, b"down"),
        "/gone": lambda _r: Reply(404, b"gone"),
    }
    with serve(routes) as server, requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=build_retry(policy)))
        assert session.get(server.base_url + "/flaky", timeout=policy.timeout).text == "ok"
        assert session.get(server.base_url + "/down", timeout=policy.timeout).status_code == 502
        assert session.get(server.base_url + "/gone", timeout=policy.timeout).status_code == 404
    assert server.hits == {"/flaky": 3, "/down": 3, "/gone": 1}


def _call(breaker: CircuitBreaker, session: requests.Session, url: str) -> int:
    """One request through the breaker, as the clients make it."""
    breaker.before_request()
    status = session.get(url, timeout=5).status_code
    if status >= 500:
        breaker.record_failure(f"HTTP {status}")
    else:
        breaker.record_success()
    return status


def test_breaker_opens_after_the_threshold_and_half_opens_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker("test host", threshold=3, cooldown_s=30.0, clock=clock)

    def answer(request: Request) -> Reply:
        return Reply(200, b"ok") if request.hit in (5, 7) else Reply(503, b"busy")

    with serve(answer) as server, build_session("policy-test") as session:
        url = server.base_url + "/x"
        assert [_call(breaker, session, url) for _ in range(3)] == [503, 503, 503]
        assert breaker.status == "open"
        with pytest.raises(CircuitOpen, match=r"failed 3 times in a row.*for 30 s more"):
            _call(breaker, session, url)
        assert server.hits["/x"] == 3  # nothing was sent while open
        clock.now += 30
        assert breaker.status == "half-open"
        # One trial goes out; it fails, so the breaker opens again for a whole cool-down.
        assert _call(breaker, session, url) == 503
        assert breaker.status == "open"
        clock.now += 29
        with pytest.raises(CircuitOpen):
            breaker.before_request()
        clock.now += 1
        # The next trial succeeds: closed, the count starts over.
        assert _call(breaker, session, url) == 200
        assert breaker.status == "closed" and breaker.state.consecutive_failures == 0
        assert _call(breaker, session, url) == 503
        assert breaker.status == "closed"
    assert server.hits["/x"] == 6


def test_a_half_open_breaker_lets_exactly_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker("test host", threshold=1, cooldown_s=5.0, clock=clock)
    breaker.record_failure("HTTP 503")
    clock.now += 5
    breaker.before_request()  # the trial
    with pytest.raises(CircuitOpen):
        breaker.before_request()  # a second caller while the trial is out


def test_a_breaker_without_cooldown_stays_open_until_reset_and_reports_changes() -> None:
    clock = Clock()
    seen: list[bool] = []
    breaker = CircuitBreaker(
        "repository",
        threshold=2,
        cooldown_s=None,
        clock=clock,
        on_change=lambda state: seen.append(state.opened_at is not None),
    )
    assert breaker.record_failure("timed out") is False
    assert breaker.record_failure("timed out") is True
    clock.now += 10**9
    with pytest.raises(CircuitOpen, match="until it is reset"):
        breaker.before_request()
    breaker.reset()
    breaker.before_request()
    assert seen == [False, True, False]


def test_a_zero_threshold_never_opens() -> None:
    breaker = CircuitBreaker("anything", threshold=0)
    assert not any(breaker.record_failure("HTTP 500") for _ in range(100))
    breaker.before_request()


def test_policies_are_read_from_the_settings() -> None:
    settings = Settings(
        state_dir=Path("."),
        environment={
            "EUROPEANA_API_KEY": " k3y ",
            "HERITAGE_EUROPEANA_HTTP_MAX_ATTEMPTS": "9",
            "HERITAGE_EUROPEANA_REQUESTS_PER_SECOND": "2.5",
            "HERITAGE_OAI_HTTP_READ_TIMEOUT_S": "90",
            "HERITAGE_OAI_HTTP_BREAKER_COOLDOWN_S": "600",
            "HERITAGE_IMAGE_RETRIES": "5",
            "HERITAGE_IMAGE_BACKOFF_S": "0.1",
        },
    )
    europeana = load_europeana_settings(settings)
    assert europeana.api_key.reveal() == "k3y" and "k3y" not in repr(europeana)
    assert (europeana.client.http.max_attempts, europeana.client.requests_per_second) == (9, 2.5)
    oai = load_oai_pmh_settings(settings).http
    assert (oai.read_timeout_s, oai.breaker_cooldown_s) == (90, 600)
    assert oai.max_attempts == OAI_PMH_HTTP_POLICY.max_attempts
    image = load_image_fetch_config(settings).http
    assert (image.max_attempts, image.backoff_base_s) == (6, 0.1)
    assert load_image_fetch_config(Settings(Path("."))).http == IMAGE_HTTP_POLICY
    with pytest.raises(ValueError, match="HERITAGE_IMAGE_WORKERS"):
        load_image_fetch_config(
            Settings(Path("."), environment={"HERITAGE_IMAGE_WORKERS": "eight"})
        )
    with pytest.raises(ValueError, match="HERITAGE_EUROPEANA_ROWS"):
        load_europeana_settings(Settings(Path("."), environment={"HERITAGE_EUROPEANA_ROWS": "500"}))
