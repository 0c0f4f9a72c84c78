"""What every pipeline stage receives and returns.

A stage is one module with a ``run(context: StageContext) -> StageResult`` adapter that reads
its inputs, calls pure transforms and writes its outputs; it is listed once in
:mod:`heritage.stage_registry`. The context carries the deployment (settings and layout), a
Spark session started on first use, and typed configuration objects loaded once through the
settings (environment > ``.state/local.env`` > defaults), so a stage that finds nothing new
returns without starting anything expensive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ConfigT = TypeVar("ConfigT")


@dataclass
class StageContext:
    """One run's deployment, Spark session and configuration, shared by every stage."""

    settings: Settings
    layout: LakehouseLayout
    # Builds the Spark session the first time a stage asks for it.
    spark_factory: Callable[[Settings], SparkSession]
    # Show progress bars (on a terminal).
    progress: bool = False
    # Set in continuous mode: streaming stages start a query with this processingTime
    # trigger (e.g. "30 seconds") and return; None runs once over what is available.
    processing_time: str | None = None
    _spark: SparkSession | None = field(default=None, repr=False)
    _configs: dict[Callable[[Settings], Any], Any] = field(default_factory=dict, repr=False)

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = self.spark_factory(self.settings)
        return self._spark

    @property
    def spark_started(self) -> bool:
        return self._spark is not None

    def config(self, loader: Callable[[Settings], ConfigT]) -> ConfigT:
        """The typed configuration ``loader`` reads from the settings, loaded once per run."""
        if loader not in self._configs:
            self._configs[loader] = loader(self.settings)
        loaded: ConfigT = self._configs[loader]
        return loaded


@dataclass(frozen=True)
class StageResult:
    """What one run of a stage did."""

    stage: str
    # Input rows the stage processed in this run (0 when nothing was new).
    rows: int
    # One line for people, e.g. "1,000 records, 12 dead-lettered".
    summary: str
    # True when the stage found no new input and wrote nothing.
    nothing_new: bool = False
    # Figures for JSON output and the pipeline_runs table.
    figures: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def idle(cls, stage: str) -> StageResult:
        return cls(stage=stage, rows=0, summary="nothing new", nothing_new=True)


class StageRunner(Protocol):
    """The adapter each stage module exposes as ``run``."""

    def __call__(self, context: StageContext) -> StageResult: ...
