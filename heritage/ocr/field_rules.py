"""What :func:`heritage.ocr.text_fields.extract_fields` looks for: accession-number patterns
and their label anchors, a gazetteer of names and places, and document-type keywords; read
from config/ocr/fields.toml (or another file of the same shape).

The file::

    [accession]
    anchors = ["Inv. nr.", "Accession number", ...]   # labels that raise confidence

    [accession.default]          # always used
    pattern = '\\b\\d{4}\\.\\d{1,4}(?:\\.\\d{1,4})*\\b'  # RE2 syntax
    case = "keep"                # or "upper", "lower": how the number is normalised

    [accession.rijksmuseum]      # used when the institution is "rijksmuseum"
    pattern = 'SK-[A-Z]-\\d+'

    [[gazetteer]]                # paths are relative to the rules file
    file = "gazetteer.csv"       # columns kind, label, uri, alt_labels
    [[gazetteer]]
    file = "gazetteer.ttl"       # SKOS Turtle
    language = "en"              # which skos:prefLabel is the preferred label
    default_kind = "place"       # for concepts whose scheme and rdf:type say nothing
    schemes = { "https://example.org/people" = "name" }

    [document_types.letter]
    keywords = ["Dear", "Sehr geehrte", ...]

Errors name the file, the key and the fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heritage.ocr.accession_numbers import AccessionRule
from heritage.ocr.document_types import DocumentTypeRule, document_type_index
from heritage.ocr.field_rules_error import FieldRulesError
from heritage.ocr.gazetteer import KINDS, GazetteerEntry, gazetteer_index
from heritage.ocr.gazetteer_files import read_gazetteer_csv, read_gazetteer_turtle
from heritage.ocr.phrase_index import PhraseIndex

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[2] / "config" / "ocr" / "fields.toml"
_TOP_KEYS = {"accession", "gazetteer", "document_types"}
_RULE_KEYS = {"pattern", "case"}
_GAZETTEER_KEYS = {"file", "language", "default_kind", "schemes"}


@dataclass(frozen=True)
class FieldRules:
    # Institution rules first, then the default ones; earlier rules win ties.
    accession_rules: tuple[AccessionRule, ...] = ()
    # Labels that, just before a number, raise its confidence.
    accession_anchors: tuple[str, ...] = ()
    gazetteer: tuple[GazetteerEntry, ...] = ()
    document_types: tuple[DocumentTypeRule, ...] = ()
    # Indexes built once from the fields above.
    anchor_index: PhraseIndex[str] = field(init=False, compare=False, repr=False)
    gazetteer_index: PhraseIndex[Any] = field(init=False, compare=False, repr=False)
    document_type_index: PhraseIndex[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        anchors: PhraseIndex[str] = PhraseIndex()
        for anchor in self.accession_anchors:
            anchors.add(anchor, anchor)
        object.__setattr__(self, "anchor_index", anchors)
        object.__setattr__(self, "gazetteer_index", gazetteer_index(self.gazetteer))
        object.__setattr__(self, "document_type_index", document_type_index(self.document_types))


def load_field_rules(path: Path | None = None, institution: str | None = None) -> FieldRules:
    """The rules in `path` (default config/ocr/fields.toml): the default accession patterns
    plus `institution`'s, the gazetteers the file names, and the document types."""
    path = path or DEFAULT_RULES_PATH
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FieldRulesError(
            f"{path}: cannot read the field rules ({error.strerror or error}); give the path "
            "of a TOML file such as config/ocr/fields.toml"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise FieldRulesError(f"{path}: not valid TOML ({error}); fix the syntax") from None
    _reject_unknown(path, "the top level", document, _TOP_KEYS)
    anchors, rules = _accession(path, _table(path, document, "accession"), institution)
    return FieldRules(
        accession_rules=rules,
        accession_anchors=anchors,
        gazetteer=_gazetteers(path, document.get("gazetteer", [])),
        document_types=_document_types(path, _table(path, document, "document_types")),
    )


def _accession(
    path: Path, table: Mapping[str, Any], institution: str | None
) -> tuple[tuple[str, ...], tuple[AccessionRule, ...]]:
    anchors = _strings(path, "accession.anchors", table.get("anchors", []))
    named = {k: v for k, v in table.items() if k != "anchors"}
    if institution is not None and institution not in named:
        known = ", ".join(sorted(k for k in named if k != "default")) or "none"
        raise FieldRulesError(
            f"{path}: no [accession.{institution}] table (institutions: {known}); add one "
            "with a pattern, or pass one of those institutions"
        )
    wanted = [k for k in (institution, "default") if k is not None and k in named]
    return anchors, tuple(_accession_rule(path, key, named[key]) for key in dict.fromkeys(wanted))


def _accession_rule(path: Path, key: str, value: Any) -> AccessionRule:
    where = f"{path} [accession.{key}]"
    if not isinstance(value, dict):
        raise FieldRulesError(f"{where}: must be a table with a pattern, e.g. pattern = '\\d+'")
    _reject_unknown(path, f"[accession.{key}]", value, _RULE_KEYS)
    pattern = value.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise FieldRulesError(
            f"{where}: pattern is missing or not a string; write pattern = '<RE2 expression>'"
        )
    case = value.get("case", "keep")
    return AccessionRule(key, pattern, case if isinstance(case, str) else repr(case), where)


def _gazetteers(path: Path, value: Any) -> tuple[GazetteerEntry, ...]:
    if not isinstance(value, list):
        raise FieldRulesError(
            f"{path}: gazetteer must be an array of tables ([[gazetteer]] with file = ...)"
        )
    entries: list[GazetteerEntry] = []
    for number, item in enumerate(value, start=1):
        where = f"{path} [[gazetteer]] #{number}"
        if not isinstance(item, dict) or not isinstance(item.get("file"), str):
            raise FieldRulesError(f'{where}: needs file = "<name>.csv" or "<name>.ttl"')
        _reject_unknown(path, f"[[gazetteer]] #{number}", item, _GAZETTEER_KEYS)
        entries.extend(_gazetteer_file(path, where, item))
    return tuple(entries)


def _gazetteer_file(path: Path, where: str, item: Mapping[str, Any]) -> tuple[GazetteerEntry, ...]:
    file = path.parent / item["file"]
    default_kind = item.get("default_kind")
    schemes = item.get("schemes", {})
    for kind in [default_kind, *(schemes.values() if isinstance(schemes, dict) else [None])]:
        if kind is not None and kind not in KINDS:
            raise FieldRulesError(
                f"{where}: kind {kind!r} (default_kind or schemes) is not one of "
                f"{', '.join(KINDS)}; write name or place"
            )
    if not isinstance(schemes, dict):
        raise FieldRulesError(f'{where}: schemes must be a table, {{ "<scheme uri>" = "place" }}')
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return read_gazetteer_csv(file)
    if suffix in (".ttl", ".turtle"):
        language = item.get("language", "en")
        return read_gazetteer_turtle(file, schemes, default_kind, str(language))
    raise FieldRulesError(
        f"{where}: file {item['file']!r} is neither .csv nor .ttl; give a CSV gazetteer or "
        "a SKOS vocabulary in Turtle"
    )


def _document_types(path: Path, table: Mapping[str, Any]) -> tuple[DocumentTypeRule, ...]:
    rules = []
    for key, value in table.items():
        if not isinstance(value, dict) or set(value) != {"keywords"}:
            raise FieldRulesError(
                f"{path} [document_types.{key}]: must hold exactly keywords = [...]; "
                'write keywords = ["finding aid", "Findbuch"]'
            )
        keywords = _strings(path, f"document_types.{key}.keywords", value["keywords"])
        rules.append(DocumentTypeRule(key, keywords))
    return tuple(rules)


def _table(path: Path, document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise FieldRulesError(f"{path}: {key} must be a table ([{key}.<name>])")
    return value


def _strings(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise FieldRulesError(f'{path}: {key} must be a list of non-empty strings, ["..."]')
    return tuple(value)


def _reject_unknown(path: Path, where: str, table: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise FieldRulesError(
            f"{path}: unknown key {', '.join(unknown)} in {where}; the keys are "
            f"{', '.join(sorted(known))}"
        )
