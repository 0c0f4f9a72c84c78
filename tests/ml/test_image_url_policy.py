"""The SSRF policy: which URLs and addresses the image fetcher may connect to."""

from __future__ import annotations

import pytest

from heritage.ml.image_url_policy import (
    ImageUrlRefused,
    UrlPolicy,
    address_refusal,
    choose_address,
    fetch_target,
    parse_allow_list,
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.org/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("http://user:pw@example.org/a.jpg", "credentials"),
        ("http:///a.jpg", "no host"),
        ("http://example.org:99999/a.jpg", "valid URL"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, why: str) -> None:
    with pytest.raises(ImageUrlRefused, match=why):
        fetch_target(url)


def test_target_keeps_host_port_and_query() -> None:
    target = fetch_target("HTTPS://Media.Example.org/iiif/a/full/max/0/default.jpg?x=1")
    assert (target.scheme, target.host, target.port) == ("https", "media.example.org", 443)
    assert target.request_path == "/iiif/a/full/max/0/default.jpg?x=1"


def test_any_internal_answer_refuses_the_host() -> None:
    target = fetch_target("http://mixed.example.org/a.jpg")
    with pytest.raises(ImageUrlRefused, match="HERITAGE_IMAGE_FETCH_ALLOW"):
        choose_address(target, ["93.184.216.34", "10.0.0.5"], UrlPolicy())
    assert choose_address(target, ["93.184.216.34"], UrlPolicy()) == "93.184.216.34"


def test_allow_list_permits_exactly_its_host_port_pairs() -> None:
    policy = UrlPolicy(parse_allow_list("127.0.0.1:18080, [::1]:8080"))
    allowed = fetch_target("http://127.0.0.1:18080/a.jpg")
    assert choose_address(allowed, ["127.0.0.1"], policy) == "127.0.0.1"
    other_port = fetch_target("http://127.0.0.1:18081/a.jpg")
    with pytest.raises(ImageUrlRefused, match="loopback"):
        choose_address(other_port, ["127.0.0.1"], policy)
    assert choose_address(fetch_target("http://[::1]:8080/a"), ["::1"], policy) == "::1"


def test_malformed_allow_list_entry_names_the_setting() -> None:
    with pytest.raises(ValueError, match="HERITAGE_IMAGE_FETCH_ALLOW"):
        parse_allow_list("localhost")
