"""Log lines: JSON for tools, human for a terminal, never cut by a progress bar."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
from tqdm import tqdm

from heritage.json_logging import (
    HumanFormatter,
    JsonFormatter,
    ProgressAwareStreamHandler,
    choose_log_format,
    configure_logging,
    correlation_scope,
    human_value,
)

CORRELATION_ID = "3f2a9c1e0b7d4e6fa1b2c3d4e5f60718"


def rejected_record() -> logging.LogRecord:
    record = logging.LogRecord(
        "heritage.producers.lido_drop", logging.WARNING, __file__, 1, "lido record rejected",
        None, None,
    )  # fmt: skip
    record.__dict__.update(
        {"file": "drops/export.xml", "line": 120, "reasons": "no title; no rights"}
    )
    record.created = 1_764_972_000.25  # 2025-12-05T22:00:00.250Z
    return record


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


@pytest.mark.parametrize(
    ("requested", "terminal", "chosen"),
    [
        ("auto", True, "human"),
        ("auto", False, "json"),
        ("json", True, "json"),
        ("human", False, "human"),
    ],
)
def test_log_format_follows_the_option_then_the_terminal(
    requested: str, terminal: bool, chosen: str
) -> None:
    assert choose_log_format(requested, terminal) == chosen


def test_an_unknown_log_format_names_the_choices() -> None:
    with pytest.raises(ValueError, match="auto, json, human"):
        choose_log_format("yaml", True)


def test_json_lines_keep_their_fields_and_order() -> None:
    with correlation_scope(CORRELATION_ID):
        line = JsonFormatter().format(rejected_record())
    assert json.loads(line) == {
        "ts": "2025-12-05T22:00:00.250+00:00",
        "level": "warning",
        "logger": "heritage.producers.lido_drop",
        "msg": "lido record rejected",
        "correlation_id": CORRELATION_ID,
        "file": "drops/export.xml",
        "line": 120,
        "reasons": "no title; no rights",
    }
    assert list(json.loads(line))[:5] == ["ts", "level", "logger", "msg", "correlation_id"]


def test_a_human_line_has_time_level_message_extras_and_short_correlation_id() -> None:
    with correlation_scope(CORRELATION_ID):
        line = HumanFormatter().format(rejected_record())
    assert line == (
        "22:00:00 WARNING lido record rejected file=drops/export.xml line=120 "
        'reasons="no title; no rights" [cid 3f2a9c1e]'
    )


def test_human_values_with_spaces_or_quotes_stay_one_token() -> None:
    assert human_value("a b") == '"a b"'
    assert human_value('say "hi"') == '"say \\"hi\\""'
    assert human_value("") == '""'
    assert human_value(None) == "null"
    assert human_value("lido:DE-Mb112/obj") == "lido:DE-Mb112/obj"


def test_a_log_line_is_never_written_into_a_progress_bar() -> None:
    stream = io.StringIO()
    handler = ProgressAwareStreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    bar = tqdm(total=10, desc="lido drop", file=stream, mininterval=0)
    try:
        bar.update(3)
        handler.emit(rejected_record())
        bar.update(3)
    finally:
        bar.close()
    logged = [line for line in stream.getvalue().split("\n") if '"ts"' in line]
    assert len(logged) == 1
    # What the terminal shows on that line is what follows the last carriage return.
    assert json.loads(logged[0].rsplit("\r", 1)[-1])["msg"] == "lido record rejected"


def test_configure_logging_writes_json_to_a_stderr_that_is_not_a_terminal(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    with correlation_scope(CORRELATION_ID):
        logging.getLogger("heritage.test").info("started", extra={"records": 3})
    [line] = capsys.readouterr().err.splitlines()
    entry = json.loads(line)
    assert (entry["msg"], entry["records"], entry["correlation_id"]) == (
        "started",
        3,
        CORRELATION_ID,
    )
    [handler] = logging.getLogger().handlers
    # Tests and tools redirect the handler to a buffer of their own.
    assert isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr


def test_configure_logging_honours_a_forced_human_format(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "human")
    with correlation_scope(CORRELATION_ID):
        logging.getLogger("heritage.test").info("started")
    assert capsys.readouterr().err.rstrip("\n").endswith("INFO    started [cid 3f2a9c1e]")
