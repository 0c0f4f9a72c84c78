"""Structured fields in a page's OCR text: dates, accession numbers, names and places from a
gazetteer, and the page's document type; each with the words it came from, so a curator can
check it on the page image and an analyst can query it.

A field's confidence is the mean confidence of the words it overlaps (0..100, as the OCR
engine gives it) divided by 100, times the weight of the rule that found it. Its box is the
union of those words' boxes. Whether a field is flagged for review is the caller's decision.

Where fields of different kinds overlap, a labelled accession number wins over a date, a
date over an unlabelled accession number, and those over a name or place ("12 March 1994"
is a date even where a gazetteer lists a place called March). The document type is a
page-level field and may overlap the others.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from heritage.ocr.accession_numbers import find_accession_numbers
from heritage.ocr.date_mentions import find_dates
from heritage.ocr.document_types import find_document_type
from heritage.ocr.field_matches import FieldMatch
from heritage.ocr.field_rules import FieldRules
from heritage.ocr.gazetteer import find_names_and_places
from heritage.ocr.hyphen_joins import JoinedText, join_broken_words
from heritage.ocr.phrase_index import tokenize

Box = tuple[int, int, int, int]


class WordLike(Protocol):
    """A recognised word as the OCR engine gives it (heritage.ocr.page_reading.OcrWord has
    these attributes)."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def confidence(self) -> float: ...
    @property
    def box(self) -> Box: ...


@dataclass(frozen=True)
class WordSpan:
    # Character offsets of the word in the page text.
    start: int
    end: int
    # Word confidence 0..100.
    confidence: float
    # left, top, width, height in page pixels.
    box: Box


@dataclass(frozen=True)
class TextField:
    kind: str  # "date" | "accession_number" | "name" | "place" | "document_type"
    value: str  # the text exactly as on the page: text[start:end]
    # date: ISO 8601 "1994-03-12" | "1994-03" | "1994"; accession: as normalised by its rule;
    # name/place: the gazetteer's preferred label; document_type: its key.
    normalised: str
    start: int  # char offsets in the page text
    end: int
    confidence: float  # 0..1
    rule: str  # which rule matched, e.g. "date:day month year (de)", "accession:rijksmuseum"
    uri: str | None = None
    box: Box | None = None  # union of the words' boxes, page pixels


def extract_fields(text: str, words: Sequence[WordLike], rules: FieldRules) -> list[TextField]:
    """The fields of one page, in text order. Without words (plain text), a field's
    confidence is its rule weight and it has no box."""
    matches = find_field_matches(text, rules)
    located = _WordLocator(words)
    fields = [located.field(text, match) for match in matches]
    return sorted(fields, key=lambda f: (f.start, f.end, f.kind))


def find_field_matches(text: str, rules: FieldRules) -> list[FieldMatch]:
    """Every field's span, normalised value, rule and rule weight, in page-text offsets."""
    joined = join_broken_words(text)
    tokens = tokenize(joined.text)
    labels = [(hit.start, hit.end) for hit in rules.anchor_index.find(tokens)]
    accessions = find_accession_numbers(joined.text, rules.accession_rules, labels)
    ranked = [
        *(m for m in accessions if m.rule.endswith("(labelled)")),
        *find_dates(joined.text),
        *(m for m in accessions if not m.rule.endswith("(labelled)")),
        *find_names_and_places(joined.text, tokens, rules.gazetteer_index),
    ]
    kept = _without_overlaps(ranked)
    document_type = find_document_type(tokens, rules.document_type_index, labels)
    if document_type is not None:
        kept.append(document_type)
    return [_in_page_offsets(joined, match) for match in kept]


def _without_overlaps(ranked: Sequence[FieldMatch]) -> list[FieldMatch]:
    """The matches, in rank order, that overlap no higher-ranked match."""
    taken: list[tuple[int, int]] = []
    kept: list[FieldMatch] = []
    for match in ranked:
        index = bisect_left(taken, (match.start, match.end))
        before = taken[index - 1] if index > 0 else None
        after = taken[index] if index < len(taken) else None
        if (before and before[1] > match.start) or (after and after[0] < match.end):
            continue
        insort(taken, (match.start, match.end))
        kept.append(match)
    return kept


def _in_page_offsets(joined: JoinedText, match: FieldMatch) -> FieldMatch:
    if not joined.joins:
        return match
    return FieldMatch(
        match.kind,
        joined.original_start(match.start),
        joined.original_end(match.end),
        match.normalised,
        match.rule,
        match.weight,
        match.uri,
    )


class _WordLocator:
    """The words under a span, found by binary search over the words in text order."""

    def __init__(self, words: Sequence[WordLike]) -> None:
        self._words = sorted(words, key=lambda w: (w.start, w.end))
        self._starts = [w.start for w in self._words]

    def field(self, text: str, match: FieldMatch) -> TextField:
        under = self._overlapping(match.start, match.end)
        if under:
            mean = sum(w.confidence for w in under) / len(under)
            confidence = min(1.0, max(0.0, mean / 100)) * match.weight
            box: Box | None = _union([w.box for w in under])
        else:
            confidence, box = match.weight, None
        return TextField(
            match.kind,
            text[match.start : match.end],
            match.normalised,
            match.start,
            match.end,
            round(confidence, 4),
            match.rule,
            match.uri,
            box,
        )

    def _overlapping(self, start: int, end: int) -> list[WordLike]:
        found: list[WordLike] = []
        index = bisect_left(self._starts, end) - 1
        while index >= 0:
            word = self._words[index]
            if word.end > start and word.end > word.start:
                found.append(word)
            elif word.start < start:
                break
            index -= 1
        return found


def _union(boxes: Sequence[Box]) -> Box:
    """The smallest box holding every one of `boxes` (not empty)."""
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    return (left, top, right - left, bottom - top)
