"""A deposit of scanned documents, as a registry office or a conservation studio sends one:
a BagIt 1.0 bag whose payload holds a two-page letter scanned to TIFF (the second page fed
into the scanner sideways), a conservation report scanned to PDF (upside down), a blank
separator sheet, and a JPEG cut short in transfer.

Pages are set in DejaVu Serif at 11 pt for 300 dpi on A5, so OCR reads them as it reads a
clean office scan; the texts hold dates, accession numbers, places and names for the field
extraction to find.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from heritage.producers.packages.sample_archives import folder_entries, write_tar
from heritage.producers.packages.sample_bags import make_bag_1_0

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
A5 = (1748, 2480)  # pixels at 300 dpi
RIGHTS = "http://rightsstatements.org/vocab/InC/1.0/"

LETTER_PAGES = (
    (
        "Amsterdam, 14 March 1994",
        "",
        "Dear Dr. Jansen,",
        "",
        "I write concerning the painting with inventory number",
        "1987.45.12, which arrived from The Hague last week.",
        "The frame was damaged in transit and the canvas shows",
        "craquelure along the lower edge.",
    ),
    (
        "We propose to examine it in the studio on 2 May 1994",
        "and to report on its condition before the exhibition",
        "opens in Brussels in the autumn.",
        "",
        "Yours sincerely,",
        "",
        "H. de Vries, Registrar",
    ),
)
REPORT_PAGE = (
    "Conservation report",
    "",
    "Accession number 2001.12.3",
    "Date examined: 3 May 2002",
    "Conservator: M. Bakker, Leiden",
    "",
    "Condition: the paper is foxed at the margins and a",
    "tear of 4 cm runs from the upper edge. Treatment:",
    "surface cleaning and a Japanese tissue repair.",
)
# Words each page's text must show once read (the acceptance checks look for them).
LETTER_WORDS = ("craquelure", "inventory", "Brussels")
REPORT_WORDS = ("foxed", "Conservator")


def printed_page(lines: Sequence[str], size: tuple[int, int] = A5) -> Image.Image:
    """The lines set on a white page at 300 dpi."""
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), 46)
    for row, line in enumerate(lines):
        draw.text((150, 180 + row * 78), line, font=font, fill=20)
    return page


def _tiff(pages: Sequence[Image.Image]) -> bytes:
    out = io.BytesIO()
    first, *rest = pages
    first.save(
        out, "TIFF", save_all=True, append_images=rest, compression="tiff_lzw", dpi=(300, 300)
    )
    return out.getvalue()


def _pdf(page: Image.Image) -> bytes:
    out = io.BytesIO()
    page.save(out, "PDF", resolution=300.0)
    return out.getvalue()


def _png(page: Image.Image) -> bytes:
    out = io.BytesIO()
    page.save(out, "PNG", dpi=(300, 300))
    return out.getvalue()


def _cut_jpeg(page: Image.Image) -> bytes:
    out = io.BytesIO()
    page.save(out, "JPEG", quality=80)
    return out.getvalue()[:600]  # the transfer stopped early


def write_scan_payload(folder: Path) -> None:
    """The deposit's payload files into ``folder``."""
    first, second = (printed_page(lines) for lines in LETTER_PAGES)
    (folder / "letters").mkdir(parents=True)
    # PIL turns counter-clockwise: the second page lies a quarter turn counter-clockwise,
    # and a quarter turn clockwise sets it upright.
    (folder / "letters" / "letter-1994-03-14.tif").write_bytes(
        _tiff([first, second.rotate(90, expand=True)])
    )
    (folder / "reports").mkdir()
    (folder / "reports" / "condition-2001.12.3.pdf").write_bytes(
        _pdf(printed_page(REPORT_PAGE).rotate(180))
    )
    (folder / "separator-sheet.png").write_bytes(_png(Image.new("L", A5, 255)))
    (folder / "letters" / "envelope.jpg").write_bytes(_cut_jpeg(printed_page(("Envelope",))))


def scanned_deposit(dest: Path, identifier: str = "registry-scans-0007") -> Path:
    """``<identifier>.tar.gz``: a BagIt 1.0 bag of the scanned documents."""
    with tempfile.TemporaryDirectory(prefix="sample-scans-") as scratch:
        folder = Path(scratch) / identifier
        write_scan_payload(folder)
        make_bag_1_0(
            folder,
            {
                "Source-Organization": "Municipal Archive of Haarlem",
                "Title": "Registry correspondence and condition reports, 1994-2002",
                "External-Identifier": identifier,
                "Rights": RIGHTS,
                "Bagging-Date": "2024-05-02",
            },
        )
        dest.mkdir(parents=True, exist_ok=True)
        return write_tar(
            dest / f"{identifier}.tar.gz", folder_entries(folder, identifier), compress=True
        )
