"""The dashboard's pure parts without services: query builders, review decisions, lag,
rights labels, pipeline-run rows, and a scan that keeps SQL parameterized."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from heritage.dashboard.explorer_queries import (
    COUNT_CAP,
    PUBLISHED_CONDITION,
    ExploreFilters,
    date_bounds_query,
    explore_count_query,
    explore_query,
    facet_values_query,
    languages_query,
    total_query,
)
from heritage.dashboard.review_decisions import (
    PairDecision,
    confirm_group,
    merge_groups,
    split_member,
)
from heritage.dashboard.rights_labels import rights_label
from heritage.kafka_lag import partition_lags
from heritage.pipeline_runs import stage_run_rows

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", " WHERE ", " FROM ")


def test_first_page_and_later_pages_use_keyset_pagination() -> None:
    everything = ExploreFilters(include_unpublished=True)
    sql, params = explore_query(everything, None, 20)
    assert "WHERE" not in sql and sql.endswith("ORDER BY o.record_id LIMIT %s")
    assert params == (21,)
    sql, params = explore_query(everything, "europeana:/1/x", 20)
    assert "o.record_id > %s" in sql and params == ("europeana:/1/x", 21)


def test_only_published_objects_unless_unpublished_are_asked_for() -> None:
    sql, params = explore_query(ExploreFilters(), "e:/2", 20)
    assert f"WHERE {PUBLISHED_CONDITION} AND o.record_id > %s" in sql
    assert params == ("e:/2", 21)
    sparse_sql, _ = explore_query(ExploreFilters(), None, 20, few_matches=True)
    assert PUBLISHED_CONDITION + " OFFSET 0) o" in sparse_sql
    count_sql, _ = explore_count_query(ExploreFilters())
    assert PUBLISHED_CONDITION in count_sql
    for shown, everything in (
        (facet_values_query("object_type")[0], facet_values_query("object_type", True)[0]),
        (languages_query()[0], languages_query(True)[0]),
        (date_bounds_query()[0], date_bounds_query(True)[0]),
        (total_query()[0], total_query(True)[0]),
        (
            explore_count_query(ExploreFilters())[0],
            explore_count_query(ExploreFilters(include_unpublished=True))[0],
        ),
    ):
        assert PUBLISHED_CONDITION in repr(shown) and PUBLISHED_CONDITION not in repr(everything)


def test_every_filter_becomes_a_placeholder_in_order() -> None:
    filters = ExploreFilters(
        search="  portrait -winter ",
        providers=("Rijksmuseum",),
        object_types=("IMAGE", "TEXT"),
        rights=("http://rightsstatements.org/vocab/InC/1.0/",),
        languages=("nl",),
        date_from=date(1600, 1, 1),
        date_to=date(1700, 12, 31),
        has_duplicates=True,
        has_annotations=True,
    )
    sql, params = explore_query(filters, "e:/2", 10)
    assert sql.count("%s") == len(params)
    assert params == (
        "portrait -winter",
        ["Rijksmuseum"],
        ["IMAGE", "TEXT"],
        ["http://rightsstatements.org/vocab/InC/1.0/"],
        ["nl"],
        date(1600, 1, 1),
        date(1700, 12, 31),
        "e:/2",
        11,
    )
    assert "websearch_to_tsquery('simple', %s)" in sql
    assert "o.has_duplicates" in sql and "o.published" in sql
    assert "o.annotation_count > 0" in sql
    assert "portrait" not in sql  # user text only ever travels as a parameter


def test_few_matches_are_gathered_from_the_indexes_then_sorted() -> None:
    filters = ExploreFilters(search="windmills", languages=("hu",))
    dense_sql, dense_params = explore_query(filters, "e:/2", 20)
    sparse_sql, sparse_params = explore_query(filters, "e:/2", 20, few_matches=True)
    assert sparse_params == dense_params
    assert "OFFSET 0) o" in sparse_sql and "OFFSET 0" not in dense_sql
    assert sparse_sql.endswith("ORDER BY o.record_id LIMIT %s")


def test_count_is_capped() -> None:
    sql, params = explore_count_query(ExploreFilters(search="x"))
    assert "LIMIT %s) AS matches" in sql and params == ("x", COUNT_CAP + 1)


def test_facets_only_list_whitelisted_columns() -> None:
    facet_values_query("data_provider")
    with pytest.raises(ValueError, match="not one of"):
        facet_values_query("title; DROP TABLE heritage.objects")


def test_review_actions_become_ordered_pair_decisions() -> None:
    assert confirm_group("e:/b", ["e:/b", "e:/a", "e:/c"]) == [
        PairDecision("e:/a", "e:/b", "same"),
        PairDecision("e:/b", "e:/c", "same"),
    ]
    assert split_member("e:/c", ["e:/b", "e:/a", "e:/c"]) == [
        PairDecision("e:/b", "e:/c", "different"),
        PairDecision("e:/a", "e:/c", "different"),
    ]
    assert merge_groups("e:/z", "e:/a") == [PairDecision("e:/a", "e:/z", "same")]
    assert confirm_group("e:/a", ["e:/a"]) == []
    with pytest.raises(ValueError, match="not a member"):
        split_member("e:/x", ["e:/a", "e:/b"])
    with pytest.raises(ValueError, match="itself"):
        merge_groups("e:/a", "e:/a")


def test_lag_is_end_minus_ingested_and_unread_partitions_lag_fully() -> None:
    lags = partition_lags(
        {"heritage.records": {0: 120, 1: 80}, "heritage.annotations": {0: 5}},
        {"heritage.records": {"0": 100, "1": 80}},
    )
    assert [(lag.topic, lag.partition, lag.lag) for lag in lags] == [
        ("heritage.annotations", 0, 5),
        ("heritage.records", 0, 20),
        ("heritage.records", 1, 0),
    ]


def test_rights_labels() -> None:
    assert rights_label("http://rightsstatements.org/vocab/InC/1.0/") == "In Copyright"
    assert rights_label("http://creativecommons.org/licenses/by-sa/4.0/") == (
        "CC BY-SA 4.0 (Attribution-ShareAlike)"
    )
    assert rights_label("http://creativecommons.org/publicdomain/mark/1.0/") == (
        "Public Domain Mark 1.0"
    )
    assert rights_label("http://example.org/odd") == "http://example.org/odd"


def test_only_the_raw_stage_run_carries_offsets() -> None:
    rows = stage_run_rows(
        [("raw", 10, 1.23456), ("cleanse", 9, 2.0)], {"heritage.records": {"0": 10}}
    )
    assert rows == [
        ("raw", 10, 1.235, '{"heritage.records": {"0": 10}}'),
        ("cleanse", 9, 2.0, None),
    ]


def sql_built_by_formatting(source: str) -> list[int]:
    """Lines where SQL text is built with an f-string, % or .format (not psycopg2's sql)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        text = None
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod)
            and isinstance(node.left, ast.Constant)
        ):
            text = str(node.left.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant)
        ):
            text = str(node.func.value.value)
        if text and any(word in text.upper() for word in SQL_WORDS):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_formatted_sql() -> None:
    bad = 'q = f"SELECT * FROM t WHERE id = {x}"\nr = "DELETE FROM t WHERE a = %s" % y\n'
    assert sql_built_by_formatting(bad) == [1, 2]


@pytest.mark.parametrize("path", sorted(DASHBOARD.glob("*.py")), ids=lambda p: p.name)
def test_dashboard_sql_is_parameterized(path: Path) -> None:
    assert sql_built_by_formatting(path.read_text(encoding="utf-8")) == []
