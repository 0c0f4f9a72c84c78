from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from heritage import pipeline
from heritage.cli import build_parser, main
from heritage.json_logging import HumanFormatter, JsonFormatter
from heritage.lakehouse_layout import LakehouseLayout
from heritage.producers import (
    csv_drop,
    europeana_client,
    lido_drop,
    oai_pmh_harvester,
)
from heritage.producers.csv_drop import BadCsvRow, CsvDropResult
from heritage.producers.europeana_client import EuropeanaHarvestResult
from heritage.producers.kafka_publisher import PublishResult
from heritage.producers.lido_drop import LidoDropResult, Rejection
from heritage.producers.oai_pmh_harvester import HarvestResult, ListResult
from heritage.producers.simulators import annotation_simulator
from heritage.producers.simulators.annotation_simulator import AnnotationRunResult

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
    ["lakehouse", "drop"],
    ["metrics"],
    ["metrics", "serve"],
    ["ml", "find-duplicates"],
    ["dashboard"],
    ["bench"],
    ["bench", "skeleton"],
    ["ingest"],
    ["ingest", "packages"],
    ["ingest", "watch"],
    ["ingest", "test-signatures"],
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


# --- what a producer prints, --strict, and files that are not XML -------------------------

INVENTORY_NOTE = (
    "Inventory list - Landesmuseum, Depot 3\n"
    "Inv.-Nr.;Titel;Datierung\n"
    "LM 1954/12;Krug mit Zinndeckel;um 1780\n"
)
# A file as a Windows export writes it: byte-order mark, CRLF line ends.
LIDO_HEAD = (
    '\ufeff<?xml version="1.0" encoding="UTF-8"?>\r\n'
    '<lido:lidoWrap xmlns:lido="http://www.lido-schema.org"/>\r\n'
)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """main() configures the root logger; put back what the test run had."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


@pytest.fixture
def offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, restored_logging: None
) -> list[tuple[str, tuple[object, ...]]]:
    """Every producer entry point the CLI calls, replaced by one that records its call and
    returns a result with one rejection where the producer can reject anything."""
    monkeypatch.setenv("HERITAGE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("EUROPEANA_API_KEY", "test-key-not-used")
    calls: list[tuple[str, tuple[object, ...]]] = []

    def fake(name: str, result: object) -> Callable[..., object]:
        def producer(*args: object, **_options: object) -> object:
            calls.append((name, args))
            return result

        return producer

    lido_result = LidoDropResult(files=1, records=3, published=2, rejected=1)
    lido_result.rejections.append(
        Rejection(
            tmp_path / "drops" / "export.xml",
            120,
            "lido:DE-Mb112/lido-obj00154",
            ["no title: titleWrap/titleSet needs at least one non-blank appellationValue"],
        )
    )
    csv_result = CsvDropResult(rows=2, new=2, published=2, rejected=1)
    csv_result.bad_rows.append(BadCsvRow(4, "3 cells, the header has 4", "x;y;z", None, "7", 6))
    oai_result = HarvestResult("http://127.0.0.1:1/oai", "127.0.0.1")
    oai_result.lists.append(
        ListResult("oai_dc", None, published=5, dead_lettered=1, completed=True)
    )
    europeana_result = EuropeanaHarvestResult(
        pages=1, records=4, published=4, skipped=0, unidentified=0, finished=True,
        resumed=False, total_results=4, state_file=tmp_path / "cursor.json",
    )  # fmt: skip
    annotations_result = AnnotationRunResult(
        published=3, skipped=0, tags=2, comments=1, known_record_ids=3, seconds=1.0
    )
    monkeypatch.setattr(lido_drop, "publish_lido", fake("lido", lido_result))
    monkeypatch.setattr(csv_drop, "publish_csv", fake("csv", csv_result))
    monkeypatch.setattr(oai_pmh_harvester, "harvest", fake("oai", oai_result))
    monkeypatch.setattr(europeana_client, "publish_europeana", fake("europeana", europeana_result))
    monkeypatch.setattr(
        annotation_simulator, "simulate_annotations", fake("annotations", annotations_result)
    )
    monkeypatch.setattr(pipeline, "prepare", fake("prepare", None))
    monkeypatch.setattr(pipeline, "produce_sample", fake("sample", PublishResult(6, 4)))
    return calls


def write_lido(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LIDO_HEAD, encoding="utf-8")
    return path


def producer_commands(tmp_path: Path) -> dict[str, list[str]]:
    export = tmp_path / "rijks.csv"
    export.write_text("id;title\n7;Krug\n", encoding="utf-8")
    return {
        "lido": ["produce", "lido", str(write_lido(tmp_path / "drops" / "export.xml"))],
        "csv": ["produce", "csv", str(export), "--collection", "rijks"],
        "oai": ["produce", "oai", "--base-url", "http://127.0.0.1:1/oai"],
        "europeana": ["produce", "europeana", "--query", "Krug"],
        "sample": ["produce", "sample", "--records", "10"],
        "annotations": ["produce", "annotations", "--count", "3"],
    }


REJECTING = {"lido": 1, "csv": 1, "oai": 1, "europeana": 0, "sample": 0, "annotations": 0}


@pytest.mark.parametrize("source", sorted(REJECTING))
def test_every_producer_ends_with_one_summary_line(
    source: str, offline: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(producer_commands(tmp_path)[source]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        rf"{source}: [\d,]+ read, [\d,]+ published, {REJECTING[source]} rejected, "
        r"[\d,]+ unchanged( \(.*\))?",
        lines[-1],
    ), lines
    assert len(lines) == 1 + REJECTING[source], lines


@pytest.mark.parametrize("source", sorted(REJECTING))
def test_strict_fails_the_run_only_when_something_was_rejected(
    source: str, offline: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = producer_commands(tmp_path)[source]
    assert main([*command, "--strict"]) == (1 if REJECTING[source] else 0)


def test_each_rejected_lido_record_is_printed_with_file_and_line(
    offline: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    main(["produce", "lido", str(write_lido(tmp_path / "drops" / "export.xml"))])
    assert capsys.readouterr().out.splitlines() == [
        "drops/export.xml:120 lido:DE-Mb112/lido-obj00154: no title: titleWrap/titleSet needs "
        "at least one non-blank appellationValue",
        "lido: 3 read, 2 published, 1 rejected, 0 unchanged (1 file)",
    ]


def test_each_rejected_csv_row_is_printed_with_file_and_line(
    offline: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    main(producer_commands(tmp_path)["csv"])
    assert capsys.readouterr().out.splitlines()[0] == (
        "rijks.csv:4 csv:rijks:7: 3 cells, the header has 4"
    )


def test_lido_refuses_a_file_that_is_not_xml_before_publishing(
    offline: list[tuple[str, tuple[object, ...]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_lido(tmp_path / "export.xml")
    (tmp_path / "notes.txt").write_text(INVENTORY_NOTE, encoding="utf-8")

    assert main(["produce", "lido", "export.xml", "notes.txt"]) == 2

    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "heritage produce lido: notes.txt is not XML (it starts with 'Inventory list - "
        "Landesmuseum, Depot 3'); pass LIDO XML files or folders"
    ]
    assert "Traceback" not in captured.err and captured.out == ""
    assert offline == []


def test_lido_refuses_a_zipped_export_named_like_xml(
    offline: list[tuple[str, tuple[object, ...]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    zipped = tmp_path / "export.xml"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("export/lido_0001.xml", LIDO_HEAD)

    assert main(["produce", "lido", str(zipped)]) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert f"{zipped} is not XML (it is a ZIP archive" in line
    assert offline == []


def test_a_folder_keeps_its_xml_search_past_other_files(
    offline: list[tuple[str, tuple[object, ...]]], tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    write_lido(drop / "export.xml")
    (drop / "notes.txt").write_text(INVENTORY_NOTE, encoding="utf-8")

    assert main(["produce", "lido", str(drop)]) == 0

    assert [name for name, _ in offline] == ["lido"]


@pytest.mark.parametrize("log_format", ["json", "human"])
def test_log_format_option_picks_the_formatter(
    log_format: str, offline: list[object], tmp_path: Path
) -> None:
    main(["--log-format", log_format, *producer_commands(tmp_path)["sample"]])
    [handler] = logging.getLogger().handlers
    expected = JsonFormatter if log_format == "json" else HumanFormatter
    assert type(handler.formatter) is expected


def test_logs_are_json_lines_when_stderr_is_not_a_terminal(
    offline: list[object], tmp_path: Path
) -> None:
    main(producer_commands(tmp_path)["sample"])
    [handler] = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)


def test_new_options_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--log-format" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["produce", "lido", "--help"])
    assert "--strict" in capsys.readouterr().out


@pytest.mark.parametrize("source", sorted(REJECTING))
def test_every_producer_publishes_into_the_namespace_it_is_given(
    source: str, offline: list[tuple[str, tuple[object, ...]]], tmp_path: Path
) -> None:
    assert main([*producer_commands(tmp_path)[source], "--namespace", "replay-1"]) == 0

    [layout] = [args[1] for name, args in offline if name == source]
    assert isinstance(layout, LakehouseLayout)
    assert layout.records_topic == "heritage.records.replay_1"
    assert layout.dead_letter_topic == "heritage.dlq.replay_1"
    assert layout.producer_state_dir == tmp_path / "state" / "producers" / "replay_1"
