"""PRONOM format identification of package files with siegfried (pygfried).

pygfried embeds siegfried and its PRONOM signature file, so nothing is downloaded at run
time. One ``identify_many`` call per batch: on 200 small files it took 0.04 s against
0.22 s file by file (2-core machine), and one Go worker beat two there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pygfried

from heritage.producers.packages.path_aliases import aliased, not_utf8

# siegfried's answer when no signature matched.
UNKNOWN_PUID = "UNKNOWN"


@dataclass(frozen=True)
class FormatVerdict:
    """What siegfried says one file is; None where it says nothing."""

    # PRONOM id ("fmt/43"); None when no signature matched.
    puid: str | None
    format_name: str | None
    version: str | None
    mime: str | None
    # Why siegfried chose it ("byte match at ...; extension match jpg").
    basis: str | None
    # Doubts and errors ("extension mismatch", "no match", "empty source").
    warning: str | None

    @property
    def identified(self) -> bool:
        return self.puid is not None


def identify_files(paths: Sequence[Path], *, workers: int = 1) -> dict[Path, FormatVerdict]:
    """The verdict for every path; a file siegfried cannot read gets a verdict whose
    ``warning`` says why, never an exception."""
    with aliased(paths, not_utf8) as names:
        files: Sequence[Mapping[str, Any]]
        try:
            files = pygfried.identify_many(sorted(set(names.values())), workers=workers)["files"]
        except pygfried.GoError:
            # One file the batch cannot take must not cost the others their verdicts.
            files = [_identify_one(name) for name in set(names.values())]
        verdicts = {str(entry["filename"]): verdict_from_result(entry) for entry in files}
    missing = FormatVerdict(None, None, None, None, None, "siegfried returned no result")
    return {path: verdicts.get(name, missing) for path, name in names.items()}


def _identify_one(name: str) -> Mapping[str, Any]:
    try:
        return pygfried.identify(name, detailed=True)["files"][0]
    except pygfried.GoError as error:
        return {"filename": name, "errors": str(error), "matches": []}


def verdict_from_result(entry: Mapping[str, Any]) -> FormatVerdict:
    """A verdict from one entry of siegfried's ``files`` list (its first PRONOM match)."""
    matches = [match for match in entry.get("matches", []) if match.get("ns") == "pronom"]
    match: Mapping[str, str] = matches[0] if matches else {}
    puid = match.get("id") or None
    notes = [text for text in (entry.get("errors"), match.get("warning")) if text]
    return FormatVerdict(
        puid=None if puid == UNKNOWN_PUID else puid,
        format_name=match.get("format") or None,
        version=match.get("version") or None,
        mime=match.get("mime") or None,
        basis=match.get("basis") or None,
        warning="; ".join(notes) or None,
    )


@cache
def tool_version() -> str:
    """``siegfried 1.11.9 (PRONOM v125, container signatures 20260119)``."""
    header = pygfried.identify_many([])
    return describe_tool(header["siegfried"], header.get("identifiers", []))


def describe_tool(siegfried: str, identifiers: Sequence[Mapping[str, object]]) -> str:
    details = " ".join(str(entry.get("details", "")) for entry in identifiers)
    parts = []
    if pronom := re.search(r"SignatureFile_V(\d+)", details):
        parts.append(f"PRONOM v{pronom[1]}")
    if container := re.search(r"container-signature-(\d+)", details):
        parts.append(f"container signatures {container[1]}")
    return f"siegfried {siegfried}" + (f" ({', '.join(parts)})" if parts else "")
