"""The pipeline's stages, in the order they run: the one list behind ``heritage lakehouse run``
(``--stage``, ``--skip``, ``--continuous``), the demo, the benchmarks and docker compose.

A stage is a module with ``run(context: StageContext) -> StageResult``; adding one is adding
its module and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from heritage.stage_contract import StageRunner


@dataclass(frozen=True)
class RegisteredStage:
    name: str
    # The module whose ``run(context)`` is the stage's adapter.
    module: str
    # One line for --help and the docs.
    description: str
    # In continuous mode the stage runs as a streaming query (started once) instead of on
    # every cycle.
    streaming: bool = False
    # In continuous mode a non-streaming stage runs on every cycle, or, when this is set,
    # on the first cycle and then once this many seconds have passed since its last run.
    period_s: float | None = None

    def runner(self) -> StageRunner:
        module = importlib.import_module(self.module)
        run: StageRunner = module.run
        return run


STAGES: list[RegisteredStage] = [
    RegisteredStage(
        "raw",
        "heritage.spark_apps.raw_stage",
        "Kafka topics -> raw Delta tables",
        streaming=True,
    ),
    RegisteredStage(
        "cleanse",
        "heritage.spark_apps.cleanse_stage",
        "raw -> cleansed records and annotations, invalid input to the dead-letter table",
        streaming=True,
    ),
    RegisteredStage(
        "ml",
        "heritage.ml.ml_stage",
        "fetch images, embed, near-duplicates, canonical ids and similar objects",
    ),
    RegisteredStage(
        "ocr",
        "heritage.ml.record_ocr_stage",
        "OCR of the images of records of the read types (TEXT) whose source sent no text",
    ),
    RegisteredStage(
        "curate",
        "heritage.spark_apps.curate_stage",
        "cleansed records + annotations + canonical ids + record OCR -> curated records",
    ),
    RegisteredStage(
        "publication",
        "heritage.spark_apps.publication_stage",
        "embargo states, the rights check before release, publication events, IIIF manifests",
        period_s=3600,
    ),
    RegisteredStage(
        "export",
        "heritage.spark_apps.export_stage",
        "curated tables -> PostgreSQL for analysts",
    ),
]


def stage_names() -> list[str]:
    return [stage.name for stage in STAGES]


def select_stages(only: str | None = None, skip: Sequence[str] = ()) -> list[RegisteredStage]:
    """The registered stages to run: one by name, or all in order less those in ``skip``."""
    known = stage_names()
    for name in [*([only] if only else []), *skip]:
        if name not in known:
            raise ValueError(f"unknown stage {name!r}; the stages are {', '.join(known)}")
    if only:
        return [stage for stage in STAGES if stage.name == only]
    return [stage for stage in STAGES if stage.name not in skip]
