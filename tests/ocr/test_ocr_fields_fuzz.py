"""Field extraction (heritage.ocr.text_fields.extract_fields) on generated text
(``pytest -m fuzz``).

The property: any text, with or without words, gives fields whose value is exactly
``text[start:end]`` (a non-empty span inside the text), whose confidence is within 0..1,
whose kind is known and whose date normalisations are real calendar dates; it never raises.
Generated text mixes OCR-like fragments (month names, digits and their look-alike letters,
hyphenated line breaks, labels, gazetteer names) with arbitrary Unicode.
``HERITAGE_FUZZ_EXAMPLES`` sets the examples per test (200 by default); the seed is fixed,
so a failure reproduces on every run.
"""

from __future__ import annotations

import os
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heritage.ocr.field_rules import FieldRules, load_field_rules
from heritage.ocr.text_fields import WordSpan, extract_fields

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RULES = load_field_rules(institution="rijksmuseum")
KINDS = {"date", "accession_number", "name", "place", "document_type"}
FRAGMENTS = [
    "12", "l2", "1O", "1994", "l994", "1987.45.12", "SK-A-", "31", "02", "März", "mars",
    "maart", "marzo", "Martii", "March", "Sep-\ntember", "Febru-\n", "ary", "anno", "in",
    "MDCLI", "Inv. nr.", "n° d'inventaire", "Amster-\ndam", "Köln", "Den", "Haag", "Dear",
    "Findbuch", "-", ".", "/", ",", " ", "\n", "\t", "¬\n", "\u00ad", "th", "er", "°",
]  # fmt: skip
ocr_like = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40).map(
    "".join
)
texts = st.one_of(ocr_like, st.text(max_size=200))


def check(text: str, words: list[WordSpan], rules: FieldRules) -> None:
    fields = extract_fields(text, words, rules)
    for field in fields:
        assert 0 <= field.start < field.end <= len(text)
        assert field.value == text[field.start : field.end]
        assert 0.0 <= field.confidence <= 1.0
        assert field.kind in KINDS
        if field.kind == "date":
            parts = [int(p) for p in field.normalised.split("-")]
            date(*parts, *[1] * (3 - len(parts)))
    assert sum(f.kind == "document_type" for f in fields) <= 1


@FUZZ
@given(texts)
def test_any_text_without_words(text: str) -> None:
    check(text, [], RULES)


@FUZZ
@given(texts, st.data())
def test_any_text_with_any_words(text: str, data: st.DataObject) -> None:
    offsets = st.integers(min_value=0, max_value=len(text) + 3)
    words = data.draw(
        st.lists(
            st.builds(
                WordSpan,
                offsets,
                offsets,
                st.floats(min_value=0, max_value=100),
                st.tuples(*[st.integers(min_value=0, max_value=5000)] * 4),
            ),
            max_size=30,
        )
    )
    check(text, words, RULES)
