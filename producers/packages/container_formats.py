"""What a deposited file is, judged by its first bytes (a container or not), and the pure
rules about member names, for :mod:`heritage.producers.packages.unpacking`.

:class:`ArchiveProblem` is how this module and :mod:`~heritage.producers.packages.
archive_members` report hostile or broken input; the unpacker names the submission and turns
it into a rejection.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

Decompressing = gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile
ContainerKind = Literal["zip", "tar", "gzip", "bzip2", "xz"]
Compressor = Literal["gzip", "bzip2", "xz"]

ZIP_MAGICS: Final = (b"PK\x03\x04", b"PK\x05\x06")
COMPRESSOR_MAGICS: Final[tuple[tuple[Compressor, bytes], ...]] = (
    ("gzip", b"\x1f\x8b"),
    ("bzip2", b"BZh"),
    ("xz", b"\xfd7zXZ\x00"),
)
TAR_BLOCK: Final = 512
USTAR_MAGIC_AT: Final = 257
# Suffixes a single compressed file drops to name its one member (when the header has no name).
SINGLE_FILE_SUFFIXES: Final[dict[Compressor, tuple[str, ...]]] = {
    "gzip": (".gz", ".gzip"),
    "bzip2": (".bz2", ".bz"),
    "xz": (".xz",),
}
# Names that make a zip a document (OOXML, JAR) rather than a package of files.
DOCUMENT_ZIP_MEMBERS: Final = frozenset({"[Content_Types].xml", "META-INF/MANIFEST.MF"})
# ODF and EPUB store this member first, uncompressed.
ODF_FIRST_MEMBER: Final = "mimetype"
# A gzip header's FNAME longer than this is not a file name.
MAX_GZIP_NAME_BYTES: Final = 4096
MAX_NAME_PART_BYTES: Final = 255
_DRIVE = re.compile(r"[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")

# What the stdlib readers raise on damaged or hostile bytes (bz2 raises a bare OSError).
READ_ERRORS: Final = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    EOFError,
    OSError,
    zlib.error,
    lzma.LZMAError,
    ValueError,
    NotImplementedError,
    struct.error,
    OverflowError,
    IndexError,
    KeyError,
)


class ArchiveProblem(Exception):
    """Why an archive (or one of its members) cannot be trusted.

    ``member`` is the member's name as the archive spells it, or "" for the container
    itself, unless ``located``; ``rule`` is one of the unpacker's refusal rules.
    """

    def __init__(self, rule: str, member: str, reason: str, *, located: bool = False) -> None:
        super().__init__(f"{rule}: {member or '(container)'}: {reason}")
        self.rule = rule
        self.member = member
        self.reason = reason
        self.located = located  # member is already the full logical path (or the submission)


@dataclass(frozen=True)
class Sniffed:
    """A container recognised by content: a tar inside a compressor is one tar container."""

    kind: ContainerKind
    compressor: Compressor | None = None


def sniff_container(path: Path) -> Sniffed | None:
    """The container ``path`` holds, judged by its first bytes; None for a plain file and
    for zip-based documents (OOXML, ODF, EPUB, JAR)."""
    if not path.is_file():
        return None
    with path.open("rb") as file:
        head = file.read(TAR_BLOCK)
    if head.startswith(ZIP_MAGICS):
        return None if _is_zip_document(path) else Sniffed("zip")
    for compressor, magic in COMPRESSOR_MAGICS:
        if head.startswith(magic):
            if _is_tar_header(_decompressed_head(path, compressor)):
                return Sniffed("tar", compressor)
            return Sniffed(compressor)
    return Sniffed("tar") if _is_tar_header(head) else None


def _is_zip_document(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except READ_ERRORS:
        return False  # a broken zip is still a zip: unpacking refuses it as corrupt
    names = {info.filename for info in infos}
    first_is_mimetype = bool(infos) and infos[0].filename == ODF_FIRST_MEMBER
    return first_is_mimetype or not names.isdisjoint(DOCUMENT_ZIP_MEMBERS)


def _decompressed_head(path: Path, compressor: Compressor) -> bytes:
    try:
        with open_compressed(path, compressor) as stream:
            return stream.read(TAR_BLOCK)
    except READ_ERRORS:
        return b""  # undecodable: unpacking refuses it as corrupt


def _is_tar_header(block: bytes) -> bool:
    if len(block) < TAR_BLOCK:
        return False
    if block[USTAR_MAGIC_AT : USTAR_MAGIC_AT + 5] == b"ustar":
        return True
    try:  # pre-POSIX tar has no magic: a valid header checksum decides
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except (tarfile.TarError, ValueError, OverflowError):
        return False
    return True


def open_compressed(path: Path, compressor: Compressor) -> Decompressing:
    """A decompressing stream (the stdlib readers bound each read's output)."""
    if compressor == "gzip":
        return gzip.open(path, "rb")
    if compressor == "bzip2":
        return bz2.open(path, "rb")
    return lzma.open(path, "rb")


def member_parts(name: str) -> tuple[str, ...]:
    """The path components of a member name; refuses names that leave the package."""
    if "\x00" in name:
        raise ArchiveProblem("corrupt", name, "the name contains a NUL character")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise ArchiveProblem("traversal", name, "the name is an absolute path")
    parts = tuple(part for part in _SEPARATORS.split(name) if part not in ("", "."))
    if ".." in parts:
        raise ArchiveProblem("traversal", name, "the name climbs out of its folder with '..'")
    try:
        encoded = [part.encode("utf-8") for part in parts]
    except UnicodeEncodeError:
        raise ArchiveProblem("corrupt", name, "the name is not valid UTF-8") from None
    if any(len(part) > MAX_NAME_PART_BYTES for part in encoded):
        raise ArchiveProblem("corrupt", name, "a part of the name is longer than 255 bytes")
    return parts


def single_member_name(container_name: str, compressor: Compressor, header_name: str | None) -> str:
    """The one member of a compressed single file: the header's name, else the file's
    name without its compression suffix."""
    if header_name:
        return header_name
    lowered = container_name.lower()
    for suffix in SINGLE_FILE_SUFFIXES[compressor]:
        if lowered.endswith(suffix) and len(container_name) > len(suffix):
            return container_name[: -len(suffix)]
    return container_name


def gzip_header_name(path: Path) -> str | None:
    """FNAME of the first gzip header (latin-1 by RFC 1952), None when absent or unreadable."""
    with path.open("rb") as file:
        head = file.read(10)
        if len(head) < 10 or not head[3] & 0x08:
            return None
        if head[3] & 0x04:  # FEXTRA comes before FNAME
            extra_length = file.read(2)
            if len(extra_length) < 2:
                return None
            file.seek(struct.unpack("<H", extra_length)[0], 1)
        raw = file.read(MAX_GZIP_NAME_BYTES + 1)
    end = raw.find(b"\x00")
    return raw[:end].decode("latin-1") if end > 0 else None


def describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
