"""Sidecar files of loose scans, the records made of them, and what is refused before any
scan is read (no services)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from heritage.lakehouse_layout import LakehouseLayout
from heritage.ocr.file_reading import OcrConfig
from heritage.ocr.ocr_settings import CollectionSettings, OcrSettings
from heritage.producers.scan_drop import ScanDropError, publish_scans
from heritage.producers.scan_sidecar import (
    KnownFields,
    SidecarError,
    known_for,
    read_sidecar,
    scan_record,
)
from heritage.record_contract import classify_record
from heritage.settings import Settings

ENTRY = {
    "settings": "0a1b2c3d",
    "languages": "eng",
    "failure": None,
    "pages": [
        {
            "page": 1,
            "text": "Dear Sir, the painting arrived in Amsterdam on 12 March 1994.",
            "confidence": 93.5,
            "language": "eng",
            "rotation": 0,
            "characters": 61,
            "words": 11,
            "flagged": False,
            "reason": None,
            "text_key": "packages/blobs/sha256/ab/cd/abcd.ocr/0a1b2c3d/page-0001.txt",
            "hocr_key": "packages/blobs/sha256/ab/cd/abcd.ocr/0a1b2c3d/page-0001.hocr",
            "fields": [
                {
                    "kind": "date",
                    "value": "12 March 1994",
                    "normalised": "1994-03-12",
                    "start": 47,
                    "end": 60,
                    "confidence": 0.93,
                    "rule": "date:day month year (en)",
                    "uri": None,
                    "box": [10, 10, 200, 30],
                    "flagged": False,
                }
            ],
        }
    ],
}


def test_a_csv_sidecar_gives_each_scan_its_fields(tmp_path: Path) -> None:
    sidecar = tmp_path / "scans.csv"
    sidecar.write_text(
        "file,id,title,creator,date,rights,data_provider\n"
        "box1/letter.tif,L-17,Letter to the registrar,H. de Vries|M. Bakker,1994,"
        "http://rightsstatements.org/vocab/InC/1.0/,Municipal Archive of Haarlem\n",
        encoding="utf-8",
    )
    known = read_sidecar(sidecar)
    fields = known_for(known, PurePosixPath("box1/letter.tif"))
    assert fields.identifier == "L-17"
    assert fields.values["creator"] == ("H. de Vries", "M. Bakker")
    assert known_for(known, PurePosixPath("other/letter.tif")) == KnownFields(None, {})


def test_a_json_sidecar_keyed_by_file_name_is_read(tmp_path: Path) -> None:
    sidecar = tmp_path / "scans.json"
    sidecar.write_text('{"letter.tif": {"title": "Letter", "language": ["nl", "en"]}}')
    fields = known_for(read_sidecar(sidecar), PurePosixPath("box1/letter.tif"))
    assert fields.values == {"title": ("Letter",), "language": ("nl", "en")}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "title\nLetter\n", "no 'file' column"),
        ("b.csv", "file,colour\nx.tif,red\n", r"unknown column\(s\) colour"),
        ("c.csv", "file,title\nx.tif,A\nx.tif,B\n", "described twice"),
        ("d.json", "[1, 2]", "expected a list of objects"),
        ("e.json", "{not json", "not valid JSON"),
    ],
)
def test_a_bad_sidecar_names_the_file_and_the_fix(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SidecarError, match=message) as raised:
        read_sidecar(path)
    assert str(path) in str(raised.value)


def test_a_scan_record_carries_sidecar_fields_and_its_ocr() -> None:
    known = KnownFields("L-17", {"title": ("Letter to the registrar",), "date": ("1994",)})
    defaults = {
        "data_provider": "Municipal Archive of Haarlem",
        "rights": "http://rightsstatements.org/vocab/InC/1.0/",
    }
    item = scan_record(
        "registry", PurePosixPath("box1/letter.tif"), "ab" * 32, known, ENTRY, defaults
    )
    assert item.record_id == "scan:registry:L-17"
    record = item.record
    assert record is not None
    assert record["type"] == "TEXT" and record["title"] == ["Letter to the registrar"]
    assert record["dataProvider"] == ["Municipal Archive of Haarlem"]
    assert "12 March 1994" in record["ocr_text"] and record["ocr_confidence"] == 93.5
    (field,) = record["ocr_fields"]
    assert field["file"] == "box1/letter.tif" and field["normalised"] == "1994-03-12"
    assert record["ocr_pages"][0]["text_key"].endswith("page-0001.txt")
    assert "text" not in record["ocr_pages"][0], "page texts travel once, in ocr_text"
    assert classify_record(item.record_id, record).valid


def test_without_a_sidecar_the_record_is_named_by_its_path_and_titled_by_its_file() -> None:
    item = scan_record(
        "registry", PurePosixPath("box1/letter.tif"), "ab" * 32, KnownFields(None, {}), ENTRY, {}
    )
    assert item.record_id == "scan:registry:box1/letter.tif"
    assert item.record is not None and item.record["title"] == ["letter"]
    verdict = classify_record(item.record_id, item.record)
    assert not verdict.valid and any("rights" in reason for reason in verdict.reasons)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("f.json", b'{"x.tif": "a title"}', "must hold objects of fields"),
        ("g.csv", b'file,title\nx.tif,"' + b"x" * 200_000 + b'"\n', "is not CSV"),
    ],
)
def test_a_sidecar_the_parsers_choke_on_is_refused_by_name(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SidecarError, match=message):
        read_sidecar(path)


def test_scans_that_would_share_a_record_id_are_refused_before_anything_is_read(
    tmp_path: Path, offline_settings: Settings
) -> None:
    for box in ("box1", "box2"):
        (tmp_path / box).mkdir()
        (tmp_path / box / "p1.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    layout = LakehouseLayout.default(offline_settings)
    config = OcrConfig(enabled=True, collections=CollectionSettings(OcrSettings(), {}))
    with pytest.raises(ScanDropError, match=r"scan:registry:p1\.png"):
        publish_scans(
            offline_settings, layout, [tmp_path / "box1", tmp_path / "box2"], "registry", config
        )
    with pytest.raises(ScanDropError, match="not a safe key part"):
        publish_scans(offline_settings, layout, [tmp_path / "box1"], "a/b", config)
