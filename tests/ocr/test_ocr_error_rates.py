"""Character and word error rates: hand-computed edit distances and the normalisation."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heritage.ocr.text_error_rates import (
    TextErrorRates,
    character_error_rate,
    edit_distance,
    normalise_text,
    text_error_rates,
    word_error_rate,
)

FUZZ = settings(
    max_examples=int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _plain_levenshtein(a: str, b: str) -> int:
    """The textbook full-matrix dynamic programme, to check the vectorised one against."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@pytest.mark.parametrize(
    ("reference", "hypothesis", "distance"),
    [
        ("kitten", "sitting", 3),  # k->s, e->i, +g
        ("flaw", "lawn", 2),  # -f, +n
        ("intention", "execution", 5),
        ("", "abc", 3),
        ("abc", "", 3),
        ("Leiden", "Leiden", 0),
        ("ab", "ba", 2),  # a transposition is two edits, not one
        ("Amsterdam", "Amsterdarn", 2),  # m read as rn: one substitution, one insertion
    ],
)
def test_edit_distance_of_hand_computed_pairs(
    reference: str, hypothesis: str, distance: int
) -> None:
    assert edit_distance(reference, hypothesis) == distance
    assert edit_distance(hypothesis, reference) == distance


def test_edit_distance_counts_whole_words_in_word_sequences() -> None:
    reference = ["Objekt", "1987.45.12", "untersucht", "am", "12.", "März", "1994"]
    hypothesis = ["Objekt", "1987.4512", "untersucht", "12.", "Marz", "1994"]
    assert edit_distance(reference, hypothesis) == 3  # two substitutions, one deletion


def test_normalisation_composes_collapses_whitespace_strips_and_keeps_case() -> None:
    decomposed = "Mu\u0308ller  in\tKo\u0308ln\n\n"
    assert normalise_text(decomposed) == "Müller in Köln"
    assert normalise_text("  Leiden\u00a0\u2003Delft ") == "Leiden Delft"
    assert normalise_text("LEIDEN leiden") == "LEIDEN leiden"


def test_character_error_rate_divides_edits_by_reference_characters() -> None:
    reference = "Amsterdam, 12 maart 1994"  # 24 characters
    assert character_error_rate(reference, "Amsterdarn, 12 maart 1994") == pytest.approx(2 / 24)
    assert character_error_rate("Leiden", "leiden") == pytest.approx(1 / 6)  # case counts


def test_word_error_rate_divides_word_edits_by_reference_words() -> None:
    assert word_error_rate("Amsterdam, 12 maart 1994", "Amsterdarn, 12 maart 1994") == 0.25
    assert word_error_rate("the red box", "the red big box") == pytest.approx(1 / 3)
    assert word_error_rate("a b", "c d e f") == 2.0  # insertions can take a rate past 1


def test_line_breaks_and_composition_do_not_count_as_errors() -> None:
    reference = "Brief an das Kuratorium\nSehr geehrter Herr Müller,"
    hypothesis = "Brief an das Kuratorium\n\n Sehr geehrter Herr Mu\u0308ller, "
    rates = text_error_rates(reference, hypothesis)
    assert rates == TextErrorRates(0, len(normalise_text(reference)), 0, 8)
    assert rates.character_error_rate == 0.0


def test_empty_reference_is_exact_when_nothing_is_read_and_one_whole_error_otherwise() -> None:
    assert character_error_rate("", "  \n") == 0.0
    assert word_error_rate("", "") == 0.0
    assert character_error_rate(" ", "stray") == 1.0


def test_a_whole_page_with_scattered_misreadings_scores_each_once() -> None:
    words = ("Inventaris", "van", "het", "archief", "RP-P-1906-2345", "12", "maart", "1894.")
    reference = " ".join(words[i % len(words)] for i in range(600))  # about 4,000 characters
    characters = list(reference)
    # Far apart, and never a space (a misread space would merge two words).
    misread = [i if reference[i] != " " else i + 1 for i in range(10, len(reference) - 1, 400)]
    for position in misread:
        characters[position] = "#"
    rates = text_error_rates(reference, "".join(characters))
    assert rates.character_edits == len(misread)
    assert rates.reference_characters == len(reference)
    assert rates.word_edits == len(misread)


@pytest.mark.fuzz
@FUZZ
@given(st.text(alphabet="abcé ", max_size=30), st.text(alphabet="abcé ", max_size=30))
def test_edit_distance_agrees_with_the_full_matrix(reference: str, hypothesis: str) -> None:
    assert edit_distance(reference, hypothesis) == _plain_levenshtein(reference, hypothesis)
