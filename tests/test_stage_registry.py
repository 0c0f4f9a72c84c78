"""A new stage plugs in with one module and one registry line, and `heritage lakehouse run`
runs it in its place."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from heritage import stage_registry
from heritage.cli import main
from heritage.lakehouse_layout import LakehouseLayout
from heritage.pipeline import produce_sample, stage_is_due
from heritage.settings import Settings
from heritage.stage_registry import RegisteredStage, select_stages, stage_names

STAGE_MODULE = '''
"""Counts the cleansed records it finds: a stage in one module."""

import json
import os

from heritage.stage_contract import StageContext, StageResult


def run(context: StageContext) -> StageResult:
    rows = context.spark.read.format("delta").load(context.layout.cleansed_records).count()
    with open(os.environ["CENSUS_STAGE_OUT"], "w", encoding="utf-8") as out:
        json.dump({"table_root": context.layout.table_root, "cleansed": rows}, out)
    return StageResult("census", rows, f"{rows} cleansed records counted")
'''


def test_stages_run_in_registry_order_and_refuse_unknown_names() -> None:
    assert stage_names()[:2] == ["raw", "cleanse"]
    assert [s.name for s in select_stages(skip=("ml",))] == [
        "raw",
        "cleanse",
        "ocr",
        "curate",
        "publication",
        "export",
    ]
    assert [s.name for s in select_stages("curate")] == ["curate"]
    with pytest.raises(ValueError, match="unknown stage 'mll'; the stages are raw, cleanse"):
        select_stages(skip=("mll",))


def test_a_stage_with_a_period_runs_on_the_first_cycle_then_once_per_period() -> None:
    hourly = RegisteredStage("hourly", "m", "d", period_s=3600)
    every_cycle = RegisteredStage("always", "m", "d")
    now = time.monotonic()
    assert stage_is_due(hourly, None)
    assert not stage_is_due(hourly, now - 60)
    assert stage_is_due(hourly, now - 3600)
    assert stage_is_due(every_cycle, now)
    publication = next(s for s in stage_registry.STAGES if s.name == "publication")
    assert publication.period_s == 3600


@pytest.mark.integration
def test_a_registered_extra_stage_runs_through_lakehouse_run(
    live_settings: Settings,
    layout: LakehouseLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "census_stage.py").write_text(STAGE_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "census.json"
    monkeypatch.setenv("CENSUS_STAGE_OUT", str(out))
    stages = list(stage_registry.STAGES)
    stages.insert(
        stage_names().index("cleanse") + 1,
        RegisteredStage("census", "census_stage", "count the cleansed records"),
    )
    monkeypatch.setattr(stage_registry, "STAGES", stages)
    produce_sample(live_settings, layout, 30, seed=5, progress=False)
    namespace = layout.pg_database.removeprefix("heritage_")

    assert main(["lakehouse", "run", "--namespace", namespace, "--skip", "ml"]) == 0

    printed = [line for line in capsys.readouterr().out.splitlines() if line[:5] != "logs:"]
    assert [line.split()[0] for line in printed[:7]] == [
        "raw",
        "cleanse",
        "census",
        "ocr",
        "curate",
        "publication",
        "export",
    ]
    found = json.loads(out.read_text(encoding="utf-8"))
    assert found["table_root"] == layout.table_root
    assert 0 < found["cleansed"] <= 30
