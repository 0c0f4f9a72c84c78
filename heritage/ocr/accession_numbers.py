"""Accession and inventory numbers: per-institution patterns, trusted more when a label such
as "Inv. nr." or "Accession number" stands just before them.

Patterns are RE2 regular expressions (google-re2): RE2 has no backtracking, so a pattern from
a configuration file runs in time linear in the text whatever it says. RE2 has no
backreferences or lookaround; a pattern that needs them is rejected when the rules load.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from heritage.ocr.field_matches import FieldMatch
from heritage.ocr.field_rules_error import FieldRulesError

# What may stand between a label and its number: "Inv. nr.: SK-A-1234", "N° — 1987.45.12".
_LABEL_GAP = re.compile(r"[\s:.#°º№=\-\u2013\u2014]{0,12}")
CASES = ("keep", "upper", "lower")
_FRAGMENT_BEFORE = re.compile(r"\w")
_FRAGMENT_AFTER = re.compile(r"\w|[.,/]\w")

# Rule weights (see the tuning notes in tests/ocr/test_ocr_text_fields.py).
WEIGHT_LABELLED = 1.0
WEIGHT_INSTITUTION = 0.85
WEIGHT_DEFAULT = 0.75


@dataclass(frozen=True)
class AccessionRule:
    # "default" or the institution's key in the rules file.
    name: str
    # An RE2 regular expression; the whole match is the number.
    pattern: str
    # How the number is normalised: "keep", "upper" or "lower" case.
    case: str = "keep"
    # Where the rule was written, for error messages ("config/ocr/fields.toml [accession.x]").
    where: str = "accession rule"
    compiled: Any = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.case not in CASES:
            raise FieldRulesError(
                f"{self.where}: case = {self.case!r} is not one of {', '.join(CASES)}; "
                'write case = "keep", "upper" or "lower"'
            )
        object.__setattr__(self, "compiled", compile_accession_pattern(self.pattern, self.where))

    def normalise(self, number: str) -> str:
        if self.case == "upper":
            return number.upper()
        if self.case == "lower":
            return number.lower()
        return number


def compile_accession_pattern(pattern: str, where: str) -> Any:
    """`pattern` compiled by RE2; a FieldRulesError naming `where` when RE2 cannot run it or
    when it matches the empty string."""
    try:
        compiled = re2.compile(pattern)
    except re2.error as error:
        raise FieldRulesError(
            f"{where}: pattern {pattern!r} is not a linear-time (RE2) regular expression "
            f"({error}); remove backreferences and lookaround (write \\b or an explicit "
            "character class instead), e.g. pattern = 'SK-[A-Z]-\\d+'"
        ) from None
    if compiled.fullmatch("") is not None:
        raise FieldRulesError(
            f"{where}: pattern {pattern!r} matches the empty string; require at least one "
            "character, e.g. \\d+ instead of \\d*"
        )
    return compiled


def find_accession_numbers(
    text: str, rules: Sequence[AccessionRule], labels: Sequence[tuple[int, int]]
) -> list[FieldMatch]:
    """Every rule's matches in `text` that are whole tokens; where rules overlap, a labelled
    number first, then the longest, then the rule listed first. `labels` are the spans of the
    label anchors in `text`."""
    label_ends = sorted(end for _, end in labels)
    candidates: list[tuple[int, FieldMatch]] = []
    for order, rule in enumerate(rules):
        unlabelled = WEIGHT_DEFAULT if rule.name == "default" else WEIGHT_INSTITUTION
        for match in rule.compiled.finditer(text):
            start, end = match.span()
            if not _whole_token(text, start, end):
                continue
            labelled = _labelled(text, start, label_ends)
            weight = WEIGHT_LABELLED if labelled else unlabelled
            found = FieldMatch(
                "accession_number",
                start,
                end,
                rule.normalise(match.group()),
                f"accession:{rule.name}" + (" (labelled)" if labelled else ""),
                weight,
            )
            candidates.append((order, found))
    candidates.sort(key=lambda c: (c[1].start, -c[1].weight, -(c[1].end - c[1].start), c[0]))
    chosen: list[FieldMatch] = []
    for _, candidate in candidates:
        if chosen and candidate.start < chosen[-1].end:
            continue
        chosen.append(candidate)
    return chosen


def _whole_token(text: str, start: int, end: int) -> bool:
    """Whether a match stands alone: "1987.45" in "1987.45.l2" (an OCR'd 1987.45.12) or in
    "x1987.45" is a fragment of something else."""
    return _FRAGMENT_BEFORE.match(text, max(0, start - 1), start) is None and (
        _FRAGMENT_AFTER.match(text, end, min(len(text), end + 2)) is None
    )


def _labelled(text: str, start: int, label_ends: Sequence[int]) -> bool:
    index = bisect_right(label_ends, start) - 1
    return index >= 0 and _LABEL_GAP.fullmatch(text, label_ends[index], start) is not None
