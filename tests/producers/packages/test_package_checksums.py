"""Checksums of package files: algorithm labels, one-pass digests and checksum files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heritage.producers.packages.checksums import (
    SUPPORTED,
    ChecksumFileError,
    algorithm_name,
    checksum_files,
    file_digests,
    parse_checksum_file,
)
from heritage.source_rejections import SourceRejection

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
MD5_EMPTY = hashlib.md5(b"").hexdigest()
MD5_ABC = hashlib.md5(b"abc").hexdigest()


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("MD5", "md5"),
        ("md5", "md5"),
        ("SHA-1", "sha1"),
        ("SHA1", "sha1"),
        ("sha-256", "sha256"),
        ("SHA256", "sha256"),
        ("SHA-224", "sha224"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
        ("sha512", "sha512"),
        ("Adler-32", None),
        ("CRC32", None),
        ("HAVAL", None),
        ("WHIRLPOOL", None),
        ("", None),
    ],
)
def test_algorithm_names_from_mets_and_bagit_labels(label: str, expected: str | None) -> None:
    assert algorithm_name(label) == expected


def test_digests_of_every_algorithm_asked_plus_sha256(tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk
    path = tmp_path / "master.tif"
    path.write_bytes(content)

    digests = file_digests(path, ["md5", "sha1"])

    assert digests == {
        "md5": hashlib.md5(content).hexdigest(),
        "sha1": hashlib.sha1(content).hexdigest(),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    assert file_digests(path, []) == {"sha256": hashlib.sha256(content).hexdigest()}
    assert set(file_digests(path, SUPPORTED)) == SUPPORTED


def test_digests_read_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scan.jpg"
    path.write_bytes(b"x" * (5 * 1024 * 1024))
    opened: list[Path] = []
    real_open = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    file_digests(path, SUPPORTED)
    assert opened == [path]


def test_unsupported_digest_algorithm_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="crc32"):
        file_digests(path, ["crc32"])


def test_gnu_text_and_binary_lines(tmp_path: Path) -> None:
    checksums = tmp_path / "checksum.md5"
    checksums.write_text(
        f"{MD5_ABC}  images/page 1.tif\n"
        f"{MD5_EMPTY.upper()} *./empty file.txt\n"
        "\n"
        "# made by md5sum\n"
        f"\\{MD5_ABC}  odd\\nname\\\\x\n",
        encoding="utf-8",
    )

    assert parse_checksum_file(checksums, "md5") == {
        "images/page 1.tif": MD5_ABC,
        "empty file.txt": MD5_EMPTY,
        "odd\nname\\x": MD5_ABC,
    }


def test_bsd_lines(tmp_path: Path) -> None:
    sha256_abc = hashlib.sha256(b"abc").hexdigest()
    checksums = tmp_path / "SHA256SUMS"
    checksums.write_text(
        f"SHA256 (data/a (1).txt) = {sha256_abc}\r\nSHA-256 (b.txt) = {sha256_abc}\r\n",
        encoding="utf-8",
    )

    assert parse_checksum_file(checksums, "sha256") == {
        "data/a (1).txt": sha256_abc,
        "b.txt": sha256_abc,
    }


def test_sidecar_holding_only_the_digest_names_its_file(tmp_path: Path) -> None:
    sidecar = tmp_path / "page 1.tif.md5"
    sidecar.write_text(f"\ufeff{MD5_ABC}\n", encoding="utf-8")
    assert parse_checksum_file(sidecar, "md5") == {"page 1.tif": MD5_ABC}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("checksum.md5", f"{MD5_ABC}  a.txt\nnot a checksum line\n", ":2: not a checksum line"),
        ("checksum.md5", f"{MD5_ABC}\n", ":1: not a checksum line"),
        ("checksum.md5", f"{MD5_ABC[:-1]}  a.txt\n", ":1: a md5 digest has 32 hex digits"),
        ("checksum.md5", f"SHA1 (a.txt) = {MD5_ABC}\n", ":1: line is tagged SHA1"),
        ("checksum.md5", f"{MD5_ABC}  ../../etc/passwd\n", ":1: '../../etc/passwd' points"),
        ("checksum.md5", f"{MD5_ABC}  /etc/passwd\n", ":1: '/etc/passwd' points"),
        ("MD5SUMS", f"{MD5_ABC}  a\n{MD5_EMPTY}  ./a\n", ":2: 'a' is listed twice"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, name: str, content: str, reason: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ChecksumFileError) as raised:
        parse_checksum_file(path, "md5")

    assert f"{path}{reason}" in str(raised.value)
    assert isinstance(raised.value, SourceRejection)


def test_checksum_file_that_is_not_utf8_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "checksum.md5"
    path.write_bytes(MD5_ABC.encode() + b"  caf\xe9.txt\n")
    with pytest.raises(ChecksumFileError, match="not UTF-8"):
        parse_checksum_file(path, "md5")


def test_checksum_files_found_by_name(tmp_path: Path) -> None:
    names = [
        "checksum.md5",
        "data/checksums.SHA1",
        "data/page.tif.sha256",
        "MD5SUMS",
        "data/SHA256SUMS.txt",
        "sub/sha512sum.txt",
        "notes.txt",
        "manifest-md5.txt",
        "data/page.tif",
    ]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "linked.md5").symlink_to(tmp_path / "checksum.md5")

    found = {
        path.relative_to(tmp_path).as_posix(): algorithm
        for path, algorithm in checksum_files(tmp_path)
    }

    assert found == {
        "checksum.md5": "md5",
        "data/checksums.SHA1": "sha1",
        "data/page.tif.sha256": "sha256",
        "MD5SUMS": "md5",
        "data/SHA256SUMS.txt": "sha256",
        "sub/sha512sum.txt": "sha512",
    }


_SHA1_HEX = st.text("0123456789abcdefABCDEF", min_size=38, max_size=42)
_NAMES = st.text(max_size=30)
_CHECKSUM_LINES = st.one_of(
    st.text(max_size=80),
    st.builds(lambda h, mode, n: f"{h} {mode}{n}", _SHA1_HEX, st.sampled_from(" *"), _NAMES),
    st.builds(
        lambda t, n, h: f"{t} ({n}) = {h}",
        st.sampled_from(["SHA1", "MD5", "SHA-1"]),
        _NAMES,
        _SHA1_HEX,
    ),
)


@pytest.mark.fuzz
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.lists(_CHECKSUM_LINES, max_size=8).map("\n".join))
def test_any_checksum_file_parses_or_is_rejected(tmp_path: Path, content: str) -> None:
    path = tmp_path / "checksum.sha1"
    path.write_text(content, encoding="utf-8", newline="")
    try:
        entries = parse_checksum_file(path, "sha1")
    except ChecksumFileError as error:
        assert str(path) in str(error)
    else:
        for name, digest in entries.items():
            assert not name.startswith(("/", "../")) and name != ".."
            assert len(digest) == 40 and digest == digest.lower()
