"""The image fetcher against a real local HTTP server: every way an image URL can fail."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from http_server import serve
from ml_test_images import Reply, image_bytes
from PIL import Image

from heritage.ml.image_fetch import (
    FetchedImage,
    ImageFetcher,
    ImageFetchError,
    decode_checked,
    thumbnail_jpeg,
)
from heritage.ml.image_url_policy import UrlPolicy, parse_allow_list
from heritage.source_settings import IMAGE_HTTP_POLICY, ImageFetchConfig

JPEG = image_bytes("JPEG", (640, 480))
PNG = image_bytes("PNG", (300, 200))
CONFIG = ImageFetchConfig(
    total_timeout_s=3.0,
    max_bytes=200_000,
    workers=4,
    per_host=2,
    http=replace(
        IMAGE_HTTP_POLICY,
        connect_timeout_s=1.0,
        read_timeout_s=0.5,
        max_attempts=3,
        backoff_base_s=0.01,
        backoff_jitter_s=0.01,
    ),
)


def fetcher_for(base: str, config: ImageFetchConfig = CONFIG) -> ImageFetcher:
    return ImageFetcher(config, UrlPolicy(parse_allow_list(base.removeprefix("http://"))))


def fetch(base: str, path: str, config: ImageFetchConfig = CONFIG) -> FetchedImage:
    fetcher = fetcher_for(base, config)
    try:
        return fetcher.fetch(base + path)
    finally:
        fetcher.close()


def test_jpeg_and_png_are_fetched_decoded_and_thumbnailed() -> None:
    routes = {
        "/a.jpg": lambda _n: Reply(body=JPEG),
        "/b.png": lambda _n: Reply(body=PNG, content_type="image/png"),
    }
    with serve(routes) as server:
        jpeg = fetch(server.base_url, "/a.jpg")
        png = fetch(server.base_url, "/b.png")
    assert (jpeg.width, jpeg.height, jpeg.content_type) == (640, 480, "image/jpeg")
    assert jpeg.data == JPEG and len(jpeg.sha256) == 64
    assert (png.width, png.height, png.content_type) == (300, 200, "image/png")
    with Image.open(io.BytesIO(jpeg.thumbnail_jpeg)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 256


def test_server_error_is_retried_until_it_succeeds() -> None:
    routes = {"/flaky.jpg": lambda r: Reply(body=JPEG) if r.hit >= 3 else Reply(500, b"oops")}
    with serve(routes) as server:
        assert fetch(server.base_url, "/flaky.jpg").data == JPEG
    assert server.hits["/flaky.jpg"] == 3


def test_persistent_server_error_gives_up_after_the_retries() -> None:
    with (
        serve({"/down.jpg": lambda _n: Reply(503, b"")}) as server,
        pytest.raises(ImageFetchError, match=r"HTTP 503 .* \(after 3 attempts\)"),
    ):
        fetch(server.base_url, "/down.jpg")
    assert server.hits["/down.jpg"] == 3


def test_not_found_is_not_retried() -> None:
    with serve({}) as server, pytest.raises(ImageFetchError, match="HTTP 404"):
        fetch(server.base_url, "/missing.jpg")
    assert server.hits["/missing.jpg"] == 1


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(body=b"x" * 300_000), "over the cap"),
        (Reply(body=b"<html>hello</html>", content_type="text/html"), "not image/"),
        (Reply(body=b"\xff\xd8\xff\xe0 this is not really a jpeg"), "not a decodable image"),
    ],
)
def test_bad_responses_fail_with_their_reason(reply: Reply, reason: str) -> None:
    with (
        serve({"/x.jpg": lambda _n: reply}) as server,
        pytest.raises(ImageFetchError, match=reason),
    ):
        fetch(server.base_url, "/x.jpg")


def test_body_longer_than_declared_length_is_cut_at_the_cap() -> None:
    big = Reply(body=b"y" * 300_000, headers={})
    config = replace(CONFIG, max_bytes=100_000)
    with (
        serve({"/big.jpg": lambda _n: big}) as server,
        pytest.raises(ImageFetchError, match="over the cap"),
    ):
        fetch(server.base_url, "/big.jpg", config)


def test_redirects_are_followed_and_checked_again() -> None:
    routes = {
        "/moved.jpg": lambda _n: Reply(302, headers={"Location": "/a.jpg"}),
        "/a.jpg": lambda _n: Reply(body=JPEG),
        "/evil.jpg": lambda _n: Reply(
            302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        ),
        "/other-port.jpg": lambda _n: Reply(302, headers={"Location": "http://127.0.0.1:1/a"}),
        "/loop.jpg": lambda _n: Reply(302, headers={"Location": "/loop.jpg"}),
    }
    with serve(routes) as server:
        assert fetch(server.base_url, "/moved.jpg").data == JPEG
        with pytest.raises(ImageFetchError, match="link-local"):
            fetch(server.base_url, "/evil.jpg")
        with pytest.raises(ImageFetchError, match="loopback"):
            fetch(server.base_url, "/other-port.jpg")
        with pytest.raises(ImageFetchError, match="redirects"):
            fetch(server.base_url, "/loop.jpg")
    assert server.hits["/loop.jpg"] == CONFIG.max_redirects + 1


def test_loopback_is_refused_without_the_allow_list() -> None:
    with serve({"/a.jpg": lambda _n: Reply(body=JPEG)}) as server:
        fetcher = ImageFetcher(CONFIG, UrlPolicy())
        with pytest.raises(ImageFetchError, match="loopback"):
            fetcher.fetch(server.base_url + "/a.jpg")
        fetcher.close()
    assert server.hits == {}


def test_slow_response_times_out() -> None:
    config = replace(CONFIG, http=replace(CONFIG.http, max_attempts=1))
    with (
        serve({"/slow.jpg": lambda _n: Reply(body=JPEG, delay_s=2.0)}) as server,
        pytest.raises(ImageFetchError, match="timed out"),
    ):
        fetch(server.base_url, "/slow.jpg", config)


def test_unresolvable_host_fails_fast_with_the_host_named() -> None:
    fetcher = ImageFetcher(CONFIG, UrlPolicy())
    with pytest.raises(ImageFetchError, match=r"cannot resolve host media\.nowhere\.invalid"):
        fetcher.fetch("https://media.nowhere.invalid/a.jpg")
    fetcher.close()


def test_decompression_bomb_is_refused_before_decoding() -> None:
    huge = image_bytes("PNG", (3000, 3000))
    with pytest.raises(ImageFetchError, match="decompression bomb"):
        decode_checked(huge, max_pixels=1_000_000)


def test_thumbnail_never_enlarges() -> None:
    small = decode_checked(image_bytes("PNG", (40, 30)), max_pixels=10_000)
    with Image.open(io.BytesIO(thumbnail_jpeg(small, 256))) as thumb:
        assert thumb.size == (40, 30)


def test_a_retry_after_beyond_the_policy_s_limit_fails_without_waiting() -> None:
    throttled = Reply(429, b"", headers={"Retry-After": "3600"})
    with (
        serve({"/busy.jpg": lambda _r: throttled}) as server,
        pytest.raises(ImageFetchError, match=r"HTTP 429 .*Retry-After of 3600 s exceeds"),
    ):
        fetch(server.base_url, "/busy.jpg")
    assert server.hits["/busy.jpg"] == 1


def test_a_failing_host_s_breaker_stops_requests_to_it() -> None:
    config = replace(CONFIG, http=replace(CONFIG.http, max_attempts=1, breaker_threshold=2))
    routes = {"/down.jpg": lambda _r: Reply(503, b""), "/a.jpg": lambda _r: Reply(body=JPEG)}
    with serve(routes) as server:
        fetcher = fetcher_for(server.base_url, config)
        try:
            for _ in range(2):
                with pytest.raises(ImageFetchError, match="HTTP 503"):
                    fetcher.fetch(server.base_url + "/down.jpg")
            with pytest.raises(ImageFetchError, match="failed 2 times in a row"):
                fetcher.fetch(server.base_url + "/a.jpg")
        finally:
            fetcher.close()
    assert server.hits == {"/down.jpg": 2}
