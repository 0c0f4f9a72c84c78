"""`heritage lakehouse maintain` and `history`: compaction, safe vacuum, and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

# Delta's own default; files younger than this may still be read by a running query or a
# time-travel reader, so VACUUM never goes below it.
MINIMUM_RETENTION_HOURS = 168


class MaintenanceError(ValueError):
    """A maintenance request that would be unsafe; the message says what is allowed."""


@dataclass(frozen=True)
class MaintenanceResult:
    table: str
    files_compacted: int
    files_added: int
    vacuumed: bool


def maintain_table(
    spark: SparkSession, name: str, path: str, retention_hours: int = MINIMUM_RETENTION_HOURS
) -> MaintenanceResult:
    """OPTIMIZE (bin-packing compaction), then VACUUM keeping ``retention_hours`` of history."""
    if retention_hours < MINIMUM_RETENTION_HOURS:
        raise MaintenanceError(
            f"maintain {name}: VACUUM retention {retention_hours} h is below the safe minimum "
            f"of {MINIMUM_RETENTION_HOURS} h (running readers and time travel need those files)"
        )
    table = DeltaTable.forPath(spark, path)
    metrics = table.optimize().executeCompaction().select("metrics").first()
    removed = int(metrics[0]["numFilesRemoved"]) if metrics else 0
    added = int(metrics[0]["numFilesAdded"]) if metrics else 0
    table.vacuum(float(retention_hours))
    return MaintenanceResult(name, removed, added, True)


def table_history(spark: SparkSession, path: str, limit: int = 20) -> list[dict[str, object]]:
    """The newest ``limit`` commits: version, time, operation, its parameters and metrics."""
    rows = (
        DeltaTable.forPath(spark, path)
        .history(limit)
        .select(
            "version",
            F.date_format("timestamp", "yyyy-MM-dd HH:mm:ss").alias("timestamp"),
            "operation",
            "operationParameters",
            "operationMetrics",
        )
        .collect()
    )
    return [row.asDict() for row in rows]
