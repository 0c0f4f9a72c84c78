"""Reading a Delta commit file's commitInfo (pure: the text of the file)."""

from __future__ import annotations

import json

from heritage.delta_tables import parse_commit_info


def test_parse_commit_info_finds_the_commit_info_action_among_the_others() -> None:
    info = {"operation": "MERGE", "userMetadata": '{"curate": {}}'}
    commit = "\n".join(
        json.dumps(action)
        for action in (
            {"add": {"path": "part-0.parquet", "size": 10}},
            {"commitInfo": info},
            {"remove": {"path": "part-1.parquet"}},
        )
    )
    assert parse_commit_info(commit + "\n") == info


def test_parse_commit_info_of_a_commit_without_one_is_empty() -> None:
    assert parse_commit_info('{"add": {"path": "p"}}\n\n') == {}
