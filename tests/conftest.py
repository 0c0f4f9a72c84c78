"""Shared fixtures: the real local stack (started if needed, stopped if we started it),
one small Spark session per test run, and isolated pipeline namespaces."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from heritage.lakehouse_layout import LakehouseLayout
from heritage.services import stack
from heritage.settings import Settings, load_settings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
# The pipeline's ml stage embeds with the tiny random CLIP in tests (fast, no weights); a test
# that needs a real encoder sets HERITAGE_ML_ENCODER itself.
os.environ.setdefault("HERITAGE_ML_ENCODER", "tiny")


@pytest.fixture(autouse=True)
def _main_module_restored() -> Iterator[None]:
    """Streamlit's AppTest runs a page as ``__main__`` and leaves it there; a process pool
    started later (spawn) would run that page again in every worker. Put the real one back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not present at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def live_settings() -> Iterator[Settings]:
    """Settings of a running local stack; starts it for the session when it is not up."""
    already_up = all(row.healthy for row in stack.status())
    settings = stack.up(report=lambda _line: None)
    yield settings
    if not already_up:
        stack.down(settings, report=lambda _line: None)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One small Spark session for every test; pure-transform tests need no services, and
    the S3A settings point at the local stack for the tests that do."""
    from heritage.services.credentials import ensure_local_credentials
    from heritage.spark_session import build_spark_session

    ensure_local_credentials(load_settings().local_env_file)
    session = build_spark_session(load_settings(), "heritage-tests")
    yield session
    session.stop()


@pytest.fixture
def layout(live_settings: Settings) -> Iterator[LakehouseLayout]:
    """A fresh, isolated namespace: own topics, Delta tables and database; removed after."""
    from heritage.lakehouse_namespaces import drop_namespace
    from heritage.pipeline import prepare

    namespaced = LakehouseLayout.namespaced(live_settings, f"t{uuid.uuid4().hex[:10]}")
    prepare(live_settings, namespaced)
    yield namespaced
    drop_namespace(live_settings, namespaced)


@pytest.fixture
def offline_settings(tmp_path: Path) -> Settings:
    return load_settings({"HERITAGE_STATE_DIR": str(tmp_path / "state")})


@pytest.fixture
def read_topic(live_settings: Settings) -> Callable[[str], list[tuple[str, dict]]]:
    """Reads a topic of the live broker from its start up to the end offsets taken when
    called: (key, message as JSON) in partition and offset order."""
    from kafka import KafkaConsumer, TopicPartition

    def read(topic: str) -> list[tuple[str, dict]]:
        consumer = KafkaConsumer(
            bootstrap_servers=live_settings.kafka_bootstrap_servers, enable_auto_commit=False
        )
        try:
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            end = consumer.end_offsets(partitions)
            remaining = {tp for tp in partitions if end[tp] > 0}
            found: dict[TopicPartition, list[tuple[str, dict]]] = {tp: [] for tp in partitions}
            deadline = time.monotonic() + 60
            while remaining and time.monotonic() < deadline:
                for tp, records in consumer.poll(timeout_ms=500).items():
                    found[tp] += [(r.key.decode(), json.loads(r.value)) for r in records]
                    if records and records[-1].offset + 1 >= end[tp]:
                        remaining.discard(tp)
            assert not remaining, f"could not read {topic} to its end within 60 s"
            return [message for tp in partitions for message in found[tp]]
        finally:
            consumer.close()

    return read
