"""Thumbnails from the object store, read with the server's credentials and cached; the
browser never loads an institution's image URL."""

from __future__ import annotations

import logging

import streamlit as st
from minio import Minio
from minio.error import S3Error

from heritage.object_store import object_store_client
from heritage.settings import load_settings

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _client(endpoint: str) -> Minio:
    return object_store_client(load_settings())


@st.cache_data(ttl=600, show_spinner=False, max_entries=2000)
def thumbnail_bytes(endpoint: str, bucket: str, key: str) -> bytes | None:
    """The thumbnail's bytes, or None when it is missing or the store is unreachable."""
    try:
        response = _client(endpoint).get_object(bucket, key)
    except (S3Error, OSError) as error:
        log.warning("thumbnail unavailable", extra={"key": key, "error": str(error)[:200]})
        return None
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def thumbnail(key: str | None) -> bytes | None:
    if not key:
        return None
    settings = load_settings()
    return thumbnail_bytes(settings.s3_endpoint, settings.bucket, key)
