"""Europeana pages with hostile items: each bad item goes to the dead letters with a reason
naming it, the page's other items are published and the cursor moves on (no services)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heritage.producers.europeana_client import (
    MAX_ITEM_DEPTH,
    START_CURSOR,
    ClientConfig,
    EuropeanaItemRejection,
    EuropeanaPageError,
    EuropeanaQuery,
    EuropeanaSearchClient,
    UnreadableItem,
    dead_letter_item,
    item_problems,
    read_search_page,
    sort_page_items,
    source_record_from_item,
)
from heritage.producers.json_page_split import JsonSyntaxError, split_json_object
from heritage.producers.simulators.europeana_replay import ReplayServer
from heritage.record_model import envelope_for
from heritage.settings import Secret
from heritage.source_rejections import SourceRejection
from heritage.source_settings import EUROPEANA_HTTP_POLICY

FAST = ClientConfig(
    requests_per_second=0, http=replace(EUROPEANA_HTTP_POLICY, max_attempts=2, backoff_base_s=0.0)
)
CURSOR = "AoJwkcrWqfoCPwsvMjAyMTY3Mi9yZXNvdXJjZV9kb2N1bWVudF9tYXVyaXRzaHVpc182NzA="


def museum_item(local_id: str, title: str = "Het melkmeisje") -> dict[str, Any]:
    """An item shaped like the Search API's standard profile."""
    return {
        "id": f"/90402/{local_id}",
        "type": "IMAGE",
        "title": [title],
        "dcTitleLangAware": {"nl": [title], "en": ["The Milkmaid"]},
        "dcCreator": ["Johannes Vermeer"],
        "dcDate": ["1657-1658"],
        "rights": ["http://creativecommons.org/publicdomain/zero/1.0/"],
        "edmIsShownBy": [f"https://lh3.example.org/rijksmuseum/{local_id}/full.jpg"],
        "dataProvider": ["Rijksmuseum"],
        "provider": ["Europeana Foundation"],
        "country": ["Netherlands"],
        "language": ["nl"],
        "timestamp_update": "2024-02-01T08:00:00.000Z",
        "score": 13.9,
        "completeness": 9,
        "guid": f"https://www.europeana.eu/item/90402/{local_id}?utm_source=api",
    }


def page_text(item_texts: list[str], next_cursor: str | None = "AoJnext") -> str:
    header: dict[str, Any] = {"apikey": "__KEY__", "success": True, "totalResults": 250}
    if next_cursor:
        header["nextCursor"] = next_cursor
    return json.dumps(header)[:-1] + ',"items":[' + ",".join(item_texts) + "]}"


def deep_array(levels: int) -> str:
    return "[" * levels + "]" * levels


class OnePage:
    """Replay pages: one page at ``*`` whose text is given as is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def page(self, cursor: str, rows: int) -> tuple[int, str] | None:
        return (1, self.text) if cursor == START_CURSOR else None


def fetch_one(text: str, key: str = "Hostile1") -> Any:
    with (
        ReplayServer(OnePage(text.replace("__KEY__", "__REPLAY_WSKEY__"))) as server,
        EuropeanaSearchClient(Secret(key), server.base_url, FAST) as client,
    ):
        return client.fetch_page(EuropeanaQuery(rows=4), START_CURSOR)


def assert_valid_dead_letter(record: Any) -> dict[str, Any]:
    """The dead letter goes out as UTF-8 JSON like any message; returns its payload."""
    wire = envelope_for("europeana", record, "run-1", "2026-12-05T10:00:00Z").to_json()
    decoded = json.loads(wire.encode("utf-8").decode("utf-8"))
    assert decoded["payload"]["stage"] == "europeana-harvest"
    return dict(decoded["payload"])


# --- a deeply nested item -------------------------------------------------------------------


def test_a_deeply_nested_item_is_isolated_and_the_page_keeps_its_cursor() -> None:
    items = [
        json.dumps(museum_item("SK_A_2344")),
        '{"id": "/90402/SK_A_9999", "title": ' + deep_array(100_000) + "}",
        json.dumps(museum_item("SK_A_1718", "Winterlandschap met ijsvermaak")),
    ]
    page = fetch_one(page_text(items))
    assert page.next_cursor == "AoJnext"
    assert len(page.items) == 3
    assert page.items[0]["id"] == "/90402/SK_A_2344"
    assert page.items[2]["id"] == "/90402/SK_A_1718"
    unreadable = page.items[1]
    assert isinstance(unreadable, UnreadableItem)
    assert unreadable.position == 2
    assert "100001 levels" in unreadable.reason and str(MAX_ITEM_DEPTH) in unreadable.reason
    sorted_items = sort_page_items(page.items, START_CURSOR)
    assert [r.record_id for r in sorted_items.records] == [
        "europeana:/90402/SK_A_2344",
        "europeana:/90402/SK_A_1718",
    ]
    [dead] = sorted_items.dead_letters
    payload = assert_valid_dead_letter(dead)
    assert payload["raw_truncated"] is True
    assert len(payload["raw"]) <= 64 * 1024
    assert payload["raw"].startswith('{"id": "/90402/SK_A_9999", "title": [[[[')
    assert payload["position"] == 2 and payload["cursor"] == START_CURSOR
    assert "item 2" in payload["reasons"][0] and "cursor *" in payload["reasons"][0]


def test_an_item_that_is_not_json_is_dead_lettered_alone() -> None:
    items = [json.dumps(museum_item("SK_A_2344")), '{"id": "/90402/SK_C_5", "title": [tru]}']
    page = fetch_one(page_text(items))
    assert isinstance(page.items[1], UnreadableItem)
    assert "not valid JSON" in page.items[1].reason
    result = sort_page_items(page.items, START_CURSOR)
    assert len(result.records) == 1 and len(result.dead_letters) == 1


def test_the_echoed_key_is_removed_from_an_unreadable_items_text() -> None:
    key = "EchoKey77"
    deep = (
        '{"id": "/90402/SK_A_9999", "link": "https://api.europeana.eu/record/v2/90402/'
        'SK_A_9999.json?wskey=__KEY__", "note": "caf\\u00e9", "x": ' + deep_array(200) + "}"
    )
    page = fetch_one(page_text([deep]), key)
    [unreadable] = page.items
    assert isinstance(unreadable, UnreadableItem)
    assert key not in unreadable.text
    assert key not in json.dumps(
        assert_valid_dead_letter(dead_letter_item(unreadable, 1, "*", ["r"]))
    )


# --- a lone surrogate -----------------------------------------------------------------------


def test_an_item_with_a_lone_surrogate_is_dead_lettered_as_valid_utf8_json() -> None:
    broken = museum_item("SK_A_4118")
    good = museum_item("SK_A_2344")
    text = page_text(
        [json.dumps(good), json.dumps(broken).replace("Het melkmeisje", "\\ud83d broken", 1)]
    )
    page = fetch_one(text)
    assert page.items[1]["title"] == ["\ud83d broken"]
    result = sort_page_items(page.items, CURSOR)
    assert [r.record_id for r in result.records] == ["europeana:/90402/SK_A_2344"]
    for record in result.records:  # what is published encodes
        envelope_for("europeana", record, "c", "t").to_json().encode("utf-8")
    [dead] = result.dead_letters
    assert dead.record_id == "europeana:/90402/SK_A_4118"
    payload = assert_valid_dead_letter(dead)
    [reason] = payload["reasons"]
    assert "item 2" in reason and "/90402/SK_A_4118" in reason and CURSOR[:20] in reason
    assert "title[0]" in reason and "surrogate" in reason and "\\ud83d" in reason
    assert "\\ud83d broken" in payload["raw"]  # escaped in the dead letter, as the reason says


def test_a_surrogate_in_a_key_or_in_the_id_gives_a_key_that_encodes() -> None:
    item = museum_item("SK_A_4118")
    item["id"] = "/90402/SK_\udc00"
    item["dcTitleLangAware"]["\ud800"] = ["x"]
    problems = item_problems(item, 7, CURSOR)
    assert any("id" in p for p in problems)
    assert any("dcTitleLangAware" in p and "\\ud800" in p for p in problems)
    dead = dead_letter_item(item, 7, CURSOR, problems)
    dead.record_id.encode("utf-8")
    assert dead.record_id.startswith("europeana:unidentified:")
    assert_valid_dead_letter(dead)


# --- wrong types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "found", "expected"),
    [
        ("title", 5, "a number", "a list of strings"),
        ("dcTitleLangAware", [], "a list", "an object"),
        ("edmIsShownBy", {"a": 1}, "an object", "a list of strings"),
        ("id", ["/1/2"], "a list", "a string"),
        ("dcCreator", ["Vermeer", 7], "a number", "a list of strings"),
        ("dcTitleLangAware", {"nl": "Het melkmeisje"}, "a string", "an object"),
        ("timestamp_update", {"$date": 1}, "an object", "a string"),
    ],
)
def test_a_field_of_the_wrong_type_is_named_with_both_types(
    field: str, value: Any, found: str, expected: str
) -> None:
    item = museum_item("SK_A_2344")
    item[field] = value
    problems = item_problems(item, 3, CURSOR)
    assert problems, f"{field}={value!r} was accepted"
    text = " ".join(problems)
    assert field in text and found in text and expected in text
    assert "item 3" in text and CURSOR[:20] in text
    assert_valid_dead_letter(dead_letter_item(item, 3, CURSOR, problems))


def test_a_null_field_counts_as_absent_as_the_record_contract_reads_it() -> None:
    item = museum_item("SK_A_2344")
    item["rights"] = None
    assert item_problems(item, 1, CURSOR) == []


def test_the_search_apis_own_fields_pass_unchecked() -> None:
    item = museum_item("SK_A_2344")
    item.update({"score": "high", "completeness": [1], "edmPreview": {"odd": True}})
    assert item_problems(item, 1, CURSOR) == []


@pytest.mark.parametrize("item", ["abc", 42, None, [museum_item("SK_A_2344")], True])
def test_an_item_that_is_not_an_object_is_dead_lettered(item: Any) -> None:
    [problem] = item_problems(item, 4, CURSOR)
    assert "item 4" in problem and "expected a JSON object" in problem
    payload = assert_valid_dead_letter(dead_letter_item(item, 4, CURSOR, [problem]))
    assert json.loads(payload["raw"]) == item


def test_a_page_with_one_bad_item_of_each_kind_keeps_the_good_ones() -> None:
    bad_type = museum_item("SK_C_1")
    bad_type["title"] = 5
    items = [
        json.dumps(museum_item("SK_A_1")),
        json.dumps(museum_item("SK_A_2")).replace("Het melkmeisje", "\\udc00", 1),
        json.dumps(museum_item("SK_A_3")),
        "[" * 5000 + "]" * 5000,
        json.dumps(bad_type),
        '"abc"',
        json.dumps(museum_item("SK_A_4")),
    ]
    page = fetch_one(page_text(items))
    result = sort_page_items(page.items, START_CURSOR)
    assert [r.record_id for r in result.records] == [
        f"europeana:/90402/SK_A_{n}" for n in (1, 3, 4)
    ]
    positions = [assert_valid_dead_letter(d)["position"] for d in result.dead_letters]
    assert positions == [2, 4, 5, 6]


# --- pages that cannot be read at all --------------------------------------------------------


def test_a_truncated_page_is_a_rejection_naming_the_cursor() -> None:
    text = page_text([json.dumps(museum_item("SK_A_2344"))])[:-40]
    with pytest.raises(EuropeanaPageError) as refused:
        fetch_one(text)
    assert isinstance(refused.value, SourceRejection)
    message = str(refused.value)
    assert "cursor *" in message and "not JSON" in message and "2 times" in message


def test_a_deeply_nested_header_member_does_not_crash_the_page() -> None:
    text = page_text([json.dumps(museum_item("SK_A_2344"))])
    text = text[:-1] + ',"facets": ' + deep_array(50_000) + "}"
    page = fetch_one(text)
    assert [item["id"] for item in page.items] == ["/90402/SK_A_2344"]
    assert page.next_cursor == "AoJnext"


# --- the scanner ----------------------------------------------------------------------------


def test_the_scanner_splits_items_respecting_strings_and_escapes() -> None:
    items = ['{"a": "],\\"[{"}', '[1, [2, {"b": "}"}]]', '"x\\\\"', "null", "-1.5e3"]
    split = split_json_object('{"n": 1, "items": [' + ", ".join(items) + '], "z": "}"}', "items")
    assert split.elements is not None
    assert [e.text for e in split.elements] == items
    assert [e.depth for e in split.elements] == [1, 3, 0, 0, 0]
    assert {name: json.loads(m.text) for name, m in split.members.items()} == {"n": 1, "z": "}"}


@pytest.mark.parametrize(
    "text",
    ['{"items": [1, 2', '{"items": [1, 2}', '{"items": ["a]}', '{"a" 1}', "[]", "", "{} x"],
)
def test_the_scanner_refuses_text_that_is_not_a_json_object(text: str) -> None:
    with pytest.raises(JsonSyntaxError) as refused:
        split_json_object(text, "items")
    assert isinstance(refused.value, SourceRejection)
    assert "character" in str(refused.value)


def test_a_page_is_read_without_the_network_and_keeps_its_cursor() -> None:
    text = page_text([json.dumps(museum_item("SK_A_2344")), deep_array(40)], "AoJnext")
    page = read_search_page(text, Secret("Key1"), CURSOR)
    assert page.next_cursor == "AoJnext" and page.total_results == 250
    assert isinstance(page.items[1], UnreadableItem) and "41 levels" not in page.items[1].reason
    assert "40 levels" in page.items[1].reason


@pytest.mark.parametrize(
    ("next_cursor", "found"), [(5, "a number"), (["AoJ"], "a list"), ("AoJ\ud800", "surrogate")]
)
def test_a_next_cursor_that_is_no_cursor_stops_the_harvest_clearly(
    next_cursor: Any, found: str
) -> None:
    text = json.dumps({"success": True, "nextCursor": next_cursor, "items": []})
    with pytest.raises(EuropeanaPageError) as refused:
        read_search_page(text, Secret("Key1"), CURSOR)
    assert found in str(refused.value) and CURSOR[:20] in str(refused.value)


def test_an_item_that_cannot_be_a_record_is_a_rejection_naming_it() -> None:
    item = museum_item("SK_A_2344")
    item["title"] = ["\udc00"]
    with pytest.raises(EuropeanaItemRejection) as refused:
        source_record_from_item(item)
    assert isinstance(refused.value, SourceRejection)
    assert "europeana item (id /90402/SK_A_2344)" in str(refused.value)
    assert refused.value.reasons == item_problems(item)


def test_the_scanner_agrees_with_json_on_real_json_documents(corpus_dir: Path) -> None:
    documents = sorted((corpus_dir / "iiif").rglob("*.json"))
    assert documents
    for path in documents:
        text = path.read_text(encoding="utf-8")
        decoded = json.loads(text)
        if not isinstance(decoded, dict):
            continue
        split = split_json_object(text, "items")
        members = {name: json.loads(m.text) for name, m in split.members.items()}
        if split.elements is not None:
            members["items"] = [json.loads(e.text) for e in split.elements]
        assert members == decoded, path.name


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    items=st.lists(JSON_VALUES, max_size=5),
    other=st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3),
    ascii_only=st.booleans(),
)
def test_the_scanner_agrees_with_json_on_any_page(
    items: list[Any], other: dict[str, Any], ascii_only: bool
) -> None:
    document = {**other, "items": items}
    text = json.dumps(document, ensure_ascii=ascii_only, indent=1 if ascii_only else None)
    split = split_json_object(text, "items")
    assert split.elements is not None
    assert [json.loads(e.text) for e in split.elements] == items
    assert {name: json.loads(m.text) for name, m in split.members.items()} == {
        name: value for name, value in document.items() if name != "items"
    }


def test_many_surrogates_make_one_readable_reason_list() -> None:
    item = museum_item("SK_A_2344")
    item["dcDescription"] = ["\ud800"] * 10_000
    problems = item_problems(item, 1, CURSOR)
    assert len(problems) == 21 and "9980 more such problems" in problems[-1]
