"""A page's document type (finding aid, condition report, letter, deed, ...) by keywords.

Each type lists keywords and phrases in several languages. The type with the most keyword
hits on the page wins (on a tie, the type whose first hit comes first); the field's value is
that type's first hit. The rule weight is the winner's share of all hits times a support
factor that grows with its number of hits, so one stray "Dear" says less than a letter's
salutation, closing and date line together.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from heritage.ocr.field_matches import FieldMatch
from heritage.ocr.phrase_index import PhraseHit, PhraseIndex, Tokens

# The support factor is 1 - SUPPORT_BASE ** hits: 0.6 for one hit, 0.84 for two, 0.94
# for three (see the tuning notes in tests/ocr/test_ocr_text_fields.py).
SUPPORT_BASE = 0.4


@dataclass(frozen=True)
class DocumentTypeRule:
    # The type's key, the field's normalised value, e.g. "conservation_report".
    key: str
    # Keywords and phrases, matched whole-token, case- and diacritic-insensitively.
    keywords: tuple[str, ...]


def document_type_index(rules: Sequence[DocumentTypeRule]) -> PhraseIndex[str]:
    """Keyword phrases -> the keys of the types that list them."""
    index: PhraseIndex[str] = PhraseIndex()
    for rule in rules:
        for keyword in rule.keywords:
            index.add(keyword, rule.key)
    return index


def find_document_type(
    tokens: Tokens, index: PhraseIndex[str], ignored: Sequence[tuple[int, int]] = ()
) -> FieldMatch | None:
    """The best-scoring document type of a page, or None when no keyword occurs. Keywords
    inside an `ignored` span (the "inventaire" of the label "n° d'inventaire") do not count."""
    hits: dict[str, list[PhraseHit[str]]] = {}
    total = 0
    spans = sorted(ignored)
    span_starts = [start for start, _ in spans]
    for hit in index.find(tokens):
        if _within(hit, spans, span_starts):
            continue
        for key in dict.fromkeys(hit.payloads):
            hits.setdefault(key, []).append(hit)
            total += 1
    if not hits:
        return None
    # dicts keep insertion order, so the first type hit wins a tie on counts.
    key = max(hits, key=lambda k: len(hits[k]))
    count = len(hits[key])
    first = hits[key][0]
    weight = count / total * (1 - SUPPORT_BASE**count)
    return FieldMatch("document_type", first.start, first.end, key, f"document_type:{key}", weight)


def _within(
    hit: PhraseHit[str], spans: Sequence[tuple[int, int]], span_starts: Sequence[int]
) -> bool:
    index = bisect_right(span_starts, hit.start) - 1
    return index >= 0 and hit.end <= spans[index][1]
