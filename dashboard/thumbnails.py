"""Images from the object store, read with the server's credentials and cached: thumbnails,
and the stored originals for the deep-zoom viewer. The browser never loads an
institution's image URL."""

from __future__ import annotations

import logging

import streamlit as st
from minio import Minio
from minio.error import S3Error

from heritage.dashboard.deep_zoom import ImageNotViewable, ViewerImage, viewer_image
from heritage.object_store import object_store_client
from heritage.settings import load_settings

log = logging.getLogger(__name__)

# The ML job stores <prefix>/original/<sha256> next to <prefix>/thumbnails/<sha256>.jpg.
_THUMBNAILS_FOLDER = "/thumbnails/"


@st.cache_resource(show_spinner=False)
def _client(endpoint: str) -> Minio:
    return object_store_client(load_settings())


def _stored_bytes(endpoint: str, bucket: str, key: str) -> bytes | None:
    try:
        response = _client(endpoint).get_object(bucket, key)
    except (S3Error, OSError) as error:
        log.warning("image unavailable", extra={"key": key, "error": str(error)[:200]})
        return None
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


@st.cache_data(ttl=600, show_spinner=False, max_entries=2000)
def thumbnail_bytes(endpoint: str, bucket: str, key: str) -> bytes | None:
    """The thumbnail's bytes, or None when it is missing or the store is unreachable."""
    return _stored_bytes(endpoint, bucket, key)


def thumbnail(key: str | None) -> bytes | None:
    if not key:
        return None
    settings = load_settings()
    return thumbnail_bytes(settings.s3_endpoint, settings.bucket, key)


def original_key(thumbnail_key: str | None, sha256: str | None) -> str | None:
    """The original's object key, beside its thumbnail's (None when either is unknown)."""
    if not thumbnail_key or not sha256 or _THUMBNAILS_FOLDER not in thumbnail_key:
        return None
    prefix = thumbnail_key.rsplit(_THUMBNAILS_FOLDER, 1)[0]
    return f"{prefix}/original/{sha256}"


# Few entries: each holds an image of up to 4096 px for the viewer.
@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def viewer_image_bytes(endpoint: str, bucket: str, key: str) -> ViewerImage | str:
    """The original made fit for the viewer, or why it cannot be shown."""
    data = _stored_bytes(endpoint, bucket, key)
    if data is None:
        return "the original is not in the object store"
    try:
        return viewer_image(data)
    except ImageNotViewable as error:
        return str(error)


def full_image(thumbnail_key: str | None, sha256: str | None) -> ViewerImage | str:
    """The stored original for the deep-zoom viewer, or a reason it is not shown."""
    key = original_key(thumbnail_key, sha256)
    if key is None:
        return "no original is stored for this record"
    settings = load_settings()
    return viewer_image_bytes(settings.s3_endpoint, settings.bucket, key)
