"""Every parser and mapper entry point on generated and mutated input (``pytest -m fuzz``).

The property, for each entry point: it returns (rejection values among the results are
fine) or raises a :class:`SourceRejection` whose message names the input and gives a
reason. Any other exception is a defect, and no output ever carries /etc/passwd.
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

from heritage.producers.annotation_simulator import SOURCE as ANNOTATION_SOURCE
from heritage.producers.annotation_simulator import annotation_record, sort_annotations
from heritage.producers.csv_drop import CsvColumnMapping, CsvRow, map_csv_row, read_csv_rows
from heritage.producers.europeana_client import (
    SOURCE as EUROPEANA_SOURCE,
)
from heritage.producers.europeana_client import (
    read_search_page,
    sort_page_items,
    source_record_from_item,
)
from heritage.producers.lido_drop import read_lido_file
from heritage.producers.metadata_mapping import SUPPORTED_PREFIXES, map_record
from heritage.producers.oai_pmh_protocol import parse_response, xml_parser
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


def sorted_item_envelopes(items: Sequence[Any]) -> list[bytes]:
    """The harvest's path for a page's items: records and dead letters, each an envelope."""
    sorted_items = sort_page_items(items, CURSOR)
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


def annotation_envelope(annotation: Any) -> str:
    """The annotation on its own (keyed, then wrapped) and through the batch's sorting."""

    def sorted_envelopes() -> list[bytes]:
        sorted_batch = sort_annotations([annotation])
        return envelope_bytes(
            ANNOTATION_SOURCE, [*sorted_batch.records, *sorted_batch.dead_letters]
        )

    direct = produced_text(
        lambda: envelope_bytes(ANNOTATION_SOURCE, [annotation_record(annotation)]),
        ("annotation",),
    )
    return direct + produced_text(sorted_envelopes, ("annotation",))


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


@pytest.mark.parametrize("name", sorted(hostile_csv()))
def test_hostile_csv_is_rejected_or_read(name: str, drop_dir: Path) -> None:
    csv_file_results(drop_dir / "hostile.csv", hostile_csv()[name])


HOSTILE_JSON_PAGES = {
    "1 MB string": json.dumps({"items": [{"id": "/1/a", "title": ["x" * (1 << 20)]}]}),
    "50,000 fields": json.dumps({"items": [{"id": "/1/a", **{f"f{i}": i for i in range(50_000)}}]}),
    "nesting 100,000 deep": '{"items": [' + "[" * 100_000 + "]" * 100_000 + "]}",
    "5,000-digit number": '{"items": [{"id": "/1/a", "score": ' + "9" * 5000 + "}]}",
    "lone surrogate escape": '{"items": [{"id": "/1/a", "title": ["\\ud800"]}]}',
    "NaN and Infinity": '{"items": [{"id": "/1/a", "score": NaN, "rank": -Infinity}]}',
    "items not a list": '{"items": {"id": "/1/a"}}',
    "not JSON": "<html><body>Service unavailable</body></html>",
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_JSON_PAGES))
def test_hostile_europeana_pages_are_rejected_or_read(name: str) -> None:
    europeana_page_envelopes(HOSTILE_JSON_PAGES[name])


@pytest.mark.parametrize("depth", [50, 5000])
def test_deeply_nested_europeana_item_and_annotation(depth: int) -> None:
    europeana_item_envelope({"id": "/1/a", "title": nested(depth)})
    europeana_item_envelope({"title": nested(depth)})
    annotation_envelope({"annotation_id": "annotation:1", "body": nested(depth)})
