"""A private single KRaft broker killed and started again under a publishing producer: the
producer waits with one status line per retry and finishes by itself once the broker is
back; past its broker timeout it gives up, with exactly the confirmed messages in its
ledger, and a rerun sends only the rest.

The shared stack is not touched: the broker has its own state folder and free ports (the
jars are the shared stack's, linked)."""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from isolated_stack import free_ports
from kafka import KafkaAdminClient
from topic_reader import TopicReader

from heritage.kafka_topics import ensure_topics
from heritage.producers.broker_wait import BrokerUnavailable
from heritage.producers.kafka_publisher import (
    PublishResult,
    create_producer,
    ensure_topics_when_reachable,
    envelopes_from,
    publish_envelopes,
)
from heritage.producers.publish_ledger import PublishLedger
from heritage.record_model import SourceRecord
from heritage.services import kafka_broker, processes
from heritage.settings import Settings, load_settings

pytestmark = pytest.mark.faults

RECORDS = 6000
# Records a second the source yields, so the run lasts long enough to lose its broker.
RECORDS_PER_SECOND = 1000
CHUNK = 500
# What waiting is allowed to take at most before a test fails (it should take seconds).
WAIT_LIMIT_S = 180


@dataclass
class PrivateBroker:
    settings: Settings

    @property
    def run_dir(self) -> Path:
        return self.settings.state_dir / "run"

    def kill(self) -> None:
        assert processes.stop(self.run_dir, kafka_broker.NAME, signal_number=signal.SIGKILL)

    def start(self) -> None:
        kafka_broker.start(self.settings)


@pytest.fixture(scope="module")
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    state = tmp_path_factory.mktemp("private-broker") / "state"
    state.mkdir()
    (state / "jars").symlink_to(load_settings().jars_dir, target_is_directory=True)
    kafka, controller = free_ports(2)
    settings = load_settings(
        {
            "HERITAGE_STATE_DIR": str(state),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka}",
            "HERITAGE_KAFKA_CONTROLLER_PORT": str(controller),
        }
    )
    broker = PrivateBroker(settings)
    broker.start()
    try:
        yield broker
    finally:
        processes.stop(broker.run_dir, kafka_broker.NAME, timeout_s=20)


def slow_records(count: int) -> Iterator[SourceRecord]:
    for i in range(count):
        if i % (RECORDS_PER_SECOND // 4) == 0:
            time.sleep(0.25)
        yield SourceRecord(f"outage:r{i}", {"id": f"r{i}", "n": i})


class Publishing(threading.Thread):
    """One producer run in the background: its result, or the BrokerUnavailable it ended
    with."""

    def __init__(self, settings: Settings, ledger: Path, topic: str, timeout_s: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.ledger, self.topic, self.timeout_s = settings, ledger, topic, timeout_s
        self.result: PublishResult | None = None
        self.gave_up: BrokerUnavailable | None = None

    def run(self) -> None:
        producer = create_producer(self.settings, self.timeout_s)
        ledger = PublishLedger(self.ledger)
        try:
            self.result = publish_envelopes(
                producer,
                ledger,
                self.topic,
                envelopes_from("outage", slow_records(RECORDS)),
                progress=False,
                chunk_size=CHUNK,
            )
        except BrokerUnavailable as error:
            self.gave_up = error
        finally:
            producer.close()
            ledger.close()

    def finish(self) -> None:
        self.join(WAIT_LIMIT_S)
        assert not self.is_alive(), "the producer still runs"


def ledger_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM published").fetchone()[0])


def wait_for_confirmations(path: Path, at_least: int) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while ledger_rows(path) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} confirmed in {path}"
        time.sleep(0.1)


def keys_in(settings: Settings, topic: str) -> list[str]:
    return [key for key, _value in TopicReader(settings)(topic)]


def topic_names(settings: Settings) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def library_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.name.startswith("kafka") and r.levelno >= logging.WARNING
    ]


def status_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "heritage.producers.broker_wait"]


def test_a_producer_finishes_by_itself_once_its_broker_is_back(
    private_broker: PrivateBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings, topic = private_broker.settings, f"heritage.test.outage.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, (topic,))
    ledger = tmp_path / "published.sqlite"
    run = Publishing(settings, ledger, topic, timeout_s=WAIT_LIMIT_S)
    with caplog.at_level(logging.INFO):
        run.start()
        wait_for_confirmations(ledger, CHUNK)
        private_broker.kill()
        private_broker.start()
        run.finish()

    assert run.gave_up is None
    assert run.result is not None and run.result.published == RECORDS
    assert ledger_rows(ledger) == RECORDS
    assert set(keys_in(settings, topic)) == {f"outage:r{i}" for i in range(RECORDS)}
    lines = status_lines(caplog)
    assert any(" unreachable; retrying in " in line for line in lines), lines
    assert lines[-1].endswith("reachable again"), lines
    assert library_warnings(caplog) == []


def test_past_its_broker_timeout_a_producer_gives_up_and_a_rerun_sends_the_rest(
    private_broker: PrivateBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings, topic = private_broker.settings, f"heritage.test.outage.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, (topic,))
    ledger = tmp_path / "published.sqlite"
    run = Publishing(settings, ledger, topic, timeout_s=5)
    with caplog.at_level(logging.INFO):
        run.start()
        wait_for_confirmations(ledger, CHUNK)
        private_broker.kill()
        run.finish()
    assert run.gave_up is not None
    assert " unreachable; gave up after 5 s" in str(run.gave_up)
    confirmed = ledger_rows(ledger)
    assert CHUNK <= confirmed < RECORDS
    assert library_warnings(caplog) == []

    # A producer that starts while the broker is away waits for it to create its topics.
    later_topic = f"{topic}.later"
    creating = threading.Thread(
        target=ensure_topics_when_reachable, args=(settings, (later_topic,)), daemon=True
    )
    creating.start()
    private_broker.start()
    creating.join(WAIT_LIMIT_S)
    assert not creating.is_alive()
    assert later_topic in topic_names(settings)
    # What the ledger holds, Kafka has: exactly the confirmed messages are skipped.
    assert len(set(keys_in(settings, topic))) >= confirmed
    rerun = Publishing(settings, ledger, topic, timeout_s=WAIT_LIMIT_S)
    rerun.start()
    rerun.finish()
    assert rerun.result is not None
    assert (rerun.result.published, rerun.result.skipped) == (RECORDS - confirmed, confirmed)
    assert set(keys_in(settings, topic)) == {f"outage:r{i}" for i in range(RECORDS)}
