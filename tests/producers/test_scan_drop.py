"""``heritage produce scans`` on the real stack: loose scans read by OCR in worker processes,
stored with their page texts, published once with their sidecar fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from topic_reader import TopicReader

from heritage.lakehouse_layout import LakehouseLayout
from heritage.object_store import object_store_client
from heritage.ocr.file_reading import OcrConfig
from heritage.ocr.ocr_settings import CollectionSettings, OcrSettings
from heritage.producers.packages.sample_scans import LETTER_PAGES, REPORT_PAGE, printed_page
from heritage.producers.scan_drop import publish_scans
from heritage.settings import Settings

pytestmark = pytest.mark.integration

CONFIG = OcrConfig(enabled=True, collections=CollectionSettings(OcrSettings(), {}))
RIGHTS = "http://rightsstatements.org/vocab/InC/1.0/"


def _scans(folder: Path) -> Path:
    (folder / "box1").mkdir(parents=True)
    printed_page(LETTER_PAGES[0]).save(folder / "box1" / "letter.png")
    printed_page(REPORT_PAGE).rotate(90, expand=True).save(folder / "box1" / "report.tif")
    printed_page(LETTER_PAGES[1]).save(folder / "box1" / "letter-2.pdf", resolution=300.0)
    (folder / "box1" / "torn.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    (folder / "box1" / "notes.txt").write_text("not a scan", encoding="utf-8")
    Image.new("L", (10, 10), 255).save(folder / "box1" / "empty.png")
    sidecar = folder / "sidecar.csv"
    sidecar.write_text(
        "file,id,title,date\nbox1/letter.png,REG-1994-17,Letter to Dr. Jansen,1994-03-14\n",
        encoding="utf-8",
    )
    return sidecar


def test_scans_are_read_stored_and_published_once(
    live_settings: Settings, layout: LakehouseLayout, read_topic: TopicReader, tmp_path: Path
) -> None:
    sidecar = _scans(tmp_path / "scans")
    defaults = {"data_provider": "Municipal Archive of Haarlem", "rights": RIGHTS}
    run = lambda: publish_scans(  # noqa: E731
        live_settings, layout, [tmp_path / "scans"], "registry", CONFIG,
        sidecar=sidecar, defaults=defaults, workers=2, progress=False,
    )  # fmt: skip
    first = run()
    assert (first.files, first.published, first.unchanged) == (5, 5, 0)
    skipped = sorted(Path(path).name for path in first.skipped_files)
    assert skipped == ["notes.txt", "sidecar.csv"]
    assert len(first.failed_files) == 1 and "torn.jpg" in first.failed_files[0]
    records = {key: value for key, value in read_topic(layout.records_topic)}
    letter = records["scan:registry:REG-1994-17"]["record"]
    assert letter["title"] == ["Letter to Dr. Jansen"] and letter["dcDate"] == ["1994-03-14"]
    assert "craquelure" in letter["ocr_text"]
    assert any(f["kind"] == "accession_number" for f in letter["ocr_fields"])
    report = records["scan:registry:box1/report.tif"]["record"]
    assert report["ocr_pages"][0]["rotation"] == 90 and "foxed" in report["ocr_text"]
    torn = records["scan:registry:box1/torn.jpg"]["record"]
    assert "ocr_text" not in torn and torn["ocr_pages"][0]["flagged"]
    assert "cannot decode" in torn["ocr_pages"][0]["reason"]
    empty = records["scan:registry:box1/empty.png"]["record"]
    assert empty["ocr_pages"][0]["reason"] == "blank page"
    key = letter["ocr_pages"][0]["text_key"]
    response = object_store_client(live_settings).get_object(live_settings.bucket, key)
    try:
        assert "craquelure" in response.read().decode("utf-8")
    finally:
        response.close()
        response.release_conn()
    again = run()
    assert (again.published, again.unchanged) == (0, 5)
