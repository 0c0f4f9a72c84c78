"""The S3-compatible object store (MinIO by default): client and bucket.

The client's HTTP pool retries a failed request a bounded number of times with backoff and
logs a warning naming the endpoint on each retry, so an outage is visible while it is being
waited out instead of a silent stall.
"""

from __future__ import annotations

import logging
from typing import Any, Self
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from urllib3.util.retry import Retry

from heritage.settings import Settings

log = logging.getLogger(__name__)

# Tries of one request after the first, and the backoff between them (0.5 s, 1 s, 2 s, ...,
# at most 4 s): a store that is restarting gets a few seconds; one that is down fails the
# call, which its caller reports or retries.
REQUEST_RETRIES = 3
RETRY_BACKOFF_FACTOR_S = 0.5
RETRY_BACKOFF_MAX_S = 4.0
# Seconds to set up a connection, and of silence on an open one (the client's own default is
# five minutes for both).
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 120.0
# Answers that mean the store is there but cannot serve yet.
RETRY_STATUSES = (500, 502, 503, 504)


class ObjectStoreRetry(Retry):
    """urllib3's Retry that logs, on each retry, which endpoint is not answering."""

    def __init__(self, *args: Any, endpoint: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint

    def new(self, **kwargs: Any) -> Self:
        retry = super().new(**kwargs)
        retry.endpoint = self.endpoint
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> Self:
        retry = super().increment(*args, **kwargs)  # raises MaxRetryError when none are left
        error = kwargs.get("error")
        response = kwargs.get("response")
        cause = f"{type(error).__name__}" if error else f"HTTP {getattr(response, 'status', '?')}"
        log.warning(
            f"object store at {self.endpoint} not answering; requests are being retried",
            extra={"cause": cause, "retries_left": retry.total},
        )
        return retry


def object_store_http(settings: Settings) -> urllib3.PoolManager:
    """The client's HTTP pool: bounded retries that say so (see :class:`ObjectStoreRetry`)."""
    retries = ObjectStoreRetry(
        total=REQUEST_RETRIES,
        backoff_factor=RETRY_BACKOFF_FACTOR_S,
        backoff_max=RETRY_BACKOFF_MAX_S,
        status_forcelist=RETRY_STATUSES,
        endpoint=settings.s3_endpoint,
    )
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=settings.value("SSL_CERT_FILE") or certifi.where(),
        retries=retries,
    )


def object_store_client(settings: Settings) -> Minio:
    endpoint = urlsplit(settings.s3_endpoint)
    return Minio(
        endpoint.netloc,
        access_key=settings.s3_access_key.reveal(),
        secret_key=settings.s3_secret_key.reveal(),
        secure=endpoint.scheme == "https",
        region="us-east-1",
        http_client=object_store_http(settings),
    )


def ensure_bucket(settings: Settings, bucket: str | None = None) -> None:
    client = object_store_client(settings)
    name = bucket or settings.bucket
    if not client.bucket_exists(name):
        client.make_bucket(name)
