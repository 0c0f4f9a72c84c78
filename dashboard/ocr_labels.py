"""Readable labels for the OCR review page: query rows -> the rows its tables show.

Pure functions (no Streamlit calls, no database), so the page stays a thin layout and these are
tested on their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from heritage.dashboard.ocr_queries import MATCH_END, MATCH_START
from heritage.dashboard.page_support import escape_markdown

Row = Mapping[str, Any]

KIND_LABELS = {
    "date": "Date",
    "accession_number": "Accession number",
    "name": "Name",
    "place": "Place",
    "document_type": "Document type",
}
LOW_CONFIDENCE_MARK = "⚠️ check"
_MATCH = re.compile(f"{MATCH_START}(.*?){MATCH_END}", re.DOTALL)


def page_label(page: int | None) -> str:
    """Page 0 stands for a file that could not be read at all."""
    if page is None:
        return ""
    return "whole file" if page == 0 else str(page)


def rounded(confidence: float | None, digits: int) -> float | None:
    return None if confidence is None else round(float(confidence), digits)


def queue_rows(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """The review queue as its table shows it."""
    return [
        {
            "Confidence": rounded(row["confidence"], 1),
            "Reason": row["reason"] or "",
            "Record": row["record_id"],
            "Title": row["title"] or "",
            "Provider": row["data_provider"] or "",
            "File": row["file"],
            "Page": page_label(row["page"]),
            "Language": row["language"] or "",
            "Rotation": "" if row["rotation"] is None else f"{row['rotation']}°",
            "Words": row["words"],
        }
        for row in rows
    ]


def field_rows(fields: Sequence[Row]) -> list[dict[str, Any]]:
    """The fields extracted from a page; a flagged one carries a mark to check it."""
    return [
        {
            "Check": LOW_CONFIDENCE_MARK if field["flagged"] else "",
            "Kind": KIND_LABELS.get(field["kind"], field["kind"]),
            "On the page": field["value"],
            "Normalised": field["normalised"] or "",
            "Confidence": rounded(field["confidence"], 2),
            "Link": field["uri"] or "",
            "Rule": field["rule"] or "",
        }
        for field in fields
    ]


def low_confidence_styles(row: Mapping[str, Any]) -> list[str]:
    """Cell styles of one field row: the whole row tinted when it is to be checked."""
    tint = "background-color: #fff3cd" if row["Check"] else ""
    return [tint] * len(row)


def page_choice(row: Row) -> str:
    """How one queued page reads in the page picker."""
    confidence = row["confidence"]
    score = "no confidence" if confidence is None else f"{float(confidence):.1f}"
    return f"{score} · {row['record_id']} · {row['file']} p. {page_label(row['page'])}" + (
        f" · {row['reason']}" if row["reason"] else ""
    )


def snippet_markdown(snippet: str | None) -> str:
    """A search snippet as Markdown: the text escaped, the matched words bold."""
    if not snippet:
        return ""
    parts = _MATCH.split(re.sub(r"\s+", " ", snippet))
    # split() alternates the text between matches and the matched words.
    return "".join(
        f"**{escape_markdown(part)}**" if index % 2 else escape_markdown(part)
        for index, part in enumerate(parts)
        if part
    )


def shown_count(count: int, cap: int) -> str:
    return f"{cap:,}+" if count > cap else f"{count:,}"
