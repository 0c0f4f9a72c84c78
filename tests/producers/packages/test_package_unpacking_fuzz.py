"""The unpacker on arbitrary and mutated bytes (``pytest -m fuzz``): it returns a result or
raises :class:`UnpackRefused`, never anything else, and writes only under its work folder.
``HERITAGE_FUZZ_EXAMPLES`` sets the examples per test (200 by default); the seed is fixed."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from heritage.producers.packages.unpacking import UnpackLimits, UnpackRefused, unpack

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Small limits keep a mutated bomb cheap; the property does not depend on them.
LIMITS = UnpackLimits(max_members=200, max_total_bytes=4 * 1024**2)


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar(entries: dict[str, bytes], mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


ENTRIES = {"bag/bagit.txt": b"BagIt-Version: 1.0\n", "bag/data/p1.tif": b"II*\x00" + bytes(300)}
SEEDS = (
    _zip(ENTRIES),
    _zip(ENTRIES | {"bag/data/inner.zip": _zip({"x.txt": b"x" * 100})}, zipfile.ZIP_STORED),
    _zip({"a.txt": b"a" * 500}, zipfile.ZIP_LZMA),
    _zip({"b.txt": b"b" * 500, "c/d.txt": b"d"}, zipfile.ZIP_BZIP2),
    _tar(ENTRIES, "w"),
    _tar(ENTRIES | {"inner.tar.gz": _tar({"y.txt": b"y"}, "w:gz")}, "w:gz"),
    _tar(ENTRIES, "w:bz2"),
    _tar(ENTRIES, "w:xz"),
    gzip.compress(b"plain text " * 50, mtime=0),
)


def _mutate(seed: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    return bytes(data[:cut] if cut is not None else data)


def _assert_unpacks_or_refuses(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        submission = Path(scratch) / "submission.bin"
        submission.write_bytes(data)
        work_dir = Path(scratch) / "work"
        try:
            result = unpack(submission, work_dir, LIMITS)
        except UnpackRefused as refused:
            note(str(refused))
            assert "submission.bin" in str(refused) and refused.rule in str(refused)
            assert not (work_dir / "package").exists()
            return
        for file in result.files:
            assert file.local_path.resolve().is_relative_to(work_dir.resolve())
            assert file.local_path.stat().st_size == file.size


@FUZZ
@given(st.binary(max_size=4096))
def test_package_unpacking_fuzz_arbitrary_bytes(data: bytes) -> None:
    _assert_unpacks_or_refuses(data)


@FUZZ
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)), max_size=8),
    st.one_of(st.none(), st.integers(0, 4096)),
)
def test_package_unpacking_fuzz_mutated_archives(
    seed: bytes, edits: list[tuple[int, int]], cut: int | None
) -> None:
    _assert_unpacks_or_refuses(_mutate(seed, edits, cut))
