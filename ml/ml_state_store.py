"""Small text documents the ml stage keeps beside its tables (``<root>/ml/_state/NAME.json``
in the settings' bucket): what a run consumed, so the next run can tell, without reading a
table, that nothing changed."""

from __future__ import annotations

import io

from minio.error import S3Error

from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import object_store_client
from heritage.settings import Settings


def state_key(settings: Settings, layout: LakehouseLayout, name: str) -> str:
    """The object key of state document ``name`` of the layout's namespace."""
    root = layout.table_root.removeprefix(f"s3a://{settings.bucket}").strip("/")
    return f"{root}/ml/_state/{name}.json" if root else f"ml/_state/{name}.json"


def read_state(settings: Settings, layout: LakehouseLayout, name: str) -> str | None:
    """State document ``name``; None when it was never written."""
    try:
        response = object_store_client(settings).get_object(
            settings.bucket, state_key(settings, layout, name)
        )
    except S3Error:
        return None
    try:
        return response.read().decode("utf-8").strip()
    finally:
        response.close()
        response.release_conn()


def write_state(settings: Settings, layout: LakehouseLayout, name: str, text: str) -> None:
    data = text.encode("utf-8")
    object_store_client(settings).put_object(
        settings.bucket, state_key(settings, layout, name), io.BytesIO(data), len(data)
    )
