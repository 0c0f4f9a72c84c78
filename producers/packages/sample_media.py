"""File contents for the sample submission packages: real TIFF, JPEG, PNG and PDF bytes.

Every maker takes a seeded :class:`random.Random` and returns bytes, so a package built twice
from the same seed is the same bytes. Images are random noise (TIFF, PNG) or smoothed noise
(JPEG, the photographs inside PDFs): what they hold does not compress away in a zip or a
tar.gz, as real scans do not. The PDFs are pages of word-shaped strokes (or drawn prose),
saved with Pillow's PDF writer, so PRONOM identification gives real PUIDs.
"""

from __future__ import annotations

import calendar
import csv
import io
import random
import time
from collections.abc import Sequence
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

# Vocabulary of the generated prose: enough variety for extracted text to look like text.
_VOCABULARY = (
    "archive accession catalogue charter collection conservation correspondence deed diary "
    "estate finding aid folio herbarium inventory ledger letter library manuscript map minute "
    "parish photograph plate print provenance register rights scan specimen survey transcript "
    "volume watermark binding condition digitised edition fragment harbour mill railway "
    "school survey town council guild museum parchment paper ink the of and in for with from "
    "by to on at as was were is are this that which"
)
_WORDS = tuple(_VOCABULARY.split())

# A fixed creation time for every PDF's info dictionary (Pillow writes "now" otherwise).
PDF_TIMESTAMP = time.gmtime(calendar.timegm((2024, 3, 14, 9, 26, 53)))


def noise_image(rng: random.Random, width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Uniform random pixels: incompressible, like the grain of a master scan."""
    bands = len(mode)
    return Image.frombytes(mode, (width, height), rng.randbytes(width * height * bands))


def smooth_noise_image(rng: random.Random, width: int, height: int) -> Image.Image:
    """Noise at a quarter of the size, scaled up: photograph-like, and quick to JPEG-encode."""
    small = noise_image(rng, max(1, width // 4), max(1, height // 4))
    return small.resize((width, height), Image.Resampling.BILINEAR)


def _encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def tiff_bytes(rng: random.Random, width: int, height: int) -> bytes:
    """An uncompressed RGB TIFF (as digitisation masters are delivered)."""
    return _encoded(noise_image(rng, width, height), "TIFF", dpi=(400, 400))


def jpeg_bytes(rng: random.Random, width: int, height: int, quality: int = 85) -> bytes:
    return _encoded(smooth_noise_image(rng, width, height), "JPEG", quality=quality)


def png_bytes(rng: random.Random, width: int, height: int) -> bytes:
    # Stored deflate blocks: noise does not deflate, and trying costs 10 ms an image.
    return _encoded(noise_image(rng, width, height), "PNG", compress_level=0)


def prose_lines(rng: random.Random, count: int, words_per_line: int = 11) -> list[str]:
    """Lines of archival-sounding words, the first letter of each line a capital."""
    lines = []
    for _ in range(count):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(words_per_line - 3, words_per_line))]
        lines.append(" ".join(words).capitalize())
    return lines


def _prose_page(lines: Sequence[str], size: tuple[int, int]) -> Image.Image:
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=15)
    for row, line in enumerate(lines):
        draw.text((70, 70 + row * 24), line, font=font, fill=25)
    return page


def _stroke_page(rng: random.Random, size: tuple[int, int], rows: int) -> Image.Image:
    """Word-shaped dark strokes in lines: reads as type at a glance, costs no font rendering."""
    page = Image.new("L", size, 250)
    draw = ImageDraw.Draw(page)
    width = size[0]
    for row in range(rows):
        top = 50 + row * 18
        left = 50
        while left < width - 90:
            length = rng.randint(12, 70)
            draw.rectangle((left, top, left + length, top + 8), fill=rng.randint(10, 60))
            left += length + rng.randint(6, 12)
    return page


def pdf_bytes(pages: Sequence[Image.Image], title: str, author: str) -> bytes:
    """A multi-page PDF of the page images (JPEG-compressed inside), with a fixed date."""
    first, *rest = pages
    return _encoded(
        first,
        "PDF",
        save_all=True,
        append_images=rest,
        resolution=100.0,
        title=title,
        author=author,
        creationDate=PDF_TIMESTAMP,
        modDate=PDF_TIMESTAMP,
    )


def prose_pdf_bytes(pages: Sequence[Sequence[str]], title: str, author: str) -> bytes:
    """A PDF with the given lines drawn as text, one list of lines per page (US Letter)."""
    return pdf_bytes([_prose_page(lines, (850, 1100)) for lines in pages], title, author)


def stroke_pdf_bytes(rng: random.Random, page_count: int, title: str, author: str) -> bytes:
    """A PDF of typescript-like pages with a photograph on the first (for bulk packages)."""
    size = (620, 820)
    pages = [_stroke_page(rng, size, rows=rng.randint(18, 38)) for _ in range(page_count)]
    photo = smooth_noise_image(rng, 300, 200).convert("L")
    pages[0].paste(photo, (160, size[1] - 260))
    return pdf_bytes(pages, title, author)


def thumbnail_jpeg_bytes(pdf_page_lines: Sequence[str]) -> bytes:
    """A DSpace-style thumbnail of a first page (the THUMBNAIL bundle's JPEG)."""
    page = _prose_page(pdf_page_lines, (850, 1100)).convert("RGB")
    page.thumbnail((200, 260))
    return _encoded(page, "JPEG", quality=80)


def text_bytes(lines: Sequence[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def csv_bytes(rng: random.Random, label: str, rows: int) -> bytes:
    """An item inventory as curators export it from a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["item", "description", "extent", "condition", "year"])
    for number in range(1, rows + 1):
        writer.writerow(
            [
                f"{label}/{number:04d}",
                " ".join(rng.choice(_WORDS) for _ in range(6)),
                f"{rng.randint(1, 400)} leaves",
                rng.choice(("good", "fair", "fragile", "repaired")),
                rng.randint(1650, 1990),
            ]
        )
    return buffer.getvalue().encode("utf-8")


def dublin_core_xml_bytes(rng: random.Random, identifier: str, title: str) -> bytes:
    """A simple OAI Dublin Core record, as institutions put beside their files."""
    subjects = "".join(f"  <dc:subject>{rng.choice(_WORDS)}</dc:subject>\n" for _ in range(3))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"\n'
        '           xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"  <dc:identifier>{escape(identifier)}</dc:identifier>\n"
        f"  <dc:title>{escape(title)}</dc:title>\n"
        f"{subjects}"
        f"  <dc:date>{rng.randint(1700, 1980)}</dc:date>\n"
        "  <dc:rights>http://rightsstatements.org/vocab/NoC-US/1.0/</dc:rights>\n"
        "</oai_dc:dc>\n"
    ).encode()


def alto_xml_bytes(lines: Sequence[str], page_id: str) -> bytes:
    """A minimal ALTO v4 page (the OCR text of one scanned page), one TextLine per line."""
    text_lines = "".join(
        f'      <TextLine ID="{page_id}_L{number}" HPOS="120" VPOS="{140 + number * 40}" '
        f'WIDTH="2100" HEIGHT="32"><String CONTENT="{escape(line, {chr(34): "&quot;"})}"/>'
        "</TextLine>\n"
        for number, line in enumerate(lines, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">\n'
        "  <Description><MeasurementUnit>pixel</MeasurementUnit></Description>\n"
        f'  <Layout><Page ID="{page_id}" PHYSICAL_IMG_NR="1" WIDTH="2480" HEIGHT="3508">\n'
        f'    <PrintSpace><TextBlock ID="{page_id}_B1">\n'
        f"{text_lines}"
        "    </TextBlock></PrintSpace>\n  </Page></Layout>\n</alto>\n"
    ).encode()
