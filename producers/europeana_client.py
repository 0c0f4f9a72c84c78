"""Harvest the Europeana Search API (v2) into ``heritage.records``, resumably.

    publish_europeana(settings, LakehouseLayout.default(settings),
                      EuropeanaQuery(query="vermeer", qf=("TYPE:IMAGE",)), load_api_key())

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

One hostile item must not cost the page. A page is split into its items' texts by a linear
scanner that does not recurse (:mod:`heritage.producers.json_page_split`), and each item is
decoded on its own. An item nested deeper than MAX_ITEM_DEPTH, one that is not valid JSON
or not an object, one holding a lone surrogate (UTF-8 cannot encode it) and one whose
common-record fields have the wrong JSON types (the record contract's
``record_shape_problems``) goes to ``heritage.dlq`` with reasons naming its place, its
cursor and the field; the others are published and the cursor moves on. A page that cannot be
split at all (not JSON, truncated) is retried like a failed request, then stops the
harvest with :class:`EuropeanaPageError` before its cursor.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import requests
from tqdm import tqdm

from heritage.atomic_files import write_json_atomically
from heritage.http_policy import (
    CircuitBreaker,
    CircuitOpen,
    RetriesExhausted,
    RetryAfterTooLong,
    RetrySchedule,
    build_session,
    retry_after_seconds,
)
from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.json_page_split import JsonElement, JsonSyntaxError, split_json_object
from heritage.producers.json_value_checks import (
    MAX_JSON_DEPTH,
    escape_lone_surrogates,
    excerpt,
    has_lone_surrogate,
    safe_json_text,
    unencodable_parts,
)
from heritage.producers.kafka_publisher import create_producer, envelopes_from, publish_envelopes
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_contract import json_type_name, record_shape_problems
from heritage.record_model import (
    RecordIdentityError,
    SourceRecord,
    canonical_json,
    europeana_record_id,
    unidentified_record_id,
    utc_now_iso,
)
from heritage.settings import Secret, Settings, load_settings
from heritage.source_rejections import SourceRejection
from heritage.source_settings import (
    EUROPEANA_API_KEY_ENV,
    EUROPEANA_MAX_ROWS,
    EUROPEANA_SEARCH_URL,
    EuropeanaClientConfig,
)

log = logging.getLogger(__name__)

SOURCE = "europeana"
SEARCH_URL = EUROPEANA_SEARCH_URL
API_KEY_ENV = EUROPEANA_API_KEY_ENV
START_CURSOR = "*"
MAX_ROWS = EUROPEANA_MAX_ROWS
REDACTED = "[redacted]"
USER_AGENT = "heritage-lakehouse-europeana-harvester/0.1"
UNIDENTIFIED_PREFIX = f"{SOURCE}:unidentified:"
# Named in dead-letter messages as the stage that refused an item.
STAGE = "europeana-harvest"
# Arrays and objects may nest this deep in one item; a deeper one is dead-lettered undecoded.
MAX_ITEM_DEPTH = MAX_JSON_DEPTH
# The members of a page the client reads; the others (facets, breadCrumbs) are not decoded.
_HEADER_MEMBERS = ("success", "error", "nextCursor", "totalResults")
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
    else from EUROPEANA_API_KEY in ``environ`` (default: the settings' variables, see
    :func:`heritage.settings.load_settings`); surrounding whitespace is stripped."""
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
    env = load_settings().environment if environ is None else environ
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


class EuropeanaJsonError(SourceRejection):
    """A Europeana response (or a part of one) is not JSON, or nests too deep to decode."""


def parse_redacted_response(text: str, secret: Secret) -> Any:
    """The response JSON with the key removed. The key is redacted in the raw text when that
    is provably the same as redacting each decoded string (a key of URL-safe characters and
    no \\u escapes in the text: every occurrence is then literal), else string by string.

    Decodes in one piece: a page goes through :func:`read_search_page`, which isolates its
    items. Raises EuropeanaJsonError for text that is not JSON or nests too deep."""
    key = secret.reveal()
    try:
        if _URL_SAFE_KEY.match(key) and "\\u" not in text:
            return json.loads(redact_key_in_text(text, key, in_json_text=True))
        return redact_api_key(json.loads(text), secret)
    except json.JSONDecodeError as error:
        raise EuropeanaJsonError(f"Europeana response is not JSON: {error}") from None
    except RecursionError:
        raise EuropeanaJsonError(
            "Europeana response nests arrays or objects too deep to decode in one piece: "
            "read pages with read_search_page, which isolates each item"
        ) from None


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


# --- the HTTP client ------------------------------------------------------------------------


class EuropeanaApiError(RuntimeError):
    """The Search API could not deliver a page; the text never contains the key."""


class EuropeanaAuthError(EuropeanaApiError):
    """The API refused the key (401/403): retrying will not help."""


class EuropeanaRequestError(EuropeanaApiError):
    """The API refused the request (4xx other than 401/403/429): the query needs fixing."""


class EuropeanaUnavailableError(EuropeanaApiError):
    """The API kept failing (5xx, 429, timeouts, resets) through every retry."""


class EuropeanaPageError(EuropeanaApiError, SourceRejection):
    """The API sent a page that cannot be read as a page of results (not JSON on every try,
    an unusable cursor): the harvest stops before that page's cursor."""


class EuropeanaPageSyntaxError(EuropeanaPageError):
    """The body of a page is not JSON: truncated on the way (worth a retry), or sent so."""

    def __init__(self, message: str, syntax: str) -> None:
        super().__init__(message)
        # What the JSON scanner found, without the endpoint and cursor.
        self.syntax = syntax


class EuropeanaItemRejection(SourceRejection):
    """An item that cannot be published as a record; each reason names the item and the
    field. The harvest sends it to the dead-letter topic and goes on."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(
            "; ".join(reasons) + ": it goes to the dead-letter topic; the provider can correct "
            "the record at its source"
        )
        self.reasons = reasons


# The client's pacing and HTTP policy; one type with the settings' loader.
ClientConfig = EuropeanaClientConfig


@dataclass(frozen=True)
class UnreadableItem:
    """An item of a page that could not be decoded on its own; it goes to the dead letters."""

    # Its place on the page, from 1.
    position: int
    # Its JSON text as received, the key removed.
    text: str
    reason: str


@dataclass(frozen=True)
class SearchPage:
    """One page of search results, the key already redacted."""

    # The decoded items in page order; one that could not be decoded is an UnreadableItem.
    items: list[Any]
    next_cursor: str | None
    total_results: int | None


@dataclass(frozen=True)
class _Retryable:
    reason: str
    retry_after: float | None = None
    # The body was not JSON: when every try ends so, the page itself is at fault.
    unreadable_page: bool = False


def decode_page_item(element: JsonElement, position: int, secret: Secret) -> Any:
    """One item of a page decoded on its own, the key removed; an UnreadableItem when it
    nests deeper than MAX_ITEM_DEPTH (never decoded, so never a RecursionError) or is not
    valid JSON, so the page's other items are kept."""
    if element.depth > MAX_ITEM_DEPTH:
        reason = (
            f"arrays and objects nest {element.depth} levels deep in it, more than the "
            f"{MAX_ITEM_DEPTH} a record may have"
        )
    else:
        try:
            return parse_redacted_response(element.text, secret)
        except ValueError as error:
            reason = f"it is not valid JSON ({error})"
    text = redact_key_in_text(element.text, secret.reveal(), in_json_text=True)
    return UnreadableItem(position, scrub_secret(text, secret), reason)


def _short(cursor: str) -> str:
    return cursor if len(cursor) <= 24 else f"{cursor[:20]}..."


def _page_member(
    element: JsonElement, name: str, secret: Secret, cursor: str, endpoint: str
) -> Any:
    """A page member decoded, the key removed; one nested too deep to decode safely (the
    members the client reads hold scalars) or not JSON makes the page unusable."""
    problem = f"nested {element.depth} levels deep" if element.depth > MAX_ITEM_DEPTH else ""
    if not problem:
        try:
            return parse_redacted_response(element.text, secret)
        except ValueError as error:
            problem = f"not JSON ({error})"
    raise EuropeanaPageError(
        f"Europeana search at {endpoint} answered cursor {_short(cursor)} with '{name}' "
        f"{problem}: the page cannot be read, so the harvest stops before it; report the page "
        "to Europeana"
    )


def read_search_page(
    text: str, secret: Secret, cursor: str, endpoint: str = SEARCH_URL
) -> SearchPage:
    """The page of results in a response body (the one asked for with ``cursor``), the key
    removed. The body is split, not decoded whole: each item is decoded on its own
    (:func:`decode_page_item`), so one hostile item does not cost the page.

    Raises EuropeanaPageSyntaxError when the body is not a JSON object (truncated?), and
    EuropeanaPageError when it is not a usable page of results."""
    try:
        split = split_json_object(text, "items")
    except JsonSyntaxError as error:
        raise EuropeanaPageSyntaxError(
            f"Europeana search at {endpoint} answered cursor {_short(cursor)} with a body that "
            f"is {error}",
            str(error),
        ) from None
    header = {
        name: _page_member(split.members[name], name, secret, cursor, endpoint)
        for name in _HEADER_MEMBERS
        if name in split.members
    }
    if header.get("success") is False:
        said = scrub_secret(" ".join(str(header.get("error") or "-").split())[:200], secret)
        raise EuropeanaPageError(
            f"Europeana search at {endpoint} answered without success for cursor "
            f"{_short(cursor)}: {said}: check the query"
        )
    elements = split.elements
    if elements is None:
        items = split.members.get("items")
        if items is not None and _page_member(items, "items", secret, cursor, endpoint):
            raise EuropeanaPageError(
                f"Europeana search at {endpoint} sent 'items' that is not a list for cursor "
                f"{_short(cursor)}: is base_url a Search API endpoint?"
            )
        elements = []
    page_items = [
        decode_page_item(element, position, secret)
        for position, element in enumerate(elements, start=1)
    ]
    next_cursor = header.get("nextCursor")
    if next_cursor is not None and (
        not isinstance(next_cursor, str) or has_lone_surrogate(next_cursor)
    ):
        held = " holding a lone surrogate" if isinstance(next_cursor, str) else ""
        raise EuropeanaPageError(
            f"Europeana search at {endpoint} answered cursor {_short(cursor)} with a nextCursor "
            f"that is {json_type_name(next_cursor)}{held}, not a cursor: the next page cannot "
            "be requested, so the harvest stops before this page; report the page to Europeana"
        )
    total = header.get("totalResults")
    log.debug(
        "europeana page fetched",
        extra={"cursor": _short(cursor), "items": len(page_items), "total_results": total},
    )
    return SearchPage(
        items=page_items,
        next_cursor=next_cursor or None,
        total_results=total if isinstance(total, int) else None,
    )


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
        self._session = build_session(USER_AGENT)
        self._breaker = CircuitBreaker.for_policy(
            f"Europeana search at {base_url}", self.config.http
        )
        self.requests_sent = 0

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> EuropeanaSearchClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch_page(self, query: EuropeanaQuery, cursor: str) -> SearchPage:
        """The page at ``cursor``, retrying 429/5xx/timeouts/resets and unreadable pages
        under the client's HTTP policy."""
        params = [("wskey", self._key.reveal()), *query.params(), ("cursor", cursor)]
        schedule = RetrySchedule(self.config.http, self._rng)
        while True:
            if self._bucket is not None:
                self._bucket.acquire()
            try:
                outcome = self._attempt(params, cursor, schedule)
            except (EuropeanaAuthError, EuropeanaRequestError, EuropeanaPageError):
                self._breaker.record_success()  # the API answered: it is up, the request is not
                raise
            if isinstance(outcome, SearchPage):
                self._breaker.record_success()
                return outcome
            self._breaker.record_failure(outcome.reason)
            self._sleep(self._delay_before_retry(schedule, outcome, cursor))

    def _delay_before_retry(
        self, schedule: RetrySchedule, failed: _Retryable, cursor: str
    ) -> float:
        try:
            delay = schedule.delay_before_retry(failed.retry_after)
        except RetriesExhausted:
            raise self._gave_up(schedule.failures, failed, cursor) from None
        except RetryAfterTooLong as too_long:
            raise EuropeanaUnavailableError(
                f"Europeana search at {self.base_url} asked to wait {too_long.seconds:.0f} s "
                f"(Retry-After) for cursor {_short(cursor)}, longer than max_retry_after_s="
                f"{too_long.limit:.0f} s: rerun later; the harvest resumes from its saved cursor"
            ) from None
        log.warning(
            "europeana request failed, retrying",
            extra={
                "attempt": schedule.failures,
                "max_attempts": self.config.http.max_attempts,
                "delay_s": round(delay, 3),
                "cursor": _short(cursor),
                "reason": failed.reason,
            },
        )
        return delay

    def _gave_up(self, tries: int, last: _Retryable, cursor: str) -> EuropeanaApiError:
        if last.unreadable_page:
            return EuropeanaPageError(
                f"Europeana search at {self.base_url} answered cursor {_short(cursor)} with a "
                f"page that is not JSON {tries} times (last: {last.reason}): the page cannot "
                "be read, so the harvest stops before it; records confirmed so far are kept "
                "and a rerun resumes at this cursor; if it persists, report the page to "
                "Europeana"
            )
        return EuropeanaUnavailableError(
            f"Europeana search at {self.base_url} failed {tries} times for cursor "
            f"{_short(cursor)} (last: {last.reason}): check the API status or the network, "
            "then rerun; records confirmed so far are kept and the harvest resumes from its "
            "saved cursor"
        )

    def _attempt(
        self, params: Sequence[tuple[str, str]], cursor: str, schedule: RetrySchedule
    ) -> SearchPage | _Retryable:
        try:
            self._breaker.before_request()
        except CircuitOpen as open_breaker:
            raise EuropeanaUnavailableError(
                f"{open_breaker}: check the API status or the network, then rerun; the "
                "harvest resumes from its saved cursor"
            ) from None
        self.requests_sent += 1
        try:
            response = self._session.get(
                self.base_url, params=params, timeout=self.config.http.timeout
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
                return read_search_page(response.text, self._key, cursor, self.base_url)
            except EuropeanaPageSyntaxError as error:
                return _Retryable(
                    f"HTTP 200 with a body that is {error.syntax} (truncated response?)",
                    unreadable_page=True,
                )
        detail = self._error_text(response)
        if status in (401, 403):
            raise EuropeanaAuthError(
                f"Europeana search at {self.base_url} refused the API key (HTTP {status}: "
                f"{detail}): check {API_KEY_ENV} or the key file; get a key at "
                "https://pro.europeana.eu/page/get-api"
            )
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if schedule.retries_status(status, retry_after is not None):
            return _Retryable(f"HTTP {status}: {detail}", retry_after)
        raise EuropeanaRequestError(
            f"Europeana search at {self.base_url} refused the request (HTTP {status}: {detail}) "
            f"for query {self._describe(params)}: fix the query, qf, profile or rows"
        )

    def _error_text(self, response: requests.Response) -> str:
        try:
            body = response.json()
            text = str(body.get("error") or body) if isinstance(body, dict) else str(body)
        except (ValueError, RecursionError):
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


def source_record_from_item(
    item: Any, position: int | None = None, cursor: str | None = None
) -> SourceRecord:
    """Key an item by its Europeana id; one without a usable id keeps a deterministic key so
    the cleanse stage can dead-letter it. Raises EuropeanaItemRejection for an item that
    cannot be published at all (see :func:`item_problems`; ``position`` and ``cursor`` say
    where it was, for the reasons)."""
    problems = item_problems(item, position, cursor)
    if problems:
        raise EuropeanaItemRejection(problems)
    try:
        record_id = europeana_record_id(item.get("id") if isinstance(item, dict) else None)
    except RecordIdentityError:
        record_id = unidentified_record_id(SOURCE, canonical_json(item).encode("utf-8"))
    return SourceRecord(record_id=record_id, payload=item)


def _item_label(item: Any, position: int | None, cursor: str | None) -> str:
    """``europeana item 3 of the page at cursor AoJw... (id /2021672/x)``, printable."""
    label = "europeana item"
    if position is not None:
        label += f" {position}"
    if cursor is not None:
        label += f" of the page at cursor {_short(cursor)}"
    europeana_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(europeana_id, str):
        label += f" (id {escape_lone_surrogates(europeana_id[:200])})"
    return escape_lone_surrogates(label)


def item_problems(item: Any, position: int | None = None, cursor: str | None = None) -> list[str]:
    """Why ``item`` (at ``position`` from 1 on the page fetched with ``cursor``) cannot be
    published as a record, each reason naming the item and the field; empty when it can.

    An item must be a JSON object, hold nothing a UTF-8 JSON message cannot carry (lone
    surrogates, NaN, nesting beyond MAX_ITEM_DEPTH) and give the common record's fields their
    JSON types; the Search API's own fields pass unchecked."""
    label = _item_label(item, position, cursor)
    if isinstance(item, UnreadableItem):
        return [f"{label}: {item.reason}"]
    if not isinstance(item, dict):
        return [f"{label} is {json_type_name(item)}, expected a JSON object (a record)"]
    problems = unencodable_parts(item, MAX_ITEM_DEPTH) + record_shape_problems(item)
    return [f"{label}: {escape_lone_surrogates(problem)}" for problem in problems]


def _dead_letter_key(item: Any, text: str) -> str:
    europeana_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(europeana_id, str) and not has_lone_surrogate(europeana_id):
        try:
            return europeana_record_id(europeana_id)
        except RecordIdentityError:
            pass
    return unidentified_record_id(SOURCE, text.encode("utf-8"))


def dead_letter_item(item: Any, position: int, cursor: str, reasons: list[str]) -> SourceRecord:
    """The dead-letter message of a refused item: its JSON text (the key removed, lone
    surrogates written as escapes, cut at 64 KiB), where it was and why, keyed by its
    Europeana id when it has a usable one."""
    text = item.text if isinstance(item, UnreadableItem) else safe_json_text(item)
    raw, truncated = excerpt(text)
    payload: dict[str, Any] = {
        "raw": raw,
        "raw_truncated": truncated,
        "reasons": [escape_lone_surrogates(reason) for reason in reasons],
        "cursor": escape_lone_surrogates(cursor),
        "position": position,
        "stage": STAGE,
    }
    return SourceRecord(_dead_letter_key(item, text), payload)


@dataclass(frozen=True)
class SortedItems:
    """A page's items split into records to publish and dead letters, in page order."""

    records: list[SourceRecord]
    dead_letters: list[SourceRecord]


def sort_page_items(items: Sequence[Any], cursor: str) -> SortedItems:
    """Records for the items that can be published, dead letters for the others."""
    records: list[SourceRecord] = []
    dead_letters: list[SourceRecord] = []
    for position, item in enumerate(items, start=1):
        try:
            records.append(source_record_from_item(item, position, cursor))
        except EuropeanaItemRejection as rejection:
            dead_letters.append(dead_letter_item(item, position, cursor, rejection.reasons))
    return SortedItems(records, dead_letters)


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
    # Items sent to the dead-letter topic (or already there): unreadable, or of wrong types.
    rejected: int = 0
    # (record_id, reasons) of each item sent to the dead-letter topic in this run.
    rejections: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # (record_id, reasons) of records published that the record contract flags as invalid.
    invalid: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def summary(self) -> str:
        end = "finished" if self.finished else "stopped before the end (rerun to resume)"
        return (
            f"europeana: {self.pages} pages, {self.records} records, {self.published} "
            f"published, {self.skipped} already published, {self.unidentified} without a "
            f"usable id, {self.rejected} rejected to the dead-letter topic; {end}"
        )


def publish_europeana(
    settings: Settings,
    layout: LakehouseLayout,
    query: EuropeanaQuery,
    api_key: Secret,
    *,
    state_dir: Path | None = None,
    base_url: str = SEARCH_URL,
    max_records: int | None = None,
    client_config: ClientConfig | None = None,
    commit_every: int = 1000,
    progress: bool = True,
) -> EuropeanaHarvestResult:
    """Harvest ``query`` page by page and publish every item to the layout's records topic,
    or to its dead-letter topic with its reasons when it cannot be a record (see
    :func:`item_problems`). The cursor state goes to ``state_dir`` (default: the layout's
    europeana state folder).

    Records are published in groups of at least ``commit_every`` (whole pages); after each
    group and its dead letters are confirmed the cursor of the next page is saved, so an
    interrupted run resumes there. ``max_records`` stops early (a partly used page is
    fetched again next run).
    """
    if max_records is not None and max_records < 1:
        raise ValueError(f"max_records must be at least 1, got {max_records}")
    topic, dlq_topic = layout.records_topic, layout.dead_letter_topic
    state_path = cursor_state_path(state_dir or layout.state_dir_for(SOURCE), query, base_url)
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
    pages = records = published = skipped = unidentified = rejected = 0
    total_results: int | None = None
    finished = False
    pending: list[SourceRecord] = []
    dead_letters: list[SourceRecord] = []
    rejections: list[tuple[str, tuple[str, ...]]] = []
    invalid: list[tuple[str, tuple[str, ...]]] = []
    dead_letter_topic_ready = False
    producer = create_producer(settings)
    ledger = PublishLedger(layout.ledger_for(SOURCE))
    client = EuropeanaSearchClient(api_key, base_url, client_config)
    fetcher = _PageFetcher(client, query)
    bar = tqdm(desc="europeana", unit="rec", disable=not progress, initial=records_before)

    def commit(next_cursor: str, done: bool) -> None:
        nonlocal published, skipped, pending, dead_letters, dead_letter_topic_ready
        if pending:
            outcome = publish_envelopes(
                producer, ledger, topic, envelopes_from(SOURCE, pending), progress=False
            )
            published += outcome.published
            skipped += outcome.skipped
            invalid.extend(outcome.invalid)
            pending = []
        if dead_letters:
            if not dead_letter_topic_ready:
                ensure_topics(settings, (dlq_topic,))
                dead_letter_topic_ready = True
            publish_envelopes(
                producer, ledger, dlq_topic, envelopes_from(SOURCE, dead_letters), progress=False
            )
            dead_letters = []
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
                sorted_items = sort_page_items(taken, cursor)
                unidentified += sum(
                    r.record_id.startswith(UNIDENTIFIED_PREFIX) for r in sorted_items.records
                )
                pending.extend(sorted_items.records)
                dead_letters.extend(sorted_items.dead_letters)
                rejected += len(sorted_items.dead_letters)
                rejections.extend(
                    (letter.record_id, tuple(letter.payload.get("reasons", ())))
                    for letter in sorted_items.dead_letters
                )
                _log_dead_letters(sorted_items.dead_letters)
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
                if finished or limit_reached or len(pending) + len(dead_letters) >= commit_every:
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
        rejected=rejected,
        rejections=tuple(rejections),
        invalid=tuple(invalid),
    )
    log.info(
        result.summary(),
        extra={
            "pages": pages,
            "records": records,
            "published": published,
            "already_published": skipped,
            "unidentified": unidentified,
            "rejected": rejected,
            "finished": finished,
            "requests": client.requests_sent,
        },
    )
    return result


def _log_dead_letters(dead_letters: list[SourceRecord]) -> None:
    for message in dead_letters:
        log.warning(
            "europeana item rejected",
            extra={
                "record_id": message.record_id,
                "reasons": "; ".join(message.payload["reasons"]),
            },
        )
