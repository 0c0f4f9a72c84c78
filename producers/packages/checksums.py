"""Checksums of package files: algorithm names, one-pass digests and checksum files.

Submitters supply digests in three places: METS ``CHECKSUMTYPE``/``CHECKSUM`` attributes,
BagIt manifests, and loose checksum files next to the data (``checksum.md5``,
``MD5SUMS``, ``photo.tif.sha256``...). This module reads the last kind and names the
algorithm of all three; the fixity step compares what it computes with what was supplied.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

from heritage.source_rejections import SourceRejection

# hashlib names of the algorithms whose digests are checked; others are recorded unchecked.
SUPPORTED = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})
# Every stored file gets a SHA-256 (the content address), whatever the submitter supplied.
ALWAYS = "sha256"
_CHUNK = 1024 * 1024
_HEX_LENGTH = {name: hashlib.new(name).digest_size * 2 for name in SUPPORTED}

# Checksum files recognised by checksum_files(), case-insensitively:
# - any file ending in .md5, .sha1, .sha224, .sha256, .sha384 or .sha512
#   (checksum.md5, checksums.sha256, photo.tif.md5);
# - <ALG>SUMS and <ALG>SUM, with or without .txt (MD5SUMS, SHA256SUMS.txt, md5sum.txt).
# BagIt manifests (manifest-<alg>.txt) are not among them: the bag validation reads those.
_SUFFIX_ALGORITHMS = {f".{name}": name for name in SUPPORTED}
_SUMS_NAME = re.compile(r"^(md5|sha1|sha224|sha256|sha384|sha512)sums?(\.txt)?$", re.IGNORECASE)

# "hex  name" (text mode) and "hex *name" (binary mode) as md5sum/sha256sum write them; a
# leading backslash marks a name with escaped backslashes or line breaks (GNU coreutils).
_GNU_LINE = re.compile(r"^(?P<escaped>\\)?(?P<hex>[0-9A-Fa-f]+) [ *](?P<name>.+)$")
# BSD and `md5sum --tag`: "MD5 (name) = hex", "SHA256 (name) = hex".
_BSD_LINE = re.compile(
    r"^(?P<escaped>\\)?(?P<tag>[A-Za-z0-9-]+) \((?P<name>.+)\) = (?P<hex>[0-9A-Fa-f]+)$"
)
# A sidecar such as photo.tif.md5 may hold nothing but the digest.
_BARE_LINE = re.compile(r"^(?P<hex>[0-9A-Fa-f]+)$")
# Stems of checksum files that name no single file, so a bare digest in them is ambiguous.
_COLLECTIVE_STEMS = {"checksum", "checksums", "md5sum", "md5sums", "manifest"}


class ChecksumFileError(SourceRejection):
    """A checksum file that cannot be read; the message names the file and line."""


def algorithm_name(label: str) -> str | None:
    """The hashlib name of a METS CHECKSUMTYPE or BagIt manifest algorithm label, or None
    when the algorithm is not supported ("SHA-256" -> "sha256", "Adler-32" -> None)."""
    name = re.sub(r"[\s_-]", "", label).lower()
    return name if name in SUPPORTED else None


def file_digests(path: Path, algorithms: Iterable[str]) -> dict[str, str]:
    """Lower-case hex digests of ``path`` for each algorithm and SHA-256, in one read."""
    names = set(algorithms) | {ALWAYS}
    unknown = names - SUPPORTED
    if unknown:
        raise ValueError(
            f"unsupported digest algorithms {sorted(unknown)}; use {sorted(SUPPORTED)}"
        )
    hashers = {name: hashlib.new(name) for name in sorted(names)}
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def checksum_file_algorithm(path: Path) -> str | None:
    """The algorithm a checksum file's name announces, or None for any other file."""
    suffix_algorithm = _SUFFIX_ALGORITHMS.get(path.suffix.lower())
    if suffix_algorithm:
        return suffix_algorithm
    match = _SUMS_NAME.match(path.name)
    return match.group(1).lower() if match else None


def checksum_files(root: Path) -> list[tuple[Path, str]]:
    """Every checksum file under ``root`` (see the names above) with its algorithm, sorted.

    Links are not followed: a link could point outside the package.
    """
    found: list[tuple[Path, str]] = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if any(parent.is_symlink() for parent in path.relative_to(root).parents if parent.name):
            continue
        algorithm = checksum_file_algorithm(path)
        if algorithm:
            found.append((path, algorithm))
    return found


def parse_checksum_file(path: Path, algorithm: str) -> dict[str, str]:
    """``{name: lower-case hex}`` from a checksum file; names are posix paths relative to the
    file's folder. Blank lines and ``#`` comments are skipped."""
    if algorithm not in SUPPORTED:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}; use {sorted(SUPPORTED)}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ChecksumFileError(
            f"{path}: not UTF-8 text (byte {error.start}); save the checksum file as UTF-8"
        ) from None
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, digest = _parse_line(path, number, stripped, algorithm)
        if entries.get(name, digest) != digest:
            raise ChecksumFileError(
                f"{path}:{number}: {name!r} is listed twice with different digests; "
                "keep one line per file"
            )
        entries[name] = digest
    return entries


def _parse_line(path: Path, number: int, line: str, algorithm: str) -> tuple[str, str]:
    where = f"{path}:{number}"
    gnu = _GNU_LINE.match(line)
    bsd = _BSD_LINE.match(line)
    bare = _BARE_LINE.match(line)
    if gnu:
        name, digest = _unescape(gnu["name"], bool(gnu["escaped"])), gnu["hex"]
    elif bsd:
        if algorithm_name(bsd["tag"]) != algorithm:
            raise ChecksumFileError(
                f"{where}: line is tagged {bsd['tag']} but the file name says {algorithm}; "
                "rename the file after its algorithm"
            )
        name, digest = _unescape(bsd["name"], bool(bsd["escaped"])), bsd["hex"]
    elif bare and _names_one_file(path):
        name, digest = path.stem, bare["hex"]
    else:
        raise ChecksumFileError(
            f"{where}: not a checksum line ({line[:80]!r}); expected 'HEX  NAME', "
            f"'HEX *NAME' or '{algorithm.upper()} (NAME) = HEX'"
        )
    if len(digest) != _HEX_LENGTH[algorithm]:
        raise ChecksumFileError(
            f"{where}: a {algorithm} digest has {_HEX_LENGTH[algorithm]} hex digits, this one "
            f"{len(digest)}; check the algorithm or the line"
        )
    return _relative_name(where, name), digest.lower()


def _names_one_file(path: Path) -> bool:
    """Whether ``path`` is a sidecar such as photo.tif.md5, whose stem names its file."""
    return path.suffix.lower() in _SUFFIX_ALGORITHMS and path.stem.lower() not in _COLLECTIVE_STEMS


def _unescape(name: str, escaped: bool) -> str:
    if not escaped:
        return name
    return re.sub(r"\\(.)", lambda match: {"n": "\n", "r": "\r"}.get(match[1], match[1]), name)


def _relative_name(where: str, name: str) -> str:
    normalized = posixpath.normpath(name)
    if normalized == ".":
        raise ChecksumFileError(f"{where}: {name!r} names no file; give the file's name")
    if name.startswith("/") or normalized == ".." or normalized.startswith("../"):
        raise ChecksumFileError(
            f"{where}: {name!r} points outside the checksum file's folder; "
            "list files relative to it"
        )
    return normalized
