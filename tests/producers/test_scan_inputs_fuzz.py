"""Scans and sidecars on mutated input (``pytest -m fuzz``): a scan that cannot be decoded is
a reason, never an exception; a sidecar is read or refused with a SidecarError naming it.
``HERITAGE_FUZZ_EXAMPLES`` sets the examples per test (200 by default); the seed is fixed."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from heritage.ocr.ocr_settings import OcrSettings
from heritage.ocr.page_reading import FileText, PageReader, read_file
from heritage.producers.scan_sidecar import SidecarError, read_sidecar

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("HERITAGE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Small pages and a low pixel bound keep each example quick; the bound is part of the test.
SETTINGS = OcrSettings(max_pixels=2_000_000, max_pages=8, dpi=100)


def _page() -> Image.Image:
    page = Image.new("L", (300, 120), 255)
    ImageDraw.Draw(page).text((10, 40), "Inventory 1987.45.12, 12 March 1994", fill=0)
    return page


def _encoded(image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    _page().save(out, image_format, **options)
    return out.getvalue()


SEEDS = {
    ".png": _encoded("PNG"),
    ".jpg": _encoded("JPEG", quality=60),
    ".tif": _encoded("TIFF", save_all=True, append_images=[_page()]),
    ".pdf": _encoded("PDF", resolution=100.0),
    ".gif": _encoded("GIF"),
    ".bmp": _encoded("BMP"),
}


@st.composite
def mutated_scans(draw: st.DrawFn) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[suffix])
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(("flip", "cut", "insert", "zero")))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif data:
            data[at : at + 16] = bytes(min(16, len(data) - at))
    return suffix, bytes(data)


@pytest.fixture(scope="module")
def reader() -> Iterator[PageReader]:
    with PageReader(SETTINGS) as opened:
        yield opened


@FUZZ
@given(scan=mutated_scans())
def test_a_damaged_scan_gives_pages_or_a_reason(
    reader: PageReader, scan: tuple[str, bytes]
) -> None:
    suffix, data = scan
    note(f"{suffix}: {len(data)} bytes")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"scan{suffix}"
        path.write_bytes(data)
        reading = read_file(path, SETTINGS, reader)
    assert isinstance(reading, FileText)
    assert reading.failure is None or reading.failure.strip()
    assert len(reading.pages) <= SETTINGS.max_pages
    for page in reading.pages:
        assert all(page.text[w.start : w.end] == w.text for w in page.words)


SIDECAR_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.lists(
            st.sampled_from(["file", "id", "title", "date", "x.tif", "a|b", '"', ",", ""]),
            max_size=5,
        ),
        max_size=6,
    ).map(lambda rows: "\n".join(",".join(cells) for cells in rows)),
)


@FUZZ
@given(text=SIDECAR_TEXT, suffix=st.sampled_from([".csv", ".json"]))
def test_a_sidecar_is_read_or_refused_by_name(text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sidecar{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            known = read_sidecar(path)
        except SidecarError as error:
            assert str(path) in str(error)
            return
    assert all(name.strip() for name in known)
