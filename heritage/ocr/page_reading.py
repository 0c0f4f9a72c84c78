"""Reading pages with Tesseract (through tesserocr, in process): text, hOCR, words with their
boxes and confidences, the orientation the page was turned to, and the language used.

Orientation: a page is first read as it lies; only when that reading is not confident
(``upright_confidence``) does Tesseract's OSD tell its orientation and script, and the page
is turned upright (and set to the Fraktur model when OSD finds Fraktur) and read again. An
upright page, the common case, so costs one reading.

The tesserocr wheel's libtesseract is built without OpenMP, so each reader uses one thread
(on few cores Tesseract's OpenMP threading is 3 to 5 times slower than one thread); pages
are read in parallel by worker processes instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import tesserocr
from PIL import Image

from heritage.ocr.ocr_settings import OcrSettings
from heritage.ocr.page_images import PageImageError, SourcePage, source_pages
from heritage.ocr.page_skew import leveled, skew_angle

TOOL = "tesseract"
TOOL_VERSION = tesserocr.tesseract_version().split()[1]
# The language reported for a PDF page whose own text layer was taken.
TEXT_LAYER = "text layer"


class OcrSetupError(RuntimeError):
    """Tesseract or a configured model is missing: a deployment problem, not the file's."""


@dataclass(frozen=True)
class OcrWord:
    text: str
    confidence: float  # 0..100
    start: int  # character offsets of the word in PageText.text
    end: int
    box: tuple[int, int, int, int]  # left, top, width, height in the upright page's pixels


@dataclass(frozen=True)
class PageText:
    number: int
    text: str
    hocr: str
    confidence: float | None  # mean word confidence; None when no word was read
    language: str
    rotation: int  # clockwise degrees the page was turned to read it
    words: tuple[OcrWord, ...]
    width: int
    height: int
    # Degrees (counter-clockwise) the page's lines were askew and levelled before reading.
    deskew: float = 0.0

    @property
    def blank(self) -> bool:
        return not self.words and not self.text.strip()


@dataclass(frozen=True)
class FileText:
    pages: tuple[PageText, ...]
    # Why the file (or, after the pages read, one of its pages) could not be read.
    failure: str | None = None


class PageReader:
    """Tesseract engines for one settings, kept open for page after page. One per process;
    not thread-safe."""

    def __init__(self, settings: OcrSettings) -> None:
        missing = settings.missing_languages()
        if missing:
            packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
            raise OcrSetupError(
                f"Tesseract model(s) {', '.join(missing)} not found in"
                f" {settings.tessdata_dir()}; install them (apt-get install {packages},"
                " or `make setup`) or set tessdata / TESSDATA_PREFIX"
            )
        self.settings = settings
        self._engines: dict[str, Any] = {}
        self._osd: Any = None

    def __enter__(self) -> PageReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for engine in self._engines.values():
            engine.End()
        self._engines.clear()
        if self._osd is not None:
            self._osd.End()
            self._osd = None

    def read(self, image: Image.Image, number: int = 1) -> PageText:
        """The page read upright and level: as it lies when that is confident, else turned by
        OSD; a page askew by ``deskew_degrees`` or more is levelled first."""
        settings = self.settings
        skew = skew_angle(image) if settings.deskew_degrees > 0 else 0.0
        if abs(skew) < settings.deskew_degrees:
            skew = 0.0
        elif skew:
            image = leveled(image, skew)
        page = self._read_upright(image, number)
        return replace(page, deskew=skew) if skew else page

    def _read_upright(self, image: Image.Image, number: int) -> PageText:
        settings = self.settings
        first = self._recognise(image, number, settings.languages, 0)
        if not settings.detect_orientation or _confident(first, settings.upright_confidence):
            return first
        orientation = self._orientation(image)
        if orientation is None:
            return first
        degrees, script = orientation
        languages = settings.languages
        if script == "Fraktur" and self._installed(settings.fraktur_languages):
            languages = settings.fraktur_languages
        if degrees == 0 and languages == settings.languages:
            return first
        # OSD gives the clockwise angle the page lies at; PIL turns counter-clockwise, so
        # rotate(degrees) sets it upright, which is a clockwise turn of 360 - degrees.
        upright = image.rotate(degrees, expand=True) if degrees else image
        second = self._recognise(upright, number, languages, (360 - degrees) % 360)
        return second if _better(second, first) else first

    def _recognise(self, image: Image.Image, number: int, languages: str, turned: int) -> PageText:
        engine = self._engine(languages)
        engine.SetImage(image)
        engine.SetSourceResolution(_resolution(image))
        with _native_messages_silenced():
            engine.Recognize()
        text = engine.GetUTF8Text() or ""
        words = _words(engine, text)
        hocr = hocr_document(engine.GetHOCRText(number - 1) or "", languages)
        confidence = sum(w.confidence for w in words) / len(words) if words else None
        if not words:
            text = ""  # whitespace or stray line breaks of an empty page
        return PageText(
            number=number,
            text=text,
            hocr=hocr,
            confidence=confidence,
            language=languages,
            rotation=turned,
            words=words,
            width=image.width,
            height=image.height,
        )

    def _engine(self, languages: str) -> Any:
        engine = self._engines.get(languages)
        if engine is None:
            engine = tesserocr.PyTessBaseAPI(
                path=self.settings.tessdata_dir(),
                lang=languages,
                psm=self.settings.page_segmentation,
            )
            self._engines[languages] = engine
        return engine

    def _orientation(self, image: Image.Image) -> tuple[int, str] | None:
        """(clockwise degrees the page lies at, script) by OSD when it is sure enough."""
        if self._osd is None:
            if not self._installed("osd"):
                return None
            self._osd = tesserocr.PyTessBaseAPI(
                path=self.settings.tessdata_dir(),
                lang="osd",
                psm=tesserocr.PSM.OSD_ONLY,
                oem=tesserocr.OEM.TESSERACT_ONLY,
            )
        self._osd.SetImage(image)
        with _native_messages_silenced():
            found = self._osd.DetectOrientationScript()
        if not found:
            return None  # a blank page, or too few characters
        degrees = int(found["orient_deg"]) % 360
        if found["orient_conf"] < self.settings.orientation_confidence:
            degrees = 0
        return degrees, str(found.get("script_name") or "")

    def _installed(self, languages: str) -> bool:
        return not replace(self.settings, languages=languages).missing_languages()


@contextmanager
def _native_messages_silenced() -> Iterator[None]:
    """Tesseract and Leptonica write to the process's stderr themselves ("Empty page!!",
    "Error in boxClipToRectangle" on pictures): what they say is in the reading already, and
    it would break a command's quiet output. File descriptor 2 points at /dev/null meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _resolution(image: Image.Image) -> int:
    """The scan's resolution as its file states it; 300 dpi (the usual for text) if not."""
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if 70 <= value <= 2400 else 300


def hocr_document(page_markup: str, languages: str) -> str:
    """A page's hOCR markup as a whole hOCR 1.2 document (the XHTML Tesseract's own hOCR
    output writes around its pages)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"'
        ' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{languages}" lang="{languages}">\n'
        " <head>\n  <title></title>\n"
        '  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
        f'  <meta name="ocr-system" content="{TOOL} {TOOL_VERSION}"/>\n'
        '  <meta name="ocr-capabilities"'
        ' content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>\n'
        f" </head>\n <body>\n{page_markup} </body>\n</html>\n"
    )


def _confident(page: PageText, threshold: float) -> bool:
    """Whether a reading of the page as it lies can stand: confident, and its words lie
    horizontally (Tesseract also reads a page turned by 90 degrees, as vertical lines)."""
    if page.confidence is None or page.confidence < threshold or len(page.words) < 3:
        return False
    long_words = [w for w in page.words if len(w.text) >= 3]
    upright = sum(1 for w in long_words if w.box[2] >= w.box[3])
    return upright * 2 > len(long_words)


def _better(candidate: PageText, current: PageText) -> bool:
    """Whether the turned reading is kept: about as many confident words as the first or
    more. OSD was sure of the turn, and Tesseract also reads a quarter-turned page as it
    lies (as vertical lines, a little worse): the upright page's reading and boxes win
    unless they are clearly worse."""
    return _score(candidate) >= 0.9 * _score(current)


def _score(page: PageText) -> float:
    return sum(max(w.confidence, 0.0) for w in page.words)


def _words(engine: Any, text: str) -> tuple[OcrWord, ...]:
    """The recognised words in reading order, with their offsets in ``text``."""
    words: list[OcrWord] = []
    iterator = engine.GetIterator()
    if iterator is None:
        return ()
    level = tesserocr.RIL.WORD
    cursor = 0
    for item in tesserocr.iterate_level(iterator, level):
        try:
            word = item.GetUTF8Text(level)
        except RuntimeError:  # "No text returned": an empty page's only element
            continue
        if not word or not word.strip():
            continue
        box = item.BoundingBox(level)
        start = text.find(word, cursor)
        if start < 0:  # not expected: Tesseract's text is its words in this order
            start = cursor
            end = cursor
        else:
            end = start + len(word)
            cursor = end
        left, top, right, bottom = box if box else (0, 0, 0, 0)
        words.append(
            OcrWord(
                text=word,
                confidence=float(item.Confidence(level)),
                start=start,
                end=end,
                box=(left, top, right - left, bottom - top),
            )
        )
    return tuple(words)


def text_layer_page(page: SourcePage) -> PageText:
    """A PDF page's own text layer as a page read with full confidence, without boxes."""
    text = page.text_layer or ""
    words: list[OcrWord] = []
    cursor = 0
    for token in text.split():
        start = text.find(token, cursor)
        cursor = start + len(token)
        words.append(OcrWord(token, 100.0, start, cursor, (0, 0, 0, 0)))
    return PageText(
        page.number, text, "", 100.0 if words else None, TEXT_LAYER, 0, tuple(words), 0, 0
    )


def read_file(path: Path, settings: OcrSettings, reader: PageReader | None = None) -> FileText:
    """Every page of an image (each frame of a TIFF) or PDF, read; a file that cannot be
    decoded gives its reason in ``failure`` (with the pages read before it), never raises."""
    own = reader is None
    active = reader or PageReader(settings)
    pages: list[PageText] = []
    try:
        for source in source_pages(path, settings.dpi, settings.max_pages, settings.max_pixels):
            if source.image is None:
                pages.append(text_layer_page(source))
                continue
            try:
                pages.append(active.read(source.image, source.number))
            except RuntimeError as error:  # tesserocr's way of saying Tesseract gave up
                return FileText(
                    tuple(pages), f"Tesseract could not read page {source.number}: {error}"
                )
    except PageImageError as error:
        return FileText(tuple(pages), str(error))
    except OSError as error:
        return FileText(tuple(pages), f"cannot read the file: {error.strerror or error}")
    finally:
        if own:
            active.close()
    return FileText(tuple(pages))
