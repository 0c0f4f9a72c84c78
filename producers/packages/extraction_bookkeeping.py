"""What one extraction has used so far: the names taken in a folder (collisions, a name
that is both a file and a folder) and the bytes a container has expanded to (ratio limits,
nested containers counted against every container around them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from heritage.producers.packages.container_formats import ArchiveProblem

# Output below this many bytes is never judged by its compression ratio.
RATIO_GRACE_BYTES: Final = 1024**2


@dataclass
class NameRegistry:
    """The names already used in one extraction folder."""

    files: set[tuple[str, ...]] = field(default_factory=set)
    folders: set[tuple[str, ...]] = field(default_factory=set)

    def claim_file(self, parts: tuple[str, ...], member: str) -> bool:
        """True when the name is free; False for a collision (same NFC name twice)."""
        if parts in self.folders or any(parts[:i] in self.files for i in range(1, len(parts))):
            raise ArchiveProblem("corrupt", member, "the name is both a file and a folder")
        if parts in self.files:
            return False
        self.files.add(parts)
        self.claim_folder(parts[:-1], member)
        return True

    def claim_folder(self, parts: tuple[str, ...], member: str) -> None:
        for end in range(len(parts), 0, -1):
            if parts[:end] in self.files:
                raise ArchiveProblem("corrupt", member, "the name is both a file and a folder")
            if parts[:end] in self.folders:
                return
            self.folders.add(parts[:end])


class ExpansionMeter:
    """Counts the bytes a container yields, its nested containers' included, against its
    size on disk (a nested bomb trips its outermost container); no cap for a plain file."""

    def __init__(
        self,
        label: str,
        compressed: int | None,
        max_ratio: float,
        parent: ExpansionMeter | None = None,
    ) -> None:
        self.label = label
        self.written = 0
        self.parent = parent
        self.cap = (
            2**63 if compressed is None else max(int(compressed * max_ratio), RATIO_GRACE_BYTES)
        )

    def add(self, count: int) -> None:
        meter: ExpansionMeter | None = self
        while meter is not None:
            meter.written += count
            if meter.written > meter.cap:
                reason = f"it expands to more than {meter.cap} bytes"
                raise ArchiveProblem("ratio", meter.label, reason, located=True)
            meter = meter.parent
