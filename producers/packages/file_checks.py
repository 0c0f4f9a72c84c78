"""The per-file steps of the examination: digests and the fixity check against every
supplied checksum (METS fileSec, BagIt manifests, checksum files), the PRONOM format and
the virus scan. Each records one event per file; a failure raises :class:`StepFailed`."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from heritage.producers.packages.bag_validation import BagVerdict, find_bag_root
from heritage.producers.packages.checksums import (
    algorithm_name,
    checksum_files,
    file_digests,
    parse_checksum_file,
)
from heritage.producers.packages.examination_model import Examination, ExaminedFile, StepFailed
from heritage.producers.packages.format_identification import identify_files
from heritage.producers.packages.format_identification import tool_version as format_tool
from heritage.producers.packages.ingest_events import Outcome, Step, utc_now
from heritage.producers.packages.mets_document import MetsDocument
from heritage.producers.packages.unpacking import UnpackResult
from heritage.producers.packages.virus_scan import engine_version, scan_files
from heritage.source_settings import ClamavConfig


def logical_path(root: Path, path: Path) -> str:
    """``path`` as a path inside the package whose top level is ``root`` ("" for the root)."""
    relative = path.relative_to(root).as_posix()
    return "" if relative == "." else unicodedata.normalize("NFC", relative)


def digest_and_check(
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
        raise StepFailed(
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
        bag_root = logical_path(unpacked.root, find_bag_root(unpacked.root) or unpacked.root)
        unlisted = []
        for manifest, entries in (
            ("manifest", bag.payload_digests),
            ("tagmanifest", bag.tag_digests),
        ):
            for relative, digests in entries.items():
                listed = _join(bag_root, relative)
                if listed not in by_path:
                    unlisted.append(f"{relative} ({manifest})")
                for algorithm, value in digests.items():
                    give(listed, algorithm, value, f"{manifest}-{algorithm}.txt")
        if unlisted:
            exam.log.add(
                Step.FIXITY, Outcome.FAILURE,
                f"the bag's manifests list files it does not hold: {', '.join(unlisted[:10])}",
                tool="bagit-python",
            )  # fmt: skip
            raise StepFailed(f"incomplete bag: {len(unlisted)} listed file(s) missing")
    for checksum_file, algorithm in checksum_files(unpacked.root):
        folder = logical_path(unpacked.root, checksum_file.parent)
        where = logical_path(unpacked.root, checksum_file)
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
            raise StepFailed(f"incomplete package: the METS lists {len(missing)} missing file(s)")
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


def identify_formats(exam: Examination) -> None:
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


def scan_for_viruses(exam: Examination, clamav: ClamavConfig) -> None:
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
        raise StepFailed(f"virus found in {', '.join(infected[:5])}")
    if errors:
        raise StepFailed(f"the virus scan failed for {', '.join(errors[:5])}; rerun once fixed")
