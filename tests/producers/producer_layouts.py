"""A deployment layout for producer tests: the test's own topics and a state folder under
tmp_path, so ledgers and resume state never touch the product's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from heritage.kafka_topics import ANNOTATIONS_TOPIC, DEAD_LETTER_TOPIC
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings


def producer_layout(
    settings: Settings,
    state_dir: Path,
    records_topic: str,
    dead_letter_topic: str = DEAD_LETTER_TOPIC,
    annotations_topic: str = ANNOTATIONS_TOPIC,
) -> LakehouseLayout:
    return replace(
        LakehouseLayout.default(settings),
        records_topic=records_topic,
        dead_letter_topic=dead_letter_topic,
        annotations_topic=annotations_topic,
        producer_state_dir=state_dir,
    )
