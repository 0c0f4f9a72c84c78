"""Character and word error rates of recognised text against a known reference.

Both rates are the Levenshtein edit distance (insertions, deletions and substitutions, each
costing 1) between the normalised reference and the normalised hypothesis, divided by the
length of the normalised reference: characters for the CER, words for the WER. A rate can
exceed 1 when the hypothesis holds more insertions than the reference has units.

Normalisation, applied to both texts before comparing (``normalise_text``):

- Unicode NFC, so a precomposed ``é`` and ``e`` + combining acute count as one character;
- every run of whitespace (spaces, tabs, line and page breaks) becomes one space;
- leading and trailing whitespace is stripped;
- case and punctuation are kept: ``Amsterdam`` read as ``amsterdam`` is one error.

Words are the space-separated tokens of the normalised text. The distance runs one numpy
vectorised row of the dynamic programme per unit of the shorter sequence, so a whole page
(3,000 to 5,000 characters) costs a few tens of milliseconds without a C extension.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TextErrorRates:
    """Edit counts and rates of one hypothesis against one reference, after normalisation."""

    character_edits: int
    reference_characters: int
    word_edits: int
    reference_words: int

    @property
    def character_error_rate(self) -> float:
        return _rate(self.character_edits, self.reference_characters)

    @property
    def word_error_rate(self) -> float:
        return _rate(self.word_edits, self.reference_words)


def normalise_text(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, stripped; case kept."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def edit_distance(reference: Sequence[object], hypothesis: Sequence[object]) -> int:
    """Levenshtein distance between two sequences of hashable units (a str is one)."""
    codes_a, codes_b = _integer_codes(reference, hypothesis)
    return _levenshtein(codes_a, codes_b)


def text_error_rates(reference: str, hypothesis: str) -> TextErrorRates:
    """Character and word edits of ``hypothesis`` against ``reference``, both normalised."""
    ref, hyp = normalise_text(reference), normalise_text(hypothesis)
    ref_words, hyp_words = ref.split(" ") if ref else [], hyp.split(" ") if hyp else []
    return TextErrorRates(
        character_edits=edit_distance(ref, hyp),
        reference_characters=len(ref),
        word_edits=edit_distance(ref_words, hyp_words),
        reference_words=len(ref_words),
    )


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Character edits / reference characters, after ``normalise_text``."""
    return text_error_rates(reference, hypothesis).character_error_rate


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word edits / reference words, after ``normalise_text``."""
    return text_error_rates(reference, hypothesis).word_error_rate


def _rate(edits: int, reference_length: int) -> float:
    # An empty reference has no units to divide by: nothing read is exact, anything read is
    # counted as one whole error rather than an infinite rate.
    if reference_length == 0:
        return 0.0 if edits == 0 else 1.0
    return edits / reference_length


def _integer_codes(
    reference: Sequence[object], hypothesis: Sequence[object]
) -> tuple[np.ndarray, np.ndarray]:
    """Both sequences as int32 arrays, equal units sharing one code."""
    codes: dict[object, int] = {}
    a = np.fromiter((codes.setdefault(unit, len(codes)) for unit in reference), dtype=np.int32)
    b = np.fromiter((codes.setdefault(unit, len(codes)) for unit in hypothesis), dtype=np.int32)
    return a, b


def _levenshtein(a: np.ndarray, b: np.ndarray) -> int:
    """Edit distance of two int arrays; one vectorised DP row per unit of the shorter one."""
    prefix = _common_prefix(a, b)
    a, b = a[prefix:], b[prefix:]
    suffix = _common_prefix(a[::-1], b[::-1])
    a, b = a[: len(a) - suffix], b[: len(b) - suffix]
    if len(a) > len(b):
        a, b = b, a
    if len(a) == 0:
        return len(b)
    offsets = np.arange(len(b) + 1, dtype=np.int32)
    previous = offsets.copy()
    row = np.empty_like(previous)
    for i, unit in enumerate(a, start=1):
        row[0] = i
        # Substitution (diagonal, free on a match) or deletion (from above).
        np.minimum(previous[:-1] + (b != unit), previous[1:] + 1, out=row[1:])
        # Insertion (from the left) is a running minimum: row[j] = min(row[j], row[j-1] + 1)
        # is the same as a cumulative minimum of row[j] - j, shifted back by j.
        row -= offsets
        np.minimum.accumulate(row, out=row)
        row += offsets
        previous, row = row, previous
    return int(previous[-1])


def _common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    length = min(len(a), len(b))
    mismatches = np.flatnonzero(a[:length] != b[:length])
    return int(mismatches[0]) if len(mismatches) else length
