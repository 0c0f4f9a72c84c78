"""Where a deployment keeps each producer's ledger and resume state."""

from __future__ import annotations

from pathlib import Path

import pytest

from heritage.lakehouse_layout import PRODUCER_SOURCES, LakehouseLayout
from heritage.settings import Settings


def test_producer_files_keep_the_paths_earlier_runs_wrote(offline_settings: Settings) -> None:
    layout = LakehouseLayout.default(offline_settings)
    producers = offline_settings.state_dir / "producers"
    ledgers = {source: layout.ledger_for(source) for source in PRODUCER_SOURCES}
    assert ledgers == {
        "sample": producers / "published.sqlite",
        "europeana": producers / "published.sqlite",
        "oai": producers / "published.sqlite",
        "lido": producers / "lido.sqlite",
        "csv": producers / "csv.sqlite",
        "annotations": producers / "annotations.sqlite",
        "package": producers / "packages.sqlite",
        "scan": producers / "published.sqlite",
    }
    assert layout.state_dir_for("europeana") == producers / "europeana"
    assert layout.state_dir_for("oai") == producers
    assert layout.state_dir_for("csv") == producers


def test_a_namespace_keeps_its_producer_files_apart(offline_settings: Settings) -> None:
    layout = LakehouseLayout.namespaced(offline_settings, "Replay-2")
    own: Path = offline_settings.state_dir / "producers" / "replay_2"
    assert layout.ledger_for("lido") == own / "lido.sqlite"
    assert layout.state_dir_for("europeana") == own / "europeana"


def test_an_unknown_producer_is_refused(offline_settings: Settings) -> None:
    with pytest.raises(ValueError, match="no producer named 'marc'"):
        LakehouseLayout.default(offline_settings).ledger_for("marc")
