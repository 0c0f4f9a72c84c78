"""The demo's annotations end to end on a small sample: the simulator's tags and comments
reach analytics.annotations and the objects' tags, so the explorer's annotations facet and
the tag queries have rows; a second demo run makes none again."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from heritage.demo import DemoInput, annotation_counts, publish_demo_annotations
from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import produce_sample, run_stages
from heritage.postgres_db import connect
from heritage.settings import Settings

pytestmark = pytest.mark.integration

DEMO = DemoInput(records=40, seed=3, annotations=30)


def test_the_demo_annotations_reach_the_analytics_views(
    live_settings: Settings, layout: LakehouseLayout, spark: SparkSession
) -> None:
    produce_sample(live_settings, layout, DEMO.records, DEMO.seed, progress=False)
    line = publish_demo_annotations(live_settings, layout, DEMO, progress=False)
    assert line.startswith("annotations: ") and "comments" in line
    for stage in ("raw", "cleanse", "curate", "export"):
        run_stages(live_settings, layout, stage=stage, spark=spark)

    counts = annotation_counts(live_settings, layout)
    assert counts.annotations == DEMO.annotations
    assert counts.tags > 0 and counts.annotated_records > 0
    connection = connect(live_settings, layout.pg_database)
    with connection, connection.cursor() as cursor:
        # The facet's and the tag queries' rows (an annotation on a record that was
        # dead-lettered attaches to no object).
        cursor.execute("SELECT count(*) FROM analytics.objects WHERE annotation_count > 0")
        facet = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM analytics.objects, unnest(tags) AS tag")
        tags = cursor.fetchone()
    connection.close()
    assert facet is not None and 0 < facet[0] <= counts.annotated_records
    assert tags is not None and 0 < tags[0] <= counts.tags

    again = publish_demo_annotations(live_settings, layout, DEMO, progress=False)
    assert again == f"annotations: already on {layout.annotations_topic} from an earlier run"
