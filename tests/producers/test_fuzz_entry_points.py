"""Every parser and mapper entry point on generated and mutated input (``pytest -m fuzz``).

The property, for each entry point: it returns (rejection values among the results are
fine) or raises a :class:`SourceRejection` whose message names the input and gives a
reason. Any other exception is a defect, and no output ever carries /etc/passwd. What is
read is never lost on the way: every Europeana item and every annotation ends as a record
or a dead letter, and every data line of a CSV export as a row or a bad row.
``HERITAGE_FUZZ_EXAMPLES`` sets the examples per test (200 by default; ``make fuzz`` runs
10,000); the seed is fixed, so a failure reproduces on every run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from fuzz_samples import (
    PASSWD_MARKER,
    Mutation,
    csv_seeds,
    europeana_item_seeds,
    europeana_page_texts,
    generated_annotations,
    generated_csv,
    generated_documents,
    generated_items,
    generated_oai_pages,
    hostile_csv,
    hostile_documents,
    lido_seeds,
    mapping_seeds,
    mutations,
    nested,
    oai_seeds,
)
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from lxml import etree

from heritage.producers.csv_drop import (
    BadCsvRow,
    CsvColumnMapping,
    CsvRow,
    map_csv_row,
    read_csv_rows,
)
from heritage.producers.europeana_client import (
    MAX_ITEM_DEPTH,
    SortedItems,
    read_search_page,
    sort_page_items,
    source_record_from_item,
)
from heritage.producers.europeana_client import (
    SOURCE as EUROPEANA_SOURCE,
)
from heritage.producers.lido_drop import read_lido_file
from heritage.producers.metadata_mapping import SUPPORTED_PREFIXES, map_record
from heritage.producers.oai_pmh_protocol import parse_response, xml_parser
from heritage.producers.simulators.annotation_simulator import SOURCE as ANNOTATION_SOURCE
from heritage.producers.simulators.annotation_simulator import (
    SortedAnnotations,
    annotation_record,
    sort_annotations,
)
from heritage.record_model import SourceRecord, envelope_for
from heritage.settings import Secret
from heritage.source_rejections import SourceRejection

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
API_KEY = Secret("api2demo")
# How rejection messages may name a metadata format besides its prefix.
FORMAT_NAMES = {"oai_dc": ("Dublin Core",), "iso19139": ("ISO 19139",), "lido": ("LIDO",)}
INGESTED_AT = "2026-11-20T10:00:00.000000Z"
CURSOR = "AoJwkcrWqfoCPwsvMjAyMTY3Mi9yZXNvdXJjZV9kb2N1bWVudF9tYXVyaXRzaHVpc182NzA="


def produced_text(call: Callable[[], Any], names: Sequence[str]) -> str:
    """What the entry point produced, as text; a rejection must name the input (one of
    ``names``) and give a reason; any other exception propagates and fails the test."""
    try:
        produced = call()
    except SourceRejection as rejection:
        message = str(rejection)
        assert message.strip(), f"{type(rejection).__name__} with an empty message"
        lowered = message.lower()
        named = [name for name in names if name.lower() in lowered]
        assert named, f"rejection does not name the input (one of {list(names)}): {message!r}"
        assert len(message) >= len(named[0]) + 15, f"rejection gives no reason: {message!r}"
        return message
    return repr(produced)


def assert_no_passwd(text: str) -> None:
    assert PASSWD_MARKER not in text, "an external entity was resolved: /etc/passwd leaked"


def mutated(seeds: Sequence[bytes], xml: bool = True) -> st.SearchStrategy[bytes]:
    def apply(pair: tuple[bytes, Mutation]) -> bytes:
        seed, mutation = pair
        note(f"mutation: {mutation.name}")
        return mutation.apply(seed)

    return st.tuples(st.sampled_from(seeds), mutations(xml)).map(apply)


# --- entry points as one call each -----------------------------------------------------------


def oai_response(payload: bytes) -> str:
    return produced_text(lambda: parse_response(payload), ("OAI-PMH",))


def mapped_record(prefix: str, document: bytes) -> str:
    """Parsing first (XXE-safe); a document that does not parse is rejected by that step."""
    try:
        element = etree.fromstring(document, xml_parser())
    except etree.XMLSyntaxError:
        return ""
    if element is None:
        return ""
    names = (prefix, "metadataPrefix", *FORMAT_NAMES.get(prefix, ()))
    return produced_text(lambda: map_record(prefix, element), names)


def lido_file_results(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return produced_text(lambda: list(read_lido_file(path)), (path.name,))


def csv_file_results(path: Path, data: bytes) -> str:
    path.write_bytes(data)

    def read_and_map() -> list[Any]:
        results: list[Any] = []
        for row in read_csv_rows(path):
            results.append(row)
            if isinstance(row, CsvRow):
                results.append(map_csv_row(row.cells, CsvColumnMapping()))
        return results

    return produced_text(read_and_map, (path.name,))


def envelope_bytes(source: str, records: Iterable[SourceRecord]) -> list[bytes]:
    return [
        envelope_for(source, record, "fuzz", INGESTED_AT).to_json().encode("utf-8")
        for record in records
    ]


def item_outcomes(items: Sequence[Any], sorted_items: SortedItems) -> list[str]:
    """What became of each item, in page order: "record", or its dead letter's reasons.
    Fails when an item is lost, counted twice or published as another item."""
    records, dead_letters = sorted_items.records, sorted_items.dead_letters
    assert len(records) + len(dead_letters) == len(items), (len(records), len(dead_letters))
    reasons = {d.payload["position"]: "; ".join(d.payload["reasons"]) for d in dead_letters}
    assert len(reasons) == len(dead_letters), "two dead letters for one position"
    assert set(reasons) <= set(range(1, len(items) + 1)), sorted(reasons)
    published = iter(records)
    outcomes = []
    for position, item in enumerate(items, start=1):
        if position in reasons:
            outcomes.append(reasons[position])
        else:
            assert next(published).payload is item, f"item {position} published as another"
            outcomes.append("record")
    return outcomes


def assert_every_annotation_kept(batch: Sequence[Any], sorted_batch: SortedAnnotations) -> None:
    """Every annotation is a record or a dead letter; the records keep the batch's order."""
    records, dead_letters = sorted_batch.records, sorted_batch.dead_letters
    assert len(records) + len(dead_letters) == len(batch), (len(records), len(dead_letters))
    remaining = iter(batch)
    for record in records:
        assert any(record.payload is annotation for annotation in remaining), record.record_id


def sorted_item_envelopes(items: Sequence[Any]) -> list[bytes]:
    """The harvest's path for a page's items: records and dead letters, each an envelope."""
    sorted_items = sort_page_items(items, CURSOR)
    item_outcomes(items, sorted_items)
    return envelope_bytes(EUROPEANA_SOURCE, [*sorted_items.records, *sorted_items.dead_letters])


def europeana_item_envelope(item: Any) -> str:
    """The item on its own (keyed, then wrapped) and through the page's sorting."""
    direct = produced_text(
        lambda: envelope_bytes(EUROPEANA_SOURCE, [source_record_from_item(item)]), ("europeana",)
    )
    return direct + produced_text(lambda: sorted_item_envelopes([item]), ("europeana",))


def europeana_page_envelopes(text: str) -> str:
    return produced_text(
        lambda: sorted_item_envelopes(read_search_page(text, API_KEY, CURSOR).items),
        ("europeana",),
    )


def sorted_annotation_envelopes(batch: Sequence[Any]) -> list[bytes]:
    """The simulator's path for a batch: records and dead letters, each an envelope."""
    sorted_batch = sort_annotations(list(batch))
    assert_every_annotation_kept(batch, sorted_batch)
    return envelope_bytes(ANNOTATION_SOURCE, [*sorted_batch.records, *sorted_batch.dead_letters])


def annotation_envelope(annotation: Any) -> str:
    """The annotation on its own (keyed, then wrapped) and through the batch's sorting."""
    direct = produced_text(
        lambda: envelope_bytes(ANNOTATION_SOURCE, [annotation_record(annotation)]),
        ("annotation",),
    )
    return direct + produced_text(
        lambda: sorted_annotation_envelopes([annotation]), ("annotation",)
    )


# --- OAI-PMH responses -----------------------------------------------------------------------


@FUZZ
@given(payload=mutated(oai_seeds()))
def test_oai_response_parsing_survives_mutated_pages(payload: bytes) -> None:
    assert_no_passwd(oai_response(payload))


@FUZZ
@given(payload=st.one_of(generated_oai_pages(), generated_documents("oai")))
def test_oai_response_parsing_survives_generated_pages(payload: bytes) -> None:
    assert_no_passwd(oai_response(payload))


# --- metadata formats ------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", SUPPORTED_PREFIXES)
@FUZZ
@given(data=st.data())
def test_mapping_survives_mutated_records(prefix: str, data: st.DataObject) -> None:
    document = data.draw(mutated(mapping_seeds(prefix)), label="document")
    assert_no_passwd(mapped_record(prefix, document))


@pytest.mark.parametrize("prefix", SUPPORTED_PREFIXES)
@FUZZ
@given(data=st.data())
def test_mapping_survives_generated_records(prefix: str, data: st.DataObject) -> None:
    document = data.draw(generated_documents(prefix), label="document")
    assert_no_passwd(mapped_record(prefix, document))


# --- LIDO and CSV drops ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def drop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-drops")


@FUZZ
@given(data=st.one_of(mutated(lido_seeds()), generated_documents("lido")))
def test_lido_drop_survives_mutated_and_generated_files(drop_dir: Path, data: bytes) -> None:
    assert_no_passwd(lido_file_results(drop_dir / "museum-export.xml", data))


@FUZZ
@given(data=st.one_of(mutated(csv_seeds(), xml=False), generated_csv()))
def test_csv_drop_survives_mutated_and_generated_files(drop_dir: Path, data: bytes) -> None:
    csv_file_results(drop_dir / "collection-export.csv", data)


# --- Europeana items and pages, annotations --------------------------------------------------


@FUZZ
@given(item=st.one_of(st.sampled_from(europeana_item_seeds()), generated_items()))
def test_europeana_item_to_envelope_survives_any_json(item: Any) -> None:
    europeana_item_envelope(item)


@FUZZ
@given(
    items=st.lists(
        st.one_of(st.sampled_from(europeana_item_seeds()), generated_items()), max_size=8
    )
)
def test_every_item_of_a_page_is_a_record_or_a_dead_letter(items: list[Any]) -> None:
    produced_text(lambda: sorted_item_envelopes(items), ("europeana",))


@FUZZ
@given(
    text=mutated([t.encode() for t in europeana_page_texts()] or [b"{}"], xml=False).map(
        lambda data: data.decode("utf-8", errors="replace")
    )
)
def test_europeana_page_parsing_survives_mutated_pages(text: str) -> None:
    europeana_page_envelopes(text)


@FUZZ
@given(annotation=generated_annotations())
def test_annotation_to_envelope_survives_any_values(annotation: Any) -> None:
    annotation_envelope(annotation)


@FUZZ
@given(batch=st.lists(generated_annotations(), max_size=8))
def test_every_annotation_of_a_batch_is_a_record_or_a_dead_letter(batch: list[Any]) -> None:
    produced_text(lambda: sorted_annotation_envelopes(batch), ("annotation",))


# --- hostile inputs, each once: entity bombs, external entities, huge and deep values -------

HOSTILE_XML = [
    pytest.param(kind, name, id=f"{kind}-{name}")
    for kind, seed in (
        ("oai", oai_seeds()[0]),
        ("lido-drop", lido_seeds()[0]),
        *((prefix, mapping_seeds(prefix)[0]) for prefix in SUPPORTED_PREFIXES),
    )
    for name in hostile_documents(seed)
]


def _hostile_seed(kind: str) -> bytes:
    if kind == "oai":
        return oai_seeds()[0]
    if kind == "lido-drop":
        return lido_seeds()[0]
    return mapping_seeds(kind)[0]


@pytest.mark.parametrize(("kind", "name"), HOSTILE_XML)
def test_hostile_xml_is_rejected_or_read_safely(kind: str, name: str, drop_dir: Path) -> None:
    document = hostile_documents(_hostile_seed(kind))[name]
    if kind == "oai":
        produced = oai_response(document)
    elif kind == "lido-drop":
        produced = lido_file_results(drop_dir / "hostile.xml", document)
    else:
        produced = mapped_record(kind, document)
    assert_no_passwd(produced)


# The line of each data line of a hostile export (each must be a row or a bad row); None
# where the export as a whole is refused: its header cannot be read or names no id column.
HOSTILE_CSV_DATA_LINES: dict[str, list[int] | None] = {
    "50,000 columns": [2],
    "1 MB cell": [2],
    "1 MB quoted cell never closed": [2],
    "NUL bytes": [2],
    "UTF-16 with BOM": [2, 3, 4],
    "latin-1 header": None,
    "only a BOM": None,
    "no id column": None,
    "1 MB header line": None,
}


@pytest.mark.parametrize("name", sorted(hostile_csv()))
def test_hostile_csv_is_rejected_or_read(name: str, drop_dir: Path) -> None:
    path = drop_dir / "hostile.csv"
    csv_file_results(path, hostile_csv()[name])
    expected_lines = HOSTILE_CSV_DATA_LINES[name]
    if expected_lines is None:
        with pytest.raises(SourceRejection):
            list(read_csv_rows(path))
        return
    rows = list(read_csv_rows(path))
    assert [row.line for row in rows] == expected_lines
    assert all(row.reason for row in rows if isinstance(row, BadCsvRow))


# Each hostile page, and what each of its items becomes: "record", or words of its dead
# letter's reasons; None where the page as a whole is refused.
HOSTILE_JSON_PAGES: dict[str, tuple[str, list[str] | None]] = {
    "1 MB string": (
        json.dumps({"items": [{"id": "/1/a", "title": ["x" * (1 << 20)]}]}),
        ["record"],
    ),
    "50,000 fields": (
        json.dumps({"items": [{"id": "/1/a", **{f"f{i}": i for i in range(50_000)}}]}),
        ["record"],
    ),
    "nesting 100,000 deep": (
        '{"items": [' + "[" * 100_000 + "]" * 100_000 + "]}",
        [f"nest 100000 levels deep in it, more than the {MAX_ITEM_DEPTH}"],
    ),
    "5,000-digit number": (
        '{"items": [{"id": "/1/a", "score": ' + "9" * 5000 + "}]}",
        ["not valid JSON"],
    ),
    "lone surrogate escape": (
        '{"items": [{"id": "/1/a", "title": ["\\ud800"]}]}',
        ["lone UTF-16 surrogate"],
    ),
    "NaN and Infinity": (
        '{"items": [{"id": "/1/a", "score": NaN, "rank": -Infinity}]}',
        ["score is nan"],
    ),
    "items not a list": ('{"items": {"id": "/1/a"}}', None),
    "not JSON": ("<html><body>Service unavailable</body></html>", None),
    "empty": ("", None),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_JSON_PAGES))
def test_hostile_europeana_pages_are_rejected_or_read(name: str) -> None:
    text, expected = HOSTILE_JSON_PAGES[name]
    europeana_page_envelopes(text)
    if expected is None:
        with pytest.raises(SourceRejection):
            read_search_page(text, API_KEY, CURSOR)
        return
    items = read_search_page(text, API_KEY, CURSOR).items
    outcomes = item_outcomes(items, sort_page_items(items, CURSOR))
    assert len(outcomes) == len(expected)
    for outcome, words in zip(outcomes, expected, strict=True):
        assert words in outcome, outcome


@pytest.mark.parametrize("depth", [50, 5000])
def test_deeply_nested_europeana_item_and_annotation(depth: int) -> None:
    nesting = f"nest more than {MAX_ITEM_DEPTH} levels deep"
    items = [{"id": "/1/a", "title": nested(depth)}, {"title": nested(depth)}]
    for item in items:
        europeana_item_envelope(item)
    sorted_items = sort_page_items(items, CURSOR)
    assert sorted_items.records == []
    assert all(nesting in outcome for outcome in item_outcomes(items, sorted_items))
    assert sorted_items.dead_letters[0].record_id == "europeana:/1/a"

    annotation = {"annotation_id": "annotation:1", "body": nested(depth)}
    annotation_envelope(annotation)
    sorted_batch = sort_annotations([annotation])
    assert_every_annotation_kept([annotation], sorted_batch)
    [dead_letter] = sorted_batch.dead_letters
    assert dead_letter.record_id == "annotation:1"
    assert any(nesting in reason for reason in dead_letter.payload["reasons"])
