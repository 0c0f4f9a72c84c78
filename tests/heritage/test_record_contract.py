"""The record contract at the parsing layer, without Spark: JSON shapes, and the cleanse
stage's verdict (tests/spark_apps/test_contract_parity.py holds it equal to Spark's)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heritage.record_contract import (
    CommonRecord,
    RecordVerdict,
    classify_envelope,
    classify_record,
    date_start_known,
    record_shape_problems,
    spark_canonical_rights,
)
from heritage.record_model import OBJECT_TYPES, SourceRecord, envelope_for
from heritage.rights import canonical_rights_uri

# A record as the Rijksmuseum delivers it through Europeana (trimmed to the fields read).
GOOD: dict[str, Any] = {
    "id": "/90402/SK_A_1718",
    "type": "IMAGE",
    "title": ["Winter Landscape with Ice Skaters"],
    "dcTitleLangAware": {"en": ["Winter Landscape with Ice Skaters"], "nl": ["Winterlandschap"]},
    "dcCreator": ["Hendrick Avercamp"],
    "dcDate": ["c. 1608"],
    "rights": ["http://creativecommons.org/publicdomain/mark/1.0/"],
    "edmIsShownBy": ["https://lh3.googleusercontent.com/skaters.jpg"],
    "dataProvider": ["Rijksmuseum"],
    "language": ["nl"],
    "timestamp_update": "2024-01-01T00:00:00Z",
}
RECORD_ID = "europeana:/90402/SK_A_1718"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
FIELD_VALUES = st.dictionaries(
    st.sampled_from([*GOOD, "year", "provider", "country", "other"]), JSON_VALUES, max_size=8
)


@pytest.mark.parametrize(
    ("item", "problems"),
    [
        (GOOD, []),
        ({}, []),
        ({"title": None, "other": 5}, []),
        ("<lido:lido/>", ["item is a string, expected a JSON object"]),
        ([GOOD], ["item is a list, expected a JSON object"]),
        (None, ["item is null, expected a JSON object"]),
        ({"title": 5}, ["field 'title' is a number, expected a list of strings"]),
        ({"title": "Winter"}, ["field 'title' is a string, expected a list of strings"]),
        ({"id": ["/1/a"]}, ["field 'id' is a list, expected a string"]),
        ({"type": True}, ["field 'type' is a boolean, expected a string"]),
        (
            {"rights": ["http://x", 1]},
            ["field 'rights' holds a number at position 1, expected a list of strings"],
        ),
        (
            {"dcTitleLangAware": {"en": "Winter"}},
            ["field 'dcTitleLangAware' is a string under 'en', expected an object of lists of "
             "strings by language code"],
        ),
        (
            {"dcTitleLangAware": ["Winter"]},
            ["field 'dcTitleLangAware' is a list, expected an object of lists of strings by "
             "language code"],
        ),
        (
            {"id": 5, "language": "nl"},
            ["field 'id' is a number, expected a string",
             "field 'language' is a string, expected a list of strings"],
        ),
    ],
)  # fmt: skip
def test_record_shape_problems(item: Any, problems: list[str]) -> None:
    assert record_shape_problems(item) == problems


@given(JSON_VALUES)
def test_record_shape_problems_is_total(value: Any) -> None:
    assert isinstance(record_shape_problems(value), list)


@given(FIELD_VALUES, st.booleans())
def test_classify_record_is_total(record: dict[str, Any], deleted: bool) -> None:
    verdict = classify_record(RECORD_ID, record, deleted)
    assert verdict.valid == (not verdict.reasons)


NO_ID = "record has no id: a Europeana item needs `id` of the form /DATASET/LOCAL_ID"
NOT_JSON = "payload is not a JSON object (truncated, or not JSON)"
NO_TITLE = "no title in `title` or `dcTitleLangAware`"
TYPES = "is not one of IMAGE, TEXT, SOUND, VIDEO, 3D"
NOT_RIGHTS = "is not a rightsstatements.org or creativecommons.org URI"


@pytest.mark.parametrize(
    ("record_id", "record", "deleted", "reasons"),
    [
        (RECORD_ID, GOOD, False, ()),
        (RECORD_ID, json.dumps(GOOD), False, ()),
        (RECORD_ID, {"id": "/90402/SK_A_1718"}, True, ()),
        ("europeana:unidentified:ab12", {}, True, ("deletion without a usable record id",)),
        (RECORD_ID, '{"id": "/90402/SK_A', False, (NOT_JSON,)),
        (RECORD_ID, "<lido:lido/>", False, (NOT_JSON,)),
        (RECORD_ID, [GOOD], False, (NOT_JSON,)),
        ("europeana:unidentified:ab12", GOOD, False, (NO_ID,)),
        (RECORD_ID, dict(GOOD, id=None), False, (NO_ID,)),
        (RECORD_ID, dict(GOOD, id=5), False, ()),
        (RECORD_ID, dict(GOOD, title=None, dcTitleLangAware=None), False, (NO_TITLE,)),
        (RECORD_ID, dict(GOOD, title=[" "]), False, ()),
        (RECORD_ID, dict(GOOD, title="Winter", dcTitleLangAware=None), False, (NO_TITLE,)),
        (RECORD_ID, dict(GOOD, title=[], dcTitleLangAware={"en": None, "nl": ["W"]}), False,
         (NO_TITLE,)),
        (RECORD_ID, dict(GOOD, dataProvider=[" "]), False, ("no `dataProvider`",)),
        (RECORD_ID, dict(GOOD, type=" image "), False, ()),
        (RECORD_ID, dict(GOOD, type="PAINTING"), False, (f"type 'PAINTING' {TYPES}",)),
        (RECORD_ID, dict(GOOD, type=None), False, (f"type '' {TYPES}",)),
        (RECORD_ID, dict(GOOD, type=["IMAGE"]), False, (f"type '[\"IMAGE\"]' {TYPES}",)),
        (RECORD_ID, dict(GOOD, rights=[]), False, ("no `rights` statement",)),
        (RECORD_ID, dict(GOOD, rights=["http://www.europeana.eu/rights/rr-f/"]), False, ()),
        (RECORD_ID, dict(GOOD, rights=["all rights reserved"]), False,
         (f"rights 'all rights reserved' {NOT_RIGHTS}",)),
        (RECORD_ID, dict(GOOD, edmIsShownBy=["javascript:alert(1)"]), False,
         ("edmIsShownBy 'javascript:alert(1)' is not an http(s) URL",)),
        (RECORD_ID, dict(GOOD, dcDate=["1665-02-30"]), False,
         ("date '1665-02-30' is not a recognised date",)),
        (RECORD_ID, dict(GOOD, dcDate=None, year=["1665"]), False, ()),
        (RECORD_ID, dict(GOOD, language=[" NL ", None]), False, ()),
        (RECORD_ID, dict(GOOD, language=["Dutch"]), False,
         ("language 'dutch' is not an ISO 639 code",)),
    ],
)  # fmt: skip
def test_classify_record(
    record_id: str, record: Any, deleted: bool, reasons: tuple[str, ...]
) -> None:
    assert classify_record(record_id, record, deleted) == RecordVerdict(not reasons, reasons)


def test_every_reason_comes_in_cleanse_order() -> None:
    broken = {
        "type": "PAINTING",
        "rights": ["x"],
        "dcDate": ["x"],
        "language": ["x1"],
        "edmIsShownBy": ["ftp://a"],
    }
    assert [r.split(" ")[0] for r in classify_record(RECORD_ID, broken).reasons] == [
        "record", "no", "no", "type", "rights", "edmIsShownBy", "date", "language",
    ]  # fmt: skip


def test_not_an_envelope() -> None:
    verdict = classify_record(None, GOOD)  # type: ignore[arg-type]
    assert verdict.reasons == ("message is not a heritage envelope (JSON with record_id, payload)",)


def test_an_envelope_is_classified_by_its_mapped_record() -> None:
    lido = SourceRecord("lido:DE-Mb112/lido-obj00154983", "<lido:lido/>", record=GOOD)
    assert classify_envelope(envelope_for("lido", lido, "c", "t")).valid
    unmapped = SourceRecord("oai:repo:1", "<record/>")
    assert not classify_envelope(envelope_for("oai", unmapped, "c", "t")).valid


@pytest.mark.parametrize(
    ("date", "known"),
    [
        ("1665", True), ("0000", True), ("1665\n", False), ("c. 1665", True), ("ca 1665\n", True),
        ("Um 1950", True), ("vers 1650", True), ("um 1480 oder 1482/1485", False),
        ("CIRCA 1665", True), ("1660-1670", True), ("1660 \u2013 1670", True), ("1665-03-01", True),
        ("1665-02-29", False), ("1664-02-29", True), ("1665-02-30", False), ("30/02/1665", False),
        ("01/03/1665", True), ("1665-03-01T10", True), ("1665-03-01T", False),
        ("1665-03-01T10:30:00+01:00", True), ("1665-03-01T10:30:00 Europe/Paris", True),
        ("1665-03-01T10:30:00 Mars/Base", False), ("1665-03-01T10:30Z", False),
        ("1665-03-01T24:00:00", False), ("\u0661\u0666\u0666\u0665", False), ("um 1600", True),
    ],
)  # fmt: skip
def test_date_forms_as_spark_reads_them(date: str, known: bool) -> None:
    assert date_start_known(date) is known


@pytest.mark.parametrize(
    "uri",
    [
        "https://creativecommons.org/licenses/by-sa/4.0/deed.de",
        "https://rightsstatements.org/page/NoC-US/1.0/?language=en",
        "http://www.europeana.eu/rights/rr-f/",
        "creativecommons.org/publicdomain/zero/1.0/",
        "all rights reserved",
        " http://rightsstatements.org/vocab/InC/1.0/ ",
    ],
)
def test_spark_rights_agree_with_the_python_rules_on_ordinary_input(uri: str) -> None:
    assert spark_canonical_rights(uri) == canonical_rights_uri(uri)


def test_spark_rights_trim_spaces_only() -> None:
    assert canonical_rights_uri("http://creativecommons.org/publicdomain/mark/1.0/\t")
    assert spark_canonical_rights("http://creativecommons.org/publicdomain/mark/1.0/\t") is None


def test_the_model_reads_values_as_spark_does() -> None:
    record = CommonRecord.model_validate({"id": 5, "title": "x", "dcDate": [1665], "other": 1})
    assert (record.id, record.title, record.dcDate) == ("5", None, ["1665"])
    assert record.object_type is None
    assert CommonRecord.model_validate(dict(GOOD, type=" video ")).object_type == "VIDEO"
    assert "VIDEO" in OBJECT_TYPES


def test_the_model_gives_the_same_reasons_as_classify_record() -> None:
    broken = dict(GOOD, type="PAINTING", language=["Dutch"], dcTitleLangAware={"en": "x"})
    broken.pop("title")
    reasons = CommonRecord.model_validate(broken).rejection_reasons()
    assert tuple(reasons) == classify_record(RECORD_ID, broken).reasons
    assert len(reasons) == 3
    assert set(CommonRecord.model_json_schema()["properties"]) >= {"id", "dcTitleLangAware"}
