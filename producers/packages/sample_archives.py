"""Byte-for-byte reproducible zip and tar(.gz) writers for the sample submission packages.

Every timestamp, owner and permission is fixed, and gzip headers carry no name or time, so
the same members always give the same archive bytes. The writers also write what a safe
unpacker must refuse (``../`` names, links out of the package), because hostile deposits
are among the samples.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Every member's modification time (zip: local time fields; tar: seconds since the epoch).
ZIP_TIMESTAMP = (2024, 3, 14, 9, 26, 54)
TAR_MTIME = 1710408414  # 2024-03-14T09:26:54Z

# Formats that are compressed already: zip tools store them rather than deflate them again.
STORED_SUFFIXES = (".jpg", ".jpeg", ".png", ".pdf", ".zip", ".gz")


@dataclass(frozen=True)
class TarEntry:
    """One tar member: a file (``data``), a folder (neither set) or a symlink (``link_target``)."""

    name: str
    data: bytes | None = None
    link_target: str | None = None


def zip_member(name: str, compress_type: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A member header with a fixed time, Unix permissions 0644 and the name as given."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
    info.compress_type = compress_type
    info.create_system = 3  # Unix, wherever the package is built
    info.external_attr = 0o100644 << 16
    return info


def zip_bytes(
    members: Iterable[tuple[str, bytes]], stored_suffixes: tuple[str, ...] = STORED_SUFFIXES
) -> bytes:
    """A zip of (name, bytes) in the order given; names ending in ``stored_suffixes`` (formats
    compressed already) are stored, the others deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            stored = name.lower().endswith(stored_suffixes)
            method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(zip_member(name, method), data)
    return buffer.getvalue()


def write_zip(
    path: Path,
    members: Iterable[tuple[str, bytes]],
    stored_suffixes: tuple[str, ...] = STORED_SUFFIXES,
) -> Path:
    path.write_bytes(zip_bytes(members, stored_suffixes))
    return path


def _tar_info(entry: TarEntry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(entry.name)
    info.mtime = TAR_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.link_target is not None:
        info.type = tarfile.SYMTYPE
        info.linkname = entry.link_target
        info.mode = 0o777
    elif entry.data is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = len(entry.data)
        info.mode = 0o644
    return info


def tar_bytes(entries: Sequence[TarEntry]) -> bytes:
    """An uncompressed POSIX tar of the entries, in the order given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            content = io.BytesIO(entry.data) if entry.data is not None else None
            archive.addfile(_tar_info(entry), content)
    return buffer.getvalue()


def gzip_bytes(data: bytes, *, huffman_only: bool = False) -> bytes:
    """gzip with no file name and a zero time in the header, so the bytes are reproducible.

    ``huffman_only`` skips the search for repeats: 3x faster, and noise-like content (the
    benchmark's images) compresses no worse; text compresses less.
    """
    strategy = zlib.Z_HUFFMAN_ONLY if huffman_only else zlib.Z_DEFAULT_STRATEGY
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31, 8, strategy)  # wbits 31: gzip framing
    return compressor.compress(data) + compressor.flush()


def write_tar(
    path: Path, entries: Sequence[TarEntry], *, compress: bool, huffman_only: bool = False
) -> Path:
    data = tar_bytes(entries)
    path.write_bytes(gzip_bytes(data, huffman_only=huffman_only) if compress else data)
    return path


def folder_entries(folder: Path, top: str) -> list[TarEntry]:
    """The folder as tar entries under ``top/`` (the folder itself first), in name order."""
    entries = [TarEntry(top)]
    for path in sorted(folder.rglob("*")):
        name = f"{top}/{path.relative_to(folder).as_posix()}"
        entries.append(TarEntry(name, path.read_bytes()) if path.is_file() else TarEntry(name))
    return entries
