"""Mapping harvested OAI-PMH records onto the common record model, in the harvest thread or
in worker processes.

Mapping (``metadata_mapping.map_record``) is the largest CPU cost of a harvest, and Python
runs one thread at a time, so a harvester that must keep up with a fast repository can map
in a few worker processes while its own process fetches, hashes and publishes. Both mappers
give the same outcome for the same record: the worker re-parses the ``<record>`` XML the
harvest thread serialised, with the same XXE-safe parser, repairs and recovery
(``parse_record_xml``), and a record that cannot be read or mapped is an outcome with its
reason, never an exception that crosses the process boundary.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from typing import Any, Protocol

from heritage.producers.metadata_mapping import MappingError, map_record
from heritage.producers.oai_pmh_protocol import OAI_NS, OaiRecord, parse_record_xml
from heritage.publication_settings import PublicationPolicy
from heritage.source_rejections import SourceRejection

# (the mapped record, or None with the reason it could not be mapped)
MappingOutcome = tuple[dict[str, Any] | None, str | None]

_METADATA = f"{{{OAI_NS}}}metadata"


def map_metadata(
    metadata_prefix: str, metadata: Any, policy: PublicationPolicy | None = None
) -> MappingOutcome:
    """The child of <metadata> mapped, or the reason it cannot be."""
    if metadata is None:
        return None, "record has no <metadata>"
    try:
        return map_record(metadata_prefix, metadata, policy), None
    except (MappingError, SourceRejection) as error:
        return None, str(error)


class MappingWorkerFailed(RuntimeError):
    """A mapping worker failed on something other than the input; carries the original
    error as text, because not every exception (lxml's among them) can be pickled back."""


def map_record_xml_batch(
    metadata_prefix: str, record_xmls: list[str], policy: PublicationPolicy | None = None
) -> list[MappingOutcome]:
    """Map serialised <record> elements (what a worker process receives)."""
    try:
        return [_map_record_xml(metadata_prefix, text, policy) for text in record_xmls]
    except Exception as error:
        raise MappingWorkerFailed(
            f"mapping {metadata_prefix} records in a worker process failed: "
            f"{type(error).__name__}: {error}; rerun with --mapping-workers 0 to see where"
        ) from None


def _map_record_xml(
    metadata_prefix: str, text: str, policy: PublicationPolicy | None
) -> MappingOutcome:
    try:
        record = parse_record_xml(text)
    except SourceRejection as error:
        return None, str(error)
    container = record.find(_METADATA)
    child = None
    if container is not None:
        child = next((c for c in container if isinstance(c.tag, str)), None)
    return map_metadata(metadata_prefix, child, policy)


class RecordMapper(Protocol):
    def map_records(self, metadata_prefix: str, records: list[OaiRecord]) -> list[MappingOutcome]:
        """One outcome per record, in order."""
        ...

    def close(self) -> None: ...


class InlineMapper:
    """Maps in the calling thread."""

    def __init__(self, policy: PublicationPolicy | None = None) -> None:
        self._policy = policy

    def map_records(self, metadata_prefix: str, records: list[OaiRecord]) -> list[MappingOutcome]:
        return [map_metadata(metadata_prefix, r.metadata, self._policy) for r in records]

    def close(self) -> None:
        return None


class ProcessMapper:
    """Maps in ``workers`` processes, each page split evenly between them. Processes are
    spawned, not forked: the harvester runs Kafka and HTTP threads that a fork would copy
    mid-operation."""

    def __init__(self, workers: int, policy: PublicationPolicy | None = None) -> None:
        if workers < 1:
            raise ValueError(f"mapping workers must be at least 1, got {workers}")
        self._workers = workers
        self._policy = policy
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def map_records(self, metadata_prefix: str, records: list[OaiRecord]) -> list[MappingOutcome]:
        if not records:
            return []
        size = -(-len(records) // self._workers)
        chunks = [
            [record.xml for record in records[start : start + size]]
            for start in range(0, len(records), size)
        ]
        outcomes: list[MappingOutcome] = []
        batches = self._pool.map(
            map_record_xml_batch, repeat(metadata_prefix), chunks, repeat(self._policy)
        )
        for part in batches:
            outcomes.extend(part)
        return outcomes

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def record_mapper(workers: int, policy: PublicationPolicy | None = None) -> RecordMapper:
    """In-thread mapping for 0 workers, else a process pool of that size; ``policy`` is the
    publication policy embargo dates are read by (loaded once per harvest)."""
    return InlineMapper(policy) if workers <= 0 else ProcessMapper(workers, policy)
