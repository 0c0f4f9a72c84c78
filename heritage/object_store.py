"""The S3-compatible object store (MinIO by default): client and bucket."""

from __future__ import annotations

from urllib.parse import urlsplit

from minio import Minio

from heritage.settings import Settings


def object_store_client(settings: Settings) -> Minio:
    endpoint = urlsplit(settings.s3_endpoint)
    return Minio(
        endpoint.netloc,
        access_key=settings.s3_access_key.reveal(),
        secret_key=settings.s3_secret_key.reveal(),
        secure=endpoint.scheme == "https",
        region="us-east-1",
    )


def ensure_bucket(settings: Settings, bucket: str | None = None) -> None:
    client = object_store_client(settings)
    name = bucket or settings.bucket
    if not client.bucket_exists(name):
        client.make_bucket(name)
