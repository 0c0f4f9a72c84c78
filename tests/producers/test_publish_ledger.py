"""The publish ledger: which (record_id, content_hash) pairs Kafka has confirmed (no services)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from heritage.producers.publish_ledger import _LOOKUP, PublishLedger


def test_already_published_returns_exactly_the_recorded_pairs_of_the_topic(tmp_path: Path) -> None:
    ledger = PublishLedger(tmp_path / "ledger.sqlite")
    try:
        ledger.record("records", [("a", "h1"), ("a", "h2"), ("b", "h1")])
        ledger.record("annotations", [("c", "h1")])

        found = ledger.already_published(
            "records", [("a", "h2"), ("a", "h3"), ("b", "h1"), ("c", "h1"), ("d", "h1")]
        )

        # ("a", "h1") is recorded but not asked for; ("c", "h1") is another topic's.
        assert found == {("a", "h2"), ("b", "h1")}
        assert ledger.already_published("records", []) == set()
    finally:
        ledger.close()


def test_already_published_answers_more_pairs_than_one_query_takes(tmp_path: Path) -> None:
    ledger = PublishLedger(tmp_path / "ledger.sqlite")
    try:
        recorded = [(f"rec-{i:05d}", f"hash-{i}") for i in range(0, 3000, 2)]
        ledger.record("records", recorded)
        asked = [(f"rec-{i:05d}", f"hash-{i}") for i in range(3000)]

        assert ledger.already_published("records", iter(asked)) == set(recorded)
    finally:
        ledger.close()


def test_lookup_probes_the_primary_key_by_topic_and_record_id(tmp_path: Path) -> None:
    """Each lookup must search the key by record id, not scan the topic's pairs: a scan made
    publishing N records cost O(N^2) (2,000,000 records did not finish in 24 minutes)."""
    PublishLedger(tmp_path / "ledger.sqlite").close()
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        plan = db.execute(
            f"EXPLAIN QUERY PLAN {_LOOKUP.format('?,?')}", ["records", "a", "b"]
        ).fetchall()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "PRIMARY KEY (topic=? AND record_id=?)" in details, details
    assert "SCAN" not in details, details
