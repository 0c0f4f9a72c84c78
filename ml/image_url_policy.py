"""Which image URLs the fetcher may connect to (pure: no network).

The image URLs come from providers' metadata, so they are untrusted input: a record could
point the fetcher at the object store, the database or a cloud metadata endpoint on the
pipeline's own network (SSRF). Only http(s) URLs whose host resolves to public addresses
are fetched; every redirect target is checked again, and the fetcher connects to the very
address that was checked (no second DNS lookup an attacker could answer differently).
Deployments that serve images from their own network (the demo's image server) list the
exact ``host:port`` pairs in ``HERITAGE_IMAGE_FETCH_ALLOW``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


class ImageUrlRefused(ValueError):
    """The URL (or a redirect to it) may not be fetched; the message says why."""


@dataclass(frozen=True)
class FetchTarget:
    """A URL split into what the fetcher needs to connect."""

    url: str
    scheme: str
    host: str
    port: int
    # Path and query, as sent in the request line.
    request_path: str


@dataclass(frozen=True)
class UrlPolicy:
    """Allow-list of ``host:port`` pairs exempt from the public-address rule."""

    # e.g. {"127.0.0.1:18080"}: the local stack's own image server.
    allowed_host_ports: frozenset[str] = field(default_factory=frozenset)

    def allows_private(self, host: str, port: int) -> bool:
        return _host_port(host, port) in self.allowed_host_ports


def _host_port(host: str, port: int) -> str:
    host = host.lower().strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_allow_list(text: str) -> frozenset[str]:
    """``"127.0.0.1:18080, [::1]:8080"`` -> normalised pairs; a bad entry raises."""
    pairs: set[str] = set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(
                f"HERITAGE_IMAGE_FETCH_ALLOW entry {entry!r} is not host:port "
                "(e.g. 127.0.0.1:18080); fix the setting"
            )
        pairs.add(_host_port(host, int(port)))
    return frozenset(pairs)


def load_url_policy(environ: Mapping[str, str]) -> UrlPolicy:
    return UrlPolicy(parse_allow_list(environ.get("HERITAGE_IMAGE_FETCH_ALLOW", "")))


def fetch_target(url: str) -> FetchTarget:
    """Check the URL's shape (scheme, host, port, no credentials) and split it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise ImageUrlRefused(f"not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise ImageUrlRefused(f"scheme {scheme or '(none)'!r} is not http or https")
    if not parts.hostname:
        raise ImageUrlRefused("URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ImageUrlRefused("URL carries credentials")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return FetchTarget(
        url=url.strip(),
        scheme=scheme,
        host=parts.hostname.lower(),
        port=port or DEFAULT_PORTS[scheme],
        request_path=path,
    )


def address_refusal(address: str) -> str | None:
    """Why connecting to this IP address is refused, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if ip.ipv4_mapped is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is not None:
            inner = address_refusal(str(embedded))
            if inner is not None:
                return f"{inner} (embedded in {ip})"
        if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 of an IPv4 address
            inner = address_refusal(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
            if inner is not None:
                return f"{inner} (NAT64 {ip})"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"address {ip} is {name}"
    return None


def choose_address(target: FetchTarget, addresses: Iterable[str], policy: UrlPolicy) -> str:
    """The first resolved address the policy permits; refuses when any is not permitted.

    Refusing on *any* private answer (not just all) stops a host that resolves to both a
    public and an internal address from being used to reach the internal one.
    """
    resolved = list(dict.fromkeys(addresses))
    if not resolved:
        raise ImageUrlRefused(f"host {target.host} resolved to no address")
    if policy.allows_private(target.host, target.port):
        return resolved[0]
    for address in resolved:
        if policy.allows_private(address, target.port):
            continue
        reason = address_refusal(address)
        if reason is not None:
            raise ImageUrlRefused(
                f"{target.host}:{target.port} refused: {reason}; list it in "
                "HERITAGE_IMAGE_FETCH_ALLOW if this image server is trusted"
            )
    return resolved[0]
