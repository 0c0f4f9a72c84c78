"""A local stand-in for the Europeana Search API: replays recorded pages or synthetic ones.

    python -m heritage.producers.simulators.europeana_replay --synthetic 20000 --port 18080
    python -m heritage.producers.simulators.europeana_replay \
        --pages tests/producers/europeana_responses

It answers ``GET /record/v2/search.json`` the way the real API does: a missing or malformed
``wskey`` gets a 401 JSON error, paging follows ``cursor=*`` then each ``nextCursor``, and the
key is echoed back in ``apikey``, in each item's ``link`` (``wskey=``) and ``guid``
(``utm_campaign=``), so the client's redaction is exercised for real. Faults (429 with
Retry-After, 500, stalls, connection resets, a page that always fails) are injected by
request number or page number. The query, qf and profile are recorded, not applied: every
query gets the same items. In tests, use it as a context manager::

    with ReplayServer(RecordedPages.from_folder(path)) as server:
        publish_europeana(..., base_url=server.base_url)
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from heritage.producers.simulators.sample_collection import generate_sample_collection

SEARCH_PATH = "/record/v2/search.json"
# Stands for the caller's key in stored page texts; replaced by the wskey of each request.
KEY_PLACEHOLDER = "__REPLAY_WSKEY__"
# What the real API accepts as a key; anything else is answered 401 (and is never echoed).
_VALID_KEY = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
_REQUEST_NUMBER = 999  # the real API reports this constant


class ReplayPages(Protocol):
    """A source of page texts by cursor; each text holds KEY_PLACEHOLDER where the key goes."""

    def page(self, cursor: str, rows: int) -> tuple[int, str] | None:
        """(1-based page number, JSON text) for the cursor, or None when it is unknown."""
        ...


@dataclass(frozen=True)
class RecordedPages:
    """Pages recorded from the API, in file-name order: the first answers ``cursor=*`` and
    each next one answers its predecessor's ``nextCursor``; ``rows`` is as recorded."""

    by_cursor: dict[str, tuple[int, str]]

    @classmethod
    def from_folder(cls, folder: Path) -> RecordedPages:
        files = sorted(folder.glob("*.json"))
        if not files:
            raise ValueError(f"replay folder {folder} holds no *.json pages")
        by_cursor: dict[str, tuple[int, str]] = {}
        cursor: str | None = "*"
        for number, path in enumerate(files, start=1):
            if cursor is None:
                raise ValueError(
                    f"replay page {path} follows a page without nextCursor: remove it or give "
                    "the page before it a nextCursor"
                )
            page = json.loads(path.read_text(encoding="utf-8"))
            recorded_key = page.get("apikey")
            text = json.dumps(page, ensure_ascii=False)
            if isinstance(recorded_key, str) and recorded_key:
                # Re-key the recording so each caller sees its own key echoed, as live.
                text = text.replace(recorded_key, KEY_PLACEHOLDER)
            by_cursor[cursor] = (number, text)
            cursor = page.get("nextCursor") or None
        if cursor is not None:
            raise ValueError(
                f"replay page {files[-1]} has nextCursor {cursor!r} but no page follows it: "
                "add the next page or drop nextCursor from the last one"
            )
        return cls(by_cursor)

    def page(self, cursor: str, rows: int) -> tuple[int, str] | None:
        return self.by_cursor.get(cursor)


def _encode_cursor(offset: int) -> str:
    # Opaque like Solr's cursorMark, so clients cannot be tempted to compute it.
    return base64.urlsafe_b64encode(f"replay:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    if cursor == "*":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "replay" and number.isdigit() else None


def _with_key_echo(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the live API returns it: guid and link carry the caller's key."""
    europeana_id = item.get("id")
    echoed = dict(item)
    if isinstance(europeana_id, str):
        echoed["guid"] = (
            f"https://www.europeana.eu/item{europeana_id}"
            f"?utm_source=api&utm_medium=api&utm_campaign={KEY_PLACEHOLDER}"
        )
        echoed["link"] = (
            f"https://api.europeana.eu/record/v2{europeana_id}.json?wskey={KEY_PLACEHOLDER}"
        )
    return echoed


@dataclass(frozen=True)
class SyntheticPages:
    """Items from the sample collection, paged by the client's ``rows`` like the live API."""

    item_texts: tuple[str, ...]

    @classmethod
    def from_sample_collection(cls, records: int, seed: int = 7) -> SyntheticPages:
        """``records`` distinct items: the sample's JSON-object records, each id once (the
        API returns a record's current version, not its history)."""
        if records < 1:
            raise ValueError(f"synthetic replay needs at least 1 record, got {records}")
        collection = generate_sample_collection(records + records // 10 + 10, seed)
        seen: set[str] = set()
        texts: list[str] = []
        for message in collection.messages:
            if not isinstance(message.payload, dict) or message.record_id in seen:
                continue
            seen.add(message.record_id)
            texts.append(json.dumps(_with_key_echo(message.payload), ensure_ascii=False))
            if len(texts) == records:
                break
        return cls(tuple(texts))

    def page(self, cursor: str, rows: int) -> tuple[int, str] | None:
        offset = _decode_cursor(cursor)
        if offset is None or offset > len(self.item_texts):
            return None
        chunk = self.item_texts[offset : offset + rows]
        end = offset + len(chunk)
        header: dict[str, Any] = {
            "apikey": KEY_PLACEHOLDER,
            "success": True,
            "requestNumber": _REQUEST_NUMBER,
            "itemsCount": len(chunk),
            "totalResults": len(self.item_texts),
        }
        if end < len(self.item_texts):
            header["nextCursor"] = _encode_cursor(end)
        text = json.dumps(header)[:-1] + ',"items":[' + ",".join(chunk) + "]}"
        return offset // rows + 1, text


@dataclass
class ReplayFaults:
    """Failures to inject; request numbers count every search request from 1."""

    # Request numbers answered with HTTP 500.
    server_errors: frozenset[int] = frozenset()
    # Request numbers answered with HTTP 429 and a Retry-After header.
    throttled: frozenset[int] = frozenset()
    # Seconds announced in each 429's Retry-After header.
    retry_after_s: int = 1
    # Request numbers whose connection is reset (TCP RST) without any response.
    connection_resets: frozenset[int] = frozenset()
    # Request numbers answered only after stall_s seconds (to trip client read timeouts).
    stalled: frozenset[int] = frozenset()
    stall_s: float = 2.0
    # Page numbers (1-based) answered with HTTP 500 every time: a lasting outage mid-query.
    broken_pages: frozenset[int] = frozenset()


@dataclass
class ReceivedRequest:
    """What the server saw of one request; the key itself is kept apart in received_keys."""

    number: int
    cursor: str | None
    params: tuple[tuple[str, str], ...]
    had_key: bool
    # The HTTP status answered; 0 while unanswered, or when the connection was reset.
    status: int = 0


@dataclass
class _ServerState:
    pages: ReplayPages
    faults: ReplayFaults
    requests: list[ReceivedRequest] = field(default_factory=list)
    received_keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _SearchHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the live API
    timeout = 30
    server: _ReplayHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        # The default access log writes the request line, wskey included, to stderr.
        pass

    def do_GET(self) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        params = parse_qsl(parts.query, keep_blank_values=True)
        key = next((value for name, value in params if name == "wskey"), "")
        cursor = next((value for name, value in params if name == "cursor"), None)
        rows_text = next((value for name, value in params if name == "rows"), "12")
        with state.lock:
            received = ReceivedRequest(
                number=len(state.requests) + 1,
                cursor=cursor,
                params=tuple((n, v) for n, v in params if n != "wskey"),
                had_key=bool(key),
            )
            state.requests.append(received)
            faults = state.faults
            if key:
                state.received_keys.add(key)
        received.status = self._answer(parts.path, key, cursor, rows_text, received.number, faults)

    def _answer(
        self,
        path: str,
        key: str,
        cursor: str | None,
        rows_text: str,
        number: int,
        faults: ReplayFaults,
    ) -> int:
        if path != SEARCH_PATH:
            return self._json(404, {"success": False, "error": f"no such endpoint {path}"})
        if not key or not _VALID_KEY.match(key):
            error = "Invalid API key" if key else "No API key provided"
            return self._json(
                401, {"apikey": None, "success": False, "error": error, "code": "401"}
            )
        if number in faults.connection_resets:
            self._reset_connection()
            return 0
        if number in faults.stalled:
            time.sleep(faults.stall_s)
        if number in faults.throttled:
            return self._json(
                429,
                {"success": False, "error": "Too many requests"},
                {"Retry-After": str(faults.retry_after_s)},
            )
        if number in faults.server_errors:
            return self._json(500, self._server_error(key))
        if not rows_text.isdigit() or not 1 <= int(rows_text) <= 100:
            return self._json(
                400, {"apikey": key, "success": False, "error": "rows must be 1 to 100"}
            )
        found = self.server.state.pages.page(cursor or "*", int(rows_text))
        if found is None:
            return self._json(
                400, {"apikey": key, "success": False, "error": f"Invalid cursor {cursor!r}"}
            )
        page_number, text = found
        if page_number in faults.broken_pages:
            return self._json(500, self._server_error(key))
        return self._send(200, text.replace(KEY_PLACEHOLDER, key).encode("utf-8"))

    @staticmethod
    def _server_error(key: str) -> dict[str, Any]:
        # The live API echoes the key in error bodies too.
        return {"apikey": key, "success": False, "error": "Internal server error"}

    def _json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> int:
        return self._send(status, json.dumps(body).encode("utf-8"), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> int:
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        return status

    def _reset_connection(self) -> None:
        # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _ReplayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive connections may still be open at shutdown; do not wait for them.
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: _ServerState) -> None:
        super().__init__(address, _SearchHandler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) or was reset on purpose is not a server fault.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class ReplayServer:
    """The replay API on a loopback port, served from a background thread."""

    def __init__(
        self,
        pages: ReplayPages,
        faults: ReplayFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._state = _ServerState(pages=pages, faults=faults or ReplayFaults())
        self._httpd = _ReplayHTTPServer((host, port), self._state)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{SEARCH_PATH}"

    @property
    def faults(self) -> ReplayFaults:
        return self._state.faults

    @faults.setter
    def faults(self, faults: ReplayFaults) -> None:
        with self._state.lock:
            self._state.faults = faults

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def received_keys(self) -> set[str]:
        with self._state.lock:
            return set(self._state.received_keys)

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="europeana-replay", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve recorded or synthetic Europeana Search API pages on loopback "
        "until interrupted; prints the search URL on the first line of stdout."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pages", type=Path, help="folder of recorded page JSON files")
    source.add_argument(
        "--synthetic", type=int, metavar="N", help="serve N items from the sample collection"
    )
    parser.add_argument("--seed", type=int, default=7, help="sample collection seed (default 7)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    args = parser.parse_args(argv)
    pages: ReplayPages = (
        RecordedPages.from_folder(args.pages)
        if args.pages is not None
        else SyntheticPages.from_sample_collection(args.synthetic, args.seed)
    )
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with ReplayServer(pages, port=args.port) as server:
        print(server.base_url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
