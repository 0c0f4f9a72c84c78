"""Reading gazetteers: a CSV file (kind, label, uri, alt_labels) or a SKOS vocabulary in
Turtle. Every problem is a FieldRulesError that names the file, the line or concept, and the
fix."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from rdflib import RDF, SKOS, Graph, Literal, URIRef
from rdflib.exceptions import Error as RdfError
from rdflib.term import Node

from heritage.ocr.field_rules_error import FieldRulesError
from heritage.ocr.gazetteer import KINDS, GazetteerEntry

CSV_COLUMNS = ("kind", "label", "uri", "alt_labels")
# rdf:type classes that say what a concept is when no configured scheme does.
_TYPE_KINDS = {
    "http://schema.org/Place": "place",
    "https://schema.org/Place": "place",
    "http://schema.org/Person": "name",
    "https://schema.org/Person": "name",
    "http://xmlns.com/foaf/0.1/Person": "name",
    "http://www.cidoc-crm.org/cidoc-crm/E53_Place": "place",
    "http://www.cidoc-crm.org/cidoc-crm/E21_Person": "name",
}


def read_gazetteer_csv(path: Path) -> tuple[GazetteerEntry, ...]:
    """The entries of a gazetteer CSV: a header row naming kind, label, uri and alt_labels
    (alternative labels separated by '|')."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise FieldRulesError(
                    f"{path}: the header lacks {', '.join(missing)}; the first line must be "
                    f"{','.join(CSV_COLUMNS)}"
                )
            return tuple(_csv_entry(path, reader.line_num, row) for row in reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise FieldRulesError(
            f"{path}: cannot read the gazetteer ({error}); give a UTF-8 CSV file"
        ) from None


def _csv_entry(path: Path, line: int, row: Mapping[str, str | None]) -> GazetteerEntry:
    kind = (row.get("kind") or "").strip()
    label = (row.get("label") or "").strip()
    if kind not in KINDS:
        raise FieldRulesError(
            f"{path}:{line}: kind {kind!r} is not one of {', '.join(KINDS)}; write name or place"
        )
    if not label:
        raise FieldRulesError(f"{path}:{line}: the label is empty; write the preferred label")
    alts = tuple(a.strip() for a in (row.get("alt_labels") or "").split("|") if a.strip())
    return GazetteerEntry(kind, label, (row.get("uri") or "").strip() or None, alts)


def read_gazetteer_turtle(
    path: Path,
    schemes: Mapping[str, str],
    default_kind: str | None,
    language: str,
) -> tuple[GazetteerEntry, ...]:
    """The concepts of a SKOS vocabulary in Turtle: skos:prefLabel (the one in `language`,
    else one without a language, else the first) and skos:altLabel. A concept's kind comes
    from its scheme (`schemes`: scheme URI -> kind), else from its rdf:type (schema:Place,
    schema:Person, ...), else `default_kind`."""
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except (OSError, UnicodeDecodeError, RdfError, SyntaxError, ValueError) as error:
        raise FieldRulesError(
            f"{path}: cannot read the SKOS Turtle gazetteer ({error}); give a valid Turtle file"
        ) from None
    concepts = set(graph.subjects(RDF.type, SKOS.Concept)) | set(graph.subjects(SKOS.prefLabel))
    entries = []
    for concept in sorted(concepts, key=str):
        labels = _literals(graph.objects(concept, SKOS.prefLabel))
        if not labels:
            continue
        preferred = _preferred(labels, language)
        alts = [str(label) for label in labels if label is not preferred]
        alts += [str(label) for label in _literals(graph.objects(concept, SKOS.altLabel))]
        kind = _concept_kind(graph, concept, schemes, default_kind, path)
        uri = str(concept) if isinstance(concept, URIRef) else None
        entries.append(GazetteerEntry(kind, str(preferred), uri, tuple(alts)))
    return tuple(entries)


def _literals(nodes: Iterable[Node]) -> list[Literal]:
    return sorted(
        (n for n in nodes if isinstance(n, Literal)), key=lambda n: (n.language or "", str(n))
    )


def _preferred(labels: list[Literal], language: str) -> Literal:
    for wanted in (language, None):
        for label in labels:
            if label.language == wanted:
                return label
    return labels[0]


def _concept_kind(
    graph: Graph, concept: Node, schemes: Mapping[str, str], default_kind: str | None, path: Path
) -> str:
    for predicate in (SKOS.inScheme, SKOS.topConceptOf):
        for scheme in graph.objects(concept, predicate):
            if str(scheme) in schemes:
                return schemes[str(scheme)]
    for rdf_type in graph.objects(concept, RDF.type):
        if str(rdf_type) in _TYPE_KINDS:
            return _TYPE_KINDS[str(rdf_type)]
    if default_kind is None:
        raise FieldRulesError(
            f"{path}: concept <{concept}> has no kind: its scheme is not configured and its "
            "rdf:type is neither schema:Place nor schema:Person; add its scheme under "
            "schemes or set default_kind for this gazetteer in the rules file"
        )
    return default_kind
