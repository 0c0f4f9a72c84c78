"""Which (record_id, content_hash) pairs a producer has already had confirmed by Kafka.

A rerun publishes only what is new or changed. A pair is written here only after the
broker confirmed it (acks=all), so a crash between send and confirm re-sends rather than
loses; downstream stages are idempotent on (record_id, content_hash), so a re-send is
harmless.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path


class PublishLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS published ("
            " topic TEXT NOT NULL, record_id TEXT NOT NULL, content_hash TEXT NOT NULL,"
            " PRIMARY KEY (topic, record_id, content_hash)) WITHOUT ROWID"
        )
        self._db.commit()

    def already_published(
        self, topic: str, pairs: Iterable[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        wanted = list(pairs)
        found: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            placeholders = ",".join("(?,?)" for _ in chunk)
            rows = self._db.execute(
                f"SELECT record_id, content_hash FROM published WHERE topic = ? AND "
                f"(record_id, content_hash) IN (VALUES {placeholders})",
                [topic, *[value for pair in chunk for value in pair]],
            )
            found.update((str(a), str(b)) for a, b in rows)
        return found

    def record(self, topic: str, pairs: Iterable[tuple[str, str]]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO published (topic, record_id, content_hash) VALUES (?, ?, ?)",
            [(topic, record_id, digest) for record_id, digest in pairs],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
