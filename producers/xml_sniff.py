"""A quick look at a file's first bytes: is it XML at all?

A drop of LIDO files sometimes holds a spreadsheet export, a ZIP of the real files or a
text note saved next to them. Such a file, given by name, is refused with what it starts
with before anything is published; a real XML file (after a byte-order mark and
whitespace, its first character is ``<``) goes on to the parser, which judges the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from heritage.producers.leading_bytes import UTF8_BOM, UTF16_BOMS, without_bom_and_whitespace

# Bytes read at a time while skipping leading whitespace; most files need one read.
_CHUNK_BYTES = 4096
# Characters of the file's start an error message quotes.
_QUOTED_CHARACTERS = 40
# Signatures of what is sent instead of XML, and how to say what it is.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive: unpack it and pass the XML files inside"),
    (b"\x1f\x8b", "gzip-compressed: decompress it first"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
)


def _decoded_start(head: bytes) -> str:
    """The first characters of ``head`` as text (UTF-16 when it starts with its BOM)."""
    for bom in UTF16_BOMS:
        if head.startswith(bom):
            return head.decode("utf-16", errors="replace")
    return head.removeprefix(UTF8_BOM).decode("utf-8", errors="replace")


def not_xml_description(head: bytes, at_end: bool = True) -> str | None:
    """Why a file starting with ``head`` is not XML (``it starts with 'Inventory list'``),
    or None when it may be. ``at_end`` says ``head`` is the whole file; a head of only
    whitespace is then an empty file, else undecided."""
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            return f"it is {what}"
    text = _decoded_start(head).lstrip(" \t\r\n\ufeff\x00")
    if not text:
        return ("it is empty" if not head else "it holds only whitespace") if at_end else None
    if text.startswith("<"):
        return None
    first_line = text.splitlines()[0] if text.splitlines() else text
    quoted = first_line[:_QUOTED_CHARACTERS]
    ellipsis = "..." if len(first_line) > _QUOTED_CHARACTERS else ""
    return f"it starts with {quoted!r}{ellipsis}"


def _head_of(stream: BinaryIO) -> tuple[bytes, bool]:
    """The first bytes of ``stream`` that are not leading whitespace (the first chunk as it
    is for UTF-16), and whether the stream ended before any; one read for most files."""
    head = stream.read(_CHUNK_BYTES)
    if head.startswith(UTF16_BOMS):
        return head, len(head) < _CHUNK_BYTES
    start = without_bom_and_whitespace(head)
    while not start:
        more = stream.read(_CHUNK_BYTES)
        if not more:
            return head, True
        start = without_bom_and_whitespace(more)
    return start, False


def not_xml_reason(path: Path) -> str | None:
    """Why the file at ``path`` is not XML, from its first bytes, or None when it may be."""
    with path.open("rb") as stream:
        head, at_end = _head_of(stream)
    return not_xml_description(head, at_end)


def not_xml_refusal(paths: Iterable[Path]) -> str | None:
    """The one-line refusal of a LIDO drop whose files given by name include one that is not
    XML (folders are left to their ``*.xml`` search), or None when every file may be XML."""
    refused: list[str] = []
    for path in paths:
        if not path.is_file():
            continue
        try:
            reason = not_xml_reason(path)
        except OSError as error:
            reason = f"it cannot be read: {error.strerror}"
        if reason is not None:
            refused.append(f"{path} is not XML ({reason})")
    if not refused:
        return None
    others = len(refused) - 1
    more = (
        f"; {others} more files given are not XML either"
        if others > 1
        else "; 1 more file given is not XML either"
        if others
        else ""
    )
    return f"{refused[0]}{more}; pass LIDO XML files or folders"
