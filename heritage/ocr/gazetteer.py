"""Names and places found by their labels in a gazetteer (a CSV file or a SKOS vocabulary).

A mention matches a preferred or alternative label whole-token, case- and
diacritic-insensitively; the field's normalised value is the preferred label and its URI the
entry's. The rule weight says how exactly the page agrees with the label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from heritage.ocr.field_matches import FieldMatch
from heritage.ocr.phrase_index import PhraseIndex, Tokens

KINDS = ("name", "place")

# Rule weights (see the tuning notes in tests/ocr/test_ocr_text_fields.py).
WEIGHT_EXACT_LABEL = 1.0
WEIGHT_EXACT_ALT_LABEL = 0.95
# The page differs from every label in case or accents only ("REMBRANDT", "Koln").
WEIGHT_FOLDED_LABEL = 0.85

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class GazetteerEntry:
    # "name" or "place".
    kind: str
    # The preferred label: a field's normalised value.
    label: str
    uri: str | None
    alt_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Label:
    entry: GazetteerEntry
    text: str
    preferred: bool


def gazetteer_index(entries: Sequence[GazetteerEntry]) -> PhraseIndex[_Label]:
    """The label index of `entries` (built once per set of rules)."""
    index: PhraseIndex[_Label] = PhraseIndex()
    for entry in entries:
        index.add(entry.label, _Label(entry, _squeeze(entry.label), True))
        for alt in entry.alt_labels:
            index.add(alt, _Label(entry, _squeeze(alt), False))
    return index


def find_names_and_places(
    text: str, tokens: Tokens, index: PhraseIndex[_Label]
) -> list[FieldMatch]:
    """The gazetteer's names and places in `text`, longest first, never overlapping."""
    found: list[FieldMatch] = []
    for hit in index.find(tokens):
        surface = _squeeze(text[hit.start : hit.end])
        label, weight = _best_label(surface, hit.payloads)
        entry = label.entry
        found.append(
            FieldMatch(
                entry.kind,
                hit.start,
                hit.end,
                entry.label,
                f"{entry.kind}:gazetteer",
                weight,
                entry.uri,
            )
        )
    return found


def _best_label(surface: str, labels: Sequence[_Label]) -> tuple[_Label, float]:
    """The label the page agrees with most exactly; the first entry listed on a tie."""
    for label in labels:
        if label.preferred and label.text == surface:
            return label, WEIGHT_EXACT_LABEL
    for label in labels:
        if label.text == surface:
            return label, WEIGHT_EXACT_ALT_LABEL
    return labels[0], WEIGHT_FOLDED_LABEL


def _squeeze(label: str) -> str:
    """A label with hyphenated line breaks and runs of white space made one space."""
    return _SPACES.sub(" ", label.strip())
