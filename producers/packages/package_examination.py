"""Everything the workflow learns about one package before anything is stored.

Unpack, validate the bag, parse the METS, then per file (:mod:`.file_checks`): the digests
(sha256 and every supplied algorithm, in one pass), the fixity check against the supplied
checksums (METS, BagIt manifests, checksum files), the PRONOM format and the virus scan;
then the OCR of a clean package's images and PDFs (:mod:`.package_ocr`). Each step records
its events; the first failure stops the examination with its reason, and the package is
then quarantined by the caller (a file OCR cannot read is no failure of the package). No
Spark, no object store: this part runs in worker processes, one package each.
"""

from __future__ import annotations

import errno
import logging
import time
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from heritage.embargo_time import EmbargoDateError
from heritage.ocr.field_rules_error import FieldRulesError
from heritage.ocr.file_reading import OcrConfig
from heritage.ocr.page_reading import OcrSetupError
from heritage.producers.packages.bag_validation import (
    BAGIT_TOOL,
    BAGIT_VERSION,
    BagVerdict,
    find_bag_root,
    validate_bag,
)
from heritage.producers.packages.examination_model import Examination, ExaminedFile, StepFailed
from heritage.producers.packages.file_checks import (
    digest_and_check,
    identify_formats,
    logical_path,
    scan_for_viruses,
)
from heritage.producers.packages.ingest_events import EventLog, Outcome, Step, utc_now
from heritage.producers.packages.mets_document import MetsDocument, MetsError, find_mets, parse_mets
from heritage.producers.packages.package_ocr import read_package
from heritage.producers.packages.package_record import package_embargo_fields
from heritage.producers.packages.unpacking import UnpackLimits, UnpackRefused, UnpackResult, unpack
from heritage.producers.packages.virus_scan import ScannerUnavailable
from heritage.publication_settings import PublicationPolicy
from heritage.source_settings import ClamavConfig

log = logging.getLogger(__name__)

# Errors of the machine, not of a package: the run stops instead of quarantining.
_DEPLOYMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EMFILE, errno.ENFILE}
_PACKAGE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".zip", ".tar")


@dataclass(frozen=True)
class ExaminationConfig:
    limits: UnpackLimits
    clamav: ClamavConfig
    # dataProvider of packages whose METS or bag does not name their institution.
    default_data_provider: str | None = None
    # Whether and how the images and PDFs of clean packages are read (None: not read).
    ocr: OcrConfig | None = None
    # The zone embargo ends are read in (a package whose end is no date is quarantined).
    publication: PublicationPolicy = field(default_factory=PublicationPolicy)


def provisional_package_id(submission: Path) -> str:
    name = unicodedata.normalize("NFC", submission.name)
    for suffix in _PACKAGE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def examine_package(
    submission: Path, work_dir: Path, workflow_id: str, config: ExaminationConfig
) -> Examination:
    """Run every check of the workflow on one submission (a file or a folder)."""
    log = EventLog(workflow_id, str(submission), provisional_package_id(submission))
    exam = Examination(str(submission), log, log.package_id)
    try:
        with _timed(exam, "unpack"):
            unpacked = _unpack(exam, submission, work_dir, config.limits)
        with _timed(exam, "bag_validation"):
            bag = _validate_bag(exam, unpacked)
        with _timed(exam, "mets_parsing"):
            mets, mets_dir = _parse_mets(exam, unpacked)
        exam.package_id = _package_id(exam.package_id, mets, bag)
        exam.metadata = package_metadata(mets, bag, config.default_data_provider)
        with _timed(exam, "mets_parsing"):
            _check_embargo(exam, config.publication)
        with _timed(exam, "digest"):
            digest_and_check(exam, unpacked, mets, mets_dir, bag)
        with _timed(exam, "format"):
            identify_formats(exam)
        with _timed(exam, "virus_scan"):
            scan_for_viruses(exam, config.clamav)
        if config.ocr is not None:
            with _timed(exam, "ocr"):
                read_package(exam, config.ocr, work_dir / "ocr-pages")
    except StepFailed as refusal:
        exam.failure = str(refusal)
    except (ScannerUnavailable, OcrSetupError, FieldRulesError, MemoryError):
        raise  # the deployment, not the package: the run stops and says what to do
    except OSError as error:
        if error.errno in _DEPLOYMENT_ERRNOS:
            raise
        _unexpected(exam, error)
    except Exception as error:
        # A package that breaks a step in a way no rule foresaw is quarantined with the
        # error, never left to stop the run (or the watcher) again on every rerun.
        _unexpected(exam, error)
    return exam


def _check_embargo(exam: Examination, policy: PublicationPolicy) -> None:
    """Quarantine a package whose rights state an embargo end that is no date."""
    try:
        package_embargo_fields(exam.metadata, exam.package_id, policy)
    except EmbargoDateError as error:
        exam.log.add(Step.METS_PARSING, Outcome.FAILURE, str(error), tool="lxml")
        raise StepFailed(f"embargo rejected: {error}") from error


def _unexpected(exam: Examination, error: BaseException) -> None:
    step = exam.failure_step or "unknown"
    exam.failure_step = step
    exam.failure = f"the {step} step failed on this package: {type(error).__name__}: {error}"
    log.exception("package examination failed", extra={"submission": exam.submission})
    failed = Step.__members__.get(step.upper(), Step.UNPACK)
    exam.log.add(failed, Outcome.FAILURE, exam.failure, file_path="#error")


@contextmanager
def _timed(exam: Examination, step: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    except Exception:
        exam.failure_step = step
        raise
    finally:
        exam.step_seconds[step] = exam.step_seconds.get(step, 0.0) + time.perf_counter() - start


def _unpack(
    exam: Examination, submission: Path, work_dir: Path, limits: UnpackLimits
) -> UnpackResult:
    started = utc_now()
    try:
        result = unpack(submission, work_dir, limits)
    except UnpackRefused as refusal:
        exam.log.add(
            Step.UNPACK, Outcome.FAILURE, f"refused ({refusal.rule}): {refusal}",
            file_path=refusal.member or None, tool="heritage unpacking", started_at=started,
        )  # fmt: skip
        raise StepFailed(f"unpacking refused ({refusal.rule}): {refusal}") from refusal
    exam.log.add(
        Step.UNPACK, Outcome.SUCCESS,
        f"{len(result.files)} files, {len(result.containers)} embedded containers unpacked"
        + (f": {', '.join(result.containers)}" if result.containers else ""),
        tool="heritage unpacking", started_at=started,
    )  # fmt: skip
    for original, normalised in result.renamed:
        exam.log.add(
            Step.FILENAME_CHANGE, Outcome.WARNING,
            f"name normalised to Unicode NFC; the original {original!r} is kept",
            file_path=normalised,
        )  # fmt: skip
    for group in result.name_collisions:
        exam.log.add(
            Step.FILENAME_CHANGE, Outcome.WARNING,
            f"{len(group)} names become one after NFC normalisation: {', '.join(group)}",
            file_path=unicodedata.normalize("NFC", group[0]) + "#collision",
        )  # fmt: skip
    exam.files = [
        ExaminedFile(f.path, f.original_path, str(f.local_path), f.size, f.container)
        for f in result.files
    ]
    return result


def _validate_bag(exam: Examination, unpacked: UnpackResult) -> BagVerdict | None:
    bag_dir = find_bag_root(unpacked.root)
    if bag_dir is None:
        return None
    started = utc_now()
    # Checksums are checked in the digest pass, which reads every file once anyway.
    verdict = validate_bag(bag_dir, fixity=False)
    where = logical_path(unpacked.root, bag_dir)
    if not verdict.valid:
        exam.log.add(
            Step.BAG_VALIDATION, Outcome.FAILURE, "; ".join(verdict.reasons),
            file_path=where or None, tool=BAGIT_TOOL, tool_version=BAGIT_VERSION,
            started_at=started,
        )  # fmt: skip
        raise StepFailed(f"invalid BagIt bag: {'; '.join(verdict.reasons)}")
    exam.log.add(
        Step.BAG_VALIDATION, Outcome.WARNING if verdict.warnings else Outcome.SUCCESS,
        f"valid BagIt {verdict.version} bag (structure, Payload-Oxum, completeness; each"
        " file's manifest checksums are checked by the fixity step)"
        + (f"; warnings: {'; '.join(verdict.warnings)}" if verdict.warnings else ""),
        file_path=where or None, tool=BAGIT_TOOL, tool_version=BAGIT_VERSION,
        started_at=started,
    )  # fmt: skip
    return verdict


def _parse_mets(exam: Examination, unpacked: UnpackResult) -> tuple[MetsDocument | None, str]:
    started = utc_now()
    mets_file = find_mets(unpacked.root)
    if mets_file is None:
        exam.log.add(
            Step.METS_PARSING, Outcome.SUCCESS, "no METS document in the package",
            tool="lxml", started_at=started,
        )  # fmt: skip
        return None, ""
    where = logical_path(unpacked.root, mets_file)
    try:
        document = parse_mets(mets_file.read_bytes(), where)
    except MetsError as error:
        exam.log.add(
            Step.METS_PARSING, Outcome.FAILURE, str(error), file_path=where, tool="lxml",
            started_at=started,
        )  # fmt: skip
        raise StepFailed(f"METS {where} rejected: {error}") from error
    exam.log.add(
        Step.METS_PARSING, Outcome.SUCCESS,
        f"OBJID {document.objid or '(none)'}; {document.metadata_format or 'no'} descriptive"
        f" metadata; {len(document.files)} files in the fileSec",
        file_path=where, tool="lxml", started_at=started,
    )  # fmt: skip
    return document, str(PurePosixPath(where).parent).removeprefix(".")


def _package_id(provisional: str, mets: MetsDocument | None, bag: BagVerdict | None) -> str:
    for candidate in (
        mets.objid if mets else None,
        bag.identifier if bag else None,
        mets.identifiers[0] if mets and mets.identifiers else None,
    ):
        if candidate and candidate.strip():
            return candidate.strip()
    return provisional


def package_metadata(
    mets: MetsDocument | None, bag: BagVerdict | None, default_data_provider: str | None
) -> dict[str, Any]:
    """The descriptive metadata of the package: the METS first, the bag's info after."""
    info: Mapping[str, tuple[str, ...]] = bag.info if bag else {}

    def bag_values(*labels: str) -> list[str]:
        for label in labels:
            for key, values in info.items():
                if key.lower() == label.lower() and values:
                    return list(values)
        return []

    metadata: dict[str, Any] = {
        "title": list(mets.titles)
        if mets and mets.titles
        else bag_values("Title", "External-Description"),
        "identifiers": list(mets.identifiers) if mets else bag_values("External-Identifier"),
        "names": list(mets.names) if mets else [],
        "dates": list(mets.dates) if mets else [],
        "languages": list(mets.languages) if mets else [],
        "rights": _rights(mets, bag_values("Rights", "Rights-Statement", "License")),
        "metadata_source": "mets" if mets else ("bag-info" if bag else "none"),
        "objid": mets.objid if mets else None,
        "data_provider": (mets.custodian if mets else None)
        or _first(bag_values("Source-Organization"))
        or default_data_provider,
    }
    if mets and mets.rights_statements:
        metadata["rights_statements"] = [vars(s) for s in mets.rights_statements]
    return metadata


def _rights(mets: MetsDocument | None, bag_rights: list[str]) -> list[str]:
    found = list(mets.rights) if mets else []
    if mets:
        found += [s.uri for s in mets.rights_statements if s.uri]
    found += bag_rights
    # URIs first: the record's rights must be a statement URI.
    return sorted(dict.fromkeys(found), key=lambda value: not value.startswith("http"))


def _first(values: list[str]) -> str | None:
    return values[0] if values else None
