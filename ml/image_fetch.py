"""Image acquisition: each cleansed record's image -> object store (original + thumbnail)
and one row per record in the ``ml/images`` Delta table.

Fetching is defensive because the URLs are providers' data: connect/read/total timeouts,
retries of transient failures (connection errors, timeouts, 5xx, 429) with jittered
exponential backoff and Retry-After, and a circuit breaker per host, all under the shared
HTTP policy (:mod:`heritage.http_policy`, configured by
:func:`heritage.source_settings.load_image_fetch_config`); a size cap enforced while
streaming, an ``image/*`` content type, a decode check with a pixel limit (decompression
bombs), at most ``per_host`` requests at a time to any one host, and the SSRF policy of
:mod:`heritage.ml.image_url_policy` applied to the URL and to every redirect, connecting to
the address that was checked.

Originals are stored content-addressed (``<prefix>/original/<sha256>``) with a JPEG
thumbnail (``<prefix>/thumbnails/<sha256>.jpg``, at most 256 px); ``thumbnail_key`` is the
object key the dashboard reads from the settings' bucket. A failure is recorded with its
reason and retried on a later run after a backoff that doubles per attempt (capped), so no
record is skipped forever; a record whose image URL or content changed is fetched again.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from delta.tables import DeltaTable
from PIL import Image
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from tqdm import tqdm

from heritage.delta_tables import ensure_delta_table
from heritage.http_policy import (
    CircuitBreaker,
    CircuitOpen,
    RetriesExhausted,
    RetryAfterTooLong,
    RetrySchedule,
    retry_after_seconds,
)
from heritage.lakehouse_layout import LakehouseLayout
from heritage.ml.delta_sync import removal_rows
from heritage.ml.image_decode import normalise_image
from heritage.ml.image_retry import retry_due_at
from heritage.ml.image_url_policy import (
    FetchTarget,
    ImageUrlRefused,
    UrlPolicy,
    choose_address,
    fetch_target,
    load_url_policy,
)
from heritage.object_store import object_store_client
from heritage.settings import Settings
from heritage.source_settings import ImageFetchConfig, load_image_fetch_config
from heritage.table_schemas import ML_IMAGES

log = logging.getLogger(__name__)

USER_AGENT = "heritage-lakehouse-image-fetch/0.1 (+https://github.com/heritage-lakehouse)"


class ImageFetchError(Exception):
    """One image could not be acquired; ``reason`` goes to the images table."""

    def __init__(
        self, reason: str, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        # Seconds the host asked to wait before a retry (Retry-After), if it did.
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchedImage:
    url: str
    data: bytes
    content_type: str
    sha256: str
    width: int
    height: int
    thumbnail_jpeg: bytes


def decode_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Decode fully, refusing corrupt data and images larger than ``max_pixels``."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise ImageFetchError(
                    f"image is {width}x{height} pixels, over the limit of {max_pixels} "
                    "(decompression bomb guard; raise HERITAGE_IMAGE_MAX_PIXELS to accept it)"
                )
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except ImageFetchError:
        raise
    except Exception as error:  # Pillow raises many types for bad data
        raise ImageFetchError(f"not a decodable image: {type(error).__name__}: {error}") from None
    return image


def thumbnail_jpeg(image: Image.Image, max_px: int) -> bytes:
    """A JPEG whose longest side is at most ``max_px`` (never enlarged), upright (EXIF
    orientation applied) and in sRGB, as a viewer shows the original."""
    thumb = normalise_image(image, max_px)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, sending the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class ImageFetcher:
    """Fetches images concurrently under the policy; one instance per run (it caches DNS)."""

    def __init__(
        self,
        config: ImageFetchConfig,
        policy: UrlPolicy,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.config = config
        self.policy = policy
        self._resolver = resolver
        self._dns_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="image-dns")
        self._dns_cache: dict[tuple[str, int], list[str] | ImageFetchError] = {}
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._host_breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._dns_pool.shutdown(wait=False, cancel_futures=True)

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._host_slots:
                self._host_slots[host] = threading.BoundedSemaphore(self.config.per_host)
            return self._host_slots[host]

    def _breaker(self, host: str) -> CircuitBreaker:
        with self._lock:
            if host not in self._host_breakers:
                self._host_breakers[host] = CircuitBreaker.for_policy(
                    f"image host {host}", self.config.http
                )
            return self._host_breakers[host]

    def _resolve(self, target: FetchTarget) -> list[str]:
        key = (target.host, target.port)
        with self._lock:
            cached = self._dns_cache.get(key)
        if cached is None:
            future = self._dns_pool.submit(self._resolver, target.host, target.port)
            try:
                cached = future.result(timeout=self.config.dns_timeout_s)
            except FutureTimeout:
                cached = ImageFetchError(
                    f"resolving {target.host} took over {self.config.dns_timeout_s:g} s"
                )
            except OSError as error:
                cached = ImageFetchError(f"cannot resolve host {target.host}: {error}")
            with self._lock:
                self._dns_cache[key] = cached
        if isinstance(cached, ImageFetchError):
            raise cached
        return cached

    def fetch(self, url: str) -> FetchedImage:
        """The image at ``url`` decoded and thumbnailed, retrying transient failures under
        the HTTP policy."""
        schedule = RetrySchedule(self.config.http)
        while True:
            try:
                return self._fetch_once(url)
            except ImageFetchError as error:
                if not error.retryable:
                    if schedule.failures:
                        raise ImageFetchError(
                            f"{error.reason} (after {schedule.failures + 1} attempts)"
                        ) from None
                    raise
                try:
                    delay = schedule.delay_before_retry(error.retry_after)
                except RetriesExhausted:
                    raise ImageFetchError(
                        f"{error.reason} (after {schedule.failures} attempts)"
                    ) from None
                except RetryAfterTooLong as too_long:
                    raise ImageFetchError(f"{error.reason} ({too_long})") from None
                time.sleep(delay)

    def _fetch_once(self, url: str) -> FetchedImage:
        deadline = time.monotonic() + self.config.total_timeout_s
        current = url
        for _hop in range(self.config.max_redirects + 1):
            try:
                target = fetch_target(current)
                address = choose_address(target, self._addresses(target), self.policy)
            except ImageUrlRefused as refusal:
                raise ImageFetchError(f"refused {current}: {refusal}") from None
            outcome = self._get_through_breaker(target, address, deadline)
            if isinstance(outcome, str):
                current = urljoin(current, outcome)
                continue
            content_type, data = outcome
            image = decode_checked(data, self.config.max_pixels)
            try:
                thumb = thumbnail_jpeg(image, self.config.thumbnail_px)
                width, height = image.size
            finally:
                image.close()
            return FetchedImage(
                url=url,
                data=data,
                content_type=content_type,
                sha256=hashlib.sha256(data).hexdigest(),
                width=width,
                height=height,
                thumbnail_jpeg=thumb,
            )
        raise ImageFetchError(f"more than {self.config.max_redirects} redirects from {url}")

    def _get_through_breaker(
        self, target: FetchTarget, address: str, deadline: float
    ) -> tuple[str, bytes] | str:
        """:meth:`_get` unless the host's breaker is open; transient failures count toward
        it, any answer of the host (even a refusal) closes it."""
        breaker = self._breaker(target.host)
        try:
            breaker.before_request()
        except CircuitOpen as open_breaker:
            # Not retried in this run: the record is retried on a later one.
            raise ImageFetchError(f"not fetched from {target.url}: {open_breaker}") from None
        try:
            with self._slot(target.host):
                outcome = self._get(target, address, deadline)
        except ImageFetchError as error:
            if error.retryable:
                breaker.record_failure(error.reason)
            else:
                breaker.record_success()
            raise
        breaker.record_success()
        return outcome

    def _addresses(self, target: FetchTarget) -> list[str]:
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in target.host else socket.AF_INET, target.host)
            return [target.host]
        except OSError:
            return self._resolve(target)

    def _get(self, target: FetchTarget, address: str, deadline: float) -> tuple[str, bytes] | str:
        """(content type, body), or the Location of a redirect."""
        connection_type = (
            _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        )
        connection = connection_type(
            target.host, target.port, address, timeout=self.config.http.connect_timeout_s
        )
        try:
            try:
                connection.connect()
                assert connection.sock is not None
                connection.sock.settimeout(self.config.http.read_timeout_s)
                connection.request(
                    "GET",
                    target.request_path,
                    headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
                )
                response = connection.getresponse()
            except TimeoutError:
                raise ImageFetchError(
                    f"timed out connecting to or waiting for {target.url}", True
                ) from None
            except ssl.SSLError as error:
                raise ImageFetchError(f"TLS error from {target.host}: {error}") from None
            except (OSError, http.client.HTTPException) as error:
                raise ImageFetchError(
                    f"connection to {target.host} failed: {error}", True
                ) from None
            status = response.status
            if status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise ImageFetchError(f"HTTP {status} without Location from {target.url}")
                return location
            if status != 200:
                retry_after = retry_after_seconds(response.getheader("Retry-After"))
                raise ImageFetchError(
                    f"HTTP {status} from {target.url}",
                    retryable=status in self.config.http.retry_statuses,
                    retry_after=retry_after,
                )
            content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
            if not content_type.lower().startswith("image/"):
                raise ImageFetchError(
                    f"content type {content_type or '(none)'!r} from {target.url} is not image/*"
                )
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.config.max_bytes:
                raise ImageFetchError(
                    f"image of {declared} bytes is over the cap of {self.config.max_bytes} "
                    "(HERITAGE_IMAGE_MAX_BYTES)"
                )
            return content_type, self._read_capped(response, target, deadline)
        finally:
            connection.close()

    def _read_capped(
        self, response: http.client.HTTPResponse, target: FetchTarget, deadline: float
    ) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise ImageFetchError(
                    f"{target.url} took over {self.config.total_timeout_s:g} s", retryable=True
                )
            try:
                chunk = response.read1(64 * 1024)
            except TimeoutError:
                raise ImageFetchError(f"timed out reading {target.url}", retryable=True) from None
            except (OSError, http.client.HTTPException) as error:
                raise ImageFetchError(f"reading {target.url} failed: {error}", True) from None
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.config.max_bytes:
                raise ImageFetchError(
                    f"image from {target.url} is over the cap of {self.config.max_bytes} bytes "
                    "(HERITAGE_IMAGE_MAX_BYTES)"
                )
            chunks.append(chunk)


# --- The stage: Delta in, object store and Delta out --------------------------------------


@dataclass(frozen=True)
class FetchSummary:
    attempted: int
    stored: int
    failed: int
    removed: int


def original_key(layout: LakehouseLayout, sha256: str) -> str:
    return f"{layout.image_prefix}/original/{sha256}"


def thumbnail_key(layout: LakehouseLayout, sha256: str) -> str:
    return f"{layout.image_prefix}/thumbnails/{sha256}.jpg"


def filter_images_to_fetch(
    cleansed: DataFrame,
    images: DataFrame,
    now_epoch_s: float,
    retry_after_s: float,
    retry_cap_s: float,
) -> DataFrame:
    """Records whose image needs fetching: new, URL or content changed, or failed and past
    the retry backoff (``retry_after_s * 2^(attempts-1)``, capped). Adds ``previous_attempts``
    (attempts on the same URL so far)."""
    current = cleansed.filter(F.col("image_url").isNotNull()).select(
        "record_id", "image_url", "content_hash"
    )
    known = images.select(
        F.col("record_id").alias("_id"),
        F.col("image_url").alias("_url"),
        F.col("content_hash").alias("_hash"),
        F.col("status").alias("_status"),
        F.col("attempts").alias("_attempts"),
        F.col("last_attempt_at").alias("_last"),
    )
    due_at = retry_due_at(F.col("_attempts"), F.col("_last"), retry_after_s, retry_cap_s)
    due = due_at <= F.lit(float(now_epoch_s))
    joined = current.join(known, F.col("record_id") == F.col("_id"), how="left")
    return joined.filter(
        F.col("_id").isNull()
        | (F.col("_url") != F.col("image_url"))
        | (F.col("_hash") != F.col("content_hash"))
        | ((F.col("_status") == "failed") & due)
    ).select(
        "record_id",
        "image_url",
        "content_hash",
        F.when(
            (F.col("_url") == F.col("image_url")) & (F.col("_status") == "failed"),
            F.col("_attempts"),
        )
        .otherwise(F.lit(0))
        .cast("int")
        .alias("previous_attempts"),
    )


def filter_images_of_gone_records(cleansed: DataFrame, images: DataFrame) -> DataFrame:
    """Image rows whose record was deleted or lost its image URL."""
    live = cleansed.filter(F.col("image_url").isNotNull()).select("record_id")
    return images.join(live, "record_id", how="left_anti").select("record_id")


def _image_row(
    pending: Mapping[str, Any],
    outcome: FetchedImage | ImageFetchError,
    layout: LakehouseLayout,
    attempted_at: datetime,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_id": pending["record_id"],
        "image_url": pending["image_url"],
        "content_hash": pending["content_hash"],
        "attempts": int(pending["previous_attempts"]) + 1,
        "last_attempt_at": attempted_at,
        "status": "stored",
        "sha256": None,
        "thumbnail_key": None,
        "content_type": None,
        "width": None,
        "height": None,
        "failure_reason": None,
    }
    if isinstance(outcome, ImageFetchError):
        row.update(status="failed", failure_reason=outcome.reason[:1000])
    else:
        row.update(
            sha256=outcome.sha256,
            thumbnail_key=thumbnail_key(layout, outcome.sha256),
            content_type=outcome.content_type,
            width=outcome.width,
            height=outcome.height,
        )
    return row


def fetch_and_store(
    settings: Settings,
    layout: LakehouseLayout,
    pending: Iterable[Mapping[str, Any]],
    fetcher: ImageFetcher,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Fetch every pending image concurrently and store the stored ones; one row each."""

    client = object_store_client(settings)

    def acquire(item: Mapping[str, Any]) -> dict[str, Any]:
        try:
            fetched: FetchedImage | ImageFetchError = fetcher.fetch(str(item["image_url"]))
        except ImageFetchError as error:
            fetched = error
        if isinstance(fetched, FetchedImage):
            client.put_object(
                settings.bucket,
                original_key(layout, fetched.sha256),
                io.BytesIO(fetched.data),
                len(fetched.data),
                content_type=fetched.content_type,
            )
            client.put_object(
                settings.bucket,
                thumbnail_key(layout, fetched.sha256),
                io.BytesIO(fetched.thumbnail_jpeg),
                len(fetched.thumbnail_jpeg),
                content_type="image/jpeg",
            )
        return _image_row(item, fetched, layout, datetime.now(UTC))

    items = list(pending)
    rows: list[dict[str, Any]] = []
    with ThreadPoolExecutor(fetcher.config.workers, thread_name_prefix="image-fetch") as pool:
        futures = [pool.submit(acquire, item) for item in items]
        for future in tqdm(
            as_completed(futures), total=len(futures), desc="images", disable=not progress
        ):
            rows.append(future.result())
    return rows


def run_image_fetch(
    spark: SparkSession,
    settings: Settings,
    layout: LakehouseLayout,
    config: ImageFetchConfig | None = None,
    policy: UrlPolicy | None = None,
    progress: bool = False,
    retry_failed_now: bool = False,
) -> FetchSummary:
    """Fetch the images that need it and MERGE one row per record into ``ml/images``."""

    config = config or load_image_fetch_config(settings)
    policy = policy or load_url_policy(settings.environment)
    ensure_delta_table(spark, layout.ml_images, ML_IMAGES, change_data_feed=True)
    cleansed = spark.read.format("delta").load(layout.cleansed_records)
    images = spark.read.format("delta").load(layout.ml_images)
    pending = [
        row.asDict()
        for row in filter_images_to_fetch(
            cleansed,
            images,
            time.time() + (config.retry_cap_s if retry_failed_now else 0.0),
            config.retry_after_s,
            config.retry_cap_s,
        ).collect()
    ]
    gone = [row.record_id for row in filter_images_of_gone_records(cleansed, images).collect()]
    if not pending and not gone:
        return FetchSummary(0, 0, 0, 0)
    fetcher = ImageFetcher(config, policy)
    try:
        rows = fetch_and_store(settings, layout, pending, fetcher, progress=progress)
    finally:
        fetcher.close()
    results = spark.createDataFrame(rows, ML_IMAGES) if rows else None
    source: DataFrame | None = None
    if results is not None:
        source = results.withColumn("_remove", F.lit(False))
    if gone:
        flagged = removal_rows(spark, [(r,) for r in gone], ML_IMAGES, ("record_id",))
        source = flagged if source is None else source.unionByName(flagged)
    assert source is not None
    columns: dict[str, str | Column] = {f.name: f"s.{f.name}" for f in ML_IMAGES.fields}
    (
        DeltaTable.forPath(spark, layout.ml_images)
        .alias("t")
        .merge(source.alias("s"), "t.record_id = s.record_id")
        .whenMatchedDelete(condition="s._remove")
        .whenMatchedUpdate(condition="NOT s._remove", set=columns)
        .whenNotMatchedInsert(condition="NOT s._remove", values=columns)
        .execute()
    )
    stored = sum(1 for r in rows if r["status"] == "stored")
    summary = FetchSummary(len(rows), stored, len(rows) - stored, len(gone))
    log.info(
        "images fetched",
        extra={
            "stage": "ml.fetch-images",
            "attempted": summary.attempted,
            "stored": summary.stored,
            "failed": summary.failed,
            "removed": summary.removed,
        },
    )
    return summary
