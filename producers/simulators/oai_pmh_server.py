"""A local OAI-PMH 2.0 repository of generated heritage records, for tests and benchmarks.

    python -m heritage.producers.simulators.oai_pmh_server \
        --records 20000 --port 8765 --page-size 100

It serves ``records`` deterministic objects (seeded) in four formats (``oai_dc``, ``lido``,
``edm``, ``iso19139``) with sets, deleted records, datestamps that change while it runs
(``live_change_fraction`` of the records are revised or deleted during the first
``live_change_window_s`` seconds, so incremental ``from`` harvesting matters), resumption
tokens that expire, and injected faults: 429 and 503 answers with Retry-After, truncated
pages and undefined entities. :class:`GeneratedRepository` and :class:`OaiService` are pure
given a clock; the HTTP layer is a thin ThreadingHTTPServer around them.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from heritage.producers.oai_pmh_protocol import Granularity
from heritage.producers.simulators.oai_pmh_generated_records import (
    METADATA_FORMATS,
    SET_SPECS,
    generated_object,
    metadata_xml,
)

log = logging.getLogger(__name__)

_EARLIEST = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
# Records were created over three years and deleted within 90 days after; all of it lies
# before any real start time, so the whole history is visible from the start.
_HISTORY_SECONDS = 3 * 365 * 24 * 3600
_LIST_VERBS = ("ListRecords", "ListIdentifiers")
_ALLOWED_ARGUMENTS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
}


@dataclass(frozen=True)
class OaiServerConfig:
    """What the test repository holds and how it misbehaves."""

    # Loopback only: this is a test fixture, never a public service.
    host: str = "127.0.0.1"
    # 0 picks a free port (read it from RunningOaiServer.base_url).
    port: int = 0
    # How many objects the repository holds (deleted ones included).
    records: int = 1000
    # Seed of every generated object and datestamp: same seed, same repository.
    seed: int = 0
    # Records (or headers) per ListRecords/ListIdentifiers page.
    page_size: int = 100
    # Seconds a resumption token stays valid; older tokens get badResumptionToken.
    token_lifetime_s: float = 600.0
    # The oai-identifier namespace announced by Identify.
    repository_identifier: str = "heritage.example.org"
    granularity: Granularity = Granularity.SECOND
    # Share of records already deleted (status="deleted") when the server starts.
    deleted_fraction: float = 0.02
    # Share of records revised or deleted while the server runs.
    live_change_fraction: float = 0.0
    # The live changes are spread over this many seconds after start.
    live_change_window_s: float = 60.0
    # Share of the live changes that are deletions rather than revisions.
    live_deletion_share: float = 0.2
    # Share of requests answered 429 Too Many Requests (with Retry-After).
    throttle_fraction: float = 0.0
    # Share of requests answered 503 Service Unavailable (with Retry-After).
    unavailable_fraction: float = 0.0
    # Seconds sent in Retry-After with 429 and 503.
    retry_after_s: int = 1
    # Share of list pages cut off mid-document (malformed XML).
    truncated_fraction: float = 0.0
    # Share of list pages with an undefined entity in one title (recoverable XML).
    undefined_entity_fraction: float = 0.0
    # Seconds added to every answer (to simulate a slow repository).
    delay_s: float = 0.0
    # Seed of the fault draws, kept apart so faults can vary while the content stays.
    fault_seed: int = 1


@dataclass(frozen=True)
class RecordState:
    """One record as the repository shows it at some moment."""

    index: int
    identifier: str
    # Seconds since the epoch (UTC) of the record's last change.
    changed_at: int
    deleted: bool
    # 0 as created, 1 after its live revision.
    version: int
    set_spec: str


def _set_exists(set_spec: str) -> bool:
    return any(spec == set_spec or spec.startswith(f"{set_spec}:") for spec in SET_SPECS)


def _utc_text(seconds: float, granularity: Granularity) -> str:
    moment = datetime.fromtimestamp(int(seconds), tz=UTC)
    if granularity is Granularity.DAY:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class GeneratedRepository:
    """The repository's records over time; pure given ``now`` (seconds since the epoch)."""

    def __init__(self, config: OaiServerConfig, started_at: float) -> None:
        self.config = config
        self.started_at = started_at
        rng = random.Random(f"oai-repository:{config.seed}")
        count = config.records
        self._created = [_EARLIEST + rng.randrange(_HISTORY_SECONDS) for _ in range(count)]
        self._deleted_at: list[int | None] = [
            created + rng.randrange(1, 90 * 24 * 3600)
            if rng.random() < config.deleted_fraction
            else None
            for created in self._created
        ]
        window = max(config.live_change_window_s, 1.0)
        self._live_change: list[tuple[int, bool] | None] = []
        for _ in range(count):
            if rng.random() < config.live_change_fraction:
                at = int(started_at + 1 + rng.random() * window)
                self._live_change.append((at, rng.random() < config.live_deletion_share))
            else:
                self._live_change.append(None)
        self._sets = [generated_object(config.seed, i).set_spec for i in range(count)]
        self._prefix = f"oai:{config.repository_identifier}:"

    @property
    def size(self) -> int:
        return self.config.records

    @property
    def earliest_datestamp(self) -> str:
        return _utc_text(_EARLIEST, self.config.granularity)

    def identifier(self, index: int) -> str:
        return f"{self._prefix}object-{index:07d}"

    def index_of(self, identifier: str) -> int | None:
        local = identifier.removeprefix(self._prefix)
        if local == identifier or not local.startswith("object-"):
            return None
        digits = local.removeprefix("object-")
        if not digits.isdigit() or len(digits) != 7:
            return None
        index = int(digits)
        return index if index < self.size else None

    def state(self, index: int, now: float) -> RecordState:
        live = self._live_change[index]
        if live is not None and now >= live[0]:
            at, deleted = live
            return RecordState(index, self.identifier(index), at, deleted, 1, self._sets[index])
        deleted_at = self._deleted_at[index]
        if deleted_at is not None:
            return RecordState(
                index, self.identifier(index), deleted_at, True, 0, self._sets[index]
            )
        created = self._created[index]
        return RecordState(index, self.identifier(index), created, False, 0, self._sets[index])

    def snapshot(self, now: float) -> list[RecordState]:
        """Every record as the repository shows it at ``now``: the truth a harvest must reach."""
        return [self.state(index, now) for index in range(self.size)]

    def live_changes_done_at(self) -> float:
        """When the last live change becomes visible (started_at when there are none)."""
        moments = [change[0] for change in self._live_change if change is not None]
        return float(max(moments, default=int(self.started_at)))

    def in_set(self, index: int, set_spec: str) -> bool:
        own = self._sets[index]
        return own == set_spec or own.startswith(f"{set_spec}:")

    def datestamp(self, state: RecordState) -> str:
        return _utc_text(state.changed_at, self.config.granularity)

    def header_xml(self, state: RecordState) -> str:
        status = ' status="deleted"' if state.deleted else ""
        return (
            f"<header{status}><identifier>{escape(state.identifier)}</identifier>"
            f"<datestamp>{self.datestamp(state)}</datestamp>"
            f"<setSpec>{escape(state.set_spec)}</setSpec></header>"
        )

    def record_xml(self, state: RecordState, prefix: str) -> str:
        header = self.header_xml(state)
        if state.deleted:
            return f"<record>{header}</record>"
        obj = generated_object(self.config.seed, state.index, state.version)
        body = metadata_xml(prefix, obj, state.identifier, self.datestamp(state))
        return f"<record>{header}<metadata>{body}</metadata></record>"


@dataclass(frozen=True)
class ListCursor:
    """Where a list continues: what the resumption token carries."""

    verb: str
    metadata_prefix: str
    set_spec: str
    from_s: int
    until_s: int
    # Index of the last record already served (keyset paging: records that drop out of
    # the list while it is paged do not shift the rest).
    after_index: int
    cursor: int
    complete_list_size: int
    issued_at: float


@dataclass(frozen=True)
class OaiAnswer:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class ServerStatistics:
    requests: int = 0
    throttled: int = 0
    unavailable: int = 0
    truncated: int = 0
    undefined_entities: int = 0
    expired_tokens: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    by_verb: dict[str, int] = field(default_factory=dict)


class _OaiFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class OaiService:
    """Answers OAI-PMH requests for a GeneratedRepository, faults included."""

    def __init__(
        self,
        config: OaiServerConfig,
        base_url: str = "http://127.0.0.1/oai",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.base_url = base_url
        self.clock = clock
        self.repository = GeneratedRepository(config, clock())
        self.statistics = ServerStatistics()
        self._lock = threading.Lock()
        self._fault_rng = random.Random(f"oai-faults:{config.fault_seed}")
        self._secret = hashlib.sha256(f"oai-token:{config.seed}".encode()).digest()

    # -- faults and bookkeeping ------------------------------------------------------------

    def _draw(self) -> tuple[float, float, float]:
        with self._lock:
            rng = self._fault_rng
            return rng.random(), rng.random(), rng.random()

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.statistics, name, getattr(self.statistics, name) + 1)

    @contextmanager
    def _tracked(self, verb: str) -> Iterator[None]:
        with self._lock:
            stats = self.statistics
            stats.requests += 1
            stats.by_verb[verb] = stats.by_verb.get(verb, 0) + 1
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.statistics.in_flight -= 1

    def answer(self, arguments: dict[str, list[str]]) -> OaiAnswer:
        """The HTTP answer to one request's arguments (query string or form body)."""
        verb = arguments.get("verb", [""])[0]
        with self._tracked(verb):
            if self.config.delay_s > 0:
                time.sleep(self.config.delay_s)
            fault, damage, where = self._draw()
            retry = (("Retry-After", str(self.config.retry_after_s)),)
            if fault < self.config.throttle_fraction:
                self._count("throttled")
                return OaiAnswer(429, b"Too Many Requests: slow down\n", retry)
            if fault < self.config.throttle_fraction + self.config.unavailable_fraction:
                self._count("unavailable")
                return OaiAnswer(503, b"Service Unavailable: try again later\n", retry)
            body = self._respond(arguments).encode("utf-8")
            if verb in _LIST_VERBS and b"<error " not in body:
                body = self._damage(body, damage, where)
            return OaiAnswer(200, body, (("Content-Type", "text/xml; charset=utf-8"),))

    def _damage(self, body: bytes, damage: float, where: float) -> bytes:
        if damage < self.config.truncated_fraction:
            self._count("truncated")
            return body[: int(len(body) * (0.25 + 0.5 * where))]
        if damage < self.config.truncated_fraction + self.config.undefined_entity_fraction:
            self._count("undefined_entities")
            return body.replace(b"</dc:title>", b"&nbsp;</dc:title>", 1)
        return body

    # -- protocol --------------------------------------------------------------------------

    def _respond(self, arguments: dict[str, list[str]]) -> str:
        now = self.clock()
        verbs = arguments.get("verb", [])
        verb = verbs[0] if len(verbs) == 1 else ""
        try:
            if verb not in _ALLOWED_ARGUMENTS:
                raise _OaiFault("badVerb", f"illegal OAI verb {verb!r}")
            single = self._check_arguments(verb, arguments)
            body = self._dispatch(verb, single, now)
        except _OaiFault as fault:
            request_attributes = (
                ""
                if fault.code in ("badVerb", "badArgument")
                else (self._request_attributes(arguments))
            )
            return self._envelope(
                now,
                request_attributes,
                f"<error code={quoteattr(fault.code)}>{escape(fault.message)}</error>",
            )
        return self._envelope(now, self._request_attributes(arguments), body)

    def _request_attributes(self, arguments: dict[str, list[str]]) -> str:
        return "".join(f" {name}={quoteattr(values[0])}" for name, values in arguments.items())

    def _envelope(self, now: float, request_attributes: str, body: str) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
            'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
            f"<responseDate>{_utc_text(now, Granularity.SECOND)}</responseDate>"
            f"<request{request_attributes}>{escape(self.base_url)}</request>"
            f"{body}</OAI-PMH>"
        )

    def _check_arguments(self, verb: str, arguments: dict[str, list[str]]) -> dict[str, str]:
        required, optional = _ALLOWED_ARGUMENTS[verb]
        names = set(arguments) - {"verb"}
        if any(len(values) != 1 for values in arguments.values()):
            raise _OaiFault("badArgument", "an argument is repeated")
        if "resumptionToken" in names and names != {"resumptionToken"}:
            raise _OaiFault("badArgument", "resumptionToken is an exclusive argument")
        unknown = names - required - optional
        if unknown:
            raise _OaiFault("badArgument", f"illegal arguments: {', '.join(sorted(unknown))}")
        missing = required - names
        if missing and "resumptionToken" not in names:
            raise _OaiFault("badArgument", f"missing arguments: {', '.join(sorted(missing))}")
        return {name: values[0] for name, values in arguments.items() if name != "verb"}

    def _dispatch(self, verb: str, arguments: dict[str, str], now: float) -> str:
        if verb == "Identify":
            return self._identify()
        if verb == "ListMetadataFormats":
            if "identifier" in arguments and self._index(arguments["identifier"]) is None:
                raise _OaiFault("idDoesNotExist", f"no record {arguments['identifier']!r}")
            formats = "".join(
                f"<metadataFormat><metadataPrefix>{prefix}</metadataPrefix>"
                f"<schema>{schema}</schema><metadataNamespace>{namespace}</metadataNamespace>"
                "</metadataFormat>"
                for prefix, (schema, namespace) in METADATA_FORMATS.items()
            )
            return f"<ListMetadataFormats>{formats}</ListMetadataFormats>"
        if verb == "ListSets":
            if "resumptionToken" in arguments:
                raise _OaiFault("badResumptionToken", "ListSets is never paged here")
            return self._list_sets()
        if verb == "GetRecord":
            prefix = self._prefix(arguments["metadataPrefix"])
            index = self._index(arguments["identifier"])
            if index is None:
                raise _OaiFault("idDoesNotExist", f"no record {arguments['identifier']!r}")
            state = self.repository.state(index, now)
            return f"<GetRecord>{self.repository.record_xml(state, prefix)}</GetRecord>"
        return self._list(verb, arguments, now)

    def _identify(self) -> str:
        repository_id = escape(self.config.repository_identifier)
        return (
            "<Identify><repositoryName>Heritage OAI-PMH test repository</repositoryName>"
            f"<baseURL>{escape(self.base_url)}</baseURL><protocolVersion>2.0</protocolVersion>"
            "<adminEmail>oai-admin@heritage.example.org</adminEmail>"
            f"<earliestDatestamp>{self.repository.earliest_datestamp}</earliestDatestamp>"
            "<deletedRecord>persistent</deletedRecord>"
            f"<granularity>{self.config.granularity.value}</granularity>"
            "<description><oai-identifier "
            'xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier">'
            f"<scheme>oai</scheme><repositoryIdentifier>{repository_id}</repositoryIdentifier>"
            "<delimiter>:</delimiter>"
            f"<sampleIdentifier>oai:{repository_id}:object-0000001</sampleIdentifier>"
            "</oai-identifier></description></Identify>"
        )

    def _list_sets(self) -> str:
        parents = sorted({spec.split(":")[0] for spec in SET_SPECS})
        entries = [(parent, f"All {parent}") for parent in parents] + [
            (spec, spec.split(":", 1)[1].capitalize()) for spec in SET_SPECS
        ]
        sets = "".join(
            f"<set><setSpec>{escape(spec)}</setSpec><setName>{escape(name)}</setName></set>"
            for spec, name in entries
        )
        return f"<ListSets>{sets}</ListSets>"

    def _prefix(self, prefix: str) -> str:
        if prefix not in METADATA_FORMATS:
            raise _OaiFault(
                "cannotDisseminateFormat",
                f"metadataPrefix {prefix!r} is not one of {', '.join(METADATA_FORMATS)}",
            )
        return prefix

    def _index(self, identifier: str) -> int | None:
        return self.repository.index_of(identifier)

    def _bound(self, value: str | None, upper: bool) -> int | None:
        if value is None:
            return None
        day = len(value) == 10
        try:
            if day:
                moment = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            elif self.config.granularity is Granularity.DAY:
                raise _OaiFault("badArgument", f"{value!r} is finer than the day granularity")
            else:
                moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _OaiFault("badArgument", f"{value!r} is not a valid datestamp") from None
        seconds = int(moment.timestamp())
        return seconds + 86399 if day and upper else seconds

    def _list(self, verb: str, arguments: dict[str, str], now: float) -> str:
        if "resumptionToken" in arguments:
            position = self._decode_token(arguments["resumptionToken"], verb, now)
        else:
            prefix = self._prefix(arguments["metadataPrefix"])
            set_spec = arguments.get("set", "")
            if set_spec and not _set_exists(set_spec):
                raise _OaiFault("noRecordsMatch", f"no set {set_spec!r}")
            from_s = self._bound(arguments.get("from"), upper=False)
            until_s = self._bound(arguments.get("until"), upper=True)
            if (
                "from" in arguments
                and "until" in arguments
                and len(arguments["from"]) != len(arguments["until"])
            ):
                raise _OaiFault("badArgument", "from and until have different granularities")
            # Without `until` the list is frozen at its first request, so that records
            # changing while it is paged do not make it endless.
            until = int(now) if until_s is None else until_s
            lower = _EARLIEST - 1 if from_s is None else from_s
            if from_s is not None and until_s is not None and from_s > until_s:
                raise _OaiFault("badArgument", "from is later than until")
            position = ListCursor(verb, prefix, set_spec, lower, until, -1, 0, -1, now)
            size = sum(1 for _ in self._matches(position, now, limit=None))
            if size == 0:
                raise _OaiFault("noRecordsMatch", "no records match the request")
            position = ListCursor(verb, prefix, set_spec, lower, until, -1, 0, size, now)
        page = list(self._matches(position, now, limit=self.config.page_size + 1))
        more = len(page) > self.config.page_size
        page = page[: self.config.page_size]
        if verb == "ListRecords":
            items = "".join(self.repository.record_xml(s, position.metadata_prefix) for s in page)
        else:
            items = "".join(self.repository.header_xml(s) for s in page)
        token = self._token_xml(position, page[-1].index if page else None, len(page), more, now)
        return f"<{verb}>{items}{token}</{verb}>"

    def _matches(
        self, position: ListCursor, now: float, limit: int | None
    ) -> Iterator[RecordState]:
        found = 0
        for index in range(position.after_index + 1, self.repository.size):
            if position.set_spec and not self.repository.in_set(index, position.set_spec):
                continue
            state = self.repository.state(index, now)
            if position.from_s <= state.changed_at <= position.until_s:
                yield state
                found += 1
                if limit is not None and found >= limit:
                    return

    def _token_xml(
        self, position: ListCursor, last: int | None, served: int, more: bool, now: float
    ) -> str:
        if position.cursor == 0 and not more:
            return ""  # a complete list in one page carries no token
        attributes = f' completeListSize="{position.complete_list_size}" cursor="{position.cursor}"'
        if not more or last is None:
            return f"<resumptionToken{attributes}/>"
        following = ListCursor(
            position.verb,
            position.metadata_prefix,
            position.set_spec,
            position.from_s,
            position.until_s,
            last,
            position.cursor + served,
            position.complete_list_size,
            now,
        )
        expires = _utc_text(now + self.config.token_lifetime_s, Granularity.SECOND)
        return (
            f'<resumptionToken expirationDate="{expires}"{attributes}>'
            f"{self._encode_token(following)}</resumptionToken>"
        )

    def _encode_token(self, position: ListCursor) -> str:
        fields = (
            position.verb,
            position.metadata_prefix,
            position.set_spec,
            str(position.from_s),
            str(position.until_s),
            str(position.after_index),
            str(position.cursor),
            str(position.complete_list_size),
            f"{position.issued_at:.3f}",
        )
        text = "\x1f".join(fields).encode("utf-8")
        signature = hmac.new(self._secret, text, "sha256").hexdigest()[:16]
        return f"{base64.urlsafe_b64encode(text).decode('ascii')}.{signature}"

    def _decode_token(self, token: str, verb: str, now: float) -> ListCursor:
        encoded, _, signature = token.partition(".")
        try:
            text = base64.urlsafe_b64decode(encoded.encode("ascii"))
            fields = text.decode("utf-8").split("\x1f")
            valid = hmac.compare_digest(
                hmac.new(self._secret, text, "sha256").hexdigest()[:16], signature
            )
            position = ListCursor(
                fields[0],
                fields[1],
                fields[2],
                int(fields[3]),
                int(fields[4]),
                int(fields[5]),
                int(fields[6]),
                int(fields[7]),
                float(fields[8]),
            )
        except (ValueError, IndexError, UnicodeError):
            raise _OaiFault(
                "badResumptionToken", "the resumptionToken is not one of ours"
            ) from None
        if not valid or position.verb != verb:
            raise _OaiFault("badResumptionToken", "the resumptionToken is not one of ours")
        if now - position.issued_at > self.config.token_lifetime_s:
            self._count("expired_tokens")
            raise _OaiFault(
                "badResumptionToken",
                f"the resumptionToken expired ({self.config.token_lifetime_s:g}s lifetime); "
                "restart the list",
            )
        return position


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _OaiHttpServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self._reply(parts.path, parse_qs(parts.query, keep_blank_values=True))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("utf-8", "replace")
        self._reply(urlsplit(self.path).path, parse_qs(form, keep_blank_values=True))

    def _reply(self, path: str, arguments: dict[str, list[str]]) -> None:
        if path != "/oai":
            answer = OaiAnswer(404, b"not found: the OAI-PMH base URL is /oai\n")
        else:
            answer = self.server.service.answer(arguments)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("oai request", extra={"line": format % args})


class _OaiHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # Many harvest threads connect at once in the concurrency tests.
    request_queue_size = 128
    service: OaiService

    def handle_error(self, request: object, client_address: object) -> None:
        # A harvester killed mid-request resets its connection: routine for this server.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.debug("client went away", extra={"client": str(client_address)})
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclass
class RunningOaiServer:
    base_url: str
    service: OaiService
    _server: _OaiHttpServer
    _thread: threading.Thread

    @property
    def repository(self) -> GeneratedRepository:
        return self.service.repository

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def start_server(config: OaiServerConfig) -> RunningOaiServer:
    """Start serving in a background thread; call ``stop()`` when done."""
    server = _OaiHttpServer((config.host, config.port), _Handler)
    base_url = f"http://{config.host}:{server.server_address[1]}/oai"
    server.service = OaiService(config, base_url)
    thread = threading.Thread(target=server.serve_forever, name="oai-server", daemon=True)
    thread.start()
    log.info("OAI-PMH test repository serving", extra={"base_url": base_url})
    return RunningOaiServer(base_url, server.service, server, thread)


@contextmanager
def running_server(config: OaiServerConfig) -> Iterator[RunningOaiServer]:
    """The test repository for the duration of a block (tests, benchmarks)."""
    running = start_server(config)
    try:
        yield running
    finally:
        running.stop()


def serve(config: OaiServerConfig) -> None:
    """Serve until SIGINT or SIGTERM; prints the base URL first (port 0 picks a free one)."""
    running = start_server(config)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"serving {running.base_url}", flush=True)
    try:
        stop.wait()
    finally:
        running.stop()


def config_from_arguments(
    argv: list[str] | None = None,
    prog: str = "python -m heritage.producers.simulators.oai_pmh_server",
) -> OaiServerConfig:
    defaults = OaiServerConfig()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local OAI-PMH repository of generated heritage records.",
    )
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port")
    parser.add_argument("--records", type=int, default=defaults.records)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--page-size", type=int, default=defaults.page_size)
    parser.add_argument("--token-lifetime", type=float, default=defaults.token_lifetime_s)
    parser.add_argument("--repository-identifier", default=defaults.repository_identifier)
    parser.add_argument(
        "--granularity", choices=[g.value for g in Granularity], default=defaults.granularity.value
    )
    parser.add_argument("--deleted-fraction", type=float, default=defaults.deleted_fraction)
    parser.add_argument("--live-change-fraction", type=float, default=defaults.live_change_fraction)
    parser.add_argument("--live-change-window", type=float, default=defaults.live_change_window_s)
    parser.add_argument("--throttle-fraction", type=float, default=defaults.throttle_fraction)
    parser.add_argument("--unavailable-fraction", type=float, default=defaults.unavailable_fraction)
    parser.add_argument("--retry-after", type=int, default=defaults.retry_after_s)
    parser.add_argument("--truncated-fraction", type=float, default=defaults.truncated_fraction)
    parser.add_argument(
        "--undefined-entity-fraction", type=float, default=defaults.undefined_entity_fraction
    )
    parser.add_argument("--delay", type=float, default=defaults.delay_s)
    parser.add_argument("--fault-seed", type=int, default=defaults.fault_seed)
    args = parser.parse_args(argv)
    return OaiServerConfig(
        host=args.host,
        port=args.port,
        records=args.records,
        seed=args.seed,
        page_size=args.page_size,
        token_lifetime_s=args.token_lifetime,
        repository_identifier=args.repository_identifier,
        granularity=Granularity(args.granularity),
        deleted_fraction=args.deleted_fraction,
        live_change_fraction=args.live_change_fraction,
        live_change_window_s=args.live_change_window,
        throttle_fraction=args.throttle_fraction,
        unavailable_fraction=args.unavailable_fraction,
        retry_after_s=args.retry_after,
        truncated_fraction=args.truncated_fraction,
        undefined_entity_fraction=args.undefined_entity_fraction,
        delay_s=args.delay,
        fault_seed=args.fault_seed,
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    serve(config_from_arguments())
