"""What comes before a document's first character of content: byte-order marks and blank
space.

Exports and server responses often start with a UTF-8 byte-order mark, a blank line printed
by a script before the document, or both in either order. Whoever tells a format from the
first bytes, or hands a body to the XML parser, skips exactly these: the whole mark (never
one of its bytes alone, so ``\\xbf{`` is not taken for JSON) and ASCII whitespace.
"""

from __future__ import annotations

import codecs

UTF8_BOM = codecs.BOM_UTF8
# The marks of a UTF-16 text: what follows them is no ASCII, so it is decoded, not skipped.
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
ASCII_WHITESPACE = b" \t\r\n"


def without_bom_and_whitespace(data: bytes) -> bytes:
    """``data`` from its first byte that is neither ASCII whitespace nor part of one UTF-8
    byte-order mark among that whitespace; a UTF-16 mark is left in place."""
    start = data.lstrip(ASCII_WHITESPACE)
    if start.startswith(UTF8_BOM):
        start = start[len(UTF8_BOM) :].lstrip(ASCII_WHITESPACE)
    return start
