"""Resilient, incremental OAI-PMH harvesting into Kafka.

    harvest(settings, layout, OaiEndpointConfig(base_url=URL))
    heritage produce oai --base-url URL [--namespace NAME]      (the same from a shell)

For each (metadataPrefix, set) of an endpoint the harvester pages through ListRecords (or
ListIdentifiers + GetRecord) with resumption tokens and publishes every record through the
one producer path (``publish_envelopes``): ``record_id = oai:<repositoryIdentifier or
host>:<identifier>``, payload = the ``<record>`` XML, record = the metadata mapped onto the
common record model (None when the mapping fails, so the cleanse stage dead-letters it with
a reason), tombstones for deleted headers. Fatal XML pages go to the dead-letter topic with
the raw body, the endpoint, the request and the reason.

Incremental: a list is requested with ``until`` = the repository's own clock at the start
(Identify's responseDate, at its granularity) and ``from`` = the previous complete list's
``until``, so a record that changes while a list is paged is picked up by the next harvest.
The list's state (its window, the token of the first unconfirmed page, counters) is
written atomically and only after Kafka confirmed the records it covers. An expired or
rejected token restarts the same window; records already seen in this run are dropped by
(record_id, datestamp) and records confirmed by an earlier process are skipped by the
publish ledger, so nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

import base64
import logging
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from kafka import KafkaProducer

from heritage.http_policy import HttpPolicy
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.kafka_publisher import (
    PublishResult,
    create_producer,
    envelopes_from,
    publish_envelopes,
)
from heritage.producers.metadata_mapping import SUPPORTED_PREFIXES
from heritage.producers.oai_pmh_harvest_state import (
    ListHarvestState,
    load_list_state,
    save_list_state,
)
from heritage.producers.oai_pmh_http import (
    EndpointBreaker,
    OaiHttpClient,
    OaiHttpError,
    validate_base_url,
)
from heritage.producers.oai_pmh_mapping_pool import MappingOutcome, RecordMapper, record_mapper
from heritage.producers.oai_pmh_protocol import (
    IdentifiersPage,
    Identify,
    InvalidDatestamp,
    OaiErrorResponse,
    OaiHeader,
    OaiMalformedResponse,
    OaiRecord,
    RecordsPage,
    datestamp_as_utc_iso,
    format_datestamp,
    later_datestamp,
    list_request,
    parse_datestamp,
    parse_response,
    resume_request,
)
from heritage.producers.publish_ledger import PublishLedger
from heritage.publication_settings import load_publication_policy
from heritage.record_model import SourceRecord, unidentified_record_id
from heritage.settings import Settings
from heritage.source_settings import OAI_PMH_HTTP_POLICY

log = logging.getLogger(__name__)

SOURCE = "oai"
DEAD_LETTER_STAGE = "oai-harvest"
# How far ahead of this machine's clock a repository's responseDate may be before it is
# taken for a wrong clock: as the `until` of a list it would become the next `from`.
REPOSITORY_CLOCK_AHEAD_LIMIT = timedelta(days=1)
# A request and the page it will give.
_InFlight = tuple[dict[str, str], "Future[RecordsPage | IdentifiersPage]"]


@dataclass(frozen=True)
class OaiEndpointConfig:
    """One repository to harvest and how."""

    # The repository's OAI-PMH base URL (http or https only).
    base_url: str
    # Formats to harvest; each is one list per set (see metadata_mapping.SUPPORTED_PREFIXES).
    metadata_prefixes: tuple[str, ...] = ("oai_dc",)
    # Sets to harvest; None is the whole repository.
    sets: tuple[str | None, ...] = (None,)
    # ListIdentifiers + one GetRecord per identifier instead of ListRecords (for repositories
    # whose ListRecords pages are too large or too slow).
    use_list_identifiers: bool = False
    # Parallel GetRecord requests in ListIdentifiers mode (still capped by the semaphore).
    get_record_workers: int = 8
    # `from` of the very first harvest (None harvests everything).
    initial_from: str | None = None
    # Requests in flight to this endpoint at once, across all harvests in this process.
    max_concurrent_requests: int = 50
    # Retries, backoff and timeouts of each request.
    retry: HttpPolicy = OAI_PMH_HTTP_POLICY
    # Consecutive failed requests after which the endpoint is quarantined.
    failure_threshold: int = 10
    # Restarts of one list (after expired or rejected tokens) before the harvest gives up.
    max_list_restarts: int = 5
    # Records gathered before they are published and the list state is committed.
    publish_every: int = 1000
    # Processes that map records onto the common record model (0: the harvest thread does;
    # 2 keeps a two-core machine busy, see bench/oai_harvest.py).
    mapping_workers: int = 0

    def __post_init__(self) -> None:
        if self.initial_from is not None:
            try:
                parse_datestamp(self.initial_from)
            except InvalidDatestamp as error:
                raise InvalidDatestamp(
                    f"initial `from` of {self.base_url}: {error}; give YYYY-MM-DD or "
                    "YYYY-MM-DDThh:mm:ssZ"
                ) from None


@dataclass
class ListResult:
    metadata_prefix: str
    set_spec: str | None
    from_datestamp: str | None = None
    until_datestamp: str | None = None
    pages: int = 0
    published: int = 0
    already_published: int = 0
    tombstones: int = 0
    mapping_failures: int = 0
    dead_lettered: int = 0
    duplicates_dropped: int = 0
    restarts: int = 0
    recovered_pages: int = 0
    completed: bool = False
    error: str | None = None
    # (record id or page, reasons) of each page or record sent to the dead-letter topic.
    rejections: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    # (record_id, reasons) of records published that the record contract flags as invalid.
    invalid: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


@dataclass
class HarvestResult:
    endpoint: str
    # The namespace of this endpoint's record ids (repositoryIdentifier, else the host).
    namespace: str
    lists: list[ListResult] = field(default_factory=list)

    @property
    def published(self) -> int:
        return sum(item.published for item in self.lists)

    @property
    def already_published(self) -> int:
        return sum(item.already_published for item in self.lists)

    @property
    def ok(self) -> bool:
        return all(item.completed for item in self.lists)

    def summary(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "namespace": self.namespace,
            "ok": self.ok,
            "published": self.published,
            "already_published": self.already_published,
            # Counts per list; the records behind them are in the dead-letter topic.
            "lists": [
                {k: v for k, v in item.__dict__.items() if k not in ("rejections", "invalid")}
                | {"invalid": len(item.invalid)}
                for item in self.lists
            ],
        }


class ListHarvestFailed(RuntimeError):
    """One list could not be harvested; its state is kept, so a rerun resumes it."""


def oai_record_id(namespace: str, identifier: str) -> str:
    """``oai:<namespace>:<identifier>``; an identifier already in that namespace (the
    oai-identifier scheme, ``oai:<namespace>:<local>``) is used as it is rather than
    prefixed twice."""
    prefix = f"oai:{namespace}:"
    return identifier if identifier.startswith(prefix) else f"{prefix}{identifier}"


def record_namespace(identify: Identify, base_url: str) -> str:
    return identify.repository_identifier or urlsplit(base_url).hostname or "unknown-host"


def harvest_window(
    identify: Identify, completed_until: str | None, initial_from: str | None
) -> tuple[str | None, str]:
    """(from, until) of the next list, at the repository's granularity: from where the last
    complete list ended, until the repository's clock now (its responseDate). A responseDate
    that is not a datestamp, or more than a day ahead of this machine's clock, is replaced
    by this machine's clock: an earlier `until` only moves records to the next list."""
    granularity = identify.granularity
    local_now = datetime.now(tz=UTC)
    try:
        now = parse_datestamp(identify.response_date)
    except InvalidDatestamp:
        now = local_now
    if now - local_now > REPOSITORY_CLOCK_AHEAD_LIMIT:
        log.warning(
            "repository responseDate is far ahead of the local clock; the local clock ends "
            "the list",
            extra={"response_date": identify.response_date, "local": local_now.isoformat()},
        )
        now = local_now
    until = format_datestamp(now, granularity)
    start = completed_until or initial_from
    return (format_datestamp(parse_datestamp(start), granularity) if start else None), until


def dead_letter_payload(
    endpoint: str, request: dict[str, str], reason: str, raw: bytes
) -> dict[str, Any]:
    """What an operator needs to replay or report a page that could not be used."""
    try:
        text, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    return {
        "stage": DEAD_LETTER_STAGE,
        "endpoint": endpoint,
        "request": request,
        "reason": reason,
        "raw_payload": text,
        "raw_payload_encoding": encoding,
    }


def _dead_letter_reasons(letter: SourceRecord) -> tuple[str, ...]:
    payload = letter.payload if isinstance(letter.payload, dict) else {}
    reasons = payload.get("reasons") or [payload.get("reason") or "no reason given"]
    return tuple(str(reason) for reason in reasons)


def dead_letter_record(
    endpoint: str, request: dict[str, str], reason: str, raw: bytes
) -> SourceRecord:
    return SourceRecord(
        record_id=unidentified_record_id(SOURCE, raw),
        payload=dead_letter_payload(endpoint, request, reason, raw),
    )


@dataclass
class MappedRecord:
    source_record: SourceRecord
    # Why the metadata could not be mapped (then source_record.record is None).
    mapping_error: str | None = None


def source_record_for(
    record: OaiRecord, namespace: str, repository_name: str, mapping: MappingOutcome
) -> MappedRecord:
    """The SourceRecord of one harvested record: a tombstone for a deleted header, else the
    record XML with its mapping onto the common record model (None if mapping failed)."""
    header = record.header
    record_id = oai_record_id(namespace, header.identifier)
    try:
        changed = datestamp_as_utc_iso(header.datestamp)
    except ValueError:
        changed = header.datestamp
    if header.deleted:
        return MappedRecord(
            SourceRecord(
                record_id,
                record.xml,
                {"id": header.identifier, "timestamp_update": changed},
                deleted=True,
            )
        )
    mapped, error = mapping
    if mapped is None:
        return MappedRecord(SourceRecord(record_id, record.xml), error or "not mapped")
    # The OAI identifier is the one the repository keys the record by (and the one its
    # tombstone will carry); the header knows when it changed and who delivered it.
    mapped["id"] = header.identifier
    mapped.setdefault("timestamp_update", changed)
    if repository_name:
        mapped.setdefault("provider", [repository_name])
    return MappedRecord(SourceRecord(record_id, record.xml, mapped))


class _Publisher:
    """Records and dead letters through the one producer path (acks=all, ledger)."""

    def __init__(self, settings: Settings, ledger_path: Path, topic: str, dlq_topic: str) -> None:
        self.topic = topic
        self.dlq_topic = dlq_topic
        self._producer: KafkaProducer = create_producer(settings)
        self._ledger = PublishLedger(ledger_path)

    def publish(self, topic: str, records: list[SourceRecord]) -> PublishResult:
        if not records:
            return PublishResult(0, 0)
        return publish_envelopes(
            self._producer,
            self._ledger,
            topic,
            envelopes_from(SOURCE, records),
            progress=False,
            chunk_size=max(len(records), 1),
        )

    def close(self) -> None:
        try:
            self._producer.close()
        finally:
            self._ledger.close()


@dataclass
class _Pending:
    """Records gathered since the last commit and what the state becomes once they are in."""

    records: list[SourceRecord] = field(default_factory=list)
    max_datestamp: str | None = None
    # The token that follows the last gathered page (None: restart or end of the list).
    token: str | None = None
    token_expires: str | None = None


class _ListHarvest:
    """Harvests one (metadataPrefix, set) list of an endpoint."""

    def __init__(
        self,
        endpoint: OaiEndpointConfig,
        client: OaiHttpClient,
        publisher: _Publisher,
        state_dir: Path,
        identify: Identify,
        namespace: str,
        metadata_prefix: str,
        set_spec: str | None,
        mapper: RecordMapper,
    ) -> None:
        self.endpoint = endpoint
        self.mapper = mapper
        self.client = client
        self.publisher = publisher
        self.state_dir = state_dir
        self.identify = identify
        self.namespace = namespace
        self.prefix = metadata_prefix
        self.set_spec = set_spec
        self.verb = "ListIdentifiers" if endpoint.use_list_identifiers else "ListRecords"
        self.result = ListResult(metadata_prefix, set_spec)
        self._seen: set[tuple[str, str]] = set()
        self._dead_letters: deque[SourceRecord] = deque()

    # -- state -----------------------------------------------------------------------------

    def _save(self, state: ListHarvestState) -> None:
        save_list_state(self.state_dir, state)

    def _begin(self) -> ListHarvestState | None:
        state = load_list_state(self.state_dir, self.endpoint.base_url, self.prefix, self.set_spec)
        if state.in_progress:
            log.info(
                "resuming OAI-PMH list",
                extra=self._log_fields(token=bool(state.token), from_=state.run_from),
            )
        else:
            try:
                run_from, run_until = harvest_window(
                    self.identify, state.completed_until, self.endpoint.initial_from
                )
            except InvalidDatestamp as error:
                raise ListHarvestFailed(
                    f"the harvest state of {self.endpoint.base_url} {self.prefix}/"
                    f"{self.set_spec or 'all'} holds completed_until "
                    f"{state.completed_until!r}: {error}; fix or delete the state file"
                ) from None
            if run_from and parse_datestamp(run_from) > parse_datestamp(run_until):
                log.warning(
                    "repository clock is behind the last harvest; nothing to harvest",
                    extra=self._log_fields(from_=run_from, until=run_until),
                )
                self.result.completed = True
                return None
            state.run_from, state.run_until = run_from, run_until
            state.in_progress, state.token, state.token_expires = True, None, None
            self._save(state)  # the window only: it covers no records yet
        self.result.from_datestamp, self.result.until_datestamp = state.run_from, state.run_until
        return state

    def _commit(self, state: ListHarvestState, pending: _Pending, complete: bool) -> None:
        """Publish what is pending, then (and only then) move the state forward."""
        self._publish_dead_letters()
        sent = self.publisher.publish(self.publisher.topic, pending.records)
        self.result.published += sent.published
        self.result.already_published += sent.skipped
        self.result.invalid.extend(sent.invalid)
        state.records_committed += len(pending.records)
        state.last_committed_datestamp = later_datestamp(
            state.last_committed_datestamp, pending.max_datestamp
        )
        state.token, state.token_expires = pending.token, pending.token_expires
        if complete:
            state.in_progress = False
            state.completed_until = state.run_until
            state.token = state.token_expires = None
            state.last_error = None
        self._save(state)
        pending.records, pending.max_datestamp = [], None

    def _publish_dead_letters(self) -> None:
        letters: list[SourceRecord] = []
        while self._dead_letters:
            letters.append(self._dead_letters.popleft())
        if letters:
            self.publisher.publish(self.publisher.dlq_topic, letters)
            self.result.dead_lettered += len(letters)
            self.result.rejections.extend(
                (letter.record_id, _dead_letter_reasons(letter)) for letter in letters
            )

    # -- requests --------------------------------------------------------------------------

    def _on_malformed(self, error: OaiMalformedResponse, request: dict[str, str]) -> None:
        # Called from fetch threads: queue it; the harvest thread publishes (the ledger is
        # a single-thread SQLite connection).
        log.error(
            "malformed OAI-PMH page dead-lettered",
            extra=self._log_fields(request=str(request), reason=error.reason),
        )
        self._dead_letters.append(
            dead_letter_record(self.endpoint.base_url, request, error.reason, error.payload)
        )

    def _fetch(self, request: dict[str, str]) -> RecordsPage | IdentifiersPage:
        page = self.client.fetch(request, parse_response, self._on_malformed)
        if not isinstance(page, RecordsPage | IdentifiersPage):
            raise ListHarvestFailed(
                f"{self.endpoint.base_url} answered {page.verb} to {request}; expected {self.verb}"
            )
        if page.recovered_faults:
            log.warning(
                "OAI-PMH page parsed after recovering from XML faults",
                extra=self._log_fields(
                    request=str(request), faults="; ".join(page.recovered_faults[:5])
                ),
            )
        return page

    def _get_records(
        self, headers: Iterable[OaiHeader], pool: ThreadPoolExecutor
    ) -> list[OaiRecord]:
        """GetRecord for each live header, in parallel, in list order; a record that vanished
        meanwhile (idDoesNotExist) is left to the next harvest's tombstone."""

        def get(header: OaiHeader) -> OaiRecord | None:
            request = {
                "verb": "GetRecord",
                "identifier": header.identifier,
                "metadataPrefix": self.prefix,
            }
            try:
                page = self.client.fetch(request, parse_response, self._on_malformed)
            except OaiErrorResponse as error:
                if error.has("idDoesNotExist"):
                    log.warning("record vanished before GetRecord", extra=self._log_fields())
                    return None
                raise
            if not isinstance(page, RecordsPage):
                return None
            for problem in page.problems:
                self._dead_letters.append(
                    dead_letter_record(
                        self.endpoint.base_url, request, problem.reason, problem.xml.encode()
                    )
                )
            return page.records[0] if page.records else None

        fetched = list(pool.map(get, [h for h in headers if not h.deleted]))
        return [r for r in fetched if r is not None]

    # -- records ---------------------------------------------------------------------------

    def _gather(
        self,
        page: RecordsPage | IdentifiersPage,
        request: dict[str, str],
        pending: _Pending,
        pool: ThreadPoolExecutor,
    ) -> None:
        if isinstance(page, IdentifiersPage):
            tombstones = [OaiRecord(h, None, _tombstone_xml(h)) for h in page.headers if h.deleted]
            records = tombstones + self._get_records(page.headers, pool)
        else:
            records = list(page.records)
        for problem in page.problems:
            self._dead_letters.append(
                dead_letter_record(
                    self.endpoint.base_url,
                    request,
                    problem.reason,
                    problem.xml.encode("utf-8"),
                )
            )
        if page.recovered_faults:
            self.result.recovered_pages += 1
        fresh: list[OaiRecord] = []
        for record in records:
            key = (oai_record_id(self.namespace, record.header.identifier), record.header.datestamp)
            if key in self._seen:
                self.result.duplicates_dropped += 1
                continue
            self._seen.add(key)
            fresh.append(record)
        live = [record for record in fresh if not record.header.deleted]
        outcomes = iter(self.mapper.map_records(self.prefix, live))
        for record in fresh:
            mapping = (None, None) if record.header.deleted else next(outcomes)
            mapped = source_record_for(
                record,
                self.namespace,
                self.identify.repository_name,
                mapping,
            )
            if mapped.source_record.deleted:
                self.result.tombstones += 1
            elif mapped.mapping_error is not None:
                self.result.mapping_failures += 1
                log.warning(
                    "record metadata could not be mapped; published with record=None",
                    extra=self._log_fields(
                        record_id=mapped.source_record.record_id, reason=mapped.mapping_error
                    ),
                )
            pending.records.append(mapped.source_record)
            pending.max_datestamp = later_datestamp(pending.max_datestamp, record.header.datestamp)

    # -- the list --------------------------------------------------------------------------

    def run(self) -> ListResult:
        state = self._begin()
        if state is None:
            return self.result
        assert state.run_until is not None
        first_request = list_request(
            self.verb, self.prefix, self.set_spec, state.run_from, state.run_until
        )
        request = resume_request(self.verb, state.token) if state.token else first_request
        pending = _Pending(token=state.token, token_expires=state.token_expires)
        workers = max(1, self.endpoint.get_record_workers)
        with (
            ThreadPoolExecutor(1, "oai-prefetch") as prefetch,
            ThreadPoolExecutor(workers, "oai-getrecord") as pool,
        ):
            in_flight: _InFlight | None = (request, prefetch.submit(self._fetch, request))
            try:
                while in_flight is not None:
                    request, future = in_flight
                    try:
                        page = future.result()
                    except OaiErrorResponse as error:
                        in_flight = self._after_error(
                            error, request, state, pending, first_request, prefetch
                        )
                        continue
                    self.result.pages += 1
                    token = page.token.value if page.token and page.token.value else None
                    if token is not None and token == request.get("resumptionToken"):
                        raise ListHarvestFailed(
                            f"{self.endpoint.base_url} answered resumptionToken {token!r} with "
                            "the same token: the list would never end; report it to the "
                            "repository"
                        )
                    expires = page.token.expiration_date if page.token and token else None
                    # Ask for the next page while this one is mapped and published.
                    in_flight = None
                    if token:
                        following = resume_request(self.verb, token)
                        in_flight = (following, prefetch.submit(self._fetch, following))
                    self._gather(page, request, pending, pool)
                    pending.token, pending.token_expires = token, expires
                    if in_flight is None or len(pending.records) >= self.endpoint.publish_every:
                        self._commit(state, pending, complete=in_flight is None)
            except BaseException as error:
                if in_flight is not None:
                    in_flight[1].cancel()
                self._fail(state, pending, error)
                raise
        self.result.completed = True
        log.info("OAI-PMH list harvested", extra=self._log_fields(**self.result.__dict__))
        return self.result

    def _after_error(
        self,
        error: OaiErrorResponse,
        request: dict[str, str],
        state: ListHarvestState,
        pending: _Pending,
        first_request: dict[str, str],
        prefetch: ThreadPoolExecutor,
    ) -> _InFlight | None:
        """The next request after an OAI error answer, or None when the list is done."""
        if error.has("noRecordsMatch"):
            self._commit(state, pending, complete=True)
            return None
        if error.has("badResumptionToken") and "resumptionToken" in request:
            self.result.restarts += 1
            if self.result.restarts > self.endpoint.max_list_restarts:
                raise ListHarvestFailed(
                    f"{self.endpoint.base_url} rejected resumption tokens "
                    f"{self.result.restarts} times for {self.prefix}/{self.set_spec or 'all'} "
                    f"({error}); raise the repository's token lifetime or max_list_restarts"
                ) from error
            log.warning(
                "resumption token rejected; restarting the list from its from-datestamp",
                extra=self._log_fields(reason=str(error), from_=state.run_from),
            )
            state.token_restarts += 1
            pending.token = pending.token_expires = None
            self._commit(state, pending, complete=False)
            return first_request, prefetch.submit(self._fetch, first_request)
        raise ListHarvestFailed(
            f"{self.endpoint.base_url} refused {request}: {error}; "
            "check the metadataPrefix and set against ListMetadataFormats and ListSets"
        ) from error

    def _fail(self, state: ListHarvestState, pending: _Pending, error: BaseException) -> None:
        """Keep what can be kept: records and dead letters already gathered (so a rerun
        resumes after them), and the error for operators."""
        self.result.error = str(error)
        if not isinstance(error, Exception):
            return  # interrupted: leave the state as last committed
        try:
            if pending.records:
                self._commit(state, pending, complete=False)
            else:
                self._publish_dead_letters()
        except Exception:
            log.exception("gathered records could not be published", extra=self._log_fields())
        state.failed_runs += 1
        state.last_error = str(error)[:1000]
        self._save(state)

    def _log_fields(self, **fields: Any) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint.base_url,
            "metadata_prefix": self.prefix,
            "set": self.set_spec or "",
            **{key.rstrip("_"): value for key, value in fields.items()},
        }


def _tombstone_xml(header: OaiHeader) -> str:
    """A deleted header as the <record> a ListRecords answer would have carried."""
    specs = "".join(f"<setSpec>{escape(s)}</setSpec>" for s in header.set_specs)
    return (
        '<record xmlns="http://www.openarchives.org/OAI/2.0/"><header status="deleted">'
        f"<identifier>{escape(header.identifier)}</identifier>"
        f"<datestamp>{escape(header.datestamp)}</datestamp>{specs}</header></record>"
    )


def harvest(
    settings: Settings,
    layout: LakehouseLayout,
    endpoint: OaiEndpointConfig,
    *,
    state_dir: Path | None = None,
) -> HarvestResult:
    """Harvest every (metadataPrefix, set) list of one endpoint into the layout's records
    topic (unusable pages to its dead-letter topic, confirmations to its oai ledger); list
    state and endpoint health go to ``state_dir`` (default: the layout's oai state folder).

    Identify comes first (granularity, repositoryIdentifier, the repository's clock); then
    each list runs incrementally from where the last complete one ended. A list that the
    repository refuses (e.g. cannotDisseminateFormat) is reported in the result and the
    others go on; a quarantined endpoint (EndpointQuarantined) or a request that keeps
    failing (OaiHttpError) stops the harvest with the state kept for the rerun.
    """
    validate_base_url(endpoint.base_url)
    state_dir = state_dir or layout.state_dir_for(SOURCE)
    breaker = EndpointBreaker(state_dir, endpoint.base_url, endpoint.failure_threshold)
    breaker.check()
    client = OaiHttpClient(
        endpoint.base_url, breaker, endpoint.retry, endpoint.max_concurrent_requests
    )
    try:
        identify = client.fetch({"verb": "Identify"}, parse_response)
        if not isinstance(identify, Identify):
            raise OaiHttpError(
                f"{endpoint.base_url} answered {identify.verb} to Identify; is it an "
                "OAI-PMH base URL?"
            )
        namespace = record_namespace(identify, endpoint.base_url)
        result = HarvestResult(endpoint.base_url, namespace)
        for prefix in endpoint.metadata_prefixes:
            if prefix not in SUPPORTED_PREFIXES:
                log.warning(
                    "metadataPrefix has no mapping; records are published with record=None",
                    extra={"endpoint": endpoint.base_url, "metadata_prefix": prefix},
                )
        publisher = _Publisher(
            settings, layout.ledger_for(SOURCE), layout.records_topic, layout.dead_letter_topic
        )
        mapper = record_mapper(endpoint.mapping_workers, load_publication_policy(settings))
        try:
            for prefix in endpoint.metadata_prefixes:
                for set_spec in endpoint.sets:
                    harvest_list = _ListHarvest(
                        endpoint, client, publisher, state_dir, identify, namespace, prefix,
                        set_spec, mapper,
                    )  # fmt: skip
                    try:
                        result.lists.append(harvest_list.run())
                    except ListHarvestFailed as error:
                        log.error(
                            "OAI-PMH list failed; the other lists go on",
                            extra={"endpoint": endpoint.base_url, "error": str(error)},
                        )
                        result.lists.append(harvest_list.result)
        finally:
            mapper.close()
            publisher.close()
    finally:
        client.close()
    return result
