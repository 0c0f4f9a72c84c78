"""The OCR review page's SQL: constant text with placeholders, bounded, keyset pagination in
the review order; and, against the real views as the read-only role, that every query runs,
that walking the queue page by page gives every flagged page once in the views' order, and
that the text search can use the full-text index."""

from __future__ import annotations

import dataclasses

import pytest
from ocr_sample_pages import BROKEN, LEDGER, LEDGER_PAGES, LETTER, insert_ocr_records

from heritage.dashboard.connection_pool import DatabaseAddress, Rows, run_query
from heritage.dashboard.explorer_queries import Query
from heritage.dashboard.ocr_queries import (
    COUNT_CAP,
    HEADLINE_OPTIONS,
    NO_CONFIDENCE,
    OcrReviewFilters,
    QueueCursor,
    language_options_query,
    page_fields_query,
    provider_options_query,
    queue_cursor,
    review_counts_query,
    review_queue_query,
    text_search_query,
)
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings

EVIL = "x'); DROP TABLE heritage.objects; --"
SORT_KEY = "(coalesce(p.confidence, -1), p.record_id, coalesce(p.file, ''), coalesce(p.page, -1))"
ORDER = " ORDER BY " + SORT_KEY + " LIMIT %s"


def every_query(filters: OcrReviewFilters) -> list[Query]:
    return [
        review_queue_query(filters, None, 20),
        review_queue_query(filters, QueueCursor(54.1, "csv:a", "scan.pdf", 2), 20),
        review_counts_query(filters),
        provider_options_query(filters.flagged_only),
        language_options_query(filters.flagged_only),
        page_fields_query("csv:a", "scan.pdf", 2),
        text_search_query("harbour master", filters.providers, 20),
    ]


def test_the_first_page_of_the_queue_reads_the_flagged_pages_in_review_order() -> None:
    text, params = review_queue_query(OcrReviewFilters(), None, 20)
    assert " FROM analytics.ocr_review p ORDER BY" in text and " WHERE " not in text
    assert text.endswith(ORDER) and params == (21,)


def test_later_pages_start_after_the_cursor() -> None:
    cursor = queue_cursor({"confidence": None, "record_id": "csv:b", "file": "f.pdf", "page": 0})
    assert cursor == QueueCursor(NO_CONFIDENCE, "csv:b", "f.pdf", 0)
    text, params = review_queue_query(OcrReviewFilters(), cursor, 20)
    assert " WHERE " + SORT_KEY + " > (%s, %s, %s, %s) ORDER BY" in text
    assert params == (NO_CONFIDENCE, "csv:b", "f.pdf", 0, 21)


def test_filters_become_placeholders_in_order() -> None:
    filters = OcrReviewFilters(
        providers=("Stadsarchief",), languages=("nld", "eng+deu"), below=60.0, flagged_only=False
    )
    text, params = review_queue_query(filters, None, 10)
    assert " FROM analytics.ocr_pages p WHERE p.data_provider = ANY(%s)" in text
    assert "p.language = ANY(%s)" in text
    assert "(p.confidence < %s OR (p.confidence IS NULL AND p.flagged))" in text
    assert params == (["Stadsarchief"], ["nld", "eng+deu"], 60.0, 11)
    counts, count_params = review_counts_query(filters)
    assert "FROM analytics.ocr_pages p WHERE" in counts and count_params[-1] == COUNT_CAP + 1


def test_the_search_binds_the_words_twice_and_bounds_the_snippets() -> None:
    text, params = text_search_query("harbour", ("Harbour Museum",), 20)
    assert params == ("harbour", HEADLINE_OPTIONS, "harbour", ["Harbour Museum"], 20)
    assert "o.search_document @@ plainto_tsquery('simple', %s)" in text
    # The snippets are made outside the limited subquery: for the listed rows only.
    assert text.index("ts_headline") < text.index(
        "OFFSET 0) AS f ORDER BY f.record_id LIMIT %s) AS m"
    )


@pytest.mark.parametrize(
    "filters",
    [OcrReviewFilters(), OcrReviewFilters((EVIL,), (EVIL,), 50.0, flagged_only=False)],
    ids=["no filter", "every filter"],
)
def test_user_input_stays_out_of_the_sql_and_every_query_is_bounded(
    filters: OcrReviewFilters,
) -> None:
    for text, params in every_query(filters):
        assert EVIL not in text and "harbour" not in text
        assert "LIMIT %s" in text
        assert text.count("%s") == len(params)


def rows(settings: Settings, layout: LakehouseLayout, query: Query) -> Rows:
    address = DatabaseAddress.reader(dataclasses.replace(settings, pg_database=layout.pg_database))
    return run_query(address, *query)


@pytest.mark.integration
def test_every_query_runs_as_the_reader_on_the_views(
    live_settings: Settings, layout: LakehouseLayout
) -> None:
    insert_ocr_records(live_settings, layout)
    for filters in (OcrReviewFilters(), OcrReviewFilters(("Harbour Museum",), ("eng",), 60.0)):
        for query in every_query(filters):
            rows(live_settings, layout, query)
    assert rows(live_settings, layout, provider_options_query(True)) == [
        {"value": "Harbour Museum"},
        {"value": "Stadsarchief"},
    ]
    fields = rows(live_settings, layout, page_fields_query(LETTER, "data/letter.tif", 2))
    assert [field["kind"] for field in fields] == ["date", "name"]
    assert [field["flagged"] for field in fields] == [False, True]


@pytest.mark.integration
def test_walking_the_queue_gives_every_flagged_page_once_in_the_views_order(
    live_settings: Settings, layout: LakehouseLayout
) -> None:
    insert_ocr_records(live_settings, layout)
    walked: Rows = []
    cursor = None
    while True:
        page = rows(live_settings, layout, review_queue_query(OcrReviewFilters(), cursor, 4))
        walked += page[:4]
        if len(page) <= 4:
            break
        cursor = queue_cursor(page[3])
    assert walked == rows(live_settings, layout, review_queue_query(OcrReviewFilters(), None, 100))
    review = rows(live_settings, layout, ("SELECT confidence FROM analytics.ocr_review", ()))
    assert [row["confidence"] for row in walked] == [row["confidence"] for row in review]
    assert len(walked) == LEDGER_PAGES + 4
    assert walked[1]["record_id"] == BROKEN and walked[1]["page"] == 0
    assert sum(1 for row in walked if row["record_id"] == LEDGER) == LEDGER_PAGES


@pytest.mark.integration
def test_the_text_search_can_use_the_full_text_index(
    live_settings: Settings, layout: LakehouseLayout
) -> None:
    insert_ocr_records(live_settings, layout)
    text, params = text_search_query("harbour master", (), 20)
    with connect(live_settings, layout.pg_database) as connection, connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + text, params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    connection.close()
    assert "objects_search_document_idx" in plan, plan
