"""Is a submission new, a duplicate of the stored version, or an update of it? Pure.

A package is keyed by its identifier (the METS OBJID, the bag's identifier, else the
submission's name) and fingerprinted by its sorted (path, sha256) list:

- no stored version: a new package, version 1;
- the same fingerprint as the latest stored version: a duplicate, no new version;
- a different fingerprint: an update, the next version, with a diff of files and metadata.

Only the latest version counts: a submission identical to an older version (a revert) is an
update again, so the latest version always is what was last deposited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Kind(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    UPDATE = "update"


@dataclass(frozen=True)
class StoredVersion:
    """The latest stored version of a package, as its manifest records it."""

    package_id: str
    version: int
    fingerprint: str
    # path -> sha256
    files: Mapping[str, str]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # The whole manifest of the version, as its storing event carries it.
    manifest: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resubmission:
    kind: Kind
    # The version this submission is (new, update) or equals (duplicate).
    version: int
    previous: StoredVersion | None
    # added / removed / changed paths and changed metadata fields; None unless an update.
    diff: dict[str, list[str]] | None = None

    def describe(self) -> str:
        if self.kind is Kind.NEW:
            return "new package: version 1"
        if self.kind is Kind.DUPLICATE:
            return f"duplicate of version {self.version}: the same files and checksums"
        diff = self.diff or {}
        counts = ", ".join(f"{len(diff.get(key, []))} {key}" for key in _DIFF_KEYS)
        return f"update: version {self.version} supersedes version {self.version - 1} ({counts})"


_DIFF_KEYS = ("added", "removed", "changed", "metadata_changed")


def fingerprint(files: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over the sorted (path, sha256) pairs, one ``path\\tsha256\\n`` line each."""
    lines = "".join(f"{path}\t{digest}\n" for path, digest in sorted(files))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def classify(
    files: Mapping[str, str],
    metadata: Mapping[str, Any],
    latest: StoredVersion | None,
) -> Resubmission:
    """The resubmission verdict of a package with ``files`` (path -> sha256)."""
    if latest is None:
        return Resubmission(Kind.NEW, 1, None)
    if fingerprint(files.items()) == latest.fingerprint:
        return Resubmission(Kind.DUPLICATE, latest.version, latest)
    return Resubmission(
        Kind.UPDATE, latest.version + 1, latest, version_diff(latest, files, metadata)
    )


def version_diff(
    previous: StoredVersion, files: Mapping[str, str], metadata: Mapping[str, Any]
) -> dict[str, list[str]]:
    before, after = previous.files, files
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(path for path in set(before) & set(after) if before[path] != after[path]),
        "metadata_changed": sorted(
            key
            for key in set(previous.metadata) | set(metadata)
            if previous.metadata.get(key) != metadata.get(key)
        ),
    }
