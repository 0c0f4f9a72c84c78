"""``heritage iiif serve``: the public IIIF endpoints of one deployment.

Under the path of ``HERITAGE_IIIF_BASE_URL`` (default ``http://localhost:8182/iiif``):

- ``GET probe/{id}``: the Authorization Flow 2.0 probe, HTTP 200 only while the object's
  state in ``heritage.embargoes`` is ``published``, else 401 (unknown objects too);
- ``GET manifests/{id}.json``: the stored manifest of a published object, else 404 (an
  unpublished object's manifest is not publicly listed);
- ``GET collections/{provider}.json``: the stored collection of a data provider;
- ``GET images/{id}``: the stored original image of a published object, else 401.

The state is read from PostgreSQL on every request: a withdrawal takes effect at once. Ids
in paths are percent-encoded (``quote(id, safe='')``), as the manifests write them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from heritage.iiif.auth_services import probe_result
from heritage.iiif.manifest_store import IIIF_MEDIA_TYPE, ManifestStore, iiif_base_url
from heritage.iiif.publication_lookup import PublicationLookup
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings

log = logging.getLogger(__name__)

_JSON = "application/json"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
}


def route_of(path: str, base_path: str) -> tuple[str, str] | None:
    """(route, decoded id) of a request path under ``base_path``; None when it is not one.

    ``/iiif/manifests/a%2Fb.json`` -> ("manifests", "a/b"); the id is one path segment."""
    rest = urlsplit(path).path
    if not rest.startswith(f"{base_path}/"):
        return None
    route, _, segment = rest[len(base_path) + 1 :].partition("/")
    if not segment or "/" in segment:
        return None
    if route in ("manifests", "collections", "records"):
        if not segment.endswith(".json"):
            return None
        segment = segment.removesuffix(".json")
    elif route not in ("probe", "images"):
        return None
    identifier = unquote(segment)
    # No record id holds a control character (and PostgreSQL refuses NUL in text).
    if not identifier or any(ord(c) < 32 for c in identifier):
        return None
    return route, identifier


class IiifServer(ThreadingHTTPServer):
    """The HTTP server with what its handlers read from: the store and the lookup."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        store: ManifestStore,
        lookup: PublicationLookup,
        base_path: str,
    ) -> None:
        super().__init__(address, IiifRequestHandler)
        self.store = store
        self.lookup = lookup
        self.base_path = base_path

    def server_close(self) -> None:
        super().server_close()
        self.lookup.close()


class IiifRequestHandler(BaseHTTPRequestHandler):
    server: IiifServer
    protocol_version = "HTTP/1.1"

    def do_OPTIONS(self) -> None:
        self._reply(HTTPStatus.NO_CONTENT, b"", _JSON)

    def do_GET(self) -> None:
        found = route_of(self.path, self.server.base_path)
        if found is None:
            self._reply_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        try:
            self._answer(*found)
        except Exception as error:  # any failure: answer, never guess or hang up
            # The answer depends on the state; without it, say so rather than guess.
            log.warning("iiif state unavailable", extra={"path": self.path, "error": str(error)})
            self._reply_json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "try again later"})

    def _answer(self, route: str, identifier: str) -> None:
        if route == "probe":
            self._probe(identifier)
        elif route == "manifests":
            self._manifest(identifier)
        elif route == "collections":
            self._document(self.server.store.read_collection(identifier))
        elif route == "records":
            self._record(identifier)
        else:
            self._image(identifier)

    def _probe(self, object_id: str) -> None:
        published = self.server.lookup.is_published(object_id)
        status = HTTPStatus.OK if published else HTTPStatus.UNAUTHORIZED
        self._reply_json(status, probe_result(published), cache="no-store")

    def _manifest(self, object_id: str) -> None:
        if not self.server.lookup.is_published(object_id):
            self._reply_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        self._document(self.server.store.read_manifest(object_id))

    def _record(self, object_id: str) -> None:
        # The manifest's seeAlso: the object's descriptive fields, published objects only.
        record = self.server.lookup.published_record(object_id)
        if record is None:
            self._reply_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        else:
            self._reply_json(HTTPStatus.OK, record)

    def _document(self, data: bytes | None) -> None:
        if data is None:
            self._reply_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        else:
            self._reply(HTTPStatus.OK, data, IIIF_MEDIA_TYPE, cache="no-cache")

    def _image(self, object_id: str) -> None:
        published, image = self.server.lookup.published_image(object_id)
        if not published:
            self._reply_json(HTTPStatus.UNAUTHORIZED, {"error": "not published"})
            return
        stored = self.server.store.open_image(image.sha256, image.content_type) if image else None
        if stored is None:
            self._reply_json(HTTPStatus.NOT_FOUND, {"error": "no stored image"})
            return
        self._start(HTTPStatus.OK, stored.content_type, stored.length, "no-cache")
        self._write_all(stored.chunks)

    def _write_all(self, chunks: Iterator[bytes]) -> None:
        for chunk in chunks:
            self.wfile.write(chunk)

    def _reply_json(self, status: HTTPStatus, body: Any, cache: str = "no-cache") -> None:
        self._reply(status, json.dumps(body).encode("utf-8"), _JSON, cache)

    def _reply(
        self, status: HTTPStatus, body: bytes, content_type: str, cache: str = "no-cache"
    ) -> None:
        self._start(status, content_type, len(body), cache)
        self.wfile.write(body)

    def _start(self, status: HTTPStatus, content_type: str, length: int, cache: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", cache)
        for name, value in _CORS.items():
            self.send_header(name, value)
        self.end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One structured line per request, at debug level: the access log stays quiet.
        log.debug("iiif request", extra={"path": self.path, "status": str(code)})

    def log_error(self, format: str, *args: Any) -> None:
        log.warning("iiif request failed", extra={"path": self.path, "error": format % args})


def make_server(
    settings: Settings,
    layout: LakehouseLayout,
    host: str = "127.0.0.1",
    port: int = 0,
    base_url: str | None = None,
) -> IiifServer:
    """The server bound to (host, port) (port 0: any free one), not yet serving."""
    base_path = urlsplit(base_url or iiif_base_url(settings)).path.rstrip("/")
    store = ManifestStore.open(settings, layout)
    lookup = PublicationLookup(settings, layout.pg_database)
    return IiifServer((host, port), store, lookup, base_path)


def serve(settings: Settings, layout: LakehouseLayout, host: str, port: int) -> None:
    """Serve until interrupted."""
    server = make_server(settings, layout, host, port)
    log.info(
        "iiif server listening",
        extra={"host": host, "port": server.server_port, "base_path": server.base_path},
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
