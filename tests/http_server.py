"""A real HTTP server on loopback that answers with canned replies, for the tests of every
HTTP client (images, OAI-PMH, the shared HTTP policy).

    with serve({"/a.jpg": lambda request: Reply(body=JPEG)}) as server:
        fetch(server.base_url + "/a.jpg")
    assert server.hits["/a.jpg"] == 1

A route is keyed by the request's path (without the query) and gets the :class:`Request`
(its query and how many times that path was asked for); a single callable answers every
path. An unknown path gets 404.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    """One canned answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (a slow server).
    delay_s: float = 0.0


@dataclass(frozen=True)
class Request:
    """What the server was asked."""

    path: str
    # The query parameters, each with its first value.
    query: dict[str, str]
    # 1 for the first request of this path, 2 for the second...
    hit: int
    # The path with its query, as sent.
    target: str


Route = Callable[[Request], Reply]


@dataclass
class LoopbackServer:
    """A running server: where it is and what it was asked."""

    base_url: str
    # Requests per path (without the query).
    hits: dict[str, int] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    # Answers in flight now, and the most there ever were at once.
    in_flight: int = 0
    max_in_flight: int = 0


def _answer(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    if reply.delay_s:
        time.sleep(reply.delay_s)
    try:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout test): nothing to answer


@contextmanager
def serve(routes: Mapping[str, Route] | Route) -> Iterator[LoopbackServer]:
    """Serve ``routes`` on 127.0.0.1 (a free port) until the block ends."""
    lock = threading.Lock()
    state = LoopbackServer(base_url="")

    def route_for(path: str) -> Route | None:
        return routes.get(path) if isinstance(routes, Mapping) else routes

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            with lock:
                state.hits[parts.path] = state.hits.get(parts.path, 0) + 1
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                request = Request(parts.path, query, state.hits[parts.path], self.path)
                state.requests.append(request)
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                route = route_for(parts.path)
                _answer(self, route(request) if route else Reply(404, b"not found"))
            finally:
                with lock:
                    state.in_flight -= 1

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
