"""A producer whose Kafka broker is unreachable: one status line per wait from the producer
itself (kafka-python's reconnect chatter kept out), a deadline from --broker-timeout or
HERITAGE_BROKER_TIMEOUT_S, and after it one line on stderr, exit 2 and an empty ledger."""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from heritage.cli import build_parser
from heritage.cli.common_options import producer_settings
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers.broker_wait import (
    BROKER_TIMEOUT_VARIABLE,
    DEFAULT_BROKER_TIMEOUT_S,
    BrokerUnavailable,
    BrokerWatch,
    broker_timeout_s,
    give_up_message,
    quiet_library_reconnects,
    status_line,
)
from heritage.producers.kafka_publisher import (
    LINGER_MS,
    REQUEST_TIMEOUT_MS,
    producer_config,
)
from heritage.services.processes import ServiceError
from heritage.settings import PROJECT_ROOT, Settings, load_settings

BROKER_LOGGER = "heritage.producers.broker_wait"
# Each producing command with the arguments it cannot do without.
PRODUCING_COMMANDS = {
    "sample": [],
    "europeana": [],
    "lido": ["export.xml"],
    "csv": ["export.csv", "--collection", "rijks"],
    "scans": ["scan.png", "--collection", "rijks"],
    "oai": ["--base-url", "http://127.0.0.1:1/oai"],
    "annotations": ["--count", "1"],
}


class FakeClock:
    """Seconds that pass only when the watch sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def watch_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == BROKER_LOGGER]


def test_one_status_line_per_wait_then_the_give_up_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    watch = BrokerWatch("127.0.0.1:19092", 10, clock=clock, sleep=clock.sleep)
    with (
        caplog.at_level(logging.WARNING, logger=BROKER_LOGGER),
        pytest.raises(BrokerUnavailable) as gave_up,
    ):
        while True:
            watch.wait()
    assert watch_lines(caplog) == [
        "Kafka broker 127.0.0.1:19092 unreachable; retrying in 1 s (gives up in 10 s)",
        "Kafka broker 127.0.0.1:19092 unreachable; retrying in 2 s (gives up in 9 s)",
        "Kafka broker 127.0.0.1:19092 unreachable; retrying in 4 s (gives up in 7 s)",
        "Kafka broker 127.0.0.1:19092 unreachable; retrying in 3 s (gives up in 3 s)",
    ]
    assert clock.now == 110.0
    assert str(gave_up.value) == give_up_message("127.0.0.1:19092", 10)
    assert str(gave_up.value) == (
        "Kafka broker 127.0.0.1:19092 unreachable; gave up after 10 s: start it (`heritage "
        "services up`) or allow longer with --broker-timeout SECONDS, then rerun: messages "
        "Kafka confirmed are in the publish ledger and are not sent again"
    )
    assert "\n" not in str(gave_up.value)


def test_an_answer_starts_the_next_outage_afresh(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    watch = BrokerWatch("b:1", 5, clock=clock, sleep=clock.sleep)
    with caplog.at_level(logging.WARNING, logger=BROKER_LOGGER):
        watch.wait()
        watch.wait()
        watch.reachable()
        clock.sleep(60)
        assert watch.failed() == 1.0
    assert watch_lines(caplog)[-2:] == [
        "Kafka broker b:1 reachable again",
        "Kafka broker b:1 unreachable; retrying in 1 s (gives up in 5 s)",
    ]


def test_the_outage_counts_from_when_the_silence_began() -> None:
    clock = FakeClock()
    watch = BrokerWatch("b:1", 5, clock=clock, sleep=clock.sleep)
    with pytest.raises(BrokerUnavailable):
        watch.failed(since=clock.now - 5)


def test_the_status_line_names_what_the_broker_did_not_do() -> None:
    problem = "took no message for t (does the topic exist?)"
    assert status_line("b:1", 4, 52, problem) == (
        "Kafka broker b:1 took no message for t (does the topic exist?); retrying in 4 s "
        "(gives up in 52 s)"
    )


def settings_with(tmp_path: Path, **variables: str) -> Settings:
    return load_settings({"HERITAGE_STATE_DIR": str(tmp_path), **variables})


def test_the_broker_timeout_comes_from_the_variable_else_the_default(tmp_path: Path) -> None:
    assert broker_timeout_s(settings_with(tmp_path)) == DEFAULT_BROKER_TIMEOUT_S
    assert broker_timeout_s(settings_with(tmp_path, **{BROKER_TIMEOUT_VARIABLE: "12.5"})) == 12.5
    for bad in ("0", "-3", "soon", "nan", "inf"):
        with pytest.raises(ServiceError, match=BROKER_TIMEOUT_VARIABLE):
            broker_timeout_s(settings_with(tmp_path, **{BROKER_TIMEOUT_VARIABLE: bad}))


@pytest.mark.parametrize("command", sorted(PRODUCING_COMMANDS))
def test_every_producing_command_takes_a_broker_timeout_over_the_variable(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERITAGE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv(BROKER_TIMEOUT_VARIABLE, "40")
    arguments = ["produce", command, *PRODUCING_COMMANDS[command]]
    plain = build_parser().parse_args(arguments)
    assert broker_timeout_s(producer_settings(plain)) == 40
    given = build_parser().parse_args([*arguments, "--broker-timeout", "7"])
    assert broker_timeout_s(producer_settings(given)) == 7


def test_a_broker_timeout_of_zero_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["produce", "lido", "x.xml", "--broker-timeout", "0"])
    assert refused.value.code == 2
    assert "--broker-timeout" in capsys.readouterr().err


def test_batches_outlive_the_broker_timeout_by_one_request() -> None:
    config = producer_config("b:1", 5)
    assert config["delivery_timeout_ms"] == 5000 + REQUEST_TIMEOUT_MS + LINGER_MS
    # kafka-python refuses a delivery timeout below linger + request timeout.
    assert config["delivery_timeout_ms"] >= config["linger_ms"] + config["request_timeout_ms"]
    assert config["reconnect_backoff_max_ms"] <= 1000


@pytest.fixture
def kafka_log_settings() -> Iterator[None]:
    kafka = logging.getLogger("kafka")
    level = kafka.level
    yield
    kafka.setLevel(level)


def test_reconnect_chatter_is_dropped_and_other_library_errors_kept(
    caplog: pytest.LogCaptureFixture, kafka_log_settings: None
) -> None:
    quiet_library_reconnects()
    quiet_library_reconnects()
    manager = logging.getLogger("kafka.net.manager")
    assert len(manager.filters) == len(set(map(id, manager.filters)))
    with caplog.at_level(logging.DEBUG):
        manager.error("Connection failed: KafkaConnectionError: 111 ECONNREFUSED")
        logging.getLogger("kafka.cluster").warning("No node available for metadata refresh")
        logging.getLogger("kafka.net.connection").error(
            "<KafkaConnection node_id=1>: Connection lost: KafkaConnectionError: socket "
            "disconnected"
        )
        logging.getLogger("kafka.producer.sender").error("MessageSizeTooLargeError on t-0")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("kafka")] == [
        "MessageSizeTooLargeError on t-0"
    ]


def free_port() -> int:
    """A loopback port nothing listens on (bound for a moment, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def producer_arguments(source: str, tmp_path: Path) -> list[str]:
    if source == "csv":
        export = tmp_path / "export.csv"
        export.write_text("id;title\n7;Krug\n", encoding="utf-8")
        return ["produce", "csv", str(export), "--collection", "rijks"]
    if source == "lido":
        export = tmp_path / "export.xml"
        export.write_text('<?xml version="1.0"?>\n<lido:lidoWrap xmlns:lido="http://www.lido-'
                          'schema.org"/>\n', encoding="utf-8")  # fmt: skip
        return ["produce", "lido", str(export)]
    return ["produce", "sample", "--records", "10"]


@pytest.mark.parametrize("source", ["csv", "lido", "sample"])
def test_a_producer_with_no_broker_gives_up_with_one_line_and_an_empty_ledger(
    source: str, tmp_path: Path
) -> None:
    servers = f"127.0.0.1:{free_port()}"
    state = tmp_path / "state"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("HERITAGE_", "KAFKA"))}
    environment = {
        **inherited,
        "HERITAGE_STATE_DIR": str(state),
        "KAFKA_BOOTSTRAP_SERVERS": servers,
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "heritage.cli", "--log-format", "json"]
    arguments = [*producer_arguments(source, tmp_path), "--namespace", "bto"]
    # The guard only catches a producer that waits forever; it gives up after about 5 s.
    done = subprocess.run(
        [*command, *arguments, "--broker-timeout", "5"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert lines[-1] == f"heritage produce {source}: {give_up_message(servers, 5)}"
    logged = [json.loads(line) for line in lines[:-1]]
    assert {entry["logger"] for entry in logged if entry["level"] != "info"} == {BROKER_LOGGER}
    status = [entry["msg"] for entry in logged if entry["logger"] == BROKER_LOGGER]
    assert 1 <= len(status) <= 4, status
    assert all(f"Kafka broker {servers} unreachable; retrying in" in line for line in status)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""

    ledger = LakehouseLayout.namespaced(settings_with(state), "bto").ledger_for(source)
    if ledger.exists():
        with sqlite3.connect(ledger) as db:
            assert db.execute("SELECT count(*) FROM published").fetchone() == (0,)
