"""Reading pages with Tesseract: upright and turned pages, blank pages, multi-page TIFFs,
PDFs (scanned, and with a text layer of their own), and files that cannot be read."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image, ImageDraw, ImageFont

from heritage.ocr.ocr_settings import OcrSettings
from heritage.ocr.page_reading import OcrSetupError, PageReader, read_file

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
LINES = (
    "Conservation report for accession number 1987.45.12",
    "Examined on 12 March 1994 by the conservator in Amsterdam.",
    "The canvas shows craquelure along the lower edge and",
    "a small tear near the stretcher bar was consolidated.",
)


def printed_page(
    lines: tuple[str, ...] = LINES, size: tuple[int, int] = (1748, 1240)
) -> Image.Image:
    """Lines set in DejaVu Serif at 12 pt for 300 dpi, on a white A6-landscape page."""
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 50)
    for row, line in enumerate(lines * 3):
        draw.text((120, 120 + row * 80), line, font=font, fill=0)
    return page


@pytest.fixture(scope="module")
def reader() -> PageReader:
    with PageReader(OcrSettings()) as opened:
        yield opened


def test_an_upright_page_is_read_with_words_at_their_offsets(reader: PageReader) -> None:
    page = reader.read(printed_page())
    assert "craquelure" in page.text and "1987.45.12" in page.text
    assert page.rotation == 0 and page.language == "eng"
    assert page.confidence is not None and page.confidence > 85
    assert page.words and all(page.text[w.start : w.end] == w.text for w in page.words)
    assert all(w.box[2] > 0 and w.box[3] > 0 for w in page.words)
    assert '<meta name="ocr-system"' in page.hocr and "class='ocr_page'" in page.hocr
    assert "scan_res 300 300" in page.hocr
    hocr = etree.fromstring(page.hocr.encode(), etree.XMLParser(resolve_entities=False))
    assert hocr.find(".//{http://www.w3.org/1999/xhtml}span") is not None


# PIL turns counter-clockwise; the reader reports the clockwise turn that sets it upright.
@pytest.mark.parametrize(("pil_angle", "turned"), [(90, 90), (180, 180), (270, 270)])
def test_a_turned_page_is_set_upright_before_it_is_read(
    reader: PageReader, pil_angle: int, turned: int
) -> None:
    page = reader.read(printed_page().rotate(pil_angle, expand=True))
    assert page.rotation == turned
    assert "craquelure" in page.text and "conservator" in page.text
    assert page.width > page.height, "the boxes are those of the upright page"


def test_a_page_fed_askew_is_levelled_before_it_is_read(reader: PageReader) -> None:
    askew = printed_page().rotate(-2.6, resample=Image.Resampling.BICUBIC, fillcolor=255)
    page = reader.read(askew)
    assert page.deskew == pytest.approx(-2.6, abs=0.15)
    assert "craquelure" in page.text and "consolidated" in page.text


def test_a_blank_page_gives_no_text_and_no_error(reader: PageReader) -> None:
    page = reader.read(Image.new("L", (1748, 1240), 255))
    assert page.text == "" and page.words == () and page.confidence is None and page.blank


def test_every_frame_of_a_multipage_tiff_is_a_page(tmp_path: Path) -> None:
    first, second = printed_page(), printed_page().rotate(180)
    path = tmp_path / "letter.tif"
    first.save(path, save_all=True, append_images=[second], compression="tiff_lzw")
    reading = read_file(path, OcrSettings())
    assert reading.failure is None
    assert [(p.number, p.rotation) for p in reading.pages] == [(1, 0), (2, 180)]
    assert all("craquelure" in p.text for p in reading.pages)


def test_a_scanned_pdf_is_rendered_and_read(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    printed_page().save(path, resolution=300.0)
    reading = read_file(path, OcrSettings())
    assert reading.failure is None and len(reading.pages) == 1
    assert "craquelure" in reading.pages[0].text


def _text_pdf(text: str) -> bytes:
    """A one-page PDF whose page carries ``text`` as real text (Helvetica)."""
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def test_a_pdf_page_with_its_own_text_layer_is_taken_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "thesis.pdf"
    path.write_bytes(_text_pdf("Finding aid of the estate archive, inventory 1651-1702"))
    reading = read_file(path, OcrSettings())
    assert reading.failure is None
    (page,) = reading.pages
    assert page.language == "text layer" and "inventory 1651-1702" in page.text
    assert all(page.text[w.start : w.end] == w.text for w in page.words)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("torn.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "cannot decode the image"),
        ("cut.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 10, "cannot decode the image"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << >>", "cannot open the PDF"),
        ("notes.txt", b"plain text, not a scan", "not an image or PDF"),
    ],
)
def test_a_file_that_cannot_be_read_gets_a_reason_not_an_error(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    reading = read_file(path, OcrSettings())
    assert reading.pages == () and reading.failure is not None and reason in reading.failure


def test_a_page_over_the_pixel_bound_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "poster.png"
    Image.new("L", (4000, 3000), 255).save(path)
    reading = read_file(path, OcrSettings(max_pixels=1_000_000))
    assert reading.failure is not None and "over 1000000" in reading.failure


def test_transparent_and_sixteen_bit_scans_are_read(tmp_path: Path) -> None:
    page = printed_page()
    rgba = Image.merge("RGBA", (page, page, page, Image.new("L", page.size, 255)))
    rgba.save(tmp_path / "alpha.png")
    page.convert("I;16").point(lambda v: v * 256).save(tmp_path / "deep.png")
    for name in ("alpha.png", "deep.png"):
        reading = read_file(tmp_path / name, OcrSettings())
        assert reading.failure is None and "craquelure" in reading.pages[0].text, name


def test_a_missing_model_names_the_package_to_install() -> None:
    with pytest.raises(OcrSetupError, match="tesseract-ocr-xyz"):
        PageReader(OcrSettings(languages="eng+xyz"))
