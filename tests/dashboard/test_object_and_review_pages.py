"""The object page and the duplicates review as a curator uses them, with Streamlit's
AppTest against a collection the real pipeline produced: labelled fields and readable dates,
titles by language, the record's JSON, the full image from the object store; members
compared side by side, merge choices named by title, and an undo that keeps the history."""

from __future__ import annotations

import dataclasses
import io

import pytest
from dashboard_fixtures import DashboardData
from PIL import Image, ImageDraw
from test_dashboard_pages import all_text, open_page

from heritage.dashboard.field_labels import FIELD_LABELS, pixel_size
from heritage.dashboard.thumbnails import viewer_image_bytes
from heritage.postgres_db import connect
from heritage.settings import Settings

pytestmark = pytest.mark.integration


def chart(size: tuple[int, int]) -> Image.Image:
    """A test chart: a labelled grid every 100 px over a gradient, so a zoomed view shows
    detail the fitted view does not."""
    width, height = size
    image = Image.radial_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 100):
        draw.line([(x, 0), (x, height)], fill=(200, 40, 40), width=2)
    for y in range(0, height, 100):
        draw.line([(0, y), (width, y)], fill=(40, 40, 200), width=2)
        for x in range(0, width, 100):
            draw.text((x + 6, y + 6), f"{x},{y}", fill=(255, 255, 0))
    return image


def store_original(settings: Settings, database: str, record_id: str, size: tuple[int, int]) -> str:
    """An original image where the ML job stores it (beside the thumbnail, by sha256)."""
    from heritage.object_store import object_store_client

    connection = connect(settings, database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "UPDATE heritage.object_images SET width = %s, height = %s WHERE record_id = %s "
            "RETURNING thumbnail_key, sha256",
            (*size, record_id),
        )
        thumbnail_key, sha256 = cursor.fetchone()  # type: ignore[misc]
    connection.close()
    key = f"{thumbnail_key.rsplit('/thumbnails/', 1)[0]}/original/{sha256}"
    buffer = io.BytesIO()
    chart(size).save(buffer, format="PNG")
    object_store_client(settings).put_object(
        settings.bucket, key, io.BytesIO(buffer.getvalue()), buffer.tell(), "image/png"
    )
    # The pages keep the store's answer for minutes, and an earlier page view in this
    # process may have found no original for this record.
    viewer_image_bytes.clear()
    return key


def title_languages_of(settings: Settings, database: str, record_id: str) -> dict[str, list[str]]:
    connection = connect(settings, database)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT titles FROM heritage.objects WHERE record_id = %s", (record_id,))
        titles = cursor.fetchone()[0]  # type: ignore[index]
    connection.close()
    return dict(titles)


def test_object_page_reads_as_a_catalogue_record(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    database = dashboard_data.layout.pg_database
    canonical = sorted(dashboard_data.groups)[0]
    store_original(live_settings, database, canonical, (900, 600))
    app = open_page("object_page.py", database, record_id=canonical)
    fields = {row["field"]: row["value"] for row in app.table[-1].value.to_dict("records")}
    assert set(fields) == set(FIELD_LABELS.values())
    assert fields["Identifier"] == canonical
    harvested = fields["Harvested"]
    assert harvested.endswith(" UTC") and "." not in harvested and "+00" not in harvested
    text = all_text(app)
    assert "Full image" in text and pixel_size(900, 600) in text
    assert "date_original" not in text and "canonical_id" not in text

    viewers = [e for e in app.get("iframe") if "OpenSeadragon" in str(e.proto)]
    assert len(viewers) == 1, "the deep-zoom viewer is on the page"
    assert [e for e in app.get("download_button") if "JSON" in str(e.proto)]

    titles = title_languages_of(live_settings, database, canonical)
    if len(titles) > 1:
        radio = app.radio(key=f"title_language-{canonical}")
        other = next(code for code in sorted(titles) if code != radio.value)
        radio.set_value(other).run()
        assert app.header[0].value == " / ".join(titles[other])


def test_a_record_without_a_stored_original_says_so(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    member = sorted(dashboard_data.groups.items())[0][1][-1]
    app = open_page("object_page.py", dashboard_data.layout.pg_database, record_id=member)
    text = all_text(app)
    assert "The full image is not shown: the original is not in the object store." in text
    assert not app.get("iframe")
    assert app.image, "the thumbnail is shown at its own size"


def test_merge_choices_are_named_by_title(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    database = dashboard_data.layout.pg_database
    app = open_page("duplicates_page.py", database)
    choices = app.selectbox(key="merge-target-0").options
    assert choices
    connection = connect(live_settings, database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT record_id, title FROM heritage.objects WHERE record_id = ANY(%s)",
            (list(dashboard_data.groups),),
        )
        titles = dict(cursor.fetchall())
    connection.close()
    expected = {f"{title} — {record_id}" for record_id, title in titles.items()}
    shown = [b for b in app.button if b.key and b.key.startswith("confirm-")]
    assert set(choices) <= expected and len(choices) == len(shown) - 1
    comparison = app.table[0].value
    assert list(comparison.iloc[:, 0]) == [
        "Title",
        "Creator",
        "Date",
        "Description",
        "Provider",
        "Image size",
    ]
    assert pixel_size(64, 48) in comparison.to_string()  # as seeded


def test_undo_takes_back_the_latest_action_and_keeps_the_history(
    app_env: None, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    database = dashboard_data.layout.pg_database
    app = open_page("duplicates_page.py", database)
    app.text_input(key="decided_by").input("undoer").run()
    assert "Nothing of undoer's to undo." in all_text(app)
    canonical = app.markdown[0].value.split("`")[1]
    pairs = len(dashboard_data.groups[canonical]) - 1
    app.button(key="confirm-0").click().run()
    assert f"stored {pairs} pair decision(s)" in app.success[0].value
    noun = "pair" if pairs == 1 else "pairs"
    assert f"Latest action of undoer: {pairs} {noun} marked the same on " in all_text(app)

    app.button(key="undo-latest").click().run()
    assert not app.exception
    assert f"Undone: {pairs} pair decision(s)" in app.success[0].value
    assert "Nothing of undoer's to undo." in all_text(app)
    statuses = app.dataframe[-1].value
    assert "undone" in set(statuses["status"]) and "undoer" in set(statuses["decided_by"])

    connection = connect(live_settings, database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.decision, u.decision FROM heritage.duplicate_decisions d "
            "LEFT JOIN heritage.duplicate_decisions u ON u.undoes = d.decision_id "
            "WHERE d.decided_by = 'undoer' AND d.decision <> 'undone'"
        )
        assert cursor.fetchall() == [("same", "undone")] * pairs
        cursor.execute(
            "SELECT count(*) FROM analytics.duplicate_decisions WHERE decided_by = 'undoer'"
        )
        assert cursor.fetchone() == (0,)
        cursor.execute(
            "SELECT count(*) FROM heritage.effective_duplicate_decisions "
            "WHERE decided_by = 'undoer'"
        )
        assert cursor.fetchone() == (0,)
    connection.close()


def test_an_undo_is_stored_once_and_only_as_the_curator_may(
    live_settings: Settings, dashboard_data: DashboardData
) -> None:
    import psycopg2
    import psycopg2.extras

    from heritage.dashboard.review_decisions import (
        confirm_group,
        curator_connection,
        decision_entries,
        latest_action,
        record_decisions,
        record_undo,
    )

    settings = dataclasses.replace(live_settings, pg_database=dashboard_data.layout.pg_database)
    assert record_decisions(settings, confirm_group("u:/1", ["u:/1", "u:/2"]), "twice", None) == 1
    connection = curator_connection(settings)
    connection.autocommit = True
    try:
        with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(
                "SELECT * FROM analytics.duplicate_decision_history WHERE decided_by = 'twice'"
            )
            action = latest_action(decision_entries(cursor.fetchall()), "twice")
            assert len(action) == 1
            assert record_undo(settings, action, "twice", "wrong pair") == 1
            assert record_undo(settings, action, "bea", None) == 0  # already undone
            with pytest.raises(psycopg2.errors.CheckViolation):
                cursor.execute(
                    "INSERT INTO heritage.duplicate_decisions "
                    "(record_id, other_record_id, decision, decided_by) "
                    "VALUES ('u:/1', 'u:/2', 'undone', 'x')"
                )
            for statement in (
                "UPDATE heritage.duplicate_decisions SET decision = 'same'",
                "DELETE FROM heritage.duplicate_decisions",
                "SELECT * FROM heritage.duplicate_decisions",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(statement)
    finally:
        connection.close()
