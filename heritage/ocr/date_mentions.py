"""Dates as printed in English, German, French, Dutch, Italian and Latin archival text,
normalised to ISO 8601 at the precision the page gives (day, month or year).

Forms read: "12 March 1994", "12th March 1994", "12. März 1994", "le 3 février 1887",
"12 maart 1994", "12 marzo 1994", "die 12 mensis Martii anno 1651", "March 12, 1994",
"1994-03-12", "12/03/1994", "12.03.1994" and "12-03-1994" (day first, as the record model
reads numeric dates), "March 1994", and a bare year only after a word that makes it one
("anno 1651", "im Jahre 1887", "in 1887", "anno MDCLI").

What is not a date: a digit group inside a longer dotted or slashed number (accession
numbers such as 1987.45.12, shelf marks, 12/03/19945), a bare year with no date word before
it (page numbers, counts), and impossible days (31 February).

OCR noise: a digit read as a letter ("l2 March l994", "1O.03.1994") is read as the digit when
the group still has real digits; such a date's rule weight is lowered so a curator sees it.

Every pattern uses bounded repetition only, so each costs a constant per text position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from heritage.ocr.field_matches import FieldMatch
from heritage.ocr.phrase_index import fold

# Month names per language, January to December.
_MONTHS = {
    "en": "january february march april may june july august september october november december",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "la": "ianuarii februarii martii aprilis maii iunii iulii augusti septembris octobris "
    "novembris decembris",
}
# Other Latin forms (nominative, j for i), as "month number: names".
_LATIN_VARIANTS = {
    1: "januarii ianuarius januarius",
    2: "februarius",
    3: "martius",
    5: "maius",
    6: "iunius junius junii",
    7: "iulius julius julii",
    8: "augustus",
    9: "september",
    10: "october",
    11: "november",
    12: "december",
}
# Abbreviations per language, as "month number: names"; read only with a day or a full stop.
_ABBREVIATIONS = {
    "en": {1: "jan", 2: "feb", 3: "mar", 4: "apr", 8: "aug", 9: "sep sept", 10: "oct",
           11: "nov", 12: "dec"},
    "de": {1: "jän jänner", 3: "mrz", 10: "okt", 12: "dez"},
    "fr": {1: "janv", 2: "févr fevr", 4: "avr", 7: "juil"},
    "nl": {3: "mrt"},
    "it": {1: "genn gen", 2: "febbr", 5: "magg mag", 6: "giu", 7: "lug", 8: "ago",
           9: "sett set", 10: "ott", 12: "dic"},
}  # fmt: skip


def _month_table() -> dict[str, tuple[int, str, bool]]:
    """Folded month word -> (month, language, is an abbreviation); the first language listed
    names a word that several languages share."""
    table: dict[str, tuple[int, str, bool]] = {}
    for language, names in _MONTHS.items():
        for number, name in enumerate(names.split(), start=1):
            table.setdefault(fold(name), (number, language, False))
    for number, names in _LATIN_VARIANTS.items():
        for name in names.split():
            table.setdefault(fold(name), (number, "la", False))
    for language, abbreviations in _ABBREVIATIONS.items():
        for number, names in abbreviations.items():
            for name in names.split():
                table.setdefault(fold(name), (number, language, True))
    return table


MONTHS = _month_table()

# A digit, or a letter OCR often puts in its place (l, I, | for 1; O for 0).
_D = r"[0-9lI|O]"
_OCR_DIGITS = str.maketrans({"l": "1", "I": "1", "|": "1", "O": "0"})
_SPACE = r"[ \t\r\n]"
_MONTH_WORD = r"(?P<month>[^\W\d_]{3,11})(?P<stop>\.)?"
_YEAR_END = r"(?!\w|[.,/-]\d)"
# After a named month a hyphen is a range ("12 March 1994-15 March 1994"), not a longer number.
_NAMED_YEAR_END = r"(?!\w|[.,/]\d)"
_DAY_MONTH_YEAR = re.compile(
    rf"(?<![\w.,/])(?P<day>{_D}{{1,2}})(?:st|nd|rd|th|er|re|ème|e|sten|ten|°|º|\.)?{_SPACE}{{1,3}}"
    rf"(?:(?i:of|de|di|mensis|van){_SPACE}{{1,3}})?{_MONTH_WORD},?{_SPACE}{{1,3}}"
    rf"(?:(?i:anno|an|of|de|del){_SPACE}{{1,3}})?(?P<year>{_D}{{4}}){_NAMED_YEAR_END}"
)
# "March 12, 1994" and "March 1994".
_MONTH_FIRST = re.compile(
    rf"(?<![\w.])(?:{_MONTH_WORD}),?{_SPACE}{{1,3}}"
    rf"(?:(?P<day>{_D}{{1,2}})(?:st|nd|rd|th)?,?{_SPACE}{{1,3}})?(?P<year>{_D}{{4}}){_NAMED_YEAR_END}"
)
_ISO = re.compile(
    r"(?<![\w.,/-])(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})(?!\w|[.,/-]\d)"
)
_NUMERIC = re.compile(
    rf"(?<![\w.,/-])(?P<day>{_D}{{1,2}})(?P<sep>[./-])(?P<month>{_D}{{1,2}})(?P=sep)"
    rf"(?P<year>{_D}{{4}}){_YEAR_END}"
)
# A year standing alone; it is a date only after a date word (_CONTEXT_BEFORE). Finding the
# years first and looking back a bounded distance is much faster than trying every word of
# the context alternation at every position of the text.
_LONE_YEAR = re.compile(rf"(?<![\w.,/-]){_D}{{4}}{_YEAR_END}")
_CONTEXT_REACH = 24
_CONTEXT_BEFORE = re.compile(
    # strong: the mention includes the word ("anno 1651").
    rf"(?<!\w)(?:(?P<strong>anno{_SPACE}{{1,3}}domini|anno|a\.{_SPACE}?d\.|"
    rf"in{_SPACE}the{_SPACE}year|im{_SPACE}jahre?|en{_SPACE}l'an|l'an|in{_SPACE}het{_SPACE}jaar|"
    rf"nell'anno)"
    # weak: the mention is the year ("in 1887").
    rf"|(?P<weak>in|im|en|nel|dated|datiert|gedateerd|datée?|circa|ca\.|c\.|um|vers|"
    rf"omstreeks|since|seit|sinds|depuis|year|jahr|jaar|année))"
    rf"{_SPACE}{{1,3}}\Z",
    re.IGNORECASE,
)
_ROMAN_YEAR = re.compile(
    rf"(?<!\w)(?i:anno(?:{_SPACE}{{1,3}}domini)?){_SPACE}{{1,3}}"
    r"(?P<roman>M{1,2}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3}))(?!\w)"
)
_ROMAN_VALUES = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}

# Rule weights (see the tuning notes in tests/ocr/test_ocr_text_fields.py).
WEIGHT_FULL_DATE = 1.0
WEIGHT_NUMERIC_DATE = 0.9
WEIGHT_MONTH_YEAR = 0.9
WEIGHT_STRONG_CONTEXT_YEAR = 0.9
WEIGHT_WEAK_CONTEXT_YEAR = 0.6
# Applied on top when a digit had to be read from a letter.
WEIGHT_OCR_DIGITS = 0.7
FIRST_YEAR = 1000
LAST_YEAR = 2100


# The kind of a candidate that reads as a date but names no day of the calendar
# ("31 February 1994"): it blocks the shorter mentions inside it ("February 1994").
_IMPOSSIBLE = "impossible date"


def find_dates(text: str) -> list[FieldMatch]:
    """The date mentions in `text`: for overlapping candidates the longest, then the most
    specific rule."""
    candidates = sorted(_candidates(text), key=lambda m: (m.start, -(m.end - m.start), -m.weight))
    chosen: list[FieldMatch] = []
    for candidate in candidates:
        if chosen and candidate.start < chosen[-1].end:
            continue
        chosen.append(candidate)
    return [match for match in chosen if match.kind != _IMPOSSIBLE]


def _candidates(text: str) -> Iterator[FieldMatch]:
    for match in _DAY_MONTH_YEAR.finditer(text):
        yield from _named_month_date(match, "day month year")
    for match in _MONTH_FIRST.finditer(text):
        if match["day"] is None:
            yield from _month_year(match)
        else:
            yield from _named_month_date(match, "month day year")
    for match in _ISO.finditer(text):
        yield from _numeric_date(match, "date:iso", WEIGHT_FULL_DATE)
    for match in _NUMERIC.finditer(text):
        rule = f"date:day{match['sep']}month{match['sep']}year"
        yield from _numeric_date(match, rule, WEIGHT_NUMERIC_DATE)
    for match in _LONE_YEAR.finditer(text):
        yield from _context_year(text, match)
    for match in _ROMAN_YEAR.finditer(text):
        year = roman_to_int(match["roman"])
        if FIRST_YEAR <= year <= LAST_YEAR:
            yield FieldMatch(
                "date",
                match.start(),
                match.end(),
                f"{year:04d}",
                "date:roman year after anno",
                WEIGHT_STRONG_CONTEXT_YEAR,
            )


def _ocr_number(group: str, minimum_digits: int) -> tuple[int, bool] | None:
    """A digit group's value and whether letters were read as digits; None when too few
    real digits remain to trust it."""
    if sum(c.isdigit() for c in group) < minimum_digits:
        return None
    digits = group.translate(_OCR_DIGITS)
    return int(digits), digits != group


def _valid(year: int, month: int, day: int | None) -> bool:
    if not FIRST_YEAR <= year <= LAST_YEAR or not 1 <= month <= 12:
        return False
    if day is None:
        return True
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _named_month_date(match: re.Match[str], form: str) -> Iterator[FieldMatch]:
    month = MONTHS.get(fold(match["month"]))
    day = _ocr_number(match["day"], 1)
    year = _ocr_number(match["year"], 2)
    if month is None or day is None or year is None:
        return
    if not _valid(year[0], month[0], day[0]):
        yield _impossible(match)
        return
    weight = WEIGHT_FULL_DATE * (WEIGHT_OCR_DIGITS if day[1] or year[1] else 1.0)
    normalised = f"{year[0]:04d}-{month[0]:02d}-{day[0]:02d}"
    yield FieldMatch(
        "date", match.start(), match.end(), normalised, f"date:{form} ({month[1]})", weight
    )


def _impossible(match: re.Match[str]) -> FieldMatch:
    return FieldMatch(_IMPOSSIBLE, match.start(), match.end(), "", _IMPOSSIBLE, 0.0)


def _month_year(match: re.Match[str]) -> Iterator[FieldMatch]:
    month = MONTHS.get(fold(match["month"]))
    year = _ocr_number(match["year"], 2)
    if month is None or year is None or not _valid(year[0], month[0], None):
        return
    if month[2] and not match["stop"]:
        return  # "Jan 1650" is as likely a given name and a year as a month.
    weight = WEIGHT_MONTH_YEAR * (WEIGHT_OCR_DIGITS if year[1] else 1.0)
    yield FieldMatch(
        "date",
        match.start(),
        match.end(),
        f"{year[0]:04d}-{month[0]:02d}",
        f"date:month year ({month[1]})",
        weight,
    )


def _numeric_date(match: re.Match[str], rule: str, weight: float) -> Iterator[FieldMatch]:
    day = _ocr_number(match["day"], 1)
    month = _ocr_number(match["month"], 1)
    year = _ocr_number(match["year"], 2)
    if day is None or month is None or year is None:
        return
    if not _valid(year[0], month[0], day[0]):
        yield _impossible(match)
        return
    noisy = day[1] or month[1] or year[1]
    yield FieldMatch(
        "date",
        match.start(),
        match.end(),
        f"{year[0]:04d}-{month[0]:02d}-{day[0]:02d}",
        rule,
        weight * (WEIGHT_OCR_DIGITS if noisy else 1.0),
    )


def _context_year(text: str, match: re.Match[str]) -> Iterator[FieldMatch]:
    context = _CONTEXT_BEFORE.search(text, max(0, match.start() - _CONTEXT_REACH), match.start())
    year = _ocr_number(match.group(), 3)
    if context is None or year is None or not _valid(year[0], 1, None):
        return
    if context["strong"]:
        start, rule, weight = (
            context.start(),
            "date:year after date word",
            WEIGHT_STRONG_CONTEXT_YEAR,
        )
    else:
        start, rule, weight = match.start(), "date:year after preposition", WEIGHT_WEAK_CONTEXT_YEAR
    yield FieldMatch(
        "date",
        start,
        match.end(),
        f"{year[0]:04d}",
        rule,
        weight * (WEIGHT_OCR_DIGITS if year[1] else 1.0),
    )


def roman_to_int(numeral: str) -> int:
    """The value of a well-formed upper-case Roman numeral."""
    total = 0
    for current, following in zip(numeral, numeral[1:] + " ", strict=True):
        value = _ROMAN_VALUES[current]
        total += -value if value < _ROMAN_VALUES.get(following, 0) else value
    return total
