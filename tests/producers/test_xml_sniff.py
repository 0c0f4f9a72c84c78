"""The first-bytes look that keeps a file that is not XML out of a LIDO drop."""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import pytest

from heritage.producers.leading_bytes import without_bom_and_whitespace
from heritage.producers.lido_drop import lido_files
from heritage.producers.xml_sniff import not_xml_description, not_xml_reason


def test_every_corpus_lido_file_may_be_xml(corpus_dir: Path) -> None:
    files = lido_files([corpus_dir / "lido"])
    assert len(files) == 20
    assert {path.name: not_xml_reason(path) for path in files} == {p.name: None for p in files}


@pytest.mark.parametrize(
    "start",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<lido:lidoWrap',
        codecs.BOM_UTF8 + b'\r\n  <?xml version="1.0"?>',
        b"\n\n<!-- export of 2025-11-03 -->\n<lido:lido",
        '<?xml version="1.0" encoding="UTF-16"?><lido:lido/>'.encode("utf-16"),
        '<?xml version="1.0" encoding="UTF-16BE"?>'.encode("utf-16-be"),
    ],
    ids=["declaration", "bom-crlf", "comment-first", "utf-16-bom", "utf-16-no-bom"],
)
def test_xml_passes(start: bytes) -> None:
    assert not_xml_description(start) is None


@pytest.mark.parametrize(
    ("start", "found"),
    [
        (
            b"Inventory list\nInv.-Nr.;Titel\n",
            "it starts with 'Inventory list'",
        ),
        (
            "\ufeffInv.-Nr.;Titel;Datierung;Material\r\nLM 1954/12;Krug".encode(),
            "it starts with 'Inv.-Nr.;Titel;Datierung;Material'",
        ),
        (
            b'{"items": [{"id": "/2021672/resource_1"}]}',
            'it starts with \'{"items": [{"id": "/2021672/resource_1"}\'...',
        ),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            "it is a ZIP archive: unpack it and pass the XML files inside",
        ),
        (gzip.compress(b"<lido:lido/>"), "it is gzip-compressed: decompress it first"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "it is a PDF document"),
        (b"", "it is empty"),
        (b"  \r\n\t", "it holds only whitespace"),
    ],
    ids=["note", "csv-with-bom", "json", "zip", "gzip", "pdf", "empty", "blank"],
)
def test_what_is_not_xml_is_described(start: bytes, found: str) -> None:
    assert not_xml_description(start) == found


def test_long_leading_whitespace_is_read_past(tmp_path: Path) -> None:
    padded = tmp_path / "padded.xml"
    padded.write_bytes(b" " * 20_000 + b"\n<lido:lido/>")
    note = tmp_path / "note.xml"
    note.write_bytes(b"\n" * 20_000 + b"Depot 3, shelf 2")

    assert not_xml_reason(padded) is None
    assert not_xml_reason(note) == "it starts with 'Depot 3, shelf 2'"


@pytest.mark.parametrize(
    ("data", "start"),
    [
        (codecs.BOM_UTF8 + b"\r\n<a/>", b"<a/>"),
        (b"\n\n" + codecs.BOM_UTF8 + b" <a/>", b"<a/>"),
        (b"\xbf<a/>", b"\xbf<a/>"),
        (b"\n\xef\xbb<a/>", b"\xef\xbb<a/>"),
        (codecs.BOM_UTF16_LE + b"<\x00", codecs.BOM_UTF16_LE + b"<\x00"),
        (b" \t\r\n", b""),
    ],
    ids=["bom-then-space", "space-then-bom", "stray-byte", "part-of-a-bom", "utf-16", "blank"],
)
def test_a_byte_order_mark_and_whitespace_are_skipped_whole(data: bytes, start: bytes) -> None:
    assert without_bom_and_whitespace(data) == start


def test_a_byte_order_mark_after_a_chunk_of_whitespace_is_skipped(tmp_path: Path) -> None:
    padded = tmp_path / "padded.xml"
    padded.write_bytes(b"\n" * 5_000 + codecs.BOM_UTF8 + b"<lido:lido/>")
    stray = tmp_path / "stray.xml"
    stray.write_bytes(b"\xbf<lido:lido/>")

    assert not_xml_reason(padded) is None
    assert not_xml_reason(stray) == "it starts with '\ufffd<lido:lido/>'"
