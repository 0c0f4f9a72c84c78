"""The object page's and the duplicates review's pure parts without services: field labels,
readable dates, titles by language, the record's JSON, the deep-zoom viewer's image and
page, merge labels, the member comparison, and which decisions are in effect after undos."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from PIL import Image

from heritage.dashboard.deep_zoom import (
    ImageNotViewable,
    fitted_size,
    viewer_html,
    viewer_image,
)
from heritage.dashboard.duplicate_labels import (
    action_summary,
    comparison_rows,
    merge_label,
    shortened,
)
from heritage.dashboard.field_labels import (
    FIELD_LABELS,
    MISSING,
    field_label,
    field_rows,
    parsed_titles,
    pixel_size,
    readable_datetime,
    readable_value,
    record_json,
    title_in,
    title_languages,
)
from heritage.dashboard.review_decisions import (
    DecisionEntry,
    decision_entries,
    effective_entries,
    latest_action,
    standing_decisions,
)
from heritage.dashboard.thumbnails import original_key

AT = datetime(2026, 12, 6, 17, 40, 12, 983397, tzinfo=UTC)


def test_fields_read_as_catalogue_labels_not_column_names() -> None:
    record = {"record_id": "e:/1", "date_original": "c. 1650", "canonical_id": "e:/1"}
    rows = field_rows({**record, "languages": ["nl", "xx"]})
    labels = [row["field"] for row in rows]
    assert labels[:3] == ["Identifier", "Source", "Creator"]
    assert not any("_" in label for label in labels)
    values = {row["field"]: row["value"] for row in rows}
    assert values["Date"] == "c. 1650"
    assert values["Duplicate group (canonical record)"] == "e:/1"
    assert values["Description"] == MISSING
    assert values["Language"] == "Nederlands (nl), xx"
    assert field_label("date_original") == "Date"
    assert field_label("ocr_confidence") == "Ocr confidence"
    assert len(set(FIELD_LABELS.values())) == len(FIELD_LABELS)


def test_timestamps_read_in_utc_to_the_minute() -> None:
    assert readable_datetime(AT) == "6 Dec 2026, 17:40 UTC"
    amsterdam = AT.astimezone(timezone(timedelta(hours=1)))
    assert readable_datetime(amsterdam) == "6 Dec 2026, 17:40 UTC"
    assert readable_datetime(datetime(2026, 1, 2, 3, 4, 5, 6)) == "2 Jan 2026, 03:04 UTC"
    assert readable_value(date(1650, 3, 1)) == "1 Mar 1650"
    assert readable_value(None) == readable_value("") == readable_value([]) == MISSING
    assert readable_value(["Rembrandt", "workshop"]) == "Rembrandt, workshop"
    assert readable_value(12) == "12"
    assert "983397" not in field_rows({"ingested_at": AT})[-1]["value"]


def test_titles_by_language_with_the_main_title_first() -> None:
    titles = parsed_titles('{"nl": ["Portret van een vrouw"], "en": ["Portrait of a Woman"]}')
    languages = title_languages(titles, "Portrait of a Woman")
    assert languages == ["en", "nl"]
    assert title_languages(titles, "Portret van een vrouw") == ["nl", "en"]
    assert title_in(titles, "nl", "Portrait of a Woman") == "Portret van een vrouw"
    assert title_in(titles, "fr", "Portrait of a Woman") == "Portrait of a Woman"
    assert title_in(titles, None, "Main") == "Main"
    assert parsed_titles(None) == {} and parsed_titles({"en": []}) == {}


def test_the_record_downloads_as_json_with_iso_dates() -> None:
    record = {
        "record_id": "e:/1",
        "titles": '{"en": ["A"]}',
        "date_start": date(1650, 1, 1),
        "ingested_at": AT,
        "creators": ["X"],
        "thumbnail_key": "not exported",
    }
    document = json.loads(
        record_json(record, ("record_id", "titles", "date_start", "ingested_at", "creators"))
    )
    assert document == {
        "record_id": "e:/1",
        "titles": {"en": ["A"]},
        "date_start": "1650-01-01",
        "ingested_at": "2026-12-06T17:40:12.983397Z",
        "creators": ["X"],
    }


def picture(width: int, height: int, fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), "teal").save(buffer, format=fmt)
    return buffer.getvalue()


def test_the_viewer_gets_the_original_bounded_and_never_enlarged() -> None:
    assert fitted_size(8000, 2000, 4096) == (4096, 1024)
    assert fitted_size(300, 200, 4096) == (300, 200)
    small = picture(300, 200, "JPEG")
    as_stored = viewer_image(small)
    assert (as_stored.data, as_stored.mime, as_stored.width, as_stored.height) == (
        small,
        "image/jpeg",
        300,
        200,
    )
    large = viewer_image(picture(1000, 400, "PNG"), max_side=500)
    assert (large.width, large.height, large.mime) == (500, 200, "image/jpeg")
    assert Image.open(io.BytesIO(large.data)).size == (500, 200)
    tiff = viewer_image(picture(40, 30, "TIFF", "RGBA"))
    assert (tiff.mime, tiff.width, tiff.height) == ("image/png", 40, 30)
    with pytest.raises(ImageNotViewable, match="not a decodable image"):
        viewer_image(b"not an image")


def test_the_viewer_page_inlines_openseadragon_and_the_image() -> None:
    page = viewer_html(viewer_image(picture(30, 20, "PNG")), "A <b>title</b> 'quoted'", 500)
    assert "OpenSeadragon" in page and "//! openseadragon 5." in page
    assert "data:image/png;base64," in page
    assert '"drawer": "canvas"' in page and "/app/static/openseadragon/images/" in page
    assert "<script src" not in page and "<link" not in page  # nothing loaded from elsewhere
    assert "<b>title</b>" not in page


def test_the_original_is_stored_beside_its_thumbnail() -> None:
    key = "ns/images/thumbnails/ab12.jpg"
    assert original_key(key, "ab12") == "ns/images/original/ab12"
    assert original_key("images/thumbnails/ab12.jpg", "ab12") == "images/original/ab12"
    assert original_key(None, "ab12") is None
    assert original_key(key, None) is None
    assert original_key("elsewhere/ab12.jpg", "ab12") is None


def entry(
    decision_id: int,
    decision: str,
    by: str = "ada",
    minute: int = 0,
    pair: tuple[str, str] = ("e:/a", "e:/b"),
    undoes: int | None = None,
) -> DecisionEntry:
    at = datetime(2026, 12, 6, 17, minute, tzinfo=UTC)
    return DecisionEntry(decision_id, *pair, decision, by, at, undoes)


def test_an_undone_decision_no_longer_stands_and_the_previous_one_does() -> None:
    history = [entry(1, "same"), entry(2, "different", minute=1), entry(3, "undone", undoes=2)]
    assert [e.decision_id for e in effective_entries(history)] == [1]
    assert standing_decisions(history) == {("e:/a", "e:/b"): "same"}
    assert standing_decisions([*history, entry(4, "undone", undoes=1)]) == {}
    # The view's undone_by column says the same without the undo row in hand.
    flagged = [DecisionEntry(2, "e:/a", "e:/b", "different", "ada", AT, None, 3)]
    assert effective_entries(flagged) == []


def test_undo_steps_back_one_action_of_the_reviewer_at_a_time() -> None:
    other_pair = ("e:/a", "e:/c")
    history = [
        entry(1, "same", minute=1),
        entry(2, "same", minute=2),
        entry(3, "same", minute=2, pair=other_pair),
        entry(4, "different", by="bea", minute=3),
    ]
    assert [e.decision_id for e in latest_action(history, "ada")] == [2, 3]
    history += [entry(5, "undone", minute=4, undoes=2), entry(6, "undone", minute=4, undoes=3)]
    assert [e.decision_id for e in latest_action(history, "ada")] == [1]
    assert [e.decision_id for e in latest_action(history, "bea")] == [4]
    assert latest_action(history, "cy") == []
    assert action_summary(latest_action(history, "ada")) == (
        "1 pair marked the same on 6 Dec 2026, 17:01 UTC"
    )


def test_history_rows_become_entries() -> None:
    rows = [
        {
            "decision_id": 7,
            "record_id": "e:/a",
            "other_record_id": "e:/b",
            "decision": "undone",
            "decided_by": "ada",
            "decided_at": AT,
            "undoes": 5,
            "undone_by": None,
        }
    ]
    assert decision_entries(rows) == [DecisionEntry(7, "e:/a", "e:/b", "undone", "ada", AT, 5)]


def test_merge_choices_read_title_then_record_id() -> None:
    titles = {"e:/a": "Portrait of a Woman", "e:/b": None, "e:/c": "  "}
    assert merge_label("e:/a", titles) == "Portrait of a Woman — e:/a"
    assert merge_label("e:/b", titles) == "e:/b"
    assert merge_label("e:/c", titles) == "e:/c"
    assert merge_label("e:/z", titles) == "e:/z"


def test_members_compare_side_by_side() -> None:
    members = [
        {
            "record_id": "e:/a",
            "canonical_id": "e:/a",
            "title": "Harbour",
            "creators": ["J. van Goyen"],
            "date_original": "1650",
            "description": "word " * 100,
            "data_provider": "Rijksmuseum",
            "width": 4000,
            "height": 3000,
        },
        {"record_id": "e:/b", "canonical_id": "e:/a", "title": "Harbour (copy)"},
    ]
    rows = {row[""]: row for row in comparison_rows(members)}
    assert list(rows) == ["Title", "Creator", "Date", "Description", "Provider", "Image size"]
    assert rows["Title"] == {"": "Title", "e:/a (canonical)": "Harbour", "e:/b": "Harbour (copy)"}
    assert rows["Image size"]["e:/a (canonical)"] == pixel_size(4000, 3000)
    assert pixel_size(4000, 3000) == "4,000 \N{MULTIPLICATION SIGN} 3,000 px"
    assert rows["Image size"]["e:/b"] == "unknown"
    assert rows["Creator"]["e:/b"] == MISSING
    described = rows["Description"]["e:/a (canonical)"]
    assert described.endswith("…") and len(described) <= 160


def test_shortened_cuts_at_a_word() -> None:
    assert shortened("A short note.") == "A short note."
    assert shortened("  spaced\n out  ") == "spaced out"
    assert shortened("alpha beta gamma", limit=12) == "alpha beta…"
    assert shortened(None) == MISSING
    assert shortened("x" * 50, limit=10) == "x" * 9 + "…"
