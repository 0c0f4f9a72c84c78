"""The OAI-PMH harvester against the real broker and the local test repository: full and
incremental harvests, token restarts, dead letters, ListIdentifiers mode, refused lists,
and the acceptance run (100,000 records, a harvester process killed twice)."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from http_server import Reply, Request, serve
from lxml import etree
from producer_layouts import producer_layout
from topic_reader import TopicMessage, TopicReader

from heritage.kafka_topics import ensure_topics
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.oai_pmh_harvest_state import (
    ListHarvestState,
    list_state_path,
    load_list_state,
    save_list_state,
)
from heritage.producers.oai_pmh_harvester import OaiEndpointConfig, harvest
from heritage.producers.oai_pmh_protocol import OAI_NS, parse_datestamp, xml_parser
from heritage.producers.simulators.oai_pmh_server import (
    GeneratedRepository,
    OaiServerConfig,
    RecordState,
    running_server,
)
from heritage.settings import Settings
from heritage.source_settings import OAI_PMH_HTTP_POLICY

pytestmark = pytest.mark.integration

FAST_RETRIES = replace(
    OAI_PMH_HTTP_POLICY,
    backoff_base_s=0.01,
    backoff_max_s=0.05,
    backoff_jitter_s=0.01,
    max_attempts=20,
)


def latest_by_key(messages: list[TopicMessage]) -> dict[str, dict[str, Any]]:
    """The last message per key (one key lives in one partition, in offset order)."""
    latest: dict[str, TopicMessage] = {}
    for message in sorted(messages, key=lambda m: (m.partition, m.offset)):
        latest[message.key] = message
    return {key: message.value for key, message in latest.items()}


def header_of(envelope: dict[str, Any]) -> tuple[str, str, bool]:
    record = etree.fromstring(envelope["payload"].encode(), xml_parser())
    header = record.find(f"{{{OAI_NS}}}header")
    return (
        header.findtext(f"{{{OAI_NS}}}identifier"),
        header.findtext(f"{{{OAI_NS}}}datestamp"),
        header.get("status") == "deleted",
    )


def assert_topic_matches(
    latest: dict[str, dict[str, Any]], repository: GeneratedRepository, truth: list[RecordState]
) -> None:
    """The newest message of every record is the repository's current version."""
    assert set(latest) == {state.identifier for state in truth}
    for state in truth:
        envelope = latest[state.identifier]
        assert envelope["source"] == "oai"
        assert envelope["deleted"] is state.deleted, state.identifier
        identifier, datestamp, deleted = header_of(envelope)
        assert (identifier, datestamp, deleted) == (
            state.identifier,
            repository.datestamp(state),
            state.deleted,
        )
        record = envelope["record"]
        assert record["id"] == state.identifier
        if not state.deleted:
            assert ("(revised 1)" in record["title"][0]) is (state.version == 1)


def fresh_topic(settings: Settings, name: str) -> str:
    topic = f"heritage.test.oai.{name}.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, (topic,))
    return topic


def test_full_then_incremental_harvest(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path
) -> None:
    topic = fresh_topic(live_settings, "incremental")
    dlq = fresh_topic(live_settings, "dlq")
    config = OaiServerConfig(
        records=400,
        page_size=50,
        seed=21,
        deleted_fraction=0.05,
        live_change_fraction=0.1,
        live_change_window_s=2,
    )
    with running_server(config) as server:
        endpoint = OaiEndpointConfig(server.base_url, publish_every=120, retry=FAST_RETRIES)
        first = harvest(
            live_settings, producer_layout(live_settings, tmp_path, topic, dlq), endpoint
        )
        assert first.ok
        assert first.namespace == "heritage.example.org"
        assert first.lists[0].tombstones > 0
        state = load_list_state(tmp_path, server.base_url, "oai_dc", None)
        assert not state.in_progress
        assert state.completed_until == first.lists[0].until_datestamp

        time.sleep(max(0.0, server.repository.live_changes_done_at() + 1.2 - time.time()))
        second = harvest(
            live_settings, producer_layout(live_settings, tmp_path, topic, dlq), endpoint
        )
        truth = server.repository.snapshot(time.time())
        until = parse_datestamp(first.lists[0].until_datestamp).timestamp()
        changed_later = [s for s in truth if s.changed_at > until]
        assert second.lists[0].from_datestamp == first.lists[0].until_datestamp
        assert changed_later
        assert second.published == len(changed_later)

        third = harvest(
            live_settings, producer_layout(live_settings, tmp_path, topic, dlq), endpoint
        )
        assert third.published == 0

    messages = read_topic.messages(topic)
    assert len(messages) == first.published + second.published
    assert_topic_matches(latest_by_key(messages), server.repository, truth)
    mapped = next(m.value for m in messages if not m.value["deleted"])
    assert mapped["record"]["timestamp_update"].endswith("Z")
    assert mapped["record"]["provider"] == ["Heritage OAI-PMH test repository"]


def test_rejected_token_restarts_the_list_and_loses_nothing(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path
) -> None:
    topic = fresh_topic(live_settings, "restart")
    with running_server(OaiServerConfig(records=300, page_size=40, seed=5)) as server:
        # A harvest that crashed holding a token the repository no longer honours.
        save_list_state(
            tmp_path,
            ListHarvestState(
                server.base_url,
                "oai_dc",
                None,
                run_until="2030-01-01T00:00:00Z",
                in_progress=True,
                token="stale-token-from-a-crashed-run",
            ),
        )
        endpoint = OaiEndpointConfig(server.base_url, retry=FAST_RETRIES)
        result = harvest(live_settings, producer_layout(live_settings, tmp_path, topic), endpoint)
        truth = server.repository.snapshot(time.time())
    assert result.ok
    assert result.lists[0].restarts == 1
    assert result.published == 300
    state = load_list_state(tmp_path, server.base_url, "oai_dc", None)
    assert state.token_restarts == 1
    assert state.completed_until == "2030-01-01T00:00:00Z"
    messages = read_topic.messages(topic)
    assert len(messages) == 300
    assert_topic_matches(latest_by_key(messages), server.repository, truth)


def test_malformed_pages_are_dead_lettered_and_retried(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path
) -> None:
    topic = fresh_topic(live_settings, "records")
    dlq = fresh_topic(live_settings, "dlq")
    config = OaiServerConfig(records=300, page_size=30, seed=9, truncated_fraction=0.3)
    with running_server(config) as server:
        endpoint = OaiEndpointConfig(server.base_url, retry=FAST_RETRIES, failure_threshold=50)
        result = harvest(
            live_settings, producer_layout(live_settings, tmp_path, topic, dlq), endpoint
        )
        truncated = server.service.statistics.truncated
    assert result.ok
    assert truncated > 0
    assert result.lists[0].dead_lettered == truncated
    assert len(latest_by_key(read_topic.messages(topic))) == 300
    letters = read_topic.messages(dlq)
    assert len(letters) == truncated
    for letter in letters:
        envelope = letter.value
        assert envelope["source"] == "oai"
        assert envelope["record_id"].startswith("oai:unidentified:")
        payload = envelope["payload"]
        assert payload["endpoint"] == server.base_url
        assert payload["request"]["verb"] == "ListRecords"
        assert "truncated" in payload["reason"] or "well-formed" in payload["reason"]
        assert payload["raw_payload"].startswith("<?xml")


def test_list_identifiers_mode_publishes_what_list_records_does(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path
) -> None:
    by_records = fresh_topic(live_settings, "listrecords")
    by_identifiers = fresh_topic(live_settings, "listidentifiers")
    with running_server(OaiServerConfig(records=150, page_size=40, seed=12)) as server:
        for topic, identifiers_mode in ((by_records, False), (by_identifiers, True)):
            endpoint = OaiEndpointConfig(
                server.base_url,
                metadata_prefixes=("edm",),
                use_list_identifiers=identifiers_mode,
                retry=FAST_RETRIES,
            )
            assert harvest(
                live_settings, producer_layout(live_settings, tmp_path / topic, topic), endpoint
            ).ok
        assert server.service.statistics.by_verb["GetRecord"] > 100

    def summary(topic: str) -> dict[str, tuple[bool, str | None]]:
        return {
            key: (e["deleted"], None if e["deleted"] else e["content_hash"])
            for key, e in latest_by_key(read_topic.messages(topic)).items()
        }

    assert summary(by_records) == summary(by_identifiers)
    assert len(summary(by_records)) == 150


def test_a_refused_list_is_reported_and_the_others_go_on(
    live_settings: Settings, tmp_path: Path
) -> None:
    topic = fresh_topic(live_settings, "refused")
    with running_server(OaiServerConfig(records=60, seed=2)) as server:
        endpoint = OaiEndpointConfig(
            server.base_url, metadata_prefixes=("marc21", "iso19139"), retry=FAST_RETRIES
        )
        result = harvest(live_settings, producer_layout(live_settings, tmp_path, topic), endpoint)
    assert not result.ok
    refused, harvested = result.lists
    assert refused.error and "cannotDisseminateFormat" in refused.error
    assert harvested.completed and harvested.published == 60
    assert load_list_state(tmp_path, server.base_url, "marc21", None).failed_runs == 1


# --- acceptance -------------------------------------------------------------------------

ACCEPTANCE_RECORDS = 100_000
TOKEN_LIFETIME_S = 2.0


def _harvester_process(base_url: str, state_dir: Path, namespace: str) -> subprocess.Popen[str]:
    """`heritage produce oai` into the namespace's topic, its JSON logs kept in state_dir."""
    runs = len(list(state_dir.glob("harvester-*.log")))
    with (state_dir / f"harvester-{runs}.log").open("w") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "heritage.cli",
                "--log-level",
                "WARNING",
                "produce",
                "oai",
                "--base-url",
                base_url,
                "--state-dir",
                str(state_dir),
                "--namespace",
                namespace,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=os.environ.copy(),
        )


def _finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The harvest's summary line (`oai: N read, M published, ...`): exit 0 means every list
    completed."""
    out, _ = process.communicate(timeout=400)
    assert process.returncode == 0, out
    summary = out.strip().splitlines()[-1]
    published = re.search(r"([\d,]+) published", summary)
    assert published, summary
    return {"ok": True, "published": int(published.group(1).replace(",", "")), "line": summary}


def test_acceptance_100k_records_with_two_sigkills(
    live_settings: Settings, read_topic: TopicReader, tmp_path: Path
) -> None:
    """100,000 records, page size 100, tokens that expire, 503s with Retry-After, and the
    harvester process SIGKILLed twice at random points: afterwards the topic holds every
    record in its latest version, and a repeat harvest publishes nothing."""
    namespace = f"oaiacceptance{uuid.uuid4().hex[:8]}"
    layout = LakehouseLayout.namespaced(live_settings, namespace)
    topic = layout.records_topic
    ensure_topics(live_settings, (topic,))
    rng = random.Random()
    seed = rng.randrange(1_000_000)
    rng.seed(seed)
    # Kill points, as shares of the records committed (so each kill lands mid-run).
    kill_points = [rng.uniform(0.1, 0.4), rng.uniform(0.5, 0.8)]
    config = OaiServerConfig(
        records=ACCEPTANCE_RECORDS,
        page_size=100,
        seed=seed,
        token_lifetime_s=TOKEN_LIFETIME_S,
        unavailable_fraction=0.01,
        retry_after_s=1,
        deleted_fraction=0.02,
        live_change_fraction=0.01,
        live_change_window_s=20,
    )
    started = time.monotonic()
    with running_server(config) as server:
        state_file = list_state_path(tmp_path, server.base_url, "oai_dc", None)
        for share in kill_points:
            process = _harvester_process(server.base_url, tmp_path, namespace)
            while True:
                assert process.poll() is None, f"harvester ended before the kill (seed {seed})"
                committed = (
                    load_list_state(tmp_path, server.base_url, "oai_dc", None).records_committed
                    if state_file.exists()
                    else 0
                )
                if committed >= share * ACCEPTANCE_RECORDS:
                    break
                time.sleep(0.05)
            # Random moment past the kill point: mid-page, mid-publish or mid-commit.
            time.sleep(rng.uniform(0.0, 0.7))
            process.send_signal(signal.SIGKILL)
            process.wait()
            # The saved token outlives the process; let it expire so the restart must
            # start the list again from its from-datestamp.
            time.sleep(TOKEN_LIFETIME_S + 0.5)
        first = _finish(_harvester_process(server.base_url, tmp_path, namespace))
        assert first["ok"], first
        # Records changed during the run that the killed lists passed: next harvest's job.
        time.sleep(max(0.0, server.repository.live_changes_done_at() + 1.2 - time.time()))
        incremental = _finish(_harvester_process(server.base_url, tmp_path, namespace))
        truth = server.repository.snapshot(time.time())
        repeat = _finish(_harvester_process(server.base_url, tmp_path, namespace))
        stats = server.service.statistics
    shutil.rmtree(layout.producer_state_dir, ignore_errors=True)  # the namespace's ledger
    state = load_list_state(tmp_path, server.base_url, "oai_dc", None)
    assert repeat["published"] == 0, repeat
    assert stats.expired_tokens >= 1
    assert stats.unavailable >= 1
    assert state.token_restarts >= 1

    messages = read_topic.messages(topic)
    latest = latest_by_key(messages)
    assert len(latest) == ACCEPTANCE_RECORDS
    assert_topic_matches(latest, server.repository, truth)
    # A message is sent twice only if a kill fell between Kafka's confirmation and the
    # ledger write; each kill can cost at most one publish chunk.
    pairs = [(m.key, m.value["content_hash"]) for m in messages]
    resent = len(pairs) - len(set(pairs))
    assert resent <= 2 * 1000, resent
    print(
        f"acceptance: seed {seed}, kills at {[round(p, 2) for p in kill_points]}, "
        f"{len(messages)} messages, {resent} re-sent, {state.token_restarts} token restarts, "
        f"{stats.expired_tokens} expired tokens, {stats.unavailable} 503s, incremental "
        f"published {incremental['published']}, {time.monotonic() - started:.0f}s"
    )


def _same_token_repository(request: Request) -> Reply:
    """A broken repository: every ListRecords page hands out the same token."""
    if request.query.get("verb") == "Identify":
        body = (
            "<Identify><repositoryName>Loop</repositoryName><baseURL>u</baseURL>"
            "<protocolVersion>2.0</protocolVersion><earliestDatestamp>2000-01-01"
            "</earliestDatestamp><deletedRecord>no</deletedRecord>"
            "<granularity>YYYY-MM-DD</granularity></Identify>"
        )
    else:
        body = (
            "<ListRecords><record><header><identifier>oai:loop:1</identifier>"
            "<datestamp>2020-01-01</datestamp></header></record>"
            "<resumptionToken>same</resumptionToken></ListRecords>"
        )
    payload = (
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        f"<responseDate>2024-01-01T00:00:00Z</responseDate><request>u</request>{body}"
        "</OAI-PMH>"
    ).encode()
    return Reply(body=payload, content_type="text/xml")


def test_a_token_that_never_changes_fails_the_list(live_settings: Settings, tmp_path: Path) -> None:
    with serve(_same_token_repository) as server:
        endpoint = OaiEndpointConfig(f"{server.base_url}/oai", retry=FAST_RETRIES)
        result = harvest(
            live_settings,
            producer_layout(live_settings, tmp_path, fresh_topic(live_settings, "loop")),
            endpoint,
        )
    assert not result.ok
    assert result.lists[0].error and "same token" in result.lists[0].error
    assert result.lists[0].published == 1  # the first page's record was kept (not a loss)
