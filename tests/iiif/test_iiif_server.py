"""The IIIF server on the real stack: the probe, the manifest and the image of one object
answer from heritage.embargoes on every request, so they follow its state at once."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from heritage.iiif.iiif_server import IiifServer, make_server, route_of
from heritage.iiif.manifest_store import IIIF_MEDIA_TYPE, ManifestStore, original_image_key
from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import object_store_client
from heritage.postgres_db import connect
from heritage.settings import Settings

OBJECT_ID = "europeana:/2021672/resource_document_mauritshuis_670"
PROVIDER = "Mauritshuis"
BASE_URL = "http://localhost:8182/iiif"
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
MANIFEST = {"id": f"{BASE_URL}/manifests/{quote(OBJECT_ID, safe='')}.json", "type": "Manifest"}


def test_routes_take_one_percent_encoded_id_under_the_base_path() -> None:
    assert route_of("/iiif/probe/a%2Fb%3Ac", "/iiif") == ("probe", "a/b:c")
    assert route_of("/iiif/manifests/a%2Fb.json?x=1", "/iiif") == ("manifests", "a/b")
    assert route_of("/iiif/collections/Mus%C3%A9e.json", "/iiif") == ("collections", "Musée")
    assert route_of("/iiif/images/x", "/iiif") == ("images", "x")
    assert route_of("/iiif/records/a%2Fb.json", "/iiif") == ("records", "a/b")
    for unknown in (
        "/iiif/manifests/a",
        "/iiif/probe/a/b",
        "/iiif/probe/",
        "/other/probe/a",
        "/iiif/probe/a%00b",  # no id holds a control character
        "/iiif/records/a",
    ):
        assert route_of(unknown, "/iiif") is None
    assert route_of("/probe/a", "") == ("probe", "a")


def _execute(settings: Settings, layout: LakehouseLayout, statement: str, *args: object) -> None:
    connection = connect(settings, layout.pg_database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement, args)
    finally:
        connection.close()


def _set_state(settings: Settings, layout: LakehouseLayout, state: str) -> None:
    _execute(
        settings,
        layout,
        "INSERT INTO heritage.embargoes (object_id, episode, state, state_version,"
        " embargo_end_utc, end_input, end_input_zone, end_rule, rights_uri, data_provider,"
        " updated_at) VALUES (%s, 1, %s, 1, '2030-01-01T00:00:00Z', '2029-12-31',"
        " 'Europe/Amsterdam', 'through_named_day', %s, %s, now())"
        " ON CONFLICT (object_id) DO UPDATE SET state = EXCLUDED.state,"
        " state_version = heritage.embargoes.state_version + 1",
        OBJECT_ID,
        state,
        "http://creativecommons.org/publicdomain/mark/1.0/",
        PROVIDER,
    )


def _store_image(settings: Settings, layout: LakehouseLayout) -> None:
    """What image acquisition and the export leave: the original and its row."""
    sha256 = hashlib.sha256(IMAGE).hexdigest()
    client = object_store_client(settings)
    client.put_object(
        settings.bucket, original_image_key(layout, sha256), io.BytesIO(IMAGE), len(IMAGE)
    )
    _execute(
        settings,
        layout,
        "INSERT INTO heritage.object_images (record_id, image_url, status, sha256,"
        " content_type, width, height, attempts, last_attempt_at)"
        " VALUES (%s, 'https://images.example.org/670.png', 'stored', %s, 'image/png',"
        " 16, 16, 1, %s)",
        OBJECT_ID,
        sha256,
        datetime.now(UTC),
    )


@pytest.fixture
def server(live_settings: Settings, layout: LakehouseLayout) -> Iterator[IiifServer]:
    running = make_server(live_settings, layout, port=0, base_url=BASE_URL)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()
    thread.join(timeout=10)


def _get(server: IiifServer, path: str) -> tuple[int, dict[str, str], bytes]:
    url = f"http://127.0.0.1:{server.server_port}/iiif/{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.integration
def test_the_probe_manifest_and_image_follow_the_state_of_the_object(
    live_settings: Settings, layout: LakehouseLayout, server: IiifServer
) -> None:
    quoted = quote(OBJECT_ID, safe="")
    store = ManifestStore.open(live_settings, layout)
    store.put_manifest(OBJECT_ID, MANIFEST)
    _store_image(live_settings, layout)

    status, headers, body = _get(server, f"probe/{quoted}")
    assert (status, json.loads(body)["status"]) == (401, 401), "an unknown object is not public"
    assert headers["Access-Control-Allow-Origin"] == "*"
    for state in ("active", "pending_review"):
        _set_state(live_settings, layout, state)
        assert _get(server, f"probe/{quoted}")[0] == 401, state
        assert _get(server, f"manifests/{quoted}.json")[0] == 404, state
        assert _get(server, f"images/{quoted}")[0] == 401, state

    _set_state(live_settings, layout, "published")
    status, headers, body = _get(server, f"probe/{quoted}")
    probe = json.loads(body)
    assert (status, probe["type"], probe["status"]) == (200, "AuthProbeResult2", 200)
    status, headers, body = _get(server, f"manifests/{quoted}.json")
    assert (status, json.loads(body)) == (200, MANIFEST)
    assert headers["Content-Type"] == IIIF_MEDIA_TYPE
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, headers, body = _get(server, f"images/{quoted}")
    assert (status, headers["Content-Type"], body) == (200, "image/png", IMAGE)

    _set_state(live_settings, layout, "active")
    assert _get(server, f"probe/{quoted}")[0] == 401, "a re-embargo takes effect at once"
    assert _get(server, f"images/{quoted}")[0] == 401


@pytest.mark.integration
def test_collections_are_served_as_stored_and_unknown_ones_are_not_found(
    live_settings: Settings, layout: LakehouseLayout, server: IiifServer
) -> None:
    collection = {"id": f"{BASE_URL}/collections/Mus%C3%A9e.json", "type": "Collection"}
    ManifestStore.open(live_settings, layout).put_collection("Musée", collection)
    status, headers, body = _get(server, "collections/Mus%C3%A9e.json")
    assert (status, json.loads(body)) == (200, collection)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert _get(server, "collections/Nobody.json")[0] == 404
    assert _get(server, "nothing/here")[0] == 404
