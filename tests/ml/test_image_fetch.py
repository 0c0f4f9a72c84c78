"""The image fetcher against a real local HTTP server: every way an image URL can fail."""

from __future__ import annotations

import io

import pytest
from ml_test_images import Reply, image_bytes, serve_routes
from PIL import Image

from heritage.ml.image_fetch import (
    FetchConfig,
    FetchedImage,
    ImageFetcher,
    ImageFetchError,
    decode_checked,
    thumbnail_jpeg,
)
from heritage.ml.image_url_policy import UrlPolicy, parse_allow_list

JPEG = image_bytes("JPEG", (640, 480))
PNG = image_bytes("PNG", (300, 200))
CONFIG = FetchConfig(
    connect_timeout_s=1.0,
    read_timeout_s=0.5,
    total_timeout_s=3.0,
    max_bytes=200_000,
    retries=2,
    backoff_s=0.01,
    workers=4,
    per_host=2,
)


def fetcher_for(base: str, config: FetchConfig = CONFIG) -> ImageFetcher:
    return ImageFetcher(config, UrlPolicy(parse_allow_list(base.removeprefix("http://"))))


def fetch(base: str, path: str, config: FetchConfig = CONFIG) -> FetchedImage:
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
    with serve_routes(routes) as (base, _hits):
        jpeg = fetch(base, "/a.jpg")
        png = fetch(base, "/b.png")
    assert (jpeg.width, jpeg.height, jpeg.content_type) == (640, 480, "image/jpeg")
    assert jpeg.data == JPEG and len(jpeg.sha256) == 64
    assert (png.width, png.height, png.content_type) == (300, 200, "image/png")
    with Image.open(io.BytesIO(jpeg.thumbnail_jpeg)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 256


def test_server_error_is_retried_until_it_succeeds() -> None:
    routes = {"/flaky.jpg": lambda n: Reply(body=JPEG) if n >= 3 else Reply(500, b"oops")}
    with serve_routes(routes) as (base, hits):
        assert fetch(base, "/flaky.jpg").data == JPEG
    assert hits["/flaky.jpg"] == 3


def test_persistent_server_error_gives_up_after_the_retries() -> None:
    with (
        serve_routes({"/down.jpg": lambda _n: Reply(503, b"")}) as (base, hits),
        pytest.raises(ImageFetchError, match=r"HTTP 503 .* \(after 3 attempts\)"),
    ):
        fetch(base, "/down.jpg")
    assert hits["/down.jpg"] == 3


def test_not_found_is_not_retried() -> None:
    with serve_routes({}) as (base, hits), pytest.raises(ImageFetchError, match="HTTP 404"):
        fetch(base, "/missing.jpg")
    assert hits["/missing.jpg"] == 1


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
        serve_routes({"/x.jpg": lambda _n: reply}) as (base, _hits),
        pytest.raises(ImageFetchError, match=reason),
    ):
        fetch(base, "/x.jpg")


def test_body_longer_than_declared_length_is_cut_at_the_cap() -> None:
    big = Reply(body=b"y" * 300_000, headers={})
    config = FetchConfig(**{**CONFIG.__dict__, "max_bytes": 100_000})
    with (
        serve_routes({"/big.jpg": lambda _n: big}) as (base, _hits),
        pytest.raises(ImageFetchError, match="over the cap"),
    ):
        fetch(base, "/big.jpg", config)


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
    with serve_routes(routes) as (base, hits):
        assert fetch(base, "/moved.jpg").data == JPEG
        with pytest.raises(ImageFetchError, match="link-local"):
            fetch(base, "/evil.jpg")
        with pytest.raises(ImageFetchError, match="loopback"):
            fetch(base, "/other-port.jpg")
        with pytest.raises(ImageFetchError, match="redirects"):
            fetch(base, "/loop.jpg")
    assert hits["/loop.jpg"] == CONFIG.max_redirects + 1


def test_loopback_is_refused_without_the_allow_list() -> None:
    with serve_routes({"/a.jpg": lambda _n: Reply(body=JPEG)}) as (base, hits):
        fetcher = ImageFetcher(CONFIG, UrlPolicy())
        with pytest.raises(ImageFetchError, match="loopback"):
            fetcher.fetch(base + "/a.jpg")
        fetcher.close()
    assert hits == {}


def test_slow_response_times_out() -> None:
    config = FetchConfig(**{**CONFIG.__dict__, "retries": 0})
    with (
        serve_routes({"/slow.jpg": lambda _n: Reply(body=JPEG, delay_s=2.0)}) as (base, _h),
        pytest.raises(ImageFetchError, match="timed out"),
    ):
        fetch(base, "/slow.jpg", config)


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
