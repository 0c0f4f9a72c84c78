"""BagIt validation and METS parsing on generated and mutated input (``pytest -m fuzz``).

The properties: ``parse_mets`` returns a document or raises :class:`MetsError` naming the
input, and never shows a local file's content; ``validate_bag`` never raises for any
manifest or fetch.txt text, and a bag naming a path outside itself is never valid.
``HERITAGE_FUZZ_EXAMPLES`` sets the examples per test (200 by default); the seed is fixed.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heritage.producers.packages.bag_validation import (
    BagVerdict,
    decoded_path,
    unsafe_path_reason,
    validate_bag,
)
from heritage.producers.packages.mets_document import MetsDocument, MetsError, parse_mets

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PASSWD_MARKER = "root:x:0:0:"
SEED_METS = b"""<?xml version="1.0" encoding="UTF-8"?>
<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" OBJID="o-1">
  <dmdSec ID="d1"><mdWrap MDTYPE="MODS"><xmlData>
    <mods xmlns="http://www.loc.gov/mods/v3">
      <titleInfo><title>Ledger</title><subTitle>1887</subTitle></titleInfo>
      <name><namePart>Doe, Jane</namePart></name>
      <originInfo><dateIssued>1887</dateIssued></originInfo>
      <accessCondition xlink:href="http://rightsstatements.org/vocab/NoC-US/1.0/"/>
    </mods>
  </xmlData></mdWrap></dmdSec>
  <amdSec ID="a1"><rightsMD ID="r1"><mdWrap MDTYPE="PREMIS:RIGHTS"><xmlData>
    <rightsStatement xmlns="http://www.loc.gov/premis/v3"><rightsBasis>Copyright</rightsBasis>
      <rightsGranted><act>disseminate</act><restriction>Disallow</restriction>
        <termOfRestriction><startDate>2020</startDate><endDate>2090</endDate></termOfRestriction>
      </rightsGranted></rightsStatement>
  </xmlData></mdWrap></rightsMD></amdSec>
  <fileSec><fileGrp USE="ORIGINAL">
    <file ID="f1" SIZE="3" CHECKSUM="abc" CHECKSUMTYPE="MD5"><FLocat xlink:href="a.tif"/></file>
  </fileGrp></fileSec>
  <structMap TYPE="PHYSICAL"><div TYPE="page" ORDER="1"><fptr FILEID="f1"/></div></structMap>
</mets>
"""
XXE = b'<!DOCTYPE mets [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def _truncated(data: bytes, at: int) -> bytes:
    return data[: at % (len(data) + 1)]


def _flipped(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    changed = bytearray(data)
    for position, value in flips:
        changed[position % len(changed)] = value
    return bytes(changed)


def _with_entity(data: bytes, at: int) -> bytes:
    """The seed with an external entity declared and referenced in one text node."""
    body = data.split(b"?>", 1)[1]
    texts = [i for i in range(len(body)) if body[i : i + 1] == b">"]
    position = texts[at % len(texts)] + 1
    return XXE + body[:position] + b"&xxe;" + body[position:]


MUTATED_METS = st.one_of(
    st.just(SEED_METS),
    st.integers(0, 1 << 16).map(lambda at: _truncated(SEED_METS, at)),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8)
    .map(lambda flips: _flipped(SEED_METS, flips)),
    st.integers(0, 1 << 16).map(lambda at: _with_entity(SEED_METS, at)),
    st.sampled_from(["utf-16", "utf-16-be", "latin-1", "cp1252", "utf-32"])
    .map(lambda encoding: SEED_METS.decode().encode(encoding)),
    st.binary(max_size=512),
)  # fmt: skip


@FUZZ
@given(MUTATED_METS)
def test_parse_mets_returns_a_document_or_a_named_rejection(data: bytes) -> None:
    try:
        document = parse_mets(data, "pkg/mets.xml")
    except MetsError as error:
        assert str(error).startswith("pkg/mets.xml: ")
        assert PASSWD_MARKER not in str(error)
        return
    assert isinstance(document, MetsDocument)
    assert PASSWD_MARKER not in repr(document)


HOSTILE_PATHS = st.sampled_from(
    [
        "data/a.txt", "./data/a.txt", "data/../../x", "../x", "/etc/passwd", "~/x", "~root/x",
        "C:\\Windows\\x", "\\\\?\\UNC\\s\\x", "%HomeDrive%\\x", "data/%0A..%0A/x", "data//a.txt",
        "*data/a.txt", "data/a.txt\x00", "", " ",
    ]
)  # fmt: skip
PATHS = st.one_of(HOSTILE_PATHS, st.text(max_size=24))


@FUZZ
@given(PATHS)
def test_a_path_judged_safe_stays_inside_the_bag(path: str) -> None:
    if unsafe_path_reason(decoded_path(path)) is not None:
        return
    decoded = decoded_path(path)
    resolved = posixpath.normpath(posixpath.join("/bag", decoded))
    assert resolved == "/bag" or resolved.startswith("/bag/")
    assert "\\" not in decoded and not decoded.startswith("~")


def _write_bag(root: Path, manifest_paths: list[str], fetch_lines: list[str]) -> Path:
    bag = root / "bag"
    (bag / "data").mkdir(parents=True)
    (bag / "data/a.txt").write_bytes(b"one")
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    digest = hashlib.sha256(b"one").hexdigest()
    lines = [f"{digest}  {path}" for path in ["data/a.txt", *manifest_paths]]
    (bag / "manifest-sha256.txt").write_text("\n".join(lines) + "\n", errors="surrogatepass")
    if fetch_lines:
        (bag / "fetch.txt").write_text("\n".join(fetch_lines) + "\n", errors="surrogatepass")
    return bag


@FUZZ
@given(
    st.lists(PATHS, max_size=3),
    st.lists(
        st.one_of(
            st.text(max_size=40),
            PATHS.map(lambda path: f"https://example.org/x - {path}"),
        ),
        max_size=3,
    ),
)
def test_validate_bag_never_raises_and_never_accepts_an_outside_path(
    manifest_paths: list[str], fetch_lines: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "x").write_bytes(b"one")
        verdict = validate_bag(_write_bag(Path(root), manifest_paths, fetch_lines))
    assert isinstance(verdict, BagVerdict)
    assert verdict.valid is (not verdict.reasons)
    named = [p.strip().lstrip("*") for p in manifest_paths]
    named += [line.split(None, 2)[2] for line in fetch_lines if len(line.split(None, 2)) == 3]
    if any(p and unsafe_path_reason(decoded_path(p)) is not None for p in named):
        assert not verdict.valid
