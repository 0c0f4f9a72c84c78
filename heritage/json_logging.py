"""Logs with a correlation id per run, as JSON lines for tools or human lines for a terminal.

A JSON line is one object with ``ts`` (UTC), ``level``, ``logger``, ``msg``,
``correlation_id`` and any ``extra`` fields. A human line holds the time, the level, the
message, the extras as ``key=value`` and the correlation id shortened. Logs go to stderr, so
stdout stays for results, through ``tqdm.write``, so a progress bar is never cut by a line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal, TextIO

from tqdm import tqdm

LogFormat = Literal["json", "human"]
# What --log-format accepts: "auto" picks human lines on a terminal, JSON lines otherwise.
LOG_FORMAT_CHOICES = ("auto", "json", "human")
# Characters of the correlation id a human line shows: enough to grep a run's JSON lines.
SHORT_CORRELATION_ID = 8

_correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
_STANDARD_ATTRIBUTES = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    """The correlation id of the run in progress, creating one on first use."""
    value = _correlation_id.get()
    if not value:
        value = new_correlation_id()
        _correlation_id.set(value)
    return value


@contextmanager
def correlation_scope(correlation_id: str | None = None) -> Iterator[str]:
    """Run a block under one correlation id (a fresh one unless given)."""
    token = _correlation_id.set(correlation_id or new_correlation_id())
    try:
        yield _correlation_id.get()
    finally:
        _correlation_id.reset(token)


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """The fields a caller passed with ``extra=``, JSON scalars kept, anything else as text."""
    return {
        key: value if isinstance(value, int | float | bool | None) else str(value)
        for key, value in record.__dict__.items()
        if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "correlation_id": current_correlation_id(),
        }
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def human_value(value: object) -> str:
    """A value as ``key=value`` shows it: quoted (JSON style) when it has spaces, quotes,
    ``=`` or is empty, so a line stays splittable."""
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    text = str(value)
    if not text or any(c.isspace() or c in "\"'=" for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class HumanFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL message key=value ... [cid 1a2b3c4d]``, the time in UTC."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC).strftime("%H:%M:%S")
        parts = [moment, f"{record.levelname:<7}", record.getMessage()]
        parts.extend(f"{key}={human_value(value)}" for key, value in _extra_fields(record).items())
        parts.append(f"[cid {current_correlation_id()[:SHORT_CORRELATION_ID]}]")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def choose_log_format(requested: str, stream_is_terminal: bool) -> LogFormat:
    """``json`` or ``human`` as asked; ``auto`` means human on a terminal, else JSON."""
    if requested == "json":
        return "json"
    if requested == "human":
        return "human"
    if requested == "auto":
        return "human" if stream_is_terminal else "json"
    raise ValueError(
        f"log format {requested!r} is not one of {', '.join(LOG_FORMAT_CHOICES)}; "
        "pass --log-format auto, json or human"
    )


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return HumanFormatter() if log_format == "human" else JsonFormatter()


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class ProgressAwareStreamHandler(logging.StreamHandler):
    """A stream handler that writes through ``tqdm.write``: active progress bars on the same
    terminal are cleared, the line is written and the bars are drawn again below it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            tqdm.write(message, file=self.stream, end=self.terminator)
            self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def configure_logging(level: str = "INFO", log_format: str = "auto") -> None:
    """Route the root logger to stderr, as JSON lines or human lines (``log_format``: auto,
    json or human; auto is human on a terminal); quiet chatty client libraries."""
    handler = ProgressAwareStreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(choose_log_format(log_format, is_terminal(sys.stderr))))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "py4j", "urllib3", "minio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
