"""What one export of a Delta table into PostgreSQL needs: ``ExportSpec``.

Its own module so that every export (records, annotations, rejections, the ML tables) can
describe itself without importing the module that runs the exports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class ExportSpec:
    """One Delta table exported into PostgreSQL through a staging table."""

    # Delta path read through its change data feed (unless ``changes``); the watermark's key.
    source: str
    # The PostgreSQL table the staged rows land in (vacuumed after a bulk export).
    table: str
    # Change-feed rows -> staged rows, columns in the order of ``staging``.
    to_rows: Callable[[DataFrame], DataFrame]
    # (column, PostgreSQL type) of the temporary staging table.
    staging: tuple[tuple[str, str], ...]
    # Statements applying the staged rows, run in order inside the export's transaction.
    apply: tuple[str, ...]
    # The source may not exist yet (written by a stage that has not run): then skip it.
    optional: bool = False
    # For a source without a change data feed: (session, exported version) -> (staged
    # rows, the version they bring PostgreSQL to), or None when nothing is newer.
    changes: Callable[[SparkSession, int], tuple[DataFrame, int] | None] | None = None
