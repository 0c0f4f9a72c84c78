"""Safe stand-in names for files whose own name a tool cannot take.

pygfried accepts only names that encode as UTF-8, and clamscan's ``--file-list`` is one name
a line, so a name with a line break cannot be listed. Such files are linked under a plain
name in a temporary folder, handed to the tool by that name and mapped back afterwards.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def not_utf8(path: Path) -> bool:
    """Whether the name holds bytes that are not UTF-8 (decoded as surrogates)."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def has_line_break(path: Path) -> bool:
    return "\n" in os.fspath(path) or "\r" in os.fspath(path)


@contextmanager
def aliased(
    paths: Sequence[Path], needs_alias: Callable[[Path], bool]
) -> Iterator[dict[Path, str]]:
    """``{path: the name to hand to the tool}``; absolute names, aliases where needed.

    An alias keeps the original suffix when that is safe, since format identification
    weighs the extension.
    """
    names: dict[Path, str] = {}
    flagged = {path for path in paths if needs_alias(path)}
    with (
        tempfile.TemporaryDirectory(prefix="heritage-alias-") if flagged else _no_folder() as folder
    ):
        for path in paths:
            if path in flagged:
                link = Path(folder) / f"{len(names)}{_safe_suffix(path)}"
                link.symlink_to(path.absolute())
                names[path] = str(link)
            else:
                names[path] = os.path.abspath(path)
        yield names


def _safe_suffix(path: Path) -> str:
    suffix = path.suffix
    if not_utf8(Path(suffix)) or has_line_break(Path(suffix)) or not suffix.isprintable():
        return ""
    return suffix


@contextmanager
def _no_folder() -> Iterator[str]:
    yield ""
