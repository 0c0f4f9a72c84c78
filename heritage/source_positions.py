"""Skip a batch run (availableNow) of a streaming query whose source has not moved.

An availableNow query costs a second or more even when there is nothing to read: it plans,
reads its checkpoint, asks its source for offsets and stops. Over the six queries of raw and
cleanse that was a third of an incremental run. So before a batch run the stage reads where
its source is (a Delta table version, or a Kafka topic's end offsets) and, once the query has
run to the end, stores that position in the query's checkpoint directory. When the next run
finds the same position, everything up to it has been processed already (an availableNow
query reads at least up to where its source was when it started) and the query is not
started.

Failure modes are on the safe side: a crash before the store costs one unneeded run (the
query itself is idempotent), and deleting a checkpoint deletes its position with it.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import SparkSession

from heritage.hadoop_paths import read_text, write_text

POSITION_FILE = "_heritage_source_position"


def stored_position(spark: SparkSession, checkpoint: str) -> str | None:
    """The source position the query's last complete batch run started from, if any."""
    return read_text(spark, f"{checkpoint}/{POSITION_FILE}")


def run_unless_unmoved(
    spark: SparkSession, checkpoint: str, position: str, run: Callable[[], object]
) -> bool:
    """Run ``run`` (a batch run of the query checkpointed at ``checkpoint``) unless its
    source is still at ``position``, read before the call; True when it ran."""
    if stored_position(spark, checkpoint) == position:
        return False
    run()
    write_text(spark, f"{checkpoint}/{POSITION_FILE}", position)
    return True
