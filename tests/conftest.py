"""Shared fixtures: the real local stack (started if needed, stopped if we started it),
one small Spark session per test run, and isolated pipeline namespaces."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from topic_reader import TopicReader

from heritage.lakehouse_layout import LakehouseLayout
from heritage.services import stack
from heritage.settings import Settings, load_settings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
# The pipeline's ml stage embeds with the tiny random CLIP in tests (fast, no weights); a test
# that needs a real encoder sets HERITAGE_ML_ENCODER itself.
os.environ.setdefault("HERITAGE_ML_ENCODER", "tiny")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the running stack is an integration test, marked or not: `make test`
    runs the others on parallel workers that must not start the stack."""
    for item in items:
        uses_stack = "live_settings" in getattr(item, "fixturenames", ())
        if uses_stack and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)


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

    settings = load_settings()
    ensure_local_credentials(settings.local_env_file)
    if not os.environ.get("HERITAGE_SPARK_DRIVER_MEMORY"):
        # One session serves the whole suite: 3 GiB keeps late tests' broadcast joins from
        # running out of driver memory after hundreds of earlier jobs.
        settings = replace(settings, spark_driver_memory="3g")
    session = build_spark_session(settings, "heritage-tests")
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
def read_topic(live_settings: Settings) -> TopicReader:
    """Reads a topic of the live broker from its start up to the end offsets taken when
    called: ``read_topic(topic)`` gives (key, message as JSON) in partition and offset
    order, ``read_topic.messages(topic)`` every message with its raw bytes and position."""
    return TopicReader(live_settings)


@pytest.fixture(params=["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
def process_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process's own time zone, from UTC+14 to UTC-11 (time zone tests)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield str(request.param)
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()
