"""The few commands of clamd's socket protocol the virus scan needs.

A running clamd keeps the signature database loaded, where every clamscan run loads it
again (tens of seconds with the official databases). Files go over ``zINSTREAM``, so the
daemon needs no access to the package folder: the reply is clamd's own text (``stream: OK``,
``stream: <signature> FOUND``, ``INSTREAM size limit exceeded. ERROR``), read by
:mod:`heritage.producers.packages.virus_scan`. Protocol: docs.clamav.net, "clamd" manual.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

# Bytes per INSTREAM chunk; clamd's StreamMaxLength caps the total, not the chunk.
_CHUNK = 256 * 1024


class ClamdUnreachable(OSError):
    """No clamd answers at the configured address."""


def clamd_command(address: str, command: str, timeout_s: float) -> str:
    """The reply to one argument-less command, such as ``VERSION`` or ``PING``."""
    with _connect(address, timeout_s) as connection:
        connection.sendall(f"z{command}\0".encode("ascii"))
        return _reply(connection)


def clamd_instream(address: str, path: Path, timeout_s: float) -> str:
    """clamd's reply after streaming ``path`` to it."""
    with _connect(address, timeout_s) as connection:
        connection.sendall(b"zINSTREAM\0")
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(_CHUNK):
                    connection.sendall(struct.pack("!I", len(chunk)) + chunk)
            connection.sendall(struct.pack("!I", 0))
        except (BrokenPipeError, ConnectionResetError):
            # clamd hangs up once a stream passes StreamMaxLength; its reply says so.
            pass
        return _reply(connection)


def _connect(address: str, timeout_s: float) -> socket.socket:
    """A connection to a Unix socket path or to ``host:port``."""
    try:
        if ":" in address and not address.startswith("/"):
            host, port = address.rsplit(":", 1)
            return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(timeout_s)
        try:
            connection.connect(address)
        except OSError:
            connection.close()
            raise
        return connection
    except (OSError, ValueError) as error:
        raise ClamdUnreachable(f"cannot reach clamd at {address}: {error}") from error


def _reply(connection: socket.socket) -> str:
    received = b""
    while not received.endswith(b"\0"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.rstrip(b"\0").decode("utf-8", errors="replace").strip()
