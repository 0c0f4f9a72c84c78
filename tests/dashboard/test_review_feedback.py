"""The review loop end to end: a curator's decision, stored as the review page stores it,
changes canonical ids after the next ML and curate run (and export), the object page shows
the new group, and an undone decision no longer counts on the run after."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest
from psycopg2.extras import RealDictCursor
from pyspark.sql import SparkSession
from streamlit.testing.v1 import AppTest

from heritage.dashboard.launch import app_path
from heritage.dashboard.review_decisions import (
    DecisionEntry,
    decision_entries,
    latest_action,
    record_undo,
)
from heritage.lakehouse_layout import LakehouseLayout
from heritage.postgres_db import connect
from heritage.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_images(monkeypatch: pytest.MonkeyPatch, live_settings: Settings) -> Iterator[str]:
    """As `heritage demo` does: the sample's images from the local demo image server."""
    from heritage.ml.demo_image_server import serve_demo_images

    with serve_demo_images(0) as image_base:
        allow = image_base.removeprefix("http://").rstrip("/")
        monkeypatch.setenv("HERITAGE_IMAGE_FETCH_ALLOW", allow)
        # The fetcher reads the settings' variables, which were read before this fixture.
        monkeypatch.setitem(live_settings.environment, "HERITAGE_IMAGE_FETCH_ALLOW", allow)
        yield image_base


def canonical_ids(settings: Settings, layout: LakehouseLayout) -> dict[str, str | None]:
    connection = connect(settings, layout.pg_database)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT record_id, canonical_id FROM heritage.objects")
        rows = dict(cursor.fetchall())
    connection.close()
    return rows


def decision_history(settings: Settings, layout: LakehouseLayout) -> list[DecisionEntry]:
    connection = connect(settings, layout.pg_database)
    with connection, connection.cursor(cursor_factory=RealDictCursor) as cursor:
        cursor.execute("SELECT * FROM analytics.duplicate_decision_history")
        rows = cursor.fetchall()
    connection.close()
    return decision_entries(rows)


def rerun_ml_curate_export(
    settings: Settings, layout: LakehouseLayout, spark: SparkSession
) -> None:
    from heritage.pipeline import run_stages

    for stage in ("ml", "curate", "export"):
        run_stages(settings, layout, stage=stage, spark=spark)


def test_merge_then_split_changes_canonical_ids_and_the_object_page_shows_it(
    app_env: None,
    live_settings: Settings,
    layout: LakehouseLayout,
    spark: SparkSession,
    demo_images: str,
) -> None:
    from heritage.dashboard.connection_pool import cached_rows
    from heritage.dashboard.review_decisions import merge_groups, record_decisions, split_member
    from heritage.pipeline import produce_sample, run_stages

    produce_sample(live_settings, layout, 60, 4, progress=False, image_base_url=demo_images)
    run_stages(live_settings, layout, spark=spark)
    before = canonical_ids(live_settings, layout)
    groups: dict[str, list[str]] = {}
    for record_id, canonical in sorted(before.items()):
        groups.setdefault(canonical or record_id, []).append(record_id)
    curator = dataclasses.replace(live_settings, pg_database=layout.pg_database)
    if len(groups) >= 2:  # merge two groups, then split one record off again
        first, second = sorted(groups)[:2]
        record_decisions(curator, merge_groups(first, second), "ada", "same painting")
        rerun_ml_curate_export(live_settings, layout, spark)
        merged = canonical_ids(live_settings, layout)
        assert merged[first] == merged[second] is not None
        members = sorted(r for r, c in merged.items() if c == merged[second])
        shown_group = merged
    else:  # the encoder put everything in one group: only the split is checked
        members = groups[next(iter(groups))]
        first, second = members[0], members[-1]
        shown_group = before
    group_size = sum(1 for c in shown_group.values() if c == shown_group[second])

    os.environ["PGDATABASE"] = layout.pg_database
    cached_rows.clear()
    app = AppTest.from_file(str(app_path()), default_timeout=60).run()
    app.query_params["record_id"] = second
    app.switch_page("object_page.py").run()
    assert not app.exception
    assert any(f"{group_size} members" in c.value for c in app.caption), group_size

    record_decisions(curator, split_member(second, members), "ada", "different states")
    rerun_ml_curate_export(live_settings, layout, spark)
    split = canonical_ids(live_settings, layout)
    assert split[first] != split[second]

    # Undo the split (the latest action): the pair is one group again, the history whole.
    action = latest_action(decision_history(live_settings, layout), "ada")
    assert {e.decision for e in action} == {"different"}
    assert record_undo(curator, action, "ada", "split by mistake") == len(action)
    rerun_ml_curate_export(live_settings, layout, spark)
    undone = canonical_ids(live_settings, layout)
    assert undone[first] == undone[second] is not None
