"""Arbitrary embargo values never crash a mapper (``pytest -m fuzz``): a LIDO rightsWorkSet
or a CSV row maps (its embargo fields well formed) or is rejected with a SourceRejection
that names the input and gives a reason. ``HERITAGE_FUZZ_EXAMPLES`` sets the examples per
test (200 by default), as in test_fuzz_entry_points.py; the seed is fixed."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from heritage.producers.csv_drop import CsvColumnMapping, map_csv_row
from heritage.producers.metadata_mapping import MappingError, map_lido_record
from heritage.publication_settings import PublicationPolicy
from heritage.record_contract import record_shape_problems
from heritage.source_rejections import SourceRejection

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
POLICY = PublicationPolicy(
    institution_zone="Pacific/Kiritimati", provider_zones={"West": "Etc/GMT+12"}
)
LIDO = "http://www.lido-schema.org"
RULES = {"instant", "through_named_day", "through_named_month", "through_named_year"}

# Text an XML element can hold (no control characters, no lone surrogates).
xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
# Values shaped like dates, years and date-times, in and out of range.
date_like = st.from_regex(
    r"[+-]?\d{1,5}(-\d{1,2}(-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,8})?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?)?)?",
    fullmatch=True,
)
end_values = st.one_of(date_like, xml_text, st.sampled_from(["", " ", "OPEN", "9999-12-31"]))
zones = st.one_of(
    st.sampled_from(["", "UTC", "Europe/Amsterdam", "Etc/GMT-14", "Mars/Base", "../etc"]),
    xml_text,
)
terms = st.one_of(
    st.sampled_from(["Embargo", "Sperrfrist", "restricted", "Unrestricted", "Access restriction"]),
    xml_text,
)


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{LIDO}}}{name}")
    element.text = text
    return element


def lido_with_rights(sets: list[tuple[str, str | None, str | None]], provider: str) -> Any:
    root = etree.Element(f"{{{LIDO}}}lido", nsmap={"lido": LIDO})
    _sub(root, "lidoRecID", "fuzz-1")
    identification = _sub(_sub(root, "descriptiveMetadata"), "objectIdentificationWrap")
    repository = _sub(_sub(identification, "repositoryWrap"), "repositorySet")
    body = _sub(_sub(repository, "repositoryName"), "legalBodyName")
    _sub(body, "appellationValue", provider)
    wrap = _sub(_sub(root, "administrativeMetadata"), "rightsWorkWrap")
    for term, latest, earliest in sets:
        rights_set = _sub(wrap, "rightsWorkSet")
        _sub(_sub(rights_set, "rightsType"), "term", term)
        date = _sub(rights_set, "rightsDate")
        for name, value in (("earliestDate", earliest), ("latestDate", latest)):
            if value is not None:
                _sub(date, name, value)
    return root


def assert_embargo_fields(record: dict[str, Any]) -> None:
    assert record_shape_problems(record) == []
    if "embargo_until" not in record:
        assert not any(name.startswith("embargo") for name in record)
        return
    assert record["embargo_rule"] in RULES
    end = record["embargo_end_utc"]
    assert end.endswith("Z")
    moment = datetime.fromisoformat(end[:-1] + "+00:00")
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0


def assert_rejection(error: SourceRejection, names: str) -> None:
    message = str(error)
    assert message.startswith(names), message
    assert len(message) > len(names) + 15, message


@FUZZ
@given(
    st.lists(
        st.tuples(terms, st.one_of(st.none(), end_values), st.one_of(st.none(), end_values)),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["Museum", "West"]),
)
def test_any_lido_rights_work_set_maps_or_is_rejected_with_a_reason(
    sets: list[tuple[str, str | None, str | None]], provider: str
) -> None:
    element = lido_with_rights(sets, provider)
    try:
        record = map_lido_record(element, POLICY)
    except MappingError as error:
        assert_rejection(error, "LIDO record 'fuzz-1' rightsWorkSet")
        return
    assert_embargo_fields(record)


@FUZZ
@given(end_values, zones, st.one_of(xml_text, date_like), st.sampled_from(["", "West"]))
def test_any_csv_embargo_cells_map_or_are_rejected_with_a_reason(
    until: str, zone: str, died: str, provider: str
) -> None:
    cells = {
        "id": "fuzz-2",
        "data_provider": provider,
        "embargo_until": until,
        "embargo_zone": zone,
        "creator_death_year": died,
    }
    try:
        record = map_csv_row(cells, CsvColumnMapping(), POLICY)
    except SourceRejection as error:
        assert_rejection(error, "row 'fuzz-2', column ")
        return
    assert_embargo_fields(record)
    if "creator_death_year" in record:
        assert isinstance(record["creator_death_year"], int)
