"""Virus scan of package files with ClamAV: one clamscan process per batch, or a clamd.

Every file gets a verdict. A file over the size limits is ``over_limit``, never ``clean``:
clamscan skips such files and reports them OK unless told ``--alert-exceeds-max``, and then
names them ``Heuristics.Limits.Exceeded.*``. ClamAV looks inside archives (zip, tar, gzip,
7z, cab...) and reports the container, so a package's own archives are covered too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from heritage.producers.packages.clamd_client import (
    ClamdUnreachable,
    clamd_command,
    clamd_instream,
)
from heritage.producers.packages.path_aliases import aliased, has_line_break
from heritage.source_settings import ClamavConfig

CLEAN = "clean"
INFECTED = "infected"
OVER_LIMIT = "over_limit"
ERROR = "error"
# The prefix of ClamAV's alerts for content it did not scan in full.
LIMIT_SIGNATURE_PREFIX = "Heuristics.Limits.Exceeded"
CLAMSCAN = "clamscan"
# Suffixes of ClamAV database files (signatures, bytecode, allow lists, containers).
DATABASE_SUFFIXES = frozenset(
    {
        ".cvd",
        ".cld",
        ".cud",
        ".hdb",
        ".hsb",
        ".hdu",
        ".hsu",
        ".mdb",
        ".msb",
        ".mdu",
        ".msu",
        ".ndb",
        ".ndu",
        ".ldb",
        ".ldu",
        ".idb",
        ".cdb",
        ".cbc",
        ".cat",
        ".crb",
        ".fp",
        ".sfp",
        ".ign",
        ".ign2",
        ".ftm",
        ".pdb",
        ".gdb",
        ".wdb",
        ".yar",
        ".yara",
        ".pwdb",
        ".imp",
    }
)
_MEBIBYTE = 1024 * 1024
# ClamAV scans nothing larger than 2 GiB - 1 (it warns and lowers a higher limit), so a
# bigger file is always over_limit.
CLAMAV_LARGEST_FILE = 2**31 - 1
# What clamscan prints after a name; signature names hold neither spaces nor colons.
_RESULT = re.compile(r"OK|Empty file|[^\s:]+ FOUND|.* ERROR")


@dataclass(frozen=True)
class ScanVerdict:
    """ClamAV's verdict on one file."""

    # "clean", "infected", "over_limit" (not scanned in full) or "error" (not scanned).
    status: str
    # The signature that matched ("Heuristics.Limits.Exceeded.MaxFileSize" for over_limit).
    signature: str | None
    # One line for the event: what matched, or why the file was not scanned.
    detail: str


class ScannerUnavailable(RuntimeError):
    """No scan can run (no clamscan, no database, no clamd); the message says what to do."""


def scan_files(paths: Sequence[Path], config: ClamavConfig) -> dict[Path, ScanVerdict]:
    """A verdict for every path; raises ScannerUnavailable when nothing can be scanned."""
    if not paths:
        return {}
    if config.mode == "clamd":
        return _scan_with_clamd(paths, config)
    return _scan_with_clamscan(paths, config)


def engine_version(config: ClamavConfig) -> str:
    """``ClamAV 1.4.6/<database version>/<date>`` (just ``ClamAV 1.4.6`` with the test
    signatures, which carry no version)."""
    if config.mode == "clamd":
        try:
            return clamd_command(config.clamd_socket, "VERSION", config.timeout_s)
        except ClamdUnreachable as error:
            raise _clamd_unavailable(error) from error
    command = [_clamscan(), f"--database={_database_dir(config)}", "--version"]
    done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    return os.fsdecode(done.stdout).strip() or os.fsdecode(done.stderr).strip()


# --- clamscan -------------------------------------------------------------------------------


def clamscan_command(config: ClamavConfig, file_list: Path) -> list[str]:
    """The clamscan command line for one batch listed in ``file_list``."""
    return [
        _clamscan(),
        "--no-summary",
        f"--database={config.database_dir}",
        "--alert-exceeds-max=yes",
        f"--max-filesize={_bytes(config.max_filesize_mb)}",
        f"--max-scansize={_bytes(config.max_scansize_mb)}",
        f"--file-list={file_list}",
    ]


def _bytes(mebibytes: float) -> int:
    return min(int(mebibytes * _MEBIBYTE), CLAMAV_LARGEST_FILE)


def _scan_with_clamscan(paths: Sequence[Path], config: ClamavConfig) -> dict[Path, ScanVerdict]:
    _database_dir(config)
    with aliased(paths, has_line_break) as names, tempfile.TemporaryDirectory() as folder:
        file_list = Path(folder) / "files.txt"
        listed = set(names.values())
        file_list.write_bytes(b"".join(os.fsencode(name) + b"\n" for name in sorted(listed)))
        try:
            done = subprocess.run(
                clamscan_command(config, file_list),
                capture_output=True,
                timeout=config.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            detail = (
                f"clamscan did not finish within {config.timeout_s:g} s; raise "
                "HERITAGE_CLAMAV_TIMEOUT_S or scan fewer files at once"
            )
            return {path: ScanVerdict(ERROR, None, detail) for path in paths}
    stdout, stderr = os.fsdecode(done.stdout), os.fsdecode(done.stderr)
    if done.returncode == 2 and _database_failed(stderr):
        raise ScannerUnavailable(
            f"ClamAV cannot load the signature database in {config.database_dir}: "
            f"{stderr.strip()[-500:]}; run freshclam there or set HERITAGE_CLAMAV_DB"
        )
    verdicts = parse_clamscan_output(stdout, stderr, listed)
    return {path: verdicts[name] for path, name in names.items()}


def parse_clamscan_output(
    stdout: str, stderr: str, names: Collection[str]
) -> dict[str, ScanVerdict]:
    """``{name: verdict}`` for every name in the file list, from clamscan's ``<name>: <result>``
    lines. A name without a line gets an error with what stderr said of it."""
    verdicts: dict[str, ScanVerdict] = {}
    for line in stdout.splitlines():
        split = _split_at_known_name(line, names)
        if split is not None:
            verdicts[split[0]] = verdict_from_result(split[1])
    for name in names:
        if name not in verdicts:
            complaints = [line.strip() for line in stderr.splitlines() if f"{name}:" in line]
            detail = "; ".join(complaints) or "clamscan reported nothing for this file"
            verdicts[name] = ScanVerdict(ERROR, None, f"not scanned: {detail}")
    return verdicts


def _split_at_known_name(line: str, names: Collection[str]) -> tuple[str, str] | None:
    """``(name, result)``. Names may hold ": " (so may one name begin another), so every
    ": " after a known name is a candidate; a well-formed result wins, then the longest name."""
    candidates = []
    start = 0
    while (index := line.find(": ", start)) != -1:
        if line[:index] in names:
            candidates.append((line[:index], line[index + 2 :]))
        start = index + 1
    well_formed = [candidate for candidate in candidates if _RESULT.fullmatch(candidate[1])]
    chosen = well_formed or candidates
    return chosen[-1] if chosen else None


def verdict_from_result(result: str) -> ScanVerdict:
    """A verdict from what ClamAV says after the name (clamscan and clamd speak alike)."""
    result = result.strip()
    if result == "OK":
        return ScanVerdict(CLEAN, None, "no signature matched")
    if result == "Empty file":
        return ScanVerdict(CLEAN, None, "empty file: nothing to scan")
    if result.endswith(" FOUND"):
        signature = result.removesuffix(" FOUND").strip()
        if signature.startswith(LIMIT_SIGNATURE_PREFIX):
            return ScanVerdict(
                OVER_LIMIT,
                signature,
                f"not scanned in full: {signature}; raise HERITAGE_CLAMAV_MAX_FILESIZE_MB "
                "and _MAX_SCANSIZE_MB (clamd: MaxFileSize and MaxScanSize in clamd.conf), "
                "or check the file by hand",
            )
        return ScanVerdict(INFECTED, signature, f"signature {signature} matched")
    if "size limit exceeded" in result:
        return ScanVerdict(
            OVER_LIMIT,
            None,
            f"not scanned in full: clamd says {result!r}; raise StreamMaxLength in clamd.conf",
        )
    return ScanVerdict(ERROR, None, f"not scanned: {result.removesuffix(' ERROR')}")


def _database_failed(stderr: str) -> bool:
    markers = ("cli_loaddbdir", "cl_load", "database", "Malformed")
    return any(
        marker in line for line in stderr.splitlines() if "Error" in line for marker in markers
    )


def _clamscan() -> str:
    found = shutil.which(CLAMSCAN)
    if not found:
        raise ScannerUnavailable(
            "clamscan is not installed; install ClamAV (Debian: apt-get install clamav) "
            "or set HERITAGE_CLAMAV_MODE=clamd and HERITAGE_CLAMD_SOCKET"
        )
    return found


def _database_dir(config: ClamavConfig) -> Path:
    folder = config.database_dir
    if not folder.is_dir() or not any(
        entry.suffix.lower() in DATABASE_SUFFIXES for entry in folder.iterdir()
    ):
        raise ScannerUnavailable(
            f"no ClamAV signature database in {folder}; run freshclam there or set "
            "HERITAGE_CLAMAV_DB"
        )
    return folder


# --- clamd ----------------------------------------------------------------------------------


def _scan_with_clamd(paths: Sequence[Path], config: ClamavConfig) -> dict[Path, ScanVerdict]:
    verdicts: dict[Path, ScanVerdict] = {}
    for path in paths:
        try:
            reply = clamd_instream(config.clamd_socket, path, config.timeout_s)
        except ClamdUnreachable as error:
            raise _clamd_unavailable(error) from error
        except OSError as error:
            verdicts[path] = ScanVerdict(ERROR, None, f"not scanned: {error}")
            continue
        verdicts[path] = verdict_from_result(reply.removeprefix("stream:"))
    return verdicts


def _clamd_unavailable(error: ClamdUnreachable) -> ScannerUnavailable:
    return ScannerUnavailable(
        f"{error}; start clamd (Debian: clamav-daemon) or set HERITAGE_CLAMD_SOCKET, "
        "or use HERITAGE_CLAMAV_MODE=clamscan"
    )
