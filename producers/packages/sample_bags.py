"""BagIt 1.0 bags for the sample packages, made with the Library of Congress ``bagit`` package.

``bagit.make_bag`` writes ``BagIt-Version: 0.97`` and lists files in directory order, so the
bag is then raised to 1.0 (RFC 8493) and its manifests sorted, which also makes the bag's
bytes reproducible. The tag manifest is rewritten last, over the final tag files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import bagit

BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
ALGORITHM = "sha256"


def _sort_by_path(manifest: Path) -> None:
    """Manifest lines ("<digest>  <path>") in path order."""
    lines = manifest.read_text(encoding="utf-8").splitlines()
    ordered = sorted(lines, key=lambda line: line.split(maxsplit=1)[1])
    manifest.write_text("".join(f"{line}\n" for line in ordered), encoding="utf-8")


def _write_tag_manifest(bag_dir: Path) -> None:
    tag_files = sorted(
        path
        for path in bag_dir.iterdir()
        if path.is_file() and not path.name.startswith("tagmanifest-")
    )
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n" for path in tag_files
    ]
    (bag_dir / f"tagmanifest-{ALGORITHM}.txt").write_text("".join(lines), encoding="utf-8")


def make_bag_1_0(folder: Path, bag_info: Mapping[str, str]) -> Path:
    """Turn ``folder`` (its files become the payload under ``data/``) into a BagIt 1.0 bag.

    ``bag_info`` should hold ``Bagging-Date``: otherwise bagit writes today's date and the
    bag differs from day to day. Payload-Oxum is computed by bagit.
    """
    bagit.make_bag(str(folder), bag_info=dict(bag_info), checksums=[ALGORITHM])
    (folder / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    _sort_by_path(folder / f"manifest-{ALGORITHM}.txt")
    _write_tag_manifest(folder)
    return folder
