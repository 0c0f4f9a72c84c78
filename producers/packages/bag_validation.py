"""BagIt validation of an unpacked submission: manifests, tag manifests, Payload-Oxum, fetch.txt.

The Library of Congress ``bagit`` package does the fixity work (``Bag(...).validate()``, one
process, every checksum recomputed). Before it runs, this module reads the tag files itself,
as plain text, so that no path a manifest or ``fetch.txt`` names is ever opened, resolved or
fetched when it points outside the bag: an absolute path, a ``~`` home shortcut, a ``..``
step, a Windows drive, UNC path or ``%VARIABLE%``, or a backslash separator rejects the bag
before ``bagit`` sees it (``bagit`` itself would resolve such paths against the file system
to judge them). Symbolic links inside the bag reject it too: hashing would follow them.

Nothing is fetched, by design: a ``fetch.txt`` entry whose file is absent rejects the bag
("missing payload"); entries whose files are present are checked like any payload file.

Where the BagIt conformance suite (LibraryOfCongress/bagit-conformance-suite) and
``bagit`` 1.9.0 disagree, this module decides:

- ``v1.0/invalid/bagit-with-invalid-whitespace``: ``bagit`` accepts ``BagIt-Version : 1.0``;
  here every ``bagit.txt`` line must be ``Label: value`` with no blank before the colon, one
  space after it, and only the two labels the RFC allows, in its order.
- ``v0.97/warning/made-with-md5sum-tools`` and ``v0.97/warning/relative-path`` pass ``bagit``
  silently; here a manifest line with md5sum's ``*`` binary marker, or a path starting with
  ``./``, is accepted with a warning.
- ``v0.97/warning/special-system-files``, ``duplicate-file-with-different-case`` and
  ``same-filename-listed-twice-with-different-normalization`` name files that do not exist
  on a case-sensitive file system: rejected as incomplete (``bagit``'s own reason), after
  warnings for the system file, the case clash or the normalisation clash.
- ``windows-only/`` bags (drive letters, ``%HomeDrive%``, UNC paths) are rejected on every
  system: a stored package must mean the same files wherever it is read, and the RFC's path
  separator is ``/``.
- ``linux-only/`` bags are rejected, as the suite expects on Linux.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bagit

# bag-info labels that name the bag, most specific first: the sender's public identifier,
# then its internal one; the group identifier is shared by every bag of a group, so last.
IDENTIFIER_LABELS = ("External-Identifier", "Internal-Sender-Identifier", "Bag-Group-Identifier")
# The only lines RFC 8493 allows in bagit.txt, in this order.
BAGIT_TXT_LABELS = ("BagIt-Version", "Tag-File-Character-Encoding")
# Operating-system litter that the suite expects a warning for when a bag carries it.
SYSTEM_FILE_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
BAGIT_TOOL = "bagit-python"
BAGIT_VERSION: str = bagit.VERSION

_BAGIT_TXT_LINE = re.compile(r"(?P<label>[^:\s]+): (?P<value>\S(?:.*\S)?)")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
_ENVIRONMENT_REFERENCE = re.compile(r"%[A-Za-z_][A-Za-z0-9_()]*%")
_ENCODED_CR = re.compile("%0D", re.IGNORECASE)
_ENCODED_LF = re.compile("%0A", re.IGNORECASE)


@dataclass(frozen=True)
class BagVerdict:
    """What validation found; ``reasons`` is empty exactly when ``valid``."""

    valid: bool
    # Why the bag is invalid; each names the file (and line) and the rule broken.
    reasons: tuple[str, ...]
    # Accepted oddities (md5sum-style lines, duplicate identical entries, system files).
    warnings: tuple[str, ...]
    # BagIt-Version from bagit.txt, when it could be read.
    version: str | None
    # bag-info.txt (package-info.txt before 0.96): every value of each label, in file order.
    info: Mapping[str, tuple[str, ...]]
    # The bag's name from bag-info, in the order of IDENTIFIER_LABELS.
    identifier: str | None
    # "data/x.tif" -> {"sha256": hex, "md5": hex}, lower-case hex, from the payload manifests.
    payload_digests: Mapping[str, Mapping[str, str]]
    # "bag-info.txt" -> {"sha256": hex}, from the tag manifests.
    tag_digests: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass
class _Findings:
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def find_bag_root(root: Path) -> Path | None:
    """``root`` when it holds ``bagit.txt``; else its one entry when that is a folder holding
    ``bagit.txt`` (a bag zipped with its folder); else None."""
    if (root / "bagit.txt").is_file():
        return root
    entries = list(root.iterdir()) if root.is_dir() else []
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        only = entries[0]
        if (only / "bagit.txt").is_file():
            return only
    return None


def validate_bag(bag_dir: Path, fixity: bool = True) -> BagVerdict:
    """Validate the bag in ``bag_dir``; never raises for a bad bag. With ``fixity`` False,
    everything but the checksums (structure, bagit.txt, fetch.txt, Payload-Oxum,
    completeness): for a caller that hashes every file anyway and checks the verdict's
    ``payload_digests`` and ``tag_digests`` in that one pass."""
    findings = _Findings()
    version = _check_bagit_txt(bag_dir, findings)
    if not findings.reasons:
        _check_paths(bag_dir, findings)
    if findings.reasons:
        return _verdict(findings, version, None, _info_unvalidated(bag_dir))
    bag, logged = _run_bagit(bag_dir, findings, fixity)
    # bagit logs each failure it then raises; those are reasons already, not warnings.
    findings.warnings.extend(
        line for line in logged if not any(line in reason for reason in findings.reasons)
    )
    return _verdict(findings, version, bag, {})


def _verdict(
    findings: _Findings,
    version: str | None,
    bag: bagit.Bag | None,
    info_read_before: dict[str, tuple[str, ...]],
) -> BagVerdict:
    info = bag_info_values(bag.info) if bag is not None else info_read_before
    digests = payload_digests(bag.payload_entries()) if bag is not None else {}
    tags = payload_digests(bag.tagfile_entries()) if bag is not None else {}
    return BagVerdict(
        valid=not findings.reasons,
        reasons=tuple(findings.reasons),
        warnings=tuple(dict.fromkeys(findings.warnings)),
        version=bag.tags.get("BagIt-Version", version) if bag is not None else version,
        info=info,
        identifier=bag_identifier(info),
        payload_digests=digests if not findings.reasons else {},
        tag_digests=tags if not findings.reasons else {},
    )


def _info_unvalidated(bag_dir: Path) -> dict[str, tuple[str, ...]]:
    """bag-info of a bag rejected before ``bagit`` ran, so a rejection still names the
    package; empty when it cannot be read (or is a link)."""
    encoding = _declared_encoding(bag_dir)
    for name in ("bag-info.txt", "package-info.txt"):
        path = bag_dir / name
        if encoding is None or not path.is_file() or path.is_symlink():
            continue
        try:
            return bag_info_values(bagit._load_tag_file(str(path), encoding=encoding))
        except (bagit.BagError, OSError, UnicodeError, ValueError):
            return {}
    return {}


def bag_info_values(raw: Mapping[str, str | list[str]]) -> dict[str, tuple[str, ...]]:
    """``bagit``'s info (a string, or a list for a repeated label) as tuples of values."""
    return {
        label: tuple(value) if isinstance(value, list) else (value,) for label, value in raw.items()
    }


def bag_identifier(info: Mapping[str, tuple[str, ...]]) -> str | None:
    """The first non-blank value of the first IDENTIFIER_LABELS label present (labels
    compared without regard to case, as senders write them both ways)."""
    by_label = {label.casefold(): values for label, values in info.items()}
    for label in IDENTIFIER_LABELS:
        for value in by_label.get(label.casefold(), ()):
            if value.strip():
                return value.strip()
    return None


def payload_digests(entries: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Manifest entries keyed by '/'-separated path, digests in lower-case hex."""
    return {
        path.replace(os.sep, "/"): {alg: digest.lower() for alg, digest in hashes.items()}
        for path, hashes in entries.items()
    }


def bagit_txt_problems(text: str) -> list[str]:
    """Why ``bagit.txt`` (decoded, BOM removed) breaks RFC 8493 section 2.1.1's two lines."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    problems = []
    labels = []
    for number, line in enumerate(lines, start=1):
        match = _BAGIT_TXT_LINE.fullmatch(line)
        if match is None:
            problems.append(
                f"bagit.txt line {number}: {line!r} is not 'Label: value' (no blank before "
                "the colon, one space after it)"
            )
            continue
        labels.append(match["label"])
    if not problems and tuple(labels) != BAGIT_TXT_LABELS:
        problems.append(
            f"bagit.txt holds {', '.join(labels) or 'nothing'}; it must hold exactly "
            f"{' and '.join(BAGIT_TXT_LABELS)}, in that order"
        )
    return problems


def _check_bagit_txt(bag_dir: Path, findings: _Findings) -> str | None:
    """Add what is wrong with bagit.txt; return its BagIt-Version when readable. A missing
    bagit.txt or an unknown version is left to ``bagit``, which names it."""
    path = bag_dir / "bagit.txt"
    if not path.is_file() or path.is_symlink():
        return None
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        findings.reasons.append("bagit.txt starts with a byte-order mark, which RFC 8493 forbids")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        findings.reasons.append(f"bagit.txt is not UTF-8 ({error.reason} at byte {error.start})")
        return None
    version = None
    for line in text.splitlines():
        label, _, value = line.partition(":")
        if label.strip() == "BagIt-Version":
            version = value.strip()
    if version is not None:
        findings.reasons.extend(bagit_txt_problems(text))
    return version


def _check_paths(bag_dir: Path, findings: _Findings) -> None:
    """Reject links and out-of-bag paths; reject fetch entries whose files are absent; warn
    about the oddities the suite lists as warnings."""
    files, links = _walk_bag(bag_dir)
    findings.reasons.extend(
        f"{link} is a symbolic link; a bag must hold its files, not point elsewhere"
        for link in links
    )
    if links:
        return  # a linked manifest would be read from wherever it points
    encoding = _declared_encoding(bag_dir)
    if encoding is None:
        return  # bagit names the missing or unknown encoding
    present = {unicodedata.normalize("NFC", name) for name in files}
    # Every manifest whatever its algorithm: bagit reads any hashlib algorithm's manifest.
    manifests = [*bag_dir.glob("manifest-*.txt"), *bag_dir.glob("tagmanifest-*.txt")]
    for manifest in sorted(manifests):
        text = _read_tag_file(manifest, encoding, findings)
        if text is not None:
            check_manifest(manifest.name, text, findings)
    fetch = bag_dir / "fetch.txt"
    if fetch.is_file():
        text = _read_tag_file(fetch, encoding, findings)
        if text is not None:
            check_fetch(text, present, findings)
    findings.warnings.extend(system_file_warnings(files))


def _walk_bag(bag_dir: Path) -> tuple[list[str], list[str]]:
    """Every file of the bag as a '/'-separated relative path, and every symbolic link."""
    files: list[str] = []
    links: list[str] = []
    for folder, dirs, names in os.walk(bag_dir, followlinks=False):
        for name in (*dirs, *names):
            path = Path(folder, name)
            relative = path.relative_to(bag_dir).as_posix()
            if path.is_symlink():
                links.append(relative)
            elif name in names:
                files.append(relative)
    return sorted(files), sorted(links)


def _declared_encoding(bag_dir: Path) -> str | None:
    try:
        tags = bagit._load_tag_file(str(bag_dir / "bagit.txt"))
        encoding = tags.get("Tag-File-Character-Encoding")
        if isinstance(encoding, str):
            codecs.lookup(encoding)
            return encoding
    except (bagit.BagError, LookupError, OSError, UnicodeError, ValueError):
        pass
    return None


def _read_tag_file(path: Path, encoding: str, findings: _Findings) -> str | None:
    try:
        return path.read_bytes().decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as error:
        findings.reasons.append(
            f"{path.name} is not {encoding} as bagit.txt declares ({error.reason} at byte "
            f"{error.start})"
        )
        return None


def decoded_path(path: str) -> str:
    """A manifest path with RFC 8493's %0D and %0A decoded (``%`` alone stays literal)."""
    return _ENCODED_LF.sub("\n", _ENCODED_CR.sub("\r", path))


def unsafe_path_reason(path: str) -> str | None:
    """Why ``path`` (as a manifest or fetch.txt writes it) may point outside the bag, or
    None. Judged from the text alone: nothing is resolved against the file system."""
    if not path.strip():
        return "is empty"
    if "\x00" in path:
        return "holds a NUL character"
    if path.startswith("/"):
        return "is absolute"
    if path.startswith("\\\\"):
        return "is a UNC path"
    if _WINDOWS_DRIVE.match(path):
        return "names a Windows drive"
    if "\\" in path:
        return "uses '\\' as a separator; BagIt paths use '/'"
    if path.startswith("~"):
        return "starts with '~', a home-folder shortcut"
    if _ENVIRONMENT_REFERENCE.search(path):
        return "holds a %VARIABLE% reference"
    if ".." in path.split("/"):
        return "steps out with '..'"
    return None


def tag_file_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) of each line that is neither blank nor a comment.
    ``str.splitlines`` breaks lines where bagit's codecs reader does, so both see the same
    entries."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def manifest_entries(text: str) -> Iterator[tuple[int, str, str, str]]:
    """(line number, line, checksum, path as written) of each entry; a line that is not
    ``checksum path`` is yielded with an empty path."""
    for number, line in tag_file_lines(text):
        parts = line.split(None, 1)
        yield number, line, parts[0], parts[1] if len(parts) == 2 else ""


def check_manifest(name: str, text: str, findings: _Findings) -> None:
    """Unsafe or malformed entries are reasons; md5sum's '*' marker, './' prefixes, and names
    clashing by case or Unicode normalisation are warnings."""
    seen: dict[str, str] = {}
    for number, line, _checksum, written in manifest_entries(text):
        where = f"{name} line {number}"
        if not written:
            findings.reasons.append(f"{where}: {line!r} is not 'checksum path'")
            continue
        if written.startswith("*"):
            findings.warnings.append(
                f"{where}: '*' before the path is md5sum's binary marker, not BagIt"
            )
        path = decoded_path(written.lstrip("*"))
        problem = unsafe_path_reason(path)
        if problem is not None:
            findings.reasons.append(f"{where}: path {path!r} {problem}; it is not read")
            continue
        if path.startswith("./"):
            findings.warnings.append(f"{where}: path {path!r} starts with './'")
        _warn_on_clash(where, os.path.normpath(path), seen, findings)


def _warn_on_clash(where: str, path: str, seen: dict[str, str], findings: _Findings) -> None:
    for key, rule in (
        (unicodedata.normalize("NFC", path), "in another Unicode normalisation"),
        (unicodedata.normalize("NFC", path).casefold(), "in another letter case"),
    ):
        other = seen.get(key)
        if other is not None and other != path:
            findings.warnings.append(f"{where}: {path!r} is {other!r} {rule}")
            return
    seen.setdefault(unicodedata.normalize("NFC", path), path)
    seen.setdefault(unicodedata.normalize("NFC", path).casefold(), path)


def check_fetch(text: str, present: set[str], findings: _Findings) -> None:
    """fetch.txt: each line is ``url length path``; a path outside the bag is a reason, and
    so is a file that is absent (nothing is fetched here)."""
    for number, line in tag_file_lines(text):
        where = f"fetch.txt line {number}"
        url_and_length = line.split(None, 2)
        if len(url_and_length) != 3:
            findings.reasons.append(f"{where}: {line!r} is not 'url length path'")
            continue
        url, _length, written = url_and_length
        path = decoded_path(written)
        problem = unsafe_path_reason(path)
        if problem is not None:
            findings.reasons.append(f"{where}: path {path!r} {problem}; it is not fetched")
        elif unicodedata.normalize("NFC", os.path.normpath(path)) not in present:
            findings.reasons.append(
                f"{where}: {path} is missing from the bag and would have to be fetched from "
                f"{url}; nothing is fetched here, so send the bag with its payload complete"
            )


def system_file_warnings(files: list[str]) -> list[str]:
    return [
        f"{name} is operating-system litter ({name.rsplit('/', 1)[-1]})"
        for name in files
        if name.startswith("data/") and name.rsplit("/", 1)[-1].casefold() in SYSTEM_FILE_NAMES
    ]


class _ThreadWarnings(logging.Handler):
    """Collects ``bagit``'s warnings logged by one thread (the logger is process-wide)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


@contextmanager
def _bagit_warnings() -> Iterator[list[str]]:
    handler = _ThreadWarnings()
    bagit.LOGGER.addHandler(handler)
    try:
        yield handler.lines
    finally:
        bagit.LOGGER.removeHandler(handler)


def _run_bagit(
    bag_dir: Path, findings: _Findings, fixity: bool = True
) -> tuple[bagit.Bag | None, list[str]]:
    """``bagit``'s validation (with every checksum unless ``fixity`` is False); its errors
    become reasons with the bag's path made relative. Returns the bag when it could be
    opened, and the warnings it logged."""
    bag = None
    with _bagit_warnings() as logged:
        try:
            bag = bagit.Bag(str(bag_dir))
            bag.validate(processes=1, fast=False, completeness_only=not fixity)
        except bagit.BagError as error:
            findings.reasons.extend(_error_reasons(error, bag_dir))
        except (OSError, UnicodeError, ValueError, LookupError) as error:
            findings.reasons.append(f"the bag cannot be read: {error}")
    return bag, [_relative(line, bag_dir) for line in logged]


def _error_reasons(error: bagit.BagError, bag_dir: Path) -> list[str]:
    details = getattr(error, "details", None) or []
    if not details:
        return [_relative(str(error), bag_dir)]
    message = _relative(str(getattr(error, "message", "")), bag_dir)
    return [f"{message}: {_relative(str(detail), bag_dir)}" for detail in details]


def _relative(text: str, bag_dir: Path) -> str:
    absolute = os.path.abspath(bag_dir)
    return text.replace(absolute + os.sep, "").replace(absolute, bag_dir.name)
