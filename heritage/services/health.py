"""What `heritage services status` reports for each service."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    healthy: bool
    address: str
    version: str
    detail: str = ""


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def split_host_port(address: str) -> tuple[str, int]:
    """'127.0.0.1:19092' or 'http://127.0.0.1:19000' -> ('127.0.0.1', port)."""
    host_port = address.split("://", 1)[-1].split(",", 1)[0].rstrip("/")
    host, _, port = host_port.rpartition(":")
    return host.strip("[]"), int(port)
