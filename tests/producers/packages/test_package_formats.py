"""PRONOM format identification with the siegfried that pygfried embeds."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pygfried
import pytest
from PIL import Image

from heritage.producers.packages.format_identification import (
    FormatVerdict,
    describe_tool,
    identify_files,
    tool_version,
    verdict_from_result,
)


@pytest.fixture
def samples(tmp_path: Path) -> dict[str, Path]:
    image = Image.new("RGB", (32, 24), (120, 60, 30))
    paths = {
        "jpeg": tmp_path / "photo.jpg",
        "tiff": tmp_path / "master.tif",
        "png": tmp_path / "logo.png",
        "pdf": tmp_path / "report.pdf",
    }
    for path in paths.values():
        image.save(path)
    paths["text"] = tmp_path / "readme.txt"
    paths["text"].write_text("A finding aid for the parish registers.\n", encoding="utf-8")
    paths["renamed pdf"] = tmp_path / "report.bin"
    shutil.copy(paths["pdf"], paths["renamed pdf"])
    return paths


def test_pronom_ids_of_common_formats(samples: dict[str, Path]) -> None:
    verdicts = identify_files(list(samples.values()))

    puids = {kind: verdicts[path].puid for kind, path in samples.items()}
    assert puids == {
        "jpeg": "fmt/43",
        "tiff": "fmt/353",
        "png": "fmt/11",
        "pdf": "fmt/18",  # Pillow writes PDF 1.4
        "text": "x-fmt/111",
        "renamed pdf": "fmt/18",
    }
    jpeg = verdicts[samples["jpeg"]]
    assert (jpeg.mime, jpeg.format_name) == ("image/jpeg", "JPEG File Interchange Format")
    assert jpeg.basis and "byte match" in jpeg.basis
    assert jpeg.warning is None
    assert verdicts[samples["pdf"]].version == "1.4"


def test_renamed_file_is_identified_by_content_with_a_warning(samples: dict[str, Path]) -> None:
    verdict = identify_files([samples["renamed pdf"]])[samples["renamed pdf"]]
    assert verdict.mime == "application/pdf"
    assert verdict.warning == "extension mismatch"


def test_batch_agrees_with_file_by_file(samples: dict[str, Path]) -> None:
    paths = list(samples.values())
    batch = identify_files(paths, workers=2)
    assert batch == {path: identify_files([path])[path] for path in paths}


def test_unreadable_files_get_a_verdict_that_says_why(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.tif"

    verdicts = identify_files([empty, missing])

    assert verdicts[empty].puid is None and not verdicts[empty].identified
    assert verdicts[empty].warning and "empty source" in verdicts[empty].warning
    assert verdicts[missing].puid is None
    assert verdicts[missing].warning and "no such file" in verdicts[missing].warning


def test_names_that_are_not_utf8_or_not_ascii_map_back(tmp_path: Path) -> None:
    image = Image.new("L", (8, 8))
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/scan \xff: 1.png"))
    accented = tmp_path / "Élise: 写真 1890.jpg"
    image.save(odd, format="PNG")
    image.save(accented)

    verdicts = identify_files([odd, accented])

    assert verdicts[odd].puid == "fmt/11"
    assert verdicts[accented].puid == "fmt/43"


def test_no_files_no_verdicts() -> None:
    assert identify_files([]) == {}


def test_tool_version_names_siegfried_and_the_pronom_release() -> None:
    assert re.fullmatch(
        r"siegfried \d+\.\d+\.\d+ \(PRONOM v\d+, container signatures \d{8}\)", tool_version()
    )
    assert tool_version().startswith(f"siegfried {pygfried.version()} ")


def test_describe_tool_without_identifier_details() -> None:
    assert describe_tool("1.11.9", []) == "siegfried 1.11.9"


def test_verdict_from_a_result_without_pronom_match() -> None:
    unknown = {
        "filename": "x",
        "errors": "",
        "matches": [{"ns": "pronom", "id": "UNKNOWN", "warning": "no match"}],
    }
    assert verdict_from_result(unknown) == FormatVerdict(None, None, None, None, None, "no match")
    assert verdict_from_result({"filename": "x", "matches": []}).puid is None


def test_one_file_under_two_names_gets_a_verdict_under_each(
    samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(samples["png"].parent)
    relative = Path(samples["png"].name)

    verdicts = identify_files([samples["png"], relative])

    assert verdicts[samples["png"]].puid == verdicts[relative].puid == "fmt/11"
