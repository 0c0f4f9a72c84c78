"""What a producer run tells its user: one line per rejected record, then one summary line.

A rejected record reads ``file:line record_id: reason; reason`` (the record id alone when
there is no file), so an operator can open the file at that line or find the message in
the dead-letter topic. The summary reads ``lido: 1,204 read, 1,180 published, 20 rejected,
4 unchanged`` for every producer, with what is particular to the source after it. Records
published but flagged invalid by the record contract (an ``invalid`` field on a result,
where the producer reports one) are listed too.

Everything here is pure: it builds text from the result objects the producers return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from heritage.producers.csv_drop import CsvDropResult, csv_record_id
from heritage.producers.europeana_client import EuropeanaHarvestResult
from heritage.producers.kafka_publisher import PublishResult
from heritage.producers.lido_drop import LidoDropResult
from heritage.producers.oai_pmh_harvester import HarvestResult
from heritage.producers.simulators.annotation_simulator import AnnotationRunResult

if TYPE_CHECKING:  # the scan producer loads Tesseract; only its own command imports it
    from heritage.producers.scan_drop import ScanDropResult

_WHITESPACE = re.compile(r"\s+")
# Keys derived from a hash of unusable input: they name nothing a sender can look up.
_UNIDENTIFIED = ":unidentified:"


@dataclass(frozen=True)
class ProducerReport:
    """The counts of one producer run and the lines that explain its rejections."""

    source: str
    # Records (or rows, or annotations) the producer read or made.
    read: int
    # Messages sent to the records topic in this run.
    published: int
    # Records sent to the dead-letter topic (or already there from an earlier run).
    rejected: int
    # Records already published with the same content by an earlier run: not sent again.
    unchanged: int
    # One line per rejected record.
    rejection_lines: tuple[str, ...] = ()
    # Records published but flagged invalid by the record contract.
    invalid: int = 0
    # One line per such record, where the producer lists them.
    invalid_lines: tuple[str, ...] = ()
    # Problems that are no one record's (a harvest list that failed), one line each.
    problem_lines: tuple[str, ...] = ()
    # What is particular to the source (files read, removals, a stop before the end...).
    notes: tuple[str, ...] = ()

    @property
    def has_rejections(self) -> bool:
        """Whether ``--strict`` fails the run: anything rejected or flagged invalid."""
        return self.rejected > 0 or self.invalid > 0

    def summary_line(self) -> str:
        counts = (
            f"{self.source}: {self.read:,} read, {self.published:,} published, "
            f"{self.rejected:,} rejected, {self.unchanged:,} unchanged"
        )
        if self.invalid:
            counts += f", {self.invalid:,} published but invalid"
        return counts + (f" ({'; '.join(self.notes)})" if self.notes else "")

    def lines(self) -> list[str]:
        """What the command prints on stdout: the rejections, the invalid records, other
        problems, the summary last."""
        return [
            *self.rejection_lines,
            *self.invalid_lines,
            *self.problem_lines,
            self.summary_line(),
        ]


def shown_path(path: Path | str, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (the working directory) when it lies below it, so a
    line names the file the way the user passed it; otherwise as it is. Either may have
    been reached through a symbolic link, so the resolved paths are compared too."""
    candidate = Path(path)
    if base is not None and candidate.is_absolute():
        for inside, root in ((candidate, base), (candidate.resolve(), base.resolve())):
            if inside.is_relative_to(root):
                return str(inside.relative_to(root))
    return str(candidate)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) as one space."""
    return _WHITESPACE.sub(" ", text).strip()


def rejection_line(
    reasons: Iterable[str],
    *,
    file: Path | str | None = None,
    line: int | None = None,
    record_id: str | None = None,
    base: Path | None = None,
) -> str:
    """``file:line record_id: reason; reason``; without a file, ``record_id: reasons``.

    A reason that repeats the file's name as its prefix loses that prefix, and a record id
    made from a hash of unreadable input is left out when the file and line say more.
    """
    where: list[str] = []
    if file is not None:
        shown = shown_path(file, base)
        where.append(f"{shown}:{line}" if line is not None else shown)
    if record_id and not (file is not None and _UNIDENTIFIED in record_id):
        where.append(record_id)
    prefixes = tuple(f"{name}: " for name in {str(file), shown_path(file, base)}) if file else ()
    texts = []
    for reason in reasons:
        text = one_line(str(reason))
        for prefix in prefixes:
            text = text.removeprefix(prefix)
        texts.append(text)
    head = " ".join(where) or "(unknown record)"
    return f"{head}: {'; '.join(texts) or 'no reason given'}"


def _reasons_of(item: object) -> list[str]:
    reasons = getattr(item, "reasons", None)
    if reasons is None:
        reason = getattr(item, "reason", None)
        return [str(reason)] if reason is not None else []
    if isinstance(reasons, str):
        return [reasons]
    return [str(reason) for reason in reasons]


def flagged_line(item: object, base: Path | None = None) -> str:
    """The line of one record a result lists: an object with ``file``, ``line``,
    ``record_id`` and ``reasons`` (or ``reason``), a ``(record_id, reasons)`` pair, or
    text."""
    if isinstance(item, str):
        return one_line(item)
    if isinstance(item, tuple) and len(item) == 2:
        record_id, reasons = item
        listed = [reasons] if isinstance(reasons, str) else [str(r) for r in reasons]
        return rejection_line(listed, record_id=str(record_id), base=base)
    file = getattr(item, "file", None)
    line = getattr(item, "line", None)
    record_id = getattr(item, "record_id", None)
    return rejection_line(
        _reasons_of(item),
        file=file if isinstance(file, Path | str) else None,
        line=line if isinstance(line, int) else None,
        record_id=str(record_id) if record_id is not None else None,
        base=base,
    )


def invalid_records(result: object, base: Path | None = None) -> tuple[int, tuple[str, ...]]:
    """How many records ``result`` says were published but flagged invalid by the record
    contract, and their lines: its ``invalid`` field is a count or a list of records; a
    result without one has none."""
    flagged = getattr(result, "invalid", None)
    if flagged is None or isinstance(flagged, bool):
        return 0, ()
    if isinstance(flagged, int):
        return flagged, ()
    if isinstance(flagged, Iterable):
        items = list(flagged)
        return len(items), tuple(f"{flagged_line(i, base)} (published, invalid)" for i in items)
    return 0, ()


def _sum_invalid(results: Sequence[object], base: Path | None) -> tuple[int, tuple[str, ...]]:
    count = 0
    lines: list[str] = []
    for result in results:
        more, more_lines = invalid_records(result, base)
        count += more
        lines.extend(more_lines)
    return count, tuple(lines)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def lido_report(result: LidoDropResult, base: Path | None = None) -> ProducerReport:
    invalid, invalid_lines = invalid_records(result, base)
    notes = [_plural(result.files, "file")]
    if result.rejected_files:
        notes.append(f"{_plural(result.rejected_files, 'unreadable file')} among the rejected")
    if result.oai_deleted_headers:
        notes.append(f"{result.oai_deleted_headers:,} OAI-PMH deletions left to the harvester")
    return ProducerReport(
        source="lido",
        read=result.records,
        published=result.published,
        rejected=result.rejected,
        unchanged=result.skipped,
        rejection_lines=tuple(
            rejection_line(r.reasons, file=r.file, line=r.line, record_id=r.record_id, base=base)
            for r in result.rejections
        ),
        invalid=invalid,
        invalid_lines=invalid_lines,
        notes=tuple(notes),
    )


def csv_report(
    result: CsvDropResult, path: Path, collection: str, base: Path | None = None
) -> ProducerReport:
    invalid, invalid_lines = invalid_records(result, base)
    notes = [
        f"{result.new:,} new, {result.changed:,} changed, {result.removed:,} removed",
    ]
    if result.tombstones_withheld:
        notes.append("removals withheld: some bad rows have no readable id")
    return ProducerReport(
        source="csv",
        read=result.rows + len(result.bad_rows),
        published=result.published,
        rejected=result.rejected,
        unchanged=result.unchanged,
        rejection_lines=tuple(
            rejection_line(
                [row.reason],
                file=path,
                line=row.line,
                record_id=csv_record_id(collection, row.row_id) if row.row_id else None,
                base=base,
            )
            for row in result.bad_rows
        ),
        invalid=invalid,
        invalid_lines=invalid_lines,
        notes=tuple(notes),
    )


def europeana_report(result: EuropeanaHarvestResult, base: Path | None = None) -> ProducerReport:
    invalid, invalid_lines = invalid_records(result, base)
    notes = [_plural(result.pages, "page")]
    if result.unidentified:
        notes.append(f"{result.unidentified:,} without a usable id, left to the cleanse stage")
    notes.append("finished" if result.finished else "stopped before the end: rerun to resume")
    return ProducerReport(
        source="europeana",
        read=result.records,
        published=result.published,
        rejected=result.rejected,
        unchanged=result.skipped,
        rejection_lines=tuple(flagged_line(item, base) for item in result.rejections),
        invalid=invalid,
        invalid_lines=invalid_lines,
        notes=tuple(notes),
    )


def oai_report(result: HarvestResult, base: Path | None = None) -> ProducerReport:
    """Each list's dead letters are rejections (a malformed page counts as one); a list that
    failed is named with its error, since a rerun resumes it."""
    lists = result.lists
    rejected = sum(item.dead_lettered for item in lists)
    duplicates = sum(item.duplicates_dropped for item in lists)
    read = result.published + result.already_published + rejected + duplicates
    invalid, invalid_lines = _sum_invalid([result, *lists], base)
    rejection_lines = tuple(
        flagged_line(item, base)
        for source in (result, *lists)
        for item in getattr(source, "rejections", ())
    )
    unlisted = rejected - len(rejection_lines)
    what = "page or record" if unlisted == 1 else "pages or records"
    unlisted_lines = (
        (
            f"{result.endpoint}: {unlisted:,} {what} dead-lettered without a line here; the "
            "reasons are in the dead-letter topic and the log",
        )
        if unlisted > 0
        else ()
    )
    failed_lines = tuple(
        f"{result.endpoint} {item.metadata_prefix}"
        f"{'/' + item.set_spec if item.set_spec else ''}: list failed: "
        f"{one_line(item.error or 'did not complete')}; rerun to resume it"
        for item in lists
        if not item.completed
    )
    notes = [result.endpoint, _plural(len(lists), "list")]
    tombstones = sum(item.tombstones for item in lists)
    if tombstones:
        notes.append(f"{tombstones:,} deletions")
    unmapped = sum(item.mapping_failures for item in lists)
    if unmapped:
        notes.append(f"{unmapped:,} published without a mapped record")
    if duplicates:
        notes.append(f"{duplicates:,} duplicates dropped")
    if failed_lines:
        notes.append(f"{_plural(len(failed_lines), 'list')} failed")
    return ProducerReport(
        source="oai",
        read=read,
        published=result.published,
        rejected=rejected,
        unchanged=result.already_published,
        rejection_lines=rejection_lines,
        invalid=invalid,
        invalid_lines=invalid_lines,
        problem_lines=(*unlisted_lines, *failed_lines),
        notes=tuple(notes),
    )


def sample_report(result: PublishResult, base: Path | None = None) -> ProducerReport:
    invalid, invalid_lines = invalid_records(result, base)
    return ProducerReport(
        source="sample",
        read=result.published + result.skipped,
        published=result.published,
        rejected=0,
        unchanged=result.skipped,
        invalid=invalid,
        invalid_lines=invalid_lines,
    )


def annotations_report(result: AnnotationRunResult, base: Path | None = None) -> ProducerReport:
    invalid, invalid_lines = invalid_records(result, base)
    rate = result.annotations / result.seconds if result.seconds > 0 else 0.0
    return ProducerReport(
        source="annotations",
        read=result.annotations,
        published=result.published,
        rejected=result.rejected,
        unchanged=result.skipped,
        invalid=invalid,
        invalid_lines=invalid_lines,
        notes=(
            f"{result.tags:,} tags, {result.comments:,} comments in {result.seconds:.1f} s "
            f"({rate:,.1f}/s)",
            f"{len(result.unseen_targets):,} on records not seen yet",
            f"{result.known_record_ids:,} known records",
        ),
    )


def scan_report(result: ScanDropResult) -> ProducerReport:
    """Scans that could not be read count as rejected (their records still carry why)."""
    notes = [
        _plural(result.files, "scan"),
        _plural(result.pages, "page"),
        f"{result.flagged_pages:,} flagged for review",
        f"{result.seconds:.1f} s",
    ]
    if result.skipped_files:
        notes.append(f"{_plural(len(result.skipped_files), 'file')} skipped (not images or PDFs)")
    return ProducerReport(
        source="scans",
        read=result.files,
        published=result.published,
        rejected=len(result.failed_files),
        unchanged=result.unchanged,
        rejection_lines=tuple(
            f"{line} (published without its text)" for line in result.failed_files
        ),
        invalid=len(result.invalid),
        invalid_lines=tuple(
            rejection_line(reasons, record_id=record_id) for record_id, reasons in result.invalid
        ),
        notes=tuple(notes),
    )
