"""Safe recursive unpacking of a submission package: the first step of the package workflow.

A submission is a folder (read in place, never modified), a container (zip, tar, tar.gz,
tar.bz2, tar.xz, or a single gzip/bzip2/xz file) extracted into ``work_dir/package/``, or a
single plain file copied there. Containers are recognised by their first bytes, never by
their extension; zip-based documents (OOXML, ODF, EPUB, JAR) are files. Containers found
inside are unpacked too, each into its own ``work_dir/containers/<n>/`` folder, and stay in
the file list at their own logical path, their members under it (``a/b.zip/x/y.tif``).

Hostile input is refused as a whole (:class:`UnpackRefused`, nothing partially trusted, what
was extracted is removed): names leaving the package, every link inside an archive (also
links pointing inside it: an archive has no need for them), in a submitted folder a link
that resolves outside the folder or to a folder (a link to a file inside it is read as that
file), devices and fifos, encrypted zip members, nesting deeper than ``max_depth``, more
than ``max_members`` entries (folders included), more than ``max_total_bytes`` written, a
compression ratio over ``max_ratio`` (per zip member against its recorded compressed size,
per container against its size on disk; output up to :data:`RATIO_GRACE_BYTES` is exempt so
a small blank file is no bomb), and damaged or truncated archives. Bytes are counted as they
stream, so headers that lie about sizes cannot get past the limits.

Names are normalised to NFC (files are written under their NFC names) and a backslash counts
as a separator; ``renamed`` lists every file whose logical path differs from the archive's
spelling, ``name_collisions`` the spellings that became one logical path (the later ones are
written under ``work_dir/collisions/<n>/``, never over the first). Names that are not valid
UTF-8 are refused as corrupt.
"""

from __future__ import annotations

import shutil
import unicodedata
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from heritage.producers.packages.archive_members import ArchiveMember, Readable, read_members
from heritage.producers.packages.container_formats import (
    ArchiveProblem,
    ContainerKind,
    Sniffed,
    member_parts,
    sniff_container,
)
from heritage.producers.packages.extraction_bookkeeping import (
    RATIO_GRACE_BYTES,
    ExpansionMeter,
    NameRegistry,
)
from heritage.producers.packages.submitted_folders import walk_submitted_folder
from heritage.source_rejections import SourceRejection

# The folders unpack() creates under work_dir.
PACKAGE_DIR: Final = "package"
CONTAINERS_DIR: Final = "containers"
COLLISIONS_DIR: Final = "collisions"

_FIXES: Final = {
    "traversal": "repack it with relative names inside the package",
    "link": "replace the link by the file it points to and send it again",
    "device": "remove the device file or fifo and send it again",
    "encrypted": "send it without a password",
    "depth": "flatten the nested containers and send it again",
    "size": "split it into smaller packages",
    "ratio": "it looks like a compression bomb; send the files uncompressed or less compressed",
    "members": "split it into smaller packages",
    "corrupt": "check the archive and send it again",
}


@dataclass(frozen=True)
class UnpackLimits:
    max_depth: int = 5  # containers inside containers (outer = depth 1)
    max_members: int = 10_000  # all entries of all levels together, folders included
    max_total_bytes: int = 8 * 1024**3  # bytes written while unpacking, all levels together
    max_ratio: float = 200.0  # uncompressed/compressed, per member AND per container


@dataclass(frozen=True)
class UnpackedFile:
    path: str  # logical path in the package, NFC, posix, e.g. "bag/data/scans.zip/p1.tif"
    original_path: str  # the same path as the archive spelled it (before NFC)
    local_path: Path  # where its bytes are on disk (under work_dir, or in the submitted folder)
    size: int
    container: bool  # an embedded container that was itself unpacked
    depth: int  # 0 = a member of the submission itself (or a file of a submitted folder)


@dataclass(frozen=True)
class UnpackResult:
    root: Path  # the folder holding the top level (a submitted folder: that folder itself)
    files: tuple[UnpackedFile, ...]  # every regular file, containers included, sorted by path
    containers: tuple[str, ...]  # logical paths of the containers unpacked (outer excluded)
    renamed: tuple[tuple[str, str], ...]  # (original, logical) for every path that changed
    name_collisions: tuple[tuple[str, ...], ...]  # original paths that became one logical path


class UnpackRefused(SourceRejection):
    """A submission refused whole; ``rule`` says why and ``member`` names the offender."""

    def __init__(self, submission: str, member: str, rule: str, reason: str) -> None:
        self.submission = submission
        self.member = member
        self.rule = rule
        self.reason = reason
        super().__init__(
            f"Submission '{_printable(submission)}' was refused because '{_printable(member)}' "
            f"breaks the {rule} rule ({reason}); {_FIXES[rule]}."
        )


def container_kind(path: Path) -> ContainerKind | None:
    """The container ``path`` holds, judged by content: zip, tar (also inside gzip, bzip2 or
    xz), or gzip, bzip2, xz (a single compressed file); None for a plain file, a folder or a
    zip-based document."""
    sniffed = sniff_container(path)
    return None if sniffed is None else sniffed.kind


def unpack(submission: Path, work_dir: Path, limits: UnpackLimits = UnpackLimits()) -> UnpackResult:
    """Unpack ``submission`` (a folder, a container or a plain file) under ``work_dir``.

    ``work_dir`` may exist but must not hold the folders this creates (package, containers,
    collisions). Raises :class:`UnpackRefused` for hostile or damaged input.
    """
    if submission.is_dir() and work_dir.resolve().is_relative_to(submission.resolve()):
        raise ValueError(f"the work folder {work_dir} must be outside the submitted folder")
    work_dir.mkdir(parents=True, exist_ok=True)
    run = _Unpacking(submission.name, work_dir, limits)
    try:
        root = run.unpack_submission(submission)
    except ArchiveProblem as problem:
        run.discard()
        raise UnpackRefused(submission.name, problem.member, problem.rule, problem.reason) from None
    except BaseException:
        run.discard()
        raise
    return run.result(root)


@dataclass(frozen=True)
class _Container:
    """A container waiting to be unpacked."""

    logical: str  # "" for the submission itself
    original: str
    local: Path
    sniffed: Sniffed
    level: int  # 1 = outermost
    member_depth: int  # UnpackedFile.depth of its members
    parent_meter: ExpansionMeter | None  # the meter of the container holding it


class _Unpacking:
    """The state of one unpack() call: limits spent, files found, folders created."""

    def __init__(self, submission: str, work_dir: Path, limits: UnpackLimits) -> None:
        self.submission = submission
        self.work_dir = work_dir
        self.guard_root = work_dir.resolve()
        self.limits = limits
        self.members = 0
        self.total_bytes = 0
        self.files: list[UnpackedFile] = []
        self.containers: list[str] = []
        self.by_path: dict[str, list[str]] = {}
        self.queue: deque[_Container] = deque()
        self.created: list[Path] = []
        self.folder_count = 0

    def unpack_submission(self, submission: Path) -> Path:
        if submission.is_dir():
            _read_folder(self, submission)
            root = submission
        else:
            root = self.new_folder(PACKAGE_DIR)
            sniffed = sniff_container(submission)
            if sniffed is None:
                self.copy_plain_file(submission, root)
            else:
                outer = _Container("", "", submission, sniffed, 1, 0, None)
                self.extract(outer, root, self.submission)
        while self.queue:
            container = self.queue.popleft()
            self.extract(container, self.new_folder(CONTAINERS_DIR), container.logical)
        return root

    def new_folder(self, kind: str) -> Path:
        """A fresh folder under work_dir (package, or a numbered one for a container)."""
        if kind == PACKAGE_DIR:
            folder = self.work_dir / PACKAGE_DIR
        else:
            self.folder_count += 1
            parent = self.work_dir / kind
            if not parent.exists():
                parent.mkdir()
                self.created.append(parent)
            folder = parent / str(self.folder_count)
        folder.mkdir()
        if kind == PACKAGE_DIR:
            self.created.append(folder)
        return folder

    def count_member(self, member: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            reason = f"the package has more than {self.limits.max_members} members"
            raise ArchiveProblem("members", member, reason)

    def extract(self, container: _Container, dest: Path, label: str) -> None:
        """Write every member of ``container`` under ``dest``; problems name the member with
        the container's logical path in front (the container itself: ``label``)."""
        size = container.local.stat().st_size
        meter = ExpansionMeter(label, size, self.limits.max_ratio, container.parent_meter)
        names = NameRegistry()
        display = container.logical.rsplit("/", 1)[-1] or self.submission
        try:
            for member, stream in read_members(
                container.local, container.sniffed, display_name=display, max_stream_bytes=meter.cap
            ):
                self.extract_member(container, member, stream, dest, names, meter)
        except ArchiveProblem as problem:
            if problem.located:
                raise
            where = _join(container.logical, problem.member) if problem.member else label
            raise ArchiveProblem(problem.rule, where, problem.reason, located=True) from None

    def extract_member(
        self,
        container: _Container,
        member: ArchiveMember,
        stream: Readable | None,
        dest: Path,
        names: NameRegistry,
        meter: ExpansionMeter,
    ) -> None:
        self.count_member(member.name)
        parts = tuple(unicodedata.normalize("NFC", part) for part in member_parts(member.name))
        if stream is None:
            names.claim_folder(parts, member.name)
            self.make_folder(dest.joinpath(*parts), member.name)
            return
        if not parts:
            raise ArchiveProblem("corrupt", member.name, "the member has no name")
        self.check_declared(member)
        first = names.claim_file(parts, member.name)
        target = dest.joinpath(*parts) if first else self.new_folder(COLLISIONS_DIR) / parts[-1]
        self.make_folder(target.parent, member.name)
        size = self.copy_counted(stream, target, member, meter)
        self.record(container, member.name, "/".join(parts), target, size, meter)

    def check_declared(self, member: ArchiveMember) -> None:
        """Refuse early on the archive's own (possibly lying) sizes; streaming re-checks."""
        declared = member.declared_size or 0
        if self.total_bytes + declared > self.limits.max_total_bytes:
            raise ArchiveProblem("size", member.name, self.size_reason())
        compressed = member.compressed_size
        if compressed is not None and declared > max(
            compressed * self.limits.max_ratio, RATIO_GRACE_BYTES
        ):
            raise ArchiveProblem("ratio", member.name, self.ratio_reason())

    def copy_counted(
        self, stream: Readable, target: Path, member: ArchiveMember, meter: ExpansionMeter
    ) -> int:
        size = 0
        member_cap = _member_cap(member, self.limits.max_ratio)
        with target.open("xb") as out:
            while chunk := stream.read(member.read_size):
                out.write(chunk)
                size += len(chunk)
                self.total_bytes += len(chunk)
                if self.total_bytes > self.limits.max_total_bytes:
                    raise ArchiveProblem("size", member.name, self.size_reason())
                if size > member_cap:
                    raise ArchiveProblem("ratio", member.name, self.ratio_reason())
                meter.add(len(chunk))
        return size

    def make_folder(self, folder: Path, member: str) -> None:
        # A second guard behind the name checks: nothing is ever written outside work_dir.
        if not folder.resolve().is_relative_to(self.guard_root):
            raise ArchiveProblem("traversal", member, "the path resolves outside the package")
        folder.mkdir(parents=True, exist_ok=True)

    def record(
        self,
        container: _Container,
        original: str,
        name: str,
        local: Path,
        size: int,
        meter: ExpansionMeter,
    ) -> None:
        path = _join(container.logical, name)
        original_path = _join(container.original, original)
        self.by_path.setdefault(path, []).append(original_path)
        sniffed = sniff_container(local)
        if sniffed is not None:
            if container.level + 1 > self.limits.max_depth:
                raise ArchiveProblem("depth", original, self.depth_reason())
            level, depth = container.level + 1, container.member_depth + 1
            self.queue_container(
                _Container(path, original_path, local, sniffed, level, depth, meter)
            )
        self.files.append(
            UnpackedFile(
                path, original_path, local, size, sniffed is not None, container.member_depth
            )
        )

    def queue_container(self, container: _Container) -> None:
        self.containers.append(container.logical)
        self.queue.append(container)

    def depth_reason(self) -> str:
        return f"containers are nested more than {self.limits.max_depth} deep"

    def copy_plain_file(self, submission: Path, root: Path) -> None:
        self.count_member(submission.name)
        name = unicodedata.normalize("NFC", submission.name)
        target = root / name
        member = ArchiveMember(submission.name, False, submission.stat().st_size, None)
        with submission.open("rb") as stream:
            meter = ExpansionMeter(submission.name, None, self.limits.max_ratio)
            size = self.copy_counted(stream, target, member, meter)
        self.by_path[name] = [submission.name]
        self.files.append(UnpackedFile(name, submission.name, target, size, False, 0))

    def size_reason(self) -> str:
        return f"the package unpacks to more than {self.limits.max_total_bytes} bytes"

    def ratio_reason(self) -> str:
        return f"it expands more than {self.limits.max_ratio:g} times"

    def discard(self) -> None:
        for folder in reversed(self.created):
            shutil.rmtree(folder, ignore_errors=True)

    def result(self, root: Path) -> UnpackResult:
        files = tuple(sorted(self.files, key=lambda file: (file.path, file.original_path)))
        renamed = sorted({(f.original_path, f.path) for f in files if f.original_path != f.path})
        collisions = sorted(tuple(group) for group in self.by_path.values() if len(group) > 1)
        return UnpackResult(
            root, files, tuple(sorted(self.containers)), tuple(renamed), tuple(collisions)
        )


def _member_cap(member: ArchiveMember, max_ratio: float) -> float:
    if member.compressed_size is None or max_ratio <= 0:
        return float("inf")
    return max(member.compressed_size * max_ratio, RATIO_GRACE_BYTES)


def _printable(name: str) -> str:
    """A name fit for a one-line message: control characters escaped."""
    return "".join(f"\\x{ord(char):02x}" if ord(char) < 32 else char for char in name)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def _read_folder(run: _Unpacking, folder: Path) -> None:
    """List a submitted folder in place (depth 0) and queue the containers found in it."""
    for relative, local, is_folder in walk_submitted_folder(folder):
        run.count_member(relative)
        if not is_folder:
            _record_folder_file(run, local, relative)


def _record_folder_file(run: _Unpacking, local: Path, relative: str) -> None:
    parts = member_parts(relative)  # refuses names that are not valid UTF-8
    path = "/".join(unicodedata.normalize("NFC", part) for part in parts)
    run.by_path.setdefault(path, []).append(relative)
    sniffed = sniff_container(local)
    if sniffed is not None:
        if run.limits.max_depth < 1:
            raise ArchiveProblem("depth", relative, run.depth_reason(), located=True)
        run.queue_container(_Container(path, relative, local, sniffed, 1, 1, None))
    size = local.stat().st_size
    run.files.append(UnpackedFile(path, relative, local, size, sniffed is not None, 0))
