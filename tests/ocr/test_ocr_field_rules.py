"""Field rules (heritage.ocr.field_rules): the TOML file, its accession patterns, its CSV and
SKOS Turtle gazetteers, and the errors a bad file gives (they name the file, the key or line,
and the fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heritage.ocr.accession_numbers import AccessionRule
from heritage.ocr.field_rules import DEFAULT_RULES_PATH, load_field_rules
from heritage.ocr.field_rules_error import FieldRulesError
from heritage.ocr.gazetteer import GazetteerEntry
from heritage.ocr.gazetteer_files import read_gazetteer_csv, read_gazetteer_turtle
from heritage.ocr.phrase_index import PhraseIndex, tokenize
from heritage.ocr.text_fields import extract_fields

TURTLE = """
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
@prefix ex: <https://example.org/> .

ex:gent a skos:Concept ; skos:inScheme ex:cities ;
    skos:prefLabel "Gent"@nl , "Ghent"@en , "Gand"@fr ; skos:altLabel "Gaunt"@en .
ex:erasmus a skos:Concept , schema:Person ; skos:prefLabel "Desiderius Erasmus" .
ex:scheldt a skos:Concept ; skos:prefLabel "Scheldt"@en .
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def rules_file(folder: Path, body: str) -> Path:
    return write(folder, "fields.toml", body)


def error_of(path: Path, institution: str | None = None) -> str:
    with pytest.raises(FieldRulesError) as caught:
        load_field_rules(path, institution)
    return str(caught.value)


def test_repository_rules_load_with_default_and_institution_patterns() -> None:
    default = load_field_rules()
    rijks = load_field_rules(institution="rijksmuseum")
    assert DEFAULT_RULES_PATH.is_file()
    assert [r.name for r in default.accession_rules] == ["default"]
    assert [r.name for r in rijks.accession_rules] == ["rijksmuseum", "default"]
    kinds = {(e.kind, e.label) for e in default.gazetteer}
    assert {("place", "Amsterdam"), ("place", "Leiden"), ("name", "Christophe Plantin")} <= kinds
    assert {t.key for t in default.document_types} >= {
        "finding_aid", "conservation_report", "letter", "deed", "invoice", "photograph_caption",
    }  # fmt: skip


def test_unknown_institution_names_the_file_and_the_known_ones() -> None:
    message = error_of(DEFAULT_RULES_PATH, "nowhere")
    assert str(DEFAULT_RULES_PATH) in message
    assert "[accession.nowhere]" in message and "rijksmuseum" in message


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(\\d)\\1", "RE2"),  # a backreference
        (r"\\d+(?=x)", "RE2"),  # lookahead
        (r"[a-", "RE2"),
        (r"\\d*", "empty string"),
    ],
)
def test_a_pattern_re2_cannot_run_is_rejected(tmp_path: Path, pattern: str, why: str) -> None:
    path = rules_file(tmp_path, f'[accession.museum]\npattern = "{pattern}"\n')
    message = error_of(path, "museum")
    assert str(path) in message and "[accession.museum]" in message and why in message


def test_a_rule_without_pattern_or_with_a_bad_case(tmp_path: Path) -> None:
    no_pattern = rules_file(tmp_path, "[accession.default]\ncase = 'upper'\n")
    assert "pattern is missing" in error_of(no_pattern)
    bad_case = rules_file(tmp_path, "[accession.default]\npattern = 'A\\d+'\ncase = 'title'\n")
    assert "case = 'title'" in error_of(bad_case) and '"upper"' in error_of(bad_case)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[acession.default]\npattern = 'x'\n", "unknown key acession"),
        ("[accession.default]\npattern = 'x'\nflags = 'i'\n", "unknown key flags"),
        ("accession = 3\n", "accession must be a table"),
        ("[accession]\nanchors = 'Inv. nr.'\n", "accession.anchors must be a list"),
        ("[document_types.letter]\nwords = ['Dear']\n", "keywords = ["),
        ("gazetteer = 'places.csv'\n", "array of tables"),
        ("[[gazetteer]]\npath = 'places.csv'\n", 'file = "<name>.csv"'),
        ("[[gazetteer]]\nfile = 'places.json'\n", "neither .csv nor .ttl"),
        ("[[gazetteer]]\nfile = 'g.ttl'\ndefault_kind = 'thing'\n", "write name or place"),
        ("[accession\n", "not valid TOML"),
    ],
)
def test_bad_rules_files(tmp_path: Path, body: str, expected: str) -> None:
    message = error_of(rules_file(tmp_path, body))
    assert expected in message and str(tmp_path) in message


def test_missing_rules_file(tmp_path: Path) -> None:
    message = error_of(tmp_path / "absent.toml")
    assert "absent.toml" in message and "config/ocr/fields.toml" in message


def test_gazetteer_paths_are_relative_to_the_rules_file(tmp_path: Path) -> None:
    (tmp_path / "vocab").mkdir()
    write(
        tmp_path / "vocab",
        "people.csv",
        "\ufeffkind,label,uri,alt_labels\n"
        "name,Anna Maria van Schurman,https://example.org/schurman,Schurman|A. M. van Schurman\n"
        "place,Utrecht,,Trajectum\n",
    )
    path = rules_file(tmp_path, "[[gazetteer]]\nfile = 'vocab/people.csv'\n")
    rules = load_field_rules(path)
    assert rules.gazetteer == (
        GazetteerEntry(
            "name", "Anna Maria van Schurman", "https://example.org/schurman",
            ("Schurman", "A. M. van Schurman"),
        ),
        GazetteerEntry("place", "Utrecht", None, ("Trajectum",)),
    )  # fmt: skip
    fields = extract_fields("brief van A. M. van Schurman uit Trajectum", [], rules)
    assert [(f.kind, f.normalised, f.uri) for f in fields] == [
        ("name", "Anna Maria van Schurman", "https://example.org/schurman"),
        ("place", "Utrecht", None),
    ]


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        ("kind,label\nplace,Gent\n", "the header lacks uri, alt_labels"),
        ("kind,label,uri,alt_labels\nplace,Gent,,\nperson,Erasmus,,\n", ":3: kind 'person'"),
        ("kind,label,uri,alt_labels\nplace, ,,\n", ":2: the label is empty"),
    ],
)
def test_bad_gazetteer_csv(tmp_path: Path, csv_text: str, expected: str) -> None:
    path = write(tmp_path, "g.csv", csv_text)
    with pytest.raises(FieldRulesError, match=expected) as caught:
        read_gazetteer_csv(path)
    assert str(path) in str(caught.value)


def test_gazetteer_csv_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes("kind,label,uri,alt_labels\nplace,Köln,,\n".encode("latin-1"))
    with pytest.raises(FieldRulesError, match="UTF-8"):
        read_gazetteer_csv(path)


def test_skos_kinds_from_scheme_type_and_default(tmp_path: Path) -> None:
    path = write(tmp_path, "g.ttl", TURTLE)
    entries = read_gazetteer_turtle(
        path, {"https://example.org/cities": "place"}, default_kind="place", language="en"
    )
    assert entries == (
        GazetteerEntry("name", "Desiderius Erasmus", "https://example.org/erasmus", ()),
        GazetteerEntry("place", "Ghent", "https://example.org/gent", ("Gand", "Gent", "Gaunt")),
        GazetteerEntry("place", "Scheldt", "https://example.org/scheldt", ()),
    )


def test_skos_label_language_and_missing_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "g.ttl", TURTLE)
    dutch = read_gazetteer_turtle(path, {"https://example.org/cities": "place"}, "place", "nl")
    assert [e.label for e in dutch] == ["Desiderius Erasmus", "Gent", "Scheldt"]
    with pytest.raises(FieldRulesError, match="default_kind") as caught:
        read_gazetteer_turtle(path, {}, None, "en")
    assert "https://example.org/gent" in str(caught.value) and str(path) in str(caught.value)


def test_skos_gazetteer_through_the_rules_file(tmp_path: Path) -> None:
    write(tmp_path, "g.ttl", TURTLE)
    path = rules_file(
        tmp_path,
        "[[gazetteer]]\nfile = 'g.ttl'\nlanguage = 'en'\n"
        "schemes = { 'https://example.org/cities' = 'place' }\ndefault_kind = 'name'\n",
    )
    fields = extract_fields("Gand, sur l'Escaut; Erasmus", [], load_field_rules(path))
    assert [(f.kind, f.normalised) for f in fields] == [("place", "Ghent")]


def test_invalid_turtle(tmp_path: Path) -> None:
    path = write(tmp_path, "g.ttl", "ex:a skos:prefLabel 'x' .\n")
    with pytest.raises(FieldRulesError, match="valid Turtle") as caught:
        read_gazetteer_turtle(path, {}, "place", "en")
    assert str(path) in str(caught.value)


def test_accession_rule_built_in_code_names_where_it_was_written() -> None:
    with pytest.raises(FieldRulesError, match=r"^museum settings: pattern '\(a\)\\\\1'"):
        AccessionRule("museum", r"(a)\1", where="museum settings")


def test_phrases_span_line_breaks_and_hyphens_but_not_other_punctuation() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("Den Haag", "the hague")
    index.add("Den", "den")
    assert [(h.start, h.end, h.payloads) for h in index.find(tokenize("Den\n  Haag"))] == [
        (0, 10, ("the hague",))
    ]
    assert [h.payloads for h in index.find(tokenize("Den; Haag"))] == [("den",)]
    assert index.find(tokenize("Denhaag")) == []
    assert index.add("--", "nothing") is False
