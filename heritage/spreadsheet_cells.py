"""Cells for spreadsheets: text that a spreadsheet would run as a formula stays text.

Sources send cells such as ``=HYPERLINK("https://…")``, ``+49 30 …``, ``-5`` or
``@SUM(…)``; the lakehouse keeps them exactly as received. Only what is written for a
spreadsheet (a CSV download) escapes them, by OWASP's rule against CSV injection: text that
opens with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote,
which spreadsheets read as "this cell is text" and do not show.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe_cell(value: object) -> object:
    """``value`` as a spreadsheet should show it: text that opens with a formula trigger gets
    a leading single quote; numbers, dates, None and other text are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _spreadsheet_text(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join("" if part is None else str(part) for part in value)
    return spreadsheet_safe_cell(value)


def spreadsheet_csv(rows: Iterable[Mapping[str, object]]) -> bytes:
    """Rows as a CSV file for spreadsheets: UTF-8 with a byte-order mark (so Excel reads it as
    UTF-8), a header of the first row's keys, lists joined with ``; `` and every cell passed
    through :func:`spreadsheet_safe_cell`. No rows give an empty file."""
    buffer = io.StringIO()
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            columns = list(row)
            writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
            writer.writerow({name: spreadsheet_safe_cell(name) for name in columns})
        writer.writerow({name: _spreadsheet_text(value) for name, value in row.items()})
    if writer is None:
        return b""
    return buffer.getvalue().encode("utf-8-sig")
