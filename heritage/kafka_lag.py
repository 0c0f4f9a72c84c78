"""Kafka consumer lag of the raw stage: the topics' end offsets minus the offsets the raw
stage last recorded in ``heritage.pipeline_runs`` (its queries keep offsets in checkpoints,
not in consumer groups, so Kafka alone cannot say). The dashboard and the metrics exporter
both show it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    end_offset: int
    ingested_offset: int

    @property
    def lag(self) -> int:
        return max(0, self.end_offset - self.ingested_offset)


def partition_lags(
    end_offsets: Mapping[str, Mapping[int, int]], ingested: Mapping[str, Mapping[str, int]]
) -> list[PartitionLag]:
    """Lag per topic partition; a partition the raw stage has not read yet lags by all of it."""
    lags = []
    for topic in sorted(end_offsets):
        done = ingested.get(topic, {})
        for partition in sorted(end_offsets[topic]):
            lags.append(
                PartitionLag(
                    topic,
                    partition,
                    end_offsets[topic][partition],
                    int(done.get(str(partition), 0)),
                )
            )
    return lags
