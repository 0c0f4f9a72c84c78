"""IIIF manifests and provider collections in the object store: keys, bytes, write, withdraw,
read.

A document is stored as deterministic JSON bytes (sorted keys, no insignificant white
space), so a document that did not change has the same bytes and the upload is skipped:
rerunning an export writes nothing. Stored images are read here too, for the IIIF server.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from minio import Minio
from minio.error import S3Error

from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import object_store_client
from heritage.settings import Settings

# The media type IIIF Presentation 3.0 asks for, stored with every document.
IIIF_MEDIA_TYPE = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
# Where `heritage iiif serve` answers: manifest ids, image and probe URLs start with it.
BASE_URL_SETTING = "HERITAGE_IIIF_BASE_URL"
DEFAULT_BASE_URL = "http://localhost:8182/iiif"
_MISSING = ("NoSuchKey", "NoSuchObject", "NoSuchBucket")
# A single-part upload's ETag is the MD5 of its bytes; a multipart one ("...-N") is not.
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 64 * 1024


def iiif_base_url(settings: Settings) -> str:
    return settings.value(BASE_URL_SETTING, DEFAULT_BASE_URL).rstrip("/")


def document_bytes(document: Mapping[str, Any]) -> bytes:
    """The stored form of a manifest or collection: the same document, the same bytes."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def manifest_key(layout: LakehouseLayout, object_id: str) -> str:
    return f"{layout.iiif_prefix}/manifests/{quote(object_id, safe='')}.json"


def collection_key(layout: LakehouseLayout, provider: str) -> str:
    return f"{layout.iiif_prefix}/collections/{quote(provider, safe='')}.json"


def original_image_key(layout: LakehouseLayout, sha256: str) -> str:
    """Where image acquisition stores an original (content-addressed by its sha256, as
    ``heritage.object_images.sha256`` documents)."""
    return f"{layout.image_prefix}/original/{sha256}"


@dataclass(frozen=True)
class StoredImage:
    """An open stored image: its bytes as a stream, their length and type."""

    chunks: Iterator[bytes]
    length: int
    content_type: str


class ManifestStore:
    """The manifests and provider collections of one deployment (layout) in one bucket."""

    def __init__(self, client: Minio, bucket: str, layout: LakehouseLayout) -> None:
        self._client = client
        self._bucket = bucket
        self._layout = layout

    @classmethod
    def open(cls, settings: Settings, layout: LakehouseLayout) -> ManifestStore:
        return cls(object_store_client(settings), settings.bucket, layout)

    def put_manifest(self, object_id: str, manifest: Mapping[str, Any]) -> bool:
        """Store the object's manifest; False when the same bytes were already there."""
        return self._put_if_changed(manifest_key(self._layout, object_id), manifest)

    def withdraw_manifest(self, object_id: str) -> bool:
        """Remove the object's manifest; False when there was none."""
        return self._remove(manifest_key(self._layout, object_id))

    def read_manifest(self, object_id: str) -> bytes | None:
        return self._read(manifest_key(self._layout, object_id))

    def put_collection(self, provider: str, collection: Mapping[str, Any]) -> bool:
        """Store the provider's collection; False when the same bytes were already there."""
        return self._put_if_changed(collection_key(self._layout, provider), collection)

    def remove_collection(self, provider: str) -> bool:
        """Remove the provider's collection (it has no published member left)."""
        return self._remove(collection_key(self._layout, provider))

    def read_collection(self, provider: str) -> bytes | None:
        return self._read(collection_key(self._layout, provider))

    def open_image(self, sha256: str, content_type: str | None) -> StoredImage | None:
        """The stored original of that sha256, streamed; None when it is not there."""
        try:
            response = self._client.get_object(
                self._bucket, original_image_key(self._layout, sha256)
            )
        except S3Error as error:
            if error.code in _MISSING:
                return None
            raise
        length = int(response.headers.get("Content-Length", "0"))
        stored_type = response.headers.get("Content-Type") or "application/octet-stream"
        return StoredImage(_stream(response), length, content_type or stored_type)

    def _put_if_changed(self, key: str, document: Mapping[str, Any]) -> bool:
        data = document_bytes(document)
        if self._holds(key, data):
            return False
        self._client.put_object(
            self._bucket, key, io.BytesIO(data), len(data), content_type=IIIF_MEDIA_TYPE
        )
        return True

    def _holds(self, key: str, data: bytes) -> bool:
        try:
            stat = self._client.stat_object(self._bucket, key)
        except S3Error as error:
            if error.code in _MISSING:
                return False
            raise
        etag = (stat.etag or "").strip('"')
        if _MD5_ETAG.match(etag):
            return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
        return stat.size == len(data) and self._read(key) == data

    def _remove(self, key: str) -> bool:
        try:
            self._client.stat_object(self._bucket, key)
        except S3Error as error:
            if error.code in _MISSING:
                return False
            raise
        self._client.remove_object(self._bucket, key)
        return True

    def _read(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(self._bucket, key)
        except S3Error as error:
            if error.code in _MISSING:
                return None
            raise
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()


def _stream(response: Any) -> Iterator[bytes]:
    try:
        yield from response.stream(_CHUNK)
    finally:
        response.close()
        response.release_conn()
