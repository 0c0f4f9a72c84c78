"""Reading a container's members one at a time, for
:mod:`heritage.producers.packages.unpacking`.

Every reader streams: a member is handed out with a stream that is valid until the next
member is asked for, so nothing is read whole into memory and the caller counts bytes as
they come (header sizes can lie). Every way a hostile or broken archive can fail surfaces as
:class:`ArchiveProblem`.
"""

from __future__ import annotations

import bz2
import copy
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Final, Protocol

from heritage.producers.packages.container_formats import (
    READ_ERRORS,
    ArchiveProblem,
    Compressor,
    Decompressing,
    Sniffed,
    describe_error,
    gzip_header_name,
    open_compressed,
    single_member_name,
)

# pax and GNU long-name headers are read into memory whole by tarfile; real ones are small.
MAX_TAR_METADATA_BYTES: Final = 1024**2
TAR_METADATA_TYPES: Final = frozenset(
    {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE}
    | {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
)
COPY_CHUNK: Final = 1024**2
# zipfile inflates LZMA without an output bound, so read little compressed input at a time.
LZMA_ZIP_CHUNK: Final = 4096
READABLE_ZIP_METHODS: Final = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2}
)
# Compressed bytes fed at a time to the bounded bzip2 reader of zip members.
BZIP2_INPUT_CHUNK: Final = 64 * 1024
DEVICE_FORMATS: Final = frozenset({stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK})


@dataclass(frozen=True)
class ArchiveMember:
    """One entry of a container, as the archive records it (sizes may lie)."""

    name: str
    is_dir: bool
    declared_size: int | None
    compressed_size: int | None  # zip members and single compressed files only
    read_size: int = COPY_CHUNK


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class GuardedStream:
    """A member's stream whose decoding errors surface as :class:`ArchiveProblem`."""

    def __init__(self, stream: Readable, member: str) -> None:
        self._stream = stream
        self._member = member

    def read(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except READ_ERRORS as error:
            raise ArchiveProblem("corrupt", self._member, describe_error(error)) from None


class _CappedReader:
    """A decompressed stream that refuses to yield more than ``cap`` bytes (a tar inside a
    compressor: bounds what tarfile may buffer, whatever the headers claim)."""

    def __init__(self, stream: Decompressing, cap: int) -> None:
        self._stream = stream
        self._cap = cap
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        allowed = self._cap - self._count + 1
        data = self._stream.read(allowed if size < 0 else min(size, allowed))
        self._count += len(data)
        if self._count > self._cap:
            raise ArchiveProblem("ratio", "", f"it decompresses to more than {self._cap} bytes")
        return data

    def close(self) -> None:
        self._stream.close()


class _GuardedTarInfo(tarfile.TarInfo):
    """TarInfo that treats any damaged header as corruption (tarfile silently ends the
    archive at a bad header after the first) and caps in-memory metadata headers."""

    @classmethod
    def fromtarfile(cls, archive: tarfile.TarFile) -> _GuardedTarInfo:
        try:
            return super().fromtarfile(archive)
        except tarfile.EOFHeaderError:  # type: ignore[attr-defined]  # absent from the stubs
            raise  # a zero block: the archive's proper end
        except tarfile.HeaderError as error:
            reason = f"damaged or truncated tar header ({error})"
            raise ArchiveProblem("corrupt", "", reason) from None

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in TAR_METADATA_TYPES and self.size > MAX_TAR_METADATA_BYTES:
            raise ArchiveProblem("corrupt", self.name, "a tar metadata header is implausibly large")
        # tarfile's member dispatch is not in the typeshed stubs.
        return super()._proc_member(archive)  # type: ignore[misc]


def read_members(
    path: Path, sniffed: Sniffed, *, display_name: str, max_stream_bytes: int
) -> Iterator[tuple[ArchiveMember, Readable | None]]:
    """The members of the container at ``path`` in archive order, each with its stream
    (None for a folder); ``max_stream_bytes`` caps a compressed tar's decompressed stream."""
    if sniffed.kind == "zip":
        return _zip_members(path)
    if sniffed.kind == "tar":
        return _tar_members(path, sniffed.compressor, max_stream_bytes)
    return _single_member(path, sniffed.kind, display_name)


def _zip_members(path: Path) -> Iterator[tuple[ArchiveMember, Readable | None]]:
    try:
        archive = zipfile.ZipFile(path)
    except READ_ERRORS as error:
        raise ArchiveProblem("corrupt", "", describe_error(error)) from None
    with archive:
        for info in archive.infolist():
            _check_zip_entry(info)
            read_size = LZMA_ZIP_CHUNK if info.compress_type == zipfile.ZIP_LZMA else COPY_CHUNK
            member = ArchiveMember(
                info.filename,
                info.filename.endswith("/"),  # ZipInfo.is_dir() fails on an empty name
                info.file_size,
                info.compress_size,
                read_size,
            )
            if member.is_dir:
                yield member, None
                continue
            try:
                stream = _open_zip_member(archive, info)
            except READ_ERRORS as error:
                raise ArchiveProblem("corrupt", info.filename, describe_error(error)) from None
            try:
                yield member, GuardedStream(stream, info.filename)
            finally:
                stream.close()


def _open_zip_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> IO[bytes] | _Bzip2ZipMember:
    """zipfile inflates bzip2 without an output bound (about a million to one per read), so
    a bzip2 member is read raw, as if stored, and inflated by :class:`_Bzip2ZipMember`."""
    if info.compress_type != zipfile.ZIP_BZIP2:
        return archive.open(info)
    raw = copy.copy(info)
    raw.compress_type = zipfile.ZIP_STORED
    raw.file_size = info.compress_size
    del raw.CRC  # the recorded CRC is of the inflated bytes: checked after inflating
    return _Bzip2ZipMember(archive.open(raw), info)


class _Bzip2ZipMember:
    """A zip member's raw bzip2 bytes inflated at most ``size`` bytes per read, then checked
    against the member's recorded CRC-32 and size."""

    def __init__(self, raw: IO[bytes], info: zipfile.ZipInfo) -> None:
        self._raw = raw
        self._expected = (info.CRC, info.file_size)
        self._decompressor = bz2.BZ2Decompressor()
        self._crc = 0
        self._size = 0

    def read(self, size: int) -> bytes:
        while not self._decompressor.eof:
            chunk = b""
            if self._decompressor.needs_input:
                chunk = self._raw.read(BZIP2_INPUT_CHUNK)
                if not chunk:
                    raise EOFError("the bzip2 data ends before its end marker")
            data = self._decompressor.decompress(chunk, size)
            if data:
                self._crc = zlib.crc32(data, self._crc)
                self._size += len(data)
                return data
        if (self._crc, self._size) != self._expected:
            raise zipfile.BadZipFile("the inflated bytes do not match the recorded CRC-32 and size")
        return b""

    def close(self) -> None:
        self._raw.close()


def _check_zip_entry(info: zipfile.ZipInfo) -> None:
    file_format = stat.S_IFMT(info.external_attr >> 16)
    if info.flag_bits & 0x1:
        raise ArchiveProblem("encrypted", info.filename, "the member is encrypted")
    if file_format == stat.S_IFLNK:
        raise ArchiveProblem("link", info.filename, "the member is a symbolic link")
    if file_format in DEVICE_FORMATS:
        raise ArchiveProblem("device", info.filename, "the member is a device, fifo or socket")
    if info.compress_type not in READABLE_ZIP_METHODS:
        reason = f"zip compression method {info.compress_type} is not accepted (use deflate)"
        raise ArchiveProblem("corrupt", info.filename, reason)


def _tar_members(
    path: Path, compressor: Compressor | None, max_stream_bytes: int
) -> Iterator[tuple[ArchiveMember, Readable | None]]:
    try:
        raw: BinaryIO | _CappedReader = (
            path.open("rb")
            if compressor is None
            else _CappedReader(open_compressed(path, compressor), max_stream_bytes)
        )
    except READ_ERRORS as error:
        raise ArchiveProblem("corrupt", "", describe_error(error)) from None
    try:
        archive = _open_tar_stream(raw)
        while (info := _next_tar_entry(archive)) is not None:
            _check_tar_entry(info)
            member = ArchiveMember(info.name, info.isdir(), info.size, None)
            stream = None if member.is_dir else _tar_member_stream(archive, info)
            yield member, stream
    finally:
        raw.close()


def _open_tar_stream(raw: BinaryIO | _CappedReader) -> tarfile.TarFile:
    try:  # stream mode: one forward pass, members read in order
        return tarfile.open(fileobj=raw, mode="r|", tarinfo=_GuardedTarInfo)  # type: ignore[call-overload]
    except READ_ERRORS as error:
        raise ArchiveProblem("corrupt", "", describe_error(error)) from None


def _next_tar_entry(archive: tarfile.TarFile) -> tarfile.TarInfo | None:
    try:
        return archive.next()
    except READ_ERRORS as error:
        raise ArchiveProblem("corrupt", "", describe_error(error)) from None


def _tar_member_stream(archive: tarfile.TarFile, info: tarfile.TarInfo) -> GuardedStream:
    try:
        stream = archive.extractfile(info)
    except READ_ERRORS as error:
        raise ArchiveProblem("corrupt", info.name, describe_error(error)) from None
    if stream is None:  # tarfile treats every other non-link type as a regular file
        raise ArchiveProblem("corrupt", info.name, "the member has no readable content")
    return GuardedStream(stream, info.name)


def _check_tar_entry(info: tarfile.TarInfo) -> None:
    if info.issym() or info.islnk():
        raise ArchiveProblem("link", info.name, f"the member is a link to {info.linkname!r}")
    if info.ischr() or info.isblk() or info.isfifo():
        raise ArchiveProblem("device", info.name, "the member is a device or fifo")


def _single_member(
    path: Path, compressor: Compressor, display_name: str
) -> Iterator[tuple[ArchiveMember, Readable | None]]:
    header_name = gzip_header_name(path) if compressor == "gzip" else None
    name = single_member_name(display_name, compressor, header_name)
    member = ArchiveMember(name, False, None, path.stat().st_size)
    with open_compressed(path, compressor) as stream:
        yield member, GuardedStream(stream, name)
