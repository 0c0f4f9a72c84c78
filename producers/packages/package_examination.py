"""Everything the workflow learns about one package before anything is stored.

Unpack, validate the bag, parse the METS, then per file: the digests (sha256 and every
supplied algorithm, in one pass), the fixity check against the supplied checksums (METS,
BagIt manifests, checksum files), the PRONOM format and the virus scan. Each step records
its events; the first failure stops the examination with its reason, and the package is
then quarantined by the caller. No Spark, no object store: this part runs in worker
processes, one package each.
"""

from __future__ import annotations

import errno
import logging
import time
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from heritage.producers.packages.bag_validation import BagVerdict, find_bag_root, validate_bag
from heritage.producers.packages.checksums import (
    algorithm_name,
    checksum_files,
    file_digests,
    parse_checksum_file,
)
from heritage.producers.packages.format_identification import identify_files
from heritage.producers.packages.format_identification import tool_version as format_tool
from heritage.producers.packages.ingest_events import EventLog, Outcome, Step, utc_now
from heritage.producers.packages.mets_document import MetsDocument, MetsError, find_mets, parse_mets
from heritage.producers.packages.unpacking import UnpackLimits, UnpackRefused, UnpackResult, unpack
from heritage.producers.packages.virus_scan import ScannerUnavailable, engine_version, scan_files
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


@dataclass
class ExaminedFile:
    path: str
    original_path: str
    local_path: str
    size: int
    container: bool
    sha256: str = ""
    # algorithm -> hex digest the package supplied (METS, manifests, checksum files)
    supplied: dict[str, str] = field(default_factory=dict)
    checksum_status: str = "not_supplied"
    puid: str | None = None
    format_name: str | None = None
    mime: str | None = None
    virus_verdict: str | None = None
    virus_signature: str | None = None

    def manifest_entry(self, blob_key: str) -> dict[str, Any]:
        return {
            "path": self.path,
            "original_path": self.original_path,
            "sha256": self.sha256,
            "size": self.size,
            "blob_key": blob_key,
            "container": self.container,
            "puid": self.puid,
            "format_name": self.format_name,
            "mime": self.mime,
            "checksum_status": self.checksum_status,
            "supplied_checksums": dict(sorted(self.supplied.items())),
            "virus_verdict": self.virus_verdict,
            "virus_signature": self.virus_signature,
        }


@dataclass
class Examination:
    submission: str
    log: EventLog
    package_id: str
    metadata: dict[str, Any] = field(default_factory=dict)
    files: list[ExaminedFile] = field(default_factory=list)
    # Why the package must be quarantined (None: it may be stored) and at which step.
    failure: str | None = None
    failure_step: str | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def workflow_id(self) -> str:
        return self.log.workflow_id


class _Refused(Exception):
    """A step failed: the package is quarantined with this reason."""


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
        with _timed(exam, "digest"):
            _digest_and_check(exam, unpacked, mets, mets_dir, bag)
        with _timed(exam, "format"):
            _identify_formats(exam)
        with _timed(exam, "virus_scan"):
            _scan(exam, config.clamav)
    except _Refused as refusal:
        exam.failure = str(refusal)
    except (ScannerUnavailable, MemoryError):
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
        raise _Refused(f"unpacking refused ({refusal.rule}): {refusal}") from refusal
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
    verdict = validate_bag(bag_dir)
    where = _logical(unpacked.root, bag_dir)
    if not verdict.valid:
        exam.log.add(
            Step.BAG_VALIDATION, Outcome.FAILURE, "; ".join(verdict.reasons),
            file_path=where or None, tool="bagit-python", tool_version=_bagit_version(),
            started_at=started,
        )  # fmt: skip
        raise _Refused(f"invalid BagIt bag: {'; '.join(verdict.reasons)}")
    exam.log.add(
        Step.BAG_VALIDATION, Outcome.WARNING if verdict.warnings else Outcome.SUCCESS,
        f"valid BagIt {verdict.version} bag"
        + (f"; warnings: {'; '.join(verdict.warnings)}" if verdict.warnings else ""),
        file_path=where or None, tool="bagit-python", tool_version=_bagit_version(),
        started_at=started,
    )  # fmt: skip
    return verdict


def _bagit_version() -> str:
    return package_version("bagit")


def _parse_mets(exam: Examination, unpacked: UnpackResult) -> tuple[MetsDocument | None, str]:
    started = utc_now()
    mets_file = find_mets(unpacked.root)
    if mets_file is None:
        exam.log.add(
            Step.METS_PARSING, Outcome.SUCCESS, "no METS document in the package",
            tool="lxml", started_at=started,
        )  # fmt: skip
        return None, ""
    where = _logical(unpacked.root, mets_file)
    try:
        document = parse_mets(mets_file.read_bytes(), where)
    except MetsError as error:
        exam.log.add(
            Step.METS_PARSING, Outcome.FAILURE, str(error), file_path=where, tool="lxml",
            started_at=started,
        )  # fmt: skip
        raise _Refused(f"METS {where} rejected: {error}") from error
    exam.log.add(
        Step.METS_PARSING, Outcome.SUCCESS,
        f"OBJID {document.objid or '(none)'}; {document.metadata_format or 'no'} descriptive"
        f" metadata; {len(document.files)} files in the fileSec",
        file_path=where, tool="lxml", started_at=started,
    )  # fmt: skip
    return document, str(PurePosixPath(where).parent).removeprefix(".")


def _logical(root: Path, path: Path) -> str:
    relative = path.relative_to(root).as_posix()
    return "" if relative == "." else unicodedata.normalize("NFC", relative)


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


# --- per file: digests and fixity, formats, viruses -------------------------------------


def _digest_and_check(
    exam: Examination,
    unpacked: UnpackResult,
    mets: MetsDocument | None,
    mets_dir: str,
    bag: BagVerdict | None,
) -> None:
    by_path = {item.path: item for item in exam.files}
    supplied = _supplied_checksums(exam, unpacked, mets, mets_dir, bag, by_path)
    mismatches: list[str] = []
    for item in exam.files:
        started = utc_now()
        wanted = {alg for label in supplied.get(item.path, {}) if (alg := algorithm_name(label))}
        digests = file_digests(Path(item.local_path), wanted | {"sha256"})
        item.sha256 = digests["sha256"]
        exam.log.add(
            Step.DIGEST, Outcome.SUCCESS, f"sha256 {item.sha256}", file_path=item.path,
            tool="python hashlib", started_at=started,
        )  # fmt: skip
        given = supplied.get(item.path)
        if given:
            mismatch = _fixity(exam, item, given, digests, started)
            if mismatch:
                mismatches.append(mismatch)
    if mismatches:
        raise _Refused(
            f"{len(mismatches)} supplied checksum(s) do not match: {'; '.join(mismatches[:5])}"
        )


def _fixity(
    exam: Examination,
    item: ExaminedFile,
    given: Mapping[str, tuple[str, str]],
    digests: Mapping[str, str],
    started: Any,
) -> str | None:
    """Compare the supplied checksums (label -> (hex, where)) with the computed ones."""
    problems, checked, unsupported = [], [], []
    for label, (expected, where) in sorted(given.items()):
        algorithm = algorithm_name(label)
        if algorithm is None:
            unsupported.append(f"{label} ({where})")
            continue
        item.supplied[algorithm] = expected.lower()
        if digests[algorithm] != expected.lower():
            problems.append(
                f"{item.path}: {label} from {where} is {expected},"
                f" the file's is {digests[algorithm]}"
            )
        else:
            checked.append(f"{label} ({where})")
    if problems:
        item.checksum_status = "mismatch"
        outcome, detail = Outcome.FAILURE, "; ".join(problems)
    elif checked:
        item.checksum_status = "verified"
        outcome, detail = Outcome.SUCCESS, f"matches {', '.join(checked)}"
    else:
        item.checksum_status = "unsupported_algorithm"
        outcome, detail = Outcome.WARNING, f"cannot verify {', '.join(unsupported)}"
    if unsupported and outcome is Outcome.SUCCESS:
        outcome, detail = Outcome.WARNING, f"{detail}; cannot verify {', '.join(unsupported)}"
    exam.log.add(
        Step.FIXITY, outcome, detail, file_path=item.path, tool="python hashlib",
        started_at=started,
    )  # fmt: skip
    return "; ".join(problems) or None


Supplied = dict[str, dict[str, tuple[str, str]]]


def _supplied_checksums(
    exam: Examination,
    unpacked: UnpackResult,
    mets: MetsDocument | None,
    mets_dir: str,
    bag: BagVerdict | None,
    by_path: Mapping[str, ExaminedFile],
) -> Supplied:
    """path -> {algorithm label: (hex, where it was given)} from the METS fileSec, the bag's
    manifests and checksum files; a METS file that is not in the package fails the step."""
    supplied: Supplied = {}

    def give(path: str, label: str, value: str, where: str) -> None:
        supplied.setdefault(path, {}).setdefault(label, (value.strip(), where))

    if bag is not None:
        bag_root = _logical(unpacked.root, find_bag_root(unpacked.root) or unpacked.root)
        for relative, digests in bag.payload_digests.items():
            for algorithm, value in digests.items():
                give(_join(bag_root, relative), algorithm, value, f"manifest-{algorithm}.txt")
    for checksum_file, algorithm in checksum_files(unpacked.root):
        folder = _logical(unpacked.root, checksum_file.parent)
        where = _logical(unpacked.root, checksum_file)
        for name, value in parse_checksum_file(checksum_file, algorithm).items():
            give(_join(folder, name), algorithm, value, where)
    if mets is not None:
        missing = []
        for entry in mets.files:
            path = _local_href(entry.href, mets_dir)
            if path is None or not entry.checksum or not entry.checksum_type:
                continue
            if path not in by_path:
                missing.append(f"{entry.href} ({entry.file_id or 'no ID'})")
                continue
            give(path, entry.checksum_type, entry.checksum, "METS fileSec")
        if missing:
            exam.log.add(
                Step.FIXITY, Outcome.FAILURE,
                f"the METS lists files the package does not hold: {', '.join(missing[:10])}",
                tool="lxml",
            )  # fmt: skip
            raise _Refused(f"incomplete package: the METS lists {len(missing)} missing file(s)")
    return supplied


def _join(folder: str, name: str) -> str:
    path = PurePosixPath(folder, name.removeprefix("./")) if folder else PurePosixPath(name)
    return unicodedata.normalize("NFC", path.as_posix().removeprefix("./"))


def _local_href(href: str | None, mets_dir: str) -> str | None:
    """A FLocat href as a path inside the package; None for a remote URL."""
    if not href:
        return None
    parts = urlsplit(href)
    if parts.scheme and parts.scheme != "file":
        return None
    relative = unquote(parts.netloc + parts.path if parts.scheme == "file" else href)
    return _join(mets_dir, relative.lstrip("/"))


def _identify_formats(exam: Examination) -> None:
    started = utc_now()
    verdicts = identify_files([Path(item.local_path) for item in exam.files])
    tool_version = format_tool()
    for item in exam.files:
        verdict = verdicts.get(Path(item.local_path))
        known = verdict is not None and verdict.puid not in (None, "UNKNOWN")
        if verdict is not None:
            item.puid, item.format_name, item.mime = verdict.puid, verdict.format_name, verdict.mime
        detail = (
            f"{item.puid} {item.format_name or ''}".strip() if known else "format not identified"
        )
        if verdict is not None and verdict.warning:
            detail += f" ({verdict.warning})"
        exam.log.add(
            Step.FORMAT, Outcome.SUCCESS if known else Outcome.WARNING, detail,
            file_path=item.path, tool="siegfried (pygfried)", tool_version=tool_version,
            started_at=started,
        )  # fmt: skip


def _scan(exam: Examination, clamav: ClamavConfig) -> None:
    started = utc_now()
    verdicts = scan_files([Path(item.local_path) for item in exam.files], clamav)
    version = engine_version(clamav)
    infected, errors = [], []
    for item in exam.files:
        verdict = verdicts.get(Path(item.local_path))
        status = verdict.status if verdict else "error"
        item.virus_verdict = status
        item.virus_signature = verdict.signature if verdict else None
        outcome = {
            "clean": Outcome.SUCCESS,
            "over_limit": Outcome.WARNING,
        }.get(status, Outcome.FAILURE)
        detail = {
            "clean": "no virus found",
            "over_limit": "NOT SCANNED: over the scanner's size limit"
            + (f" ({item.virus_signature})" if item.virus_signature else ""),
            "infected": f"virus found: {item.virus_signature}",
        }.get(status, f"scan failed: {verdict.detail if verdict else 'no verdict'}")
        if status == "infected":
            infected.append(f"{item.path} ({item.virus_signature})")
        elif outcome is Outcome.FAILURE:
            errors.append(item.path)
        exam.log.add(
            Step.VIRUS_SCAN, outcome, detail, file_path=item.path, tool="ClamAV",
            tool_version=version, started_at=started,
        )  # fmt: skip
    if infected:
        raise _Refused(f"virus found in {', '.join(infected[:5])}")
    if errors:
        raise _Refused(f"the virus scan failed for {', '.join(errors[:5])}; rerun once fixed")
