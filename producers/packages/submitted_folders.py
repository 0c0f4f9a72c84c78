"""Walking a submitted folder (a BagIt bag, a folder of scans) in place, read only.

Links are judged here: one resolving outside the folder, to a folder (which could loop or
list files twice), or nowhere is refused; a link to a file inside the folder is read as that
file. Devices, fifos and sockets are refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from heritage.producers.packages.container_formats import ArchiveProblem


def walk_submitted_folder(folder: Path) -> Iterator[tuple[str, Path, bool]]:
    """Every entry under ``folder`` as (posix path relative to it, local path, is a folder),
    folders before their contents, names sorted; never follows a link to a folder."""
    inside = folder.resolve()
    pending = [folder]
    while pending:
        current = pending.pop()
        with os.scandir(current) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
        for entry in entries:
            local = Path(entry.path)
            relative = local.relative_to(folder).as_posix()
            is_folder = _is_real_folder(entry, inside, relative)
            if is_folder:
                pending.append(local)
            yield relative, local, is_folder


def _is_real_folder(entry: os.DirEntry[str], inside: Path, relative: str) -> bool:
    """True for a real sub-folder, False for a regular file (or a link to one inside);
    refuses every other entry."""
    if entry.is_symlink():
        try:
            target = Path(entry.path).resolve(strict=True)
        except (OSError, RuntimeError):
            raise ArchiveProblem("link", relative, "the link is broken or loops") from None
        if not target.is_relative_to(inside):
            raise ArchiveProblem("link", relative, "the link points outside the submitted folder")
        if not target.is_file():
            raise ArchiveProblem("link", relative, "the link points to a folder or a special file")
        return False
    if entry.is_dir(follow_symlinks=False):
        return True
    if not entry.is_file(follow_symlinks=False):
        raise ArchiveProblem("device", relative, "the entry is a device, fifo or socket")
    return False
