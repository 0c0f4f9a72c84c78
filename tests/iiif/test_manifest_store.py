"""Manifests in the object store: deterministic bytes, no upload of the same bytes again,
withdrawal, and the keys the shapes name."""

from __future__ import annotations

import pytest

from heritage.iiif.manifest_store import (
    IIIF_MEDIA_TYPE,
    ManifestStore,
    collection_key,
    document_bytes,
    manifest_key,
)
from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import object_store_client
from heritage.settings import Settings


def test_the_same_document_gives_the_same_bytes_whatever_its_key_order() -> None:
    one = document_bytes({"label": {"nl": ["Het meisje"]}, "id": "http://x/1", "n": "é"})
    other = document_bytes({"n": "é", "id": "http://x/1", "label": {"nl": ["Het meisje"]}})
    assert one == other == '{"id":"http://x/1","label":{"nl":["Het meisje"]},"n":"é"}'.encode()


def test_keys_quote_the_whole_id(offline_settings: Settings) -> None:
    layout = LakehouseLayout.namespaced(offline_settings, "x")
    assert manifest_key(layout, "europeana:/1/a b") == (
        "ns/x/iiif/manifests/europeana%3A%2F1%2Fa%20b.json"
    )
    assert collection_key(LakehouseLayout.default(offline_settings), "Musée/A") == (
        "iiif/collections/Mus%C3%A9e%2FA.json"
    )


@pytest.mark.integration
def test_a_manifest_is_written_once_read_back_and_withdrawn(
    live_settings: Settings, layout: LakehouseLayout
) -> None:
    store = ManifestStore.open(live_settings, layout)
    manifest = {"id": "http://localhost/iiif/manifests/a.json", "type": "Manifest"}
    assert store.read_manifest("a/1") is None
    assert store.put_manifest("a/1", manifest) is True
    assert store.put_manifest("a/1", dict(reversed(manifest.items()))) is False
    assert store.read_manifest("a/1") == document_bytes(manifest)
    stat = object_store_client(live_settings).stat_object(
        live_settings.bucket, manifest_key(layout, "a/1")
    )
    assert stat.content_type == IIIF_MEDIA_TYPE
    assert store.put_manifest("a/1", {**manifest, "label": {"none": ["A"]}}) is True
    assert store.withdraw_manifest("a/1") is True
    assert store.withdraw_manifest("a/1") is False
    assert store.read_manifest("a/1") is None
