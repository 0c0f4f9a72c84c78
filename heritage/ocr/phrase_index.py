"""Phrases (gazetteer labels, label anchors, document-type keywords) found in text by whole
tokens, case- and diacritic-insensitively.

Text and phrases are cut into word tokens and folded (compatibility decomposition, accents
dropped, case folded: "Rémy", "REMY" and "remy" are one token; the "ﬁ" ligature is "fi").
Phrases sit in a token trie, so finding all of them costs the number of tokens times the
longest phrase's token count, whatever the number of phrases. At each token the longest
phrase wins and matches never overlap.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Generic, TypeVar

Payload = TypeVar("Payload")

_WORD = re.compile(r"\w+")
_WORD_SPLIT = re.compile(r"(\w+)")
# What may stand between two tokens of one phrase: spaces and line breaks, hyphens,
# apostrophes, full stops, commas, the degree sign of "n°". Anything else ends a phrase.
_GAP = re.compile(r"[\s\-\u00ad\u2010\u2013'\u2019.,°º]{1,6}")


def fold(word: str) -> str:
    """One token's comparison key: accents dropped, case folded."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Tokens:
    """The word tokens of one text."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    keys: tuple[str, ...]
    # joinable[i]: token i and token i + 1 may belong to one phrase.
    joinable: tuple[bool, ...]


def tokenize(text: str) -> Tokens:
    """The tokens of `text` (linear in its length)."""
    # Iterators over C functions only: a Python call per token would triple the time.
    parts = _WORD_SPLIT.split(text)  # gap, word, gap, word, ..., gap
    words = parts[1::2]
    offsets = list(accumulate(map(len, parts), initial=0))
    starts = tuple(offsets[1:-1:2])
    ends = tuple(offsets[2:-1:2])
    keys = tuple(map(str.lower, words) if text.isascii() else map(fold, words))
    gaps_after = parts[2:-1:2]
    joinable = (*map(bool, map(_GAP.fullmatch, gaps_after)), False)
    return Tokens(starts, ends, keys, joinable[: len(words)])


def phrase_keys(phrase: str) -> tuple[str, ...]:
    """A phrase's folded tokens; empty when it has no word characters."""
    return tuple(fold(match.group()) for match in _WORD.finditer(phrase))


@dataclass
class _Node(Generic[Payload]):
    children: dict[str, _Node[Payload]] = field(default_factory=dict)
    payloads: list[Payload] = field(default_factory=list)


@dataclass(frozen=True)
class PhraseHit(Generic[Payload]):
    start: int
    end: int
    # Every payload added under this phrase's folded tokens, in the order added.
    payloads: tuple[Payload, ...]


class PhraseIndex(Generic[Payload]):
    """A token trie of phrases, each carrying payloads."""

    def __init__(self) -> None:
        self._root: _Node[Payload] = _Node()
        self.longest = 0

    def add(self, phrase: str, payload: Payload) -> bool:
        """Adds `phrase`; False (and nothing added) when it has no word characters."""
        keys = phrase_keys(phrase)
        if not keys:
            return False
        node = self._root
        for key in keys:
            node = node.children.setdefault(key, _Node())
        node.payloads.append(payload)
        self.longest = max(self.longest, len(keys))
        return True

    def find(self, tokens: Tokens) -> list[PhraseHit[Payload]]:
        """The phrases in `tokens`, left to right, longest first at each token, never
        overlapping."""
        hits: list[PhraseHit[Payload]] = []
        keys = tokens.keys
        starters = self._root.children
        count = len(keys)
        index = 0
        while index < count:
            if keys[index] not in starters:  # most tokens start no phrase
                index += 1
                continue
            last, node = self._longest_at(tokens, index)
            if node is None:
                index += 1
                continue
            hits.append(PhraseHit(tokens.starts[index], tokens.ends[last], tuple(node.payloads)))
            index = last + 1
        return hits

    def _longest_at(self, tokens: Tokens, index: int) -> tuple[int, _Node[Payload] | None]:
        node = self._root
        best: tuple[int, _Node[Payload] | None] = (index, None)
        position = index
        while position < len(tokens.keys):
            child = node.children.get(tokens.keys[position])
            if child is None:
                break
            node = child
            if node.payloads:
                best = (position, node)
            if not tokens.joinable[position]:
                break
            position += 1
        return best
