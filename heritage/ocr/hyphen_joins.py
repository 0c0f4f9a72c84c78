"""A view of page text with words broken across lines ("Inventar-\\nnummer") joined again,
and the way back to offsets in the page text.

Field finders read the joined view, so "Sep-\\ntember 1887" is a date and "Amster-\\ndam" a
place; every span they find is mapped back, so a field's value is still exactly what the
page says, hyphen and line break included.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

# A letter, a hyphen (ASCII, soft, Unicode, or the "¬" some OCR engines print), a line
# break with optional indentation, then a lower-case letter: a word broken at the line end.
# A capital after the break ("Saint-\nRémy") is a real hyphen and stays.
_BROKEN_WORD = re.compile(
    r"(?<=[^\W\d_])[-\u00ad\u2010\u00ac][ \t]{0,8}\r?\n[ \t]{0,8}(?=[^\W\d_])"
)


@dataclass(frozen=True)
class JoinedText:
    # The page text with broken words joined.
    text: str
    # For each join, in order: (offset in `text` where the removed characters were,
    # characters removed up to and including this join).
    joins: tuple[tuple[int, int], ...]

    def original_start(self, offset: int) -> int:
        """The page-text offset of the character at `offset` in the joined view."""
        index = bisect_right(self.joins, (offset, len(self.text) + 1)) - 1
        return offset + (self.joins[index][1] if index >= 0 else 0)

    def original_end(self, offset: int) -> int:
        """The page-text end offset of a span that ends at `offset` in the joined view."""
        return self.original_start(offset - 1) + 1 if offset > 0 else 0


def join_broken_words(text: str) -> JoinedText:
    """The joined view of `text` (linear in its length)."""
    pieces: list[str] = []
    joins: list[tuple[int, int]] = []
    removed = 0
    last = 0
    for match in _BROKEN_WORD.finditer(text):
        if not text[match.end()].islower():
            continue
        pieces.append(text[last : match.start()])
        position = match.start() - removed
        removed += match.end() - match.start()
        joins.append((position, removed))
        last = match.end()
    if not joins:
        return JoinedText(text, ())
    pieces.append(text[last:])
    return JoinedText("".join(pieces), tuple(joins))
