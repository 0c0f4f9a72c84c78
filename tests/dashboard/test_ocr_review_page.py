"""The OCR review page with Streamlit's AppTest, against records with OCR pages and fields
written to PostgreSQL and page texts stored in the object store; and its labels, which need
no services."""

from __future__ import annotations

import os
from typing import Any

import pytest
from ocr_sample_pages import (
    BRIEF,
    BROKEN,
    LEDGER,
    LETTER,
    LETTER_PAGE_2,
    OcrSample,
    insert_ocr_records,
)
from streamlit.testing.v1 import AppTest

from heritage.dashboard.launch import app_path
from heritage.dashboard.ocr_labels import (
    LOW_CONFIDENCE_MARK,
    field_rows,
    page_choice,
    queue_rows,
    shown_count,
    snippet_markdown,
)
from heritage.dashboard.ocr_queries import MATCH_END, MATCH_START
from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import object_store_client
from heritage.settings import Settings


@pytest.fixture
def ocr_sample(app_env: None, live_settings: Settings, layout: LakehouseLayout) -> OcrSample:
    return insert_ocr_records(live_settings, layout)


def open_ocr_page(database: str | None = None) -> AppTest:
    if database:
        os.environ["PGDATABASE"] = database
    app = AppTest.from_file(str(app_path()), default_timeout=60).run()
    app.switch_page("ocr_review_page.py").run()
    assert not app.exception, app.exception
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


@pytest.mark.integration
def test_the_queue_lists_flagged_pages_lowest_confidence_first_and_pages_on(
    ocr_sample: OcrSample, layout: LakehouseLayout
) -> None:
    app = open_ocr_page(layout.pg_database)
    assert _metrics(app) == {
        "pages to review": "29",
        "low confidence": "27",
        "blank pages": "1",
        "unreadable files": "1",
    }
    queue = app.dataframe[0].value
    assert len(queue) == 20
    assert list(queue["Record"])[:4] == [BRIEF, BROKEN, LETTER, LEDGER]
    assert list(queue["Page"])[:3] == ["1", "whole file", "2"]
    assert list(queue["Reason"])[:3] == [
        "blank page",
        "cannot identify image file",
        "low confidence 54.1 < 70",
    ]
    assert list(queue["Confidence"])[2:4] == [54.1, 60.1]
    assert LETTER not in list(queue["Record"])[3:]  # its confident page 1 is not queued

    app.button(key="ocr_next").click().run()
    assert not app.exception, app.exception
    second = app.dataframe[0].value
    assert len(second) == 9
    assert list(second["Record"])[-1] == BRIEF and list(second["Rotation"])[-1] == "90°"
    assert "page 2" in " ".join(caption.value for caption in app.caption)
    assert app.button(key="ocr_next").disabled
    app.button(key="ocr_previous").click().run()
    assert list(app.dataframe[0].value["Record"])[:2] == [BRIEF, BROKEN]


@pytest.mark.integration
def test_filters_narrow_the_queue_and_its_counts(
    ocr_sample: OcrSample, layout: LakehouseLayout
) -> None:
    app = open_ocr_page(layout.pg_database)
    assert app.multiselect(key="ocr_providers").options == ["Harbour Museum", "Stadsarchief"]
    assert app.multiselect(key="ocr_languages").options == ["deu", "eng", "nld"]
    app.multiselect(key="ocr_providers").set_value(["Harbour Museum"]).run()
    assert list(app.dataframe[0].value["Record"]) == [BROKEN, LETTER]
    assert _metrics(app)["pages to review"] == "2"

    app.multiselect(key="ocr_providers").set_value([]).run()
    app.multiselect(key="ocr_languages").set_value(["nld"]).run()
    assert list(app.dataframe[0].value["Page"]) == ["1", "2"]

    app.multiselect(key="ocr_languages").set_value([]).run()
    app.slider(key="ocr_below").set_value(60).run()
    assert list(app.dataframe[0].value["Record"]) == [BRIEF, BROKEN, LETTER]
    assert _metrics(app)["blank pages"] == "1"

    # Every page below 95, flagged or not: the letter's confident first page joins.
    app.checkbox(key="ocr_flagged_only").uncheck().run()
    app.slider(key="ocr_below").set_value(95).run()
    assert not app.exception, app.exception
    assert _metrics(app)["pages to review"] == "30"
    app.slider(key="ocr_below").set_value(91).run()
    assert _metrics(app)["pages to review"] == "29"


@pytest.mark.integration
def test_a_chosen_page_shows_its_text_and_fields(
    ocr_sample: OcrSample, layout: LakehouseLayout
) -> None:
    app = open_ocr_page(layout.pg_database)
    choice = app.selectbox(key="ocr_page_choice")
    index = next(i for i, label in enumerate(choice.options) if LETTER in label)
    choice.select_index(index).run()
    assert not app.exception, app.exception
    assert app.code[0].value == LETTER_PAGE_2
    fields = app.dataframe[1].value
    assert list(fields["Kind"]) == ["Date", "Name"]
    assert list(fields["On the page"]) == ["12 March 1894", "J. Smyth"]
    assert list(fields["Normalised"]) == ["1894-03-12", "Smith, John"]
    assert list(fields["Check"]) == ["", LOW_CONFIDENCE_MARK]
    captions = " ".join(caption.value for caption in app.caption)
    assert "2 fields · 1 to check (low confidence)" in captions
    assert "confidence 54.1" in captions

    index = next(i for i, label in enumerate(choice.options) if BROKEN in label)
    app.selectbox(key="ocr_page_choice").select_index(index).run()
    captions = " ".join(caption.value for caption in app.caption)
    assert "The file could not be read: cannot identify image file." in captions


@pytest.mark.integration
def test_a_page_whose_text_is_missing_from_the_store_says_so(
    live_settings: Settings, ocr_sample: OcrSample, layout: LakehouseLayout
) -> None:
    object_store_client(live_settings).remove_object(
        live_settings.bucket, ocr_sample.letter_text_key
    )
    app = open_ocr_page(layout.pg_database)
    choice = app.selectbox(key="ocr_page_choice")
    index = next(i for i, label in enumerate(choice.options) if LETTER in label)
    choice.select_index(index).run()
    assert not app.exception, app.exception
    assert "not in the object store" in app.warning[0].value


@pytest.mark.integration
def test_search_finds_words_of_the_ocr_text_with_a_snippet(
    ocr_sample: OcrSample, layout: LakehouseLayout
) -> None:
    app = open_ocr_page(layout.pg_database)
    app.text_input(key="ocr_search").input("harbour master").run()
    assert not app.exception, app.exception
    snippets = [m.value for m in app.markdown if "**harbour**" in m.value]
    assert len(snippets) == 1 and "**master**" in snippets[0]
    assert any(LETTER in caption.value for caption in app.caption)
    app.text_input(key="ocr_search").input("walrus").run()
    assert "No OCR text holds all these words." in app.info[0].value


@pytest.mark.integration
def test_the_page_before_any_ocr(app_env: None, layout: LakehouseLayout) -> None:
    app = open_ocr_page(layout.pg_database)
    assert not app.error
    assert "No page awaits review" in app.info[0].value
    assert set(_metrics(app).values()) == {"0"}


@pytest.mark.integration
def test_the_page_when_the_database_is_down(app_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPORT", "1")  # nothing listens there
    app = open_ocr_page()
    assert "cannot be reached" in app.error[0].value


def _queued(**values: Any) -> dict[str, Any]:
    row = {
        "record_id": "csv:x:1",
        "title": None,
        "data_provider": "P",
        "file": "scan.pdf",
        "page": 3,
        "confidence": 41.27,
        "language": "frk",
        "rotation": 180,
        "words": 12,
        "reason": "low confidence 41.3 < 70",
    }
    return {**row, **values}


def test_queue_rows_read_as_the_table_shows_them() -> None:
    assert queue_rows([_queued()]) == [
        {
            "Confidence": 41.3,
            "Reason": "low confidence 41.3 < 70",
            "Record": "csv:x:1",
            "Title": "",
            "Provider": "P",
            "File": "scan.pdf",
            "Page": "3",
            "Language": "frk",
            "Rotation": "180°",
            "Words": 12,
        }
    ]
    unreadable = queue_rows([_queued(page=0, confidence=None, rotation=None, reason="corrupt")])
    assert unreadable[0]["Page"] == "whole file"
    assert unreadable[0]["Confidence"] is None and unreadable[0]["Rotation"] == ""
    assert page_choice(_queued()) == "41.3 · csv:x:1 · scan.pdf p. 3 · low confidence 41.3 < 70"
    assert page_choice(_queued(confidence=None, reason=None)) == (
        "no confidence · csv:x:1 · scan.pdf p. 3"
    )


def test_flagged_fields_carry_a_mark_and_unknown_kinds_stay_as_they_are() -> None:
    field = {
        "kind": "watermark",
        "value": "1894",
        "normalised": None,
        "confidence": 0.333,
        "rule": "date:year",
        "uri": None,
        "flagged": True,
    }
    assert field_rows([field]) == [
        {
            "Check": LOW_CONFIDENCE_MARK,
            "Kind": "watermark",
            "On the page": "1894",
            "Normalised": "",
            "Confidence": 0.33,
            "Link": "",
            "Rule": "date:year",
        }
    ]


def test_a_snippet_bolds_the_matches_and_escapes_the_rest() -> None:
    snippet = (
        f"the {MATCH_START}harbour{MATCH_END} of *Rotterdam*\n\nwas {MATCH_START}closed{MATCH_END}"
    )
    assert snippet_markdown(snippet) == (r"the **harbour** of \*Rotterdam\* was **closed**")
    assert snippet_markdown(None) == ""
    assert [shown_count(n, 100) for n in (0, 100, 101)] == ["0", "100", "100+"]
