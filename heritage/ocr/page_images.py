"""The page images of a scan: one per image, one per frame of a multi-page TIFF, one per page
of a PDF (rendered with PDFium), decoded with bounds on pixels and pages.

A PDF page that carries a text layer of its own (a born-digital or already OCRed page) is
given as that text instead of an image: reading it again would be slower and worse.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdfium2
from PIL import Image, ImageOps, ImageSequence

# Leading bytes of the formats read here.
_PDF = b"%PDF-"
_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # JPEG 2000 (JP2)
    b"\xff\x4f\xff\x51",  # JPEG 2000 codestream
    b"GIF87a",
    b"GIF89a",
    b"BM",
)
# A text layer with fewer visible characters than this is noise (a page number), not text.
_MIN_TEXT_LAYER = 20


class PageImageError(ValueError):
    """The file's pages cannot be decoded; the message says why."""


@dataclass(frozen=True)
class SourcePage:
    """One page: its image to read, or the text its PDF page already carries."""

    number: int
    image: Image.Image | None
    text_layer: str | None = None


def is_readable(path: Path) -> bool:
    """Whether the file is an image or PDF format pages are read from (by leading bytes)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return kind_of(head) is not None


def kind_of(head: bytes) -> str | None:
    if head.startswith(_PDF):
        return "pdf"
    if any(head.startswith(magic) for magic in _IMAGE_MAGIC):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    return None


def source_pages(path: Path, dpi: int, max_pages: int, max_pixels: int) -> Iterator[SourcePage]:
    """The pages of ``path`` in order; raises PageImageError naming what is wrong (before
    the first page, or at the page that cannot be decoded)."""
    with path.open("rb") as handle:
        kind = kind_of(handle.read(16))
    if kind == "pdf":
        yield from _pdf_pages(path, dpi, max_pages, max_pixels)
    elif kind == "image":
        yield from _image_pages(path, max_pages, max_pixels)
    else:
        raise PageImageError("not an image or PDF format pages are read from")


# What Pillow raises on a damaged file besides OSError: its plugins parse headers and tags
# with plain indexing and struct unpacking (a TIFF without dimensions is a TypeError).
_DECODING_ERRORS = (
    OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, EOFError,
    ZeroDivisionError, struct.error,
)  # fmt: skip


def _image_pages(path: Path, max_pages: int, max_pixels: int) -> Iterator[SourcePage]:
    try:
        # Opening reads the header only; each frame's size is checked before it is decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise PageImageError(f"image too large to decode: {error}") from error
    except _DECODING_ERRORS as error:
        raise PageImageError(f"cannot decode the image: {error}") from error
    with image:
        frames = ImageSequence.Iterator(image)
        index = 0
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                return
            except _DECODING_ERRORS as error:
                raise PageImageError(f"cannot decode page {index + 1}: {error}") from error
            if index >= max_pages:
                raise PageImageError(f"more than {max_pages} pages; the rest were not read")
            yield SourcePage(index + 1, _decoded(frame, index + 1, max_pixels))
            index += 1


def _decoded(frame: Image.Image, number: int, max_pixels: int) -> Image.Image:
    """One frame decoded as a page, once its size is within bounds."""
    width, height = frame.size
    if width * height > max_pixels:
        raise PageImageError(f"page {number} has {width}x{height} pixels, over {max_pixels}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's warnings on damaged EXIF or bombs
            upright = ImageOps.exif_transpose(frame) or frame
            return _grey(upright)
    except _DECODING_ERRORS as error:
        raise PageImageError(f"cannot decode page {number}: {error}") from error


def _grey(image: Image.Image) -> Image.Image:
    """A mode Tesseract reads: alpha flattened on white, 16-bit and palette images to 8-bit."""
    image.load()
    if image.mode in ("1", "L", "RGB"):
        return image.copy()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return image.point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def _pdf_pages(path: Path, dpi: int, max_pages: int, max_pixels: int) -> Iterator[SourcePage]:
    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        raise PageImageError(f"cannot open the PDF: {error}") from error
    try:
        count = len(document)
        if count > max_pages:
            raise PageImageError(f"{count} pages, over the limit of {max_pages}")
        for index in range(count):
            yield _pdf_page(document, index, dpi, max_pixels)
    finally:
        document.close()


def _pdf_page(document: pypdfium2.PdfDocument, index: int, dpi: int, max_pixels: int) -> SourcePage:
    try:
        page = document[index]
        try:
            text_page = page.get_textpage()
            text = text_page.get_text_range()
            text_page.close()
            if sum(1 for char in text if not char.isspace()) >= _MIN_TEXT_LAYER:
                return SourcePage(index + 1, None, text.replace("\r\n", "\n"))
            width, height = page.get_size()  # points
            scale = dpi / 72
            # Shrink a huge page (a poster, a map) to the pixel bound instead of refusing it.
            pixels = width * height * scale * scale
            if pixels > max_pixels:
                scale *= (max_pixels / pixels) ** 0.5
            image = page.render(scale=scale, grayscale=True).to_pil()
            image.info["dpi"] = (72 * scale, 72 * scale)
            return SourcePage(index + 1, image)
        finally:
            page.close()
    except pypdfium2.PdfiumError as error:
        raise PageImageError(f"cannot render page {index + 1}: {error}") from error
