from __future__ import annotations

import pytest

from heritage.cli import build_parser, main

COMMANDS = [
    [],
    ["services"],
    ["services", "up"],
    ["services", "down"],
    ["services", "status"],
    ["services", "env"],
    ["services", "init"],
    ["demo"],
    ["produce"],
    ["produce", "sample"],
    ["produce", "europeana"],
    ["produce", "annotations"],
    ["produce", "lido"],
    ["produce", "oai"],
    ["oai"],
    ["oai", "serve"],
    ["produce", "csv"],
    ["bench", "europeana"],
    ["lakehouse"],
    ["lakehouse", "run"],
    ["lakehouse", "reconcile"],
    ["lakehouse", "maintain"],
    ["lakehouse", "history"],
    ["dashboard"],
    ["bench"],
    ["bench", "skeleton"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "heritage")
def test_every_level_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: heritage" in out
    assert len(out.splitlines()) > 3


def test_unknown_stage_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["lakehouse", "run", "--stage", "gold"])
    assert "choose from" in capsys.readouterr().err
