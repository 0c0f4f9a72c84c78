"""Harvest the Europeana Search API (v2) into ``heritage.records``, resumably.

    publish_europeana(settings, EuropeanaQuery(query="vermeer", qf=("TYPE:IMAGE",)),
                      load_api_key(), state_dir, ledger_path)

Pages are walked with the API's cursor (``cursor=*``, then each response's ``nextCursor``).
After the records of one or more pages were confirmed by Kafka (the shared publish path),
the next cursor is written atomically to a state file keyed by a hash of the query, so a
rerun resumes where the last one stopped; once a query's last page is done the next run
starts again from ``*`` and the publish ledger skips every unchanged record.

The API key is a credential. It goes on the wire as the ``wskey`` query parameter and
nowhere else: the real API echoes it back in the response's ``apikey`` field, in every
item's ``link`` (``...json?wskey=KEY``) and ``guid`` (``...&utm_campaign=KEY``), and
requests/urllib3 put the whole URL into their exception texts and debug logs. So every
response is redacted before anything is kept (the redaction does not depend on the key,
so a rotated key does not make every record look changed), every error text is scrubbed,
and urllib3's loggers are filtered for the duration of a harvest. The published payload
is the item as received but for that redaction.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import requests
from tqdm import tqdm

from heritage.atomic_files import write_json_atomically
from heritage.kafka_topics import RECORDS_TOPIC
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import (
    RecordIdentityError,
    SourceRecord,
    canonical_json,
    europeana_record_id,
    unidentified_record_id,
    utc_now_iso,
)
from heritage.settings import Secret, Settings

log = logging.getLogger(__name__)

SOURCE = "europeana"
SEARCH_URL = "https://api.europeana.eu/record/v2/search.json"
API_KEY_ENV = "EUROPEANA_API_KEY"
START_CURSOR = "*"
MAX_ROWS = 100  # the Search API's ceiling per page
REDACTED = "[redacted]"
UNIDENTIFIED_PREFIX = f"{SOURCE}:unidentified:"
# Loggers that write request URLs (with the wskey parameter) at DEBUG or WARNING level.
_URL_LOGGING_LOGGERS = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
)
_URL_SAFE_KEY = re.compile(r"^[A-Za-z0-9._~-]+$")
_WSKEY_IN_TEXT = re.compile(r"(wskey=)[^&\s'\"<>)]+", re.IGNORECASE)


# --- the query ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EuropeanaQuery:
    """One Search API query, everything but the key and the cursor."""

    # Search terms in the API's query syntax (Apache Solr); "*" matches every record.
    query: str = "*"
    # Facet filters, each sent as its own qf parameter, e.g. ("TYPE:IMAGE", "COUNTRY:Sweden").
    qf: tuple[str, ...] = ()
    # Response profile: minimal | standard | rich; richer profiles carry more fields per item.
    profile: str = "standard"
    # Items per page (1-100); fewer rows means more requests for the same harvest.
    rows: int = MAX_ROWS

    def __post_init__(self) -> None:
        if not self.query.strip():
            raise ValueError("Europeana query is empty: pass search terms, or '*' for all")
        if not 1 <= self.rows <= MAX_ROWS:
            raise ValueError(f"Europeana rows={self.rows}: the Search API allows 1 to {MAX_ROWS}")

    def params(self) -> list[tuple[str, str]]:
        """The request parameters, without the key and the cursor."""
        return [
            ("query", self.query),
            *(("qf", value) for value in self.qf),
            ("profile", self.profile),
            ("rows", str(self.rows)),
        ]


def query_state_key(query: EuropeanaQuery, endpoint: str) -> str:
    """A stable hash of what the query selects (filter order does not matter) and of the
    endpoint, since a cursor is only valid on the server that issued it; never the key."""
    identity = {
        "endpoint": endpoint,
        "query": query.query,
        "qf": sorted(query.qf),
        "profile": query.profile,
        "rows": query.rows,
    }
    return hashlib.sha256(canonical_json(identity).encode("utf-8")).hexdigest()


# --- the key --------------------------------------------------------------------------------


class ApiKeyMissingError(ValueError):
    """No usable Europeana API key was configured."""


def load_api_key(
    secret_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Secret:
    """The API key from a secret file when one is named (the operator chose it for this run),
    else from EUROPEANA_API_KEY; surrounding whitespace is stripped."""
    how_to = (
        f"set {API_KEY_ENV}=<key> or pass a secret file holding only the key "
        "(get a key at https://pro.europeana.eu/page/get-api)"
    )
    if secret_file is not None:
        try:
            value = secret_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ApiKeyMissingError(
                f"Europeana API key file {secret_file} cannot be read ({error.strerror}): "
                f"fix the path or its permissions, or {how_to}"
            ) from None
        if not value:
            raise ApiKeyMissingError(f"Europeana API key file {secret_file} is empty: {how_to}")
        return Secret(value)
    env = os.environ if environ is None else environ
    value = env.get(API_KEY_ENV, "").strip()
    if not value:
        raise ApiKeyMissingError(f"no Europeana API key: {how_to}")
    return Secret(value)


def scrub_secret(text: str, secret: Secret) -> str:
    """``text`` with the key (plain or URL-encoded) and any wskey parameter value masked."""
    key = secret.reveal()
    if key:
        for form in {key, quote(key, safe=""), quote_plus(key)}:
            text = text.replace(form, "***")
    return _WSKEY_IN_TEXT.sub(r"\1***", text)


def _key_parameter(key: str, in_json_text: bool) -> re.Pattern[str]:
    """A URL query parameter whose whole value is the key, and the '&' after it if any. The
    value ends at '&', '#' or the end of the string, which in JSON text is the closing quote
    (a quote right after the key cannot be escaped: the key holds no backslash)."""
    end = r"(?=[#\"])" if in_json_text else r"(?=#|\Z)"
    return re.compile(r"([?&])[A-Za-z0-9_.~%-]+=" + re.escape(key) + r"(?:(&)|" + end + ")")


def _drop_parameter(match: re.Match[str]) -> str:
    # "?k=KEY&b" -> "?b", "?k=KEY" -> "", "&k=KEY&b" -> "&b", "&k=KEY" -> ""
    return match.group(1) if match.group(2) else ""


def redact_key_in_text(text: str, key: str, in_json_text: bool = False) -> str:
    """Drop the query parameters that carry the key (wskey=, utm_campaign=) rather than
    masking them, so a URL reads the same whichever key fetched it; mask any other
    occurrence. On JSON text it gives the same result as on each decoded string."""
    if not key or key not in text:
        return text
    dropped = _key_parameter(key, in_json_text).sub(_drop_parameter, text)
    return dropped.replace(key, REDACTED)


def redact_api_key(value: Any, secret: Secret) -> Any:
    """A copy of a JSON value with the key removed from every string (and object key)."""
    key = secret.reveal()
    if isinstance(value, str):
        return redact_key_in_text(value, key)
    if isinstance(value, list):
        return [redact_api_key(item, secret) for item in value]
    if isinstance(value, dict):
        return {
            redact_key_in_text(name, key): redact_api_key(item, secret)
            for name, item in value.items()
        }
    return value


def parse_redacted_response(text: str, secret: Secret) -> Any:
    """The response JSON with the key removed. The key is redacted in the raw text when that
    is provably the same as redacting each decoded string (a key of URL-safe characters and
    no \\u escapes in the text: every occurrence is then literal), else string by string."""
    key = secret.reveal()
    if _URL_SAFE_KEY.match(key) and "\\u" not in text:
        return json.loads(redact_key_in_text(text, key, in_json_text=True))
    return redact_api_key(json.loads(text), secret)


class _SecretScrubbingFilter(logging.Filter):
    def __init__(self, secret: Secret) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_secret(message, self._secret)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


@contextmanager
def secret_scrubbed_logs(secret: Secret) -> Iterator[None]:
    """Mask the key in what the HTTP libraries log (urllib3 logs each URL at DEBUG)."""
    scrubber = _SecretScrubbingFilter(secret)
    loggers = [logging.getLogger(name) for name in _URL_LOGGING_LOGGERS]
    for logger in loggers:
        logger.addFilter(scrubber)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(scrubber)


# --- pacing and retries ---------------------------------------------------------------------


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, ``capacity`` back to back."""

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError(
                f"token bucket needs rate > 0 and capacity >= 1, got {rate} and {capacity}"
            )
        self._rate = rate
        self._capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate
            # The token is spent now; the wait pays the debt, so concurrent callers queue up.
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(tz=UTC))).total_seconds())


def backoff_delay(
    attempt: int, base_s: float, max_s: float, rng: random.Random, retry_after: float | None
) -> float:
    """Wait before retry number ``attempt`` (1 = first retry): exponential with jitter so
    that clients that failed together do not come back together; a server's Retry-After is
    a floor, never shortened."""
    exponential = min(max_s, base_s * 2 ** (attempt - 1))
    jittered = exponential * (0.5 + 0.5 * rng.random())
    if retry_after is None:
        return jittered
    return retry_after + rng.random() * min(1.0, 0.1 * retry_after + 0.05)


# --- the HTTP client ------------------------------------------------------------------------


class EuropeanaApiError(RuntimeError):
    """The Search API could not deliver a page; the text never contains the key."""


class EuropeanaAuthError(EuropeanaApiError):
    """The API refused the key (401/403): retrying will not help."""


class EuropeanaRequestError(EuropeanaApiError):
    """The API refused the request (4xx other than 401/403/429): the query needs fixing."""


class EuropeanaUnavailableError(EuropeanaApiError):
    """The API kept failing (5xx, 429, timeouts, resets) through every retry."""


@dataclass(frozen=True)
class ClientConfig:
    """How hard the client may push the API and how long it keeps trying."""

    # Sustained requests per second; 0 turns pacing off (only for local replay servers).
    requests_per_second: float = 10.0
    # Requests that may go out back to back before the pacing applies.
    burst: int = 1
    # Tries per page, the first included, before the harvest stops (it can be resumed).
    max_attempts: int = 6
    # First backoff wait in seconds; it doubles with each further retry.
    backoff_base_s: float = 0.5
    # Longest wait between tries; a Retry-After longer than this stops the harvest instead.
    backoff_max_s: float = 60.0
    # Seconds to establish a connection.
    connect_timeout_s: float = 5.0
    # Seconds to wait for a response once connected.
    read_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.requests_per_second < 0:
            raise ValueError(f"requests_per_second must be >= 0, got {self.requests_per_second}")


@dataclass(frozen=True)
class SearchPage:
    """One page of search results, the key already redacted."""

    items: list[Any]
    next_cursor: str | None
    total_results: int | None


@dataclass(frozen=True)
class _Retryable:
    reason: str
    retry_after: float | None = None


def _short(cursor: str) -> str:
    return cursor if len(cursor) <= 24 else f"{cursor[:20]}..."


class EuropeanaSearchClient:
    """Fetches search pages: paced, retried, and redacted before the caller sees them."""

    def __init__(
        self,
        api_key: Secret,
        base_url: str = SEARCH_URL,
        config: ClientConfig | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key.reveal():
            raise ApiKeyMissingError(f"empty Europeana API key: set {API_KEY_ENV}")
        self._key = api_key
        self.base_url = base_url
        self.config = config or ClientConfig()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._bucket = (
            TokenBucket(self.config.requests_per_second, self.config.burst, sleep=sleep)
            if self.config.requests_per_second > 0
            else None
        )
        self._session = requests.Session()
        self.requests_sent = 0

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> EuropeanaSearchClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch_page(self, query: EuropeanaQuery, cursor: str) -> SearchPage:
        """The page at ``cursor``, retrying 429/5xx/timeouts/resets with backoff."""
        params = [("wskey", self._key.reveal()), *query.params(), ("cursor", cursor)]
        outcome: SearchPage | _Retryable = _Retryable("not tried")
        for attempt in range(1, self.config.max_attempts + 1):
            if self._bucket is not None:
                self._bucket.acquire()
            outcome = self._attempt(params, cursor)
            if isinstance(outcome, SearchPage):
                return outcome
            if attempt == self.config.max_attempts:
                break
            if outcome.retry_after is not None and outcome.retry_after > self.config.backoff_max_s:
                raise EuropeanaUnavailableError(
                    f"Europeana search at {self.base_url} asked to wait "
                    f"{outcome.retry_after:.0f} s (Retry-After) for cursor {_short(cursor)}, "
                    f"longer than backoff_max_s={self.config.backoff_max_s:.0f} s: rerun later; "
                    "the harvest resumes from its saved cursor"
                )
            delay = backoff_delay(
                attempt,
                self.config.backoff_base_s,
                self.config.backoff_max_s,
                self._rng,
                outcome.retry_after,
            )
            log.warning(
                "europeana request failed, retrying",
                extra={
                    "attempt": attempt,
                    "max_attempts": self.config.max_attempts,
                    "delay_s": round(delay, 3),
                    "cursor": _short(cursor),
                    "reason": outcome.reason,
                },
            )
            self._sleep(delay)
        reason = outcome.reason if isinstance(outcome, _Retryable) else ""
        raise EuropeanaUnavailableError(
            f"Europeana search at {self.base_url} failed {self.config.max_attempts} times "
            f"for cursor {_short(cursor)} (last: {reason}): check the API status or the "
            "network, then rerun; records confirmed so far are kept and the harvest resumes "
            "from its saved cursor"
        )

    def _attempt(self, params: Sequence[tuple[str, str]], cursor: str) -> SearchPage | _Retryable:
        self.requests_sent += 1
        try:
            response = self._session.get(
                self.base_url,
                params=params,
                timeout=(self.config.connect_timeout_s, self.config.read_timeout_s),
            )
        # requests' texts quote the full URL, key included: keep only the scrubbed text and
        # never chain the original exception (a traceback would print it).
        except requests.Timeout as error:
            return _Retryable(f"timeout: {scrub_secret(str(error), self._key)}")
        except requests.RequestException as error:
            return _Retryable(f"{type(error).__name__}: {scrub_secret(str(error), self._key)}")
        status = response.status_code
        if status == 200:
            try:
                body = parse_redacted_response(response.text, self._key)
            except ValueError:
                return _Retryable("HTTP 200 with a body that is not JSON (truncated response?)")
            if not isinstance(body, dict) or body.get("success") is False:
                raise EuropeanaRequestError(
                    f"Europeana search at {self.base_url} answered without success for cursor "
                    f"{_short(cursor)}: {self._error_text(response)}: check the query"
                )
            return self._page_from(body, cursor)
        detail = self._error_text(response)
        if status in (401, 403):
            raise EuropeanaAuthError(
                f"Europeana search at {self.base_url} refused the API key (HTTP {status}: "
                f"{detail}): check {API_KEY_ENV} or the key file; get a key at "
                "https://pro.europeana.eu/page/get-api"
            )
        if status == 429 or status >= 500:
            return _Retryable(
                f"HTTP {status}: {detail}", parse_retry_after(response.headers.get("Retry-After"))
            )
        raise EuropeanaRequestError(
            f"Europeana search at {self.base_url} refused the request (HTTP {status}: {detail}) "
            f"for query {self._describe(params)}: fix the query, qf, profile or rows"
        )

    def _page_from(self, body: dict[str, Any], cursor: str) -> SearchPage:
        items = body.get("items") or []
        if not isinstance(items, list):
            raise EuropeanaRequestError(
                f"Europeana search at {self.base_url} sent 'items' that is not a list for "
                f"cursor {_short(cursor)}: is base_url a Search API endpoint?"
            )
        next_cursor = body.get("nextCursor")
        total = body.get("totalResults")
        log.debug(
            "europeana page fetched",
            extra={"cursor": _short(cursor), "items": len(items), "total_results": total},
        )
        return SearchPage(
            items=items,
            next_cursor=next_cursor if isinstance(next_cursor, str) and next_cursor else None,
            total_results=total if isinstance(total, int) else None,
        )

    def _error_text(self, response: requests.Response) -> str:
        try:
            body = response.json()
            text = str(body.get("error") or body) if isinstance(body, dict) else str(body)
        except ValueError:
            text = response.text
        return scrub_secret(" ".join(text.split())[:200], self._key) or response.reason or "-"

    def _describe(self, params: Sequence[tuple[str, str]]) -> str:
        return "&".join(f"{name}={value}" for name, value in params if name != "wskey")


# --- the cursor state -----------------------------------------------------------------------


@dataclass(frozen=True)
class CursorState:
    """Where the harvest of one query stands; written only after Kafka confirmed."""

    # The cursor of the next page to request.
    cursor: str
    # The last page was done: the next run starts from "*" again.
    finished: bool
    # Pages and records harvested since this pass over the query started at "*".
    pages: int
    records: int
    # The query's parameters (no key), so a person can tell the state files apart.
    query: list[tuple[str, str]] = field(default_factory=list)
    updated_at: str = ""


def cursor_state_path(state_dir: Path, query: EuropeanaQuery, endpoint: str) -> Path:
    return state_dir / f"europeana-cursor-{query_state_key(query, endpoint)[:20]}.json"


def load_cursor_state(path: Path) -> CursorState | None:
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return CursorState(
            cursor=str(raw["cursor"]),
            finished=bool(raw["finished"]),
            pages=int(raw["pages"]),
            records=int(raw["records"]),
            query=[(str(a), str(b)) for a, b in raw.get("query", [])],
            updated_at=str(raw.get("updated_at", "")),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"Europeana cursor state {path} is unreadable ({error}): delete it to restart the "
            "query from the first page (the ledger skips records already published)"
        ) from None


def save_cursor_state(path: Path, state: CursorState) -> None:
    """Write atomically: a crash leaves the old state or the new one, never half of one."""
    document = {
        "cursor": state.cursor,
        "finished": state.finished,
        "pages": state.pages,
        "records": state.records,
        "query": [list(pair) for pair in state.query],
        "updated_at": state.updated_at,
    }
    write_json_atomically(path, document)


def resume_point(state: CursorState | None) -> tuple[str, int, int]:
    """(cursor, pages, records) to continue from: a finished or absent state starts over."""
    if state is None or state.finished:
        return START_CURSOR, 0, 0
    return state.cursor, state.pages, state.records


# --- from items to source records -----------------------------------------------------------


def source_record_from_item(item: Any) -> SourceRecord:
    """Key an item by its Europeana id; one without a usable id keeps a deterministic key so
    the cleanse stage can dead-letter it."""
    try:
        record_id = europeana_record_id(item.get("id") if isinstance(item, dict) else None)
    except RecordIdentityError:
        record_id = unidentified_record_id(SOURCE, canonical_json(item).encode("utf-8"))
    return SourceRecord(record_id=record_id, payload=item)


class _PageFetcher:
    """Fetches the next page in a background thread while this one is being published, so
    the API's latency overlaps Kafka's; pages are still requested strictly one after another."""

    def __init__(self, client: EuropeanaSearchClient, query: EuropeanaQuery) -> None:
        self._client = client
        self._query = query
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="europeana-fetch")
        self._ahead: tuple[str, Future[SearchPage]] | None = None

    def fetch(self, cursor: str) -> SearchPage:
        if self._ahead is not None and self._ahead[0] == cursor:
            future, self._ahead = self._ahead[1], None
            return future.result()
        return self._client.fetch_page(self._query, cursor)

    def fetch_ahead(self, cursor: str) -> None:
        # Run under this run's context, so the fetch's log lines keep its correlation id.
        context = contextvars.copy_context()
        future = self._executor.submit(context.run, self._client.fetch_page, self._query, cursor)
        self._ahead = (cursor, future)

    def close(self) -> None:
        # Wait for a fetch in flight: nothing may talk to the API after the harvest returned.
        self._executor.shutdown(wait=True, cancel_futures=True)


# --- the harvest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EuropeanaHarvestResult:
    """What one run did."""

    pages: int
    records: int
    published: int
    skipped: int
    # Records published under an unidentified key (the cleanse stage dead-letters them).
    unidentified: int
    # The query's last page was reached: the next run starts from "*".
    finished: bool
    # The run continued a cursor saved by an earlier, unfinished run.
    resumed: bool
    total_results: int | None
    state_file: Path

    def summary(self) -> str:
        end = "finished" if self.finished else "stopped before the end (rerun to resume)"
        return (
            f"europeana: {self.pages} pages, {self.records} records, {self.published} "
            f"published, {self.skipped} already published, {self.unidentified} without a "
            f"usable id; {end}"
        )


def publish_europeana(
    settings: Settings,
    query: EuropeanaQuery,
    api_key: Secret,
    state_dir: Path,
    ledger_path: Path,
    topic: str = RECORDS_TOPIC,
    base_url: str = SEARCH_URL,
    max_records: int | None = None,
    client_config: ClientConfig | None = None,
    commit_every: int = 1000,
    progress: bool = True,
) -> EuropeanaHarvestResult:
    """Harvest ``query`` page by page and publish every item to ``topic``.

    Records are published in groups of at least ``commit_every`` (whole pages); after each
    group is confirmed the cursor of the next page is saved, so an interrupted run resumes
    there. ``max_records`` stops early (a partly used page is fetched again next run).
    """
    if max_records is not None and max_records < 1:
        raise ValueError(f"max_records must be at least 1, got {max_records}")
    state_path = cursor_state_path(state_dir, query, base_url)
    previous = load_cursor_state(state_path)
    cursor, pages_before, records_before = resume_point(previous)
    resumed = cursor != START_CURSOR
    log.info(
        "europeana harvest starting",
        extra={
            "query": query.query,
            "qf": ",".join(query.qf),
            "rows": query.rows,
            "resumed": resumed,
            "state_file": str(state_path),
        },
    )
    pages = records = published = skipped = unidentified = 0
    total_results: int | None = None
    finished = False
    pending: list[SourceRecord] = []
    producer = create_producer(settings)
    ledger = PublishLedger(ledger_path)
    client = EuropeanaSearchClient(api_key, base_url, client_config)
    fetcher = _PageFetcher(client, query)
    bar = tqdm(desc="europeana", unit="rec", disable=not progress, initial=records_before)

    def commit(next_cursor: str, done: bool) -> None:
        nonlocal published, skipped, pending
        if pending:
            outcome = publish_envelopes(
                producer, ledger, topic, envelopes_from(SOURCE, pending), progress=False
            )
            published += outcome.published
            skipped += outcome.skipped
            pending = []
        # Only now, with every record before next_cursor confirmed, may the cursor move.
        save_cursor_state(
            state_path,
            CursorState(
                cursor=next_cursor,
                finished=done,
                pages=pages_before + pages,
                records=records_before + records,
                query=query.params(),
                updated_at=utc_now_iso(),
            ),
        )

    try:
        with secret_scrubbed_logs(api_key):
            while True:
                try:
                    page = fetcher.fetch(cursor)
                except EuropeanaApiError:
                    # Keep what was fetched: publish it and move the cursor up to here.
                    commit(cursor, False)
                    raise
                if total_results is None and page.total_results is not None:
                    total_results = page.total_results
                    bar.total = min(total_results, records_before + (max_records or total_results))
                room = None if max_records is None else max_records - records
                taken = page.items if room is None else page.items[:room]
                pages += 1
                records += len(taken)
                for item in taken:
                    source_record = source_record_from_item(item)
                    if source_record.record_id.startswith(UNIDENTIFIED_PREFIX):
                        unidentified += 1
                    pending.append(source_record)
                bar.update(len(taken))
                if len(taken) < len(page.items):
                    # Stopped inside this page: the next run fetches it again.
                    commit(cursor, False)
                    break
                finished = page.next_cursor is None or not page.items
                if not finished and page.next_cursor == cursor:
                    commit(cursor, False)
                    raise EuropeanaUnavailableError(
                        f"Europeana search at {base_url} returned the cursor it was asked for "
                        f"({_short(cursor)}): the harvest would loop; report it to Europeana"
                    )
                next_cursor = START_CURSOR if finished else str(page.next_cursor)
                limit_reached = max_records is not None and records >= max_records
                if not (finished or limit_reached):
                    fetcher.fetch_ahead(next_cursor)
                if finished or limit_reached or len(pending) >= commit_every:
                    commit(next_cursor, finished)
                if finished or limit_reached:
                    break
                cursor = next_cursor
    finally:
        bar.close()
        fetcher.close()
        client.close()
        producer.close()
        ledger.close()
    result = EuropeanaHarvestResult(
        pages=pages,
        records=records,
        published=published,
        skipped=skipped,
        unidentified=unidentified,
        finished=finished,
        resumed=resumed,
        total_results=total_results,
        state_file=state_path,
    )
    log.info(
        result.summary(),
        extra={
            "pages": pages,
            "records": records,
            "published": published,
            "already_published": skipped,
            "unidentified": unidentified,
            "finished": finished,
            "requests": client.requests_sent,
        },
    )
    return result
