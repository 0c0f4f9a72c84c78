"""How pages are read: languages, page segmentation, review threshold, per collection.

``config/ocr/collections.toml`` holds a ``[default]`` table and one table per collection
(``[collections."Rijksmuseum"]``, named as the records' data provider), each with any of
the :class:`OcrSettings` fields. Pure apart from reading that file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from heritage.source_rejections import SourceRejection

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "ocr" / "collections.toml"
# Where Debian's tesseract-ocr-<lang> packages put their models, newest first.
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
)


class OcrConfigError(SourceRejection):
    """The OCR configuration is unusable; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class OcrSettings:
    # Tesseract's language string: "eng", "nld+eng"; models must be installed.
    languages: str = "eng"
    # Tesseract's page segmentation mode (--psm): 3 automatic, 4 one column, 6 one block.
    page_segmentation: int = 3
    # Detect a page's orientation with Tesseract's OSD and turn it upright before reading.
    detect_orientation: bool = True
    # An upright reading at least this confident (mean word confidence) skips the OSD.
    upright_confidence: float = 80.0
    # OSD's orientation confidence needed to turn a page (ocrmypdf's default is 14 for
    # whole documents; single pages with few lines score lower).
    orientation_confidence: float = 5.0
    # Level a page whose lines are turned by at least this many degrees (0: never); Tesseract
    # loses lines of pages a few degrees askew.
    deskew_degrees: float = 1.0
    # The model for pages OSD finds set in Fraktur (when that model is installed).
    fraktur_languages: str = "frk"
    # Pages (and extracted fields) below this mean word confidence go to review.
    min_confidence: float = 70.0
    # PDF pages are rendered at this resolution.
    dpi: int = 300
    # Pages read per file at most; decoded pixels per page at most (decompression bombs).
    max_pages: int = 2000
    max_pixels: int = 178_000_000  # Pillow refuses more than 2 x 89.5 M pixels anyway
    # Directory of the *.traineddata models; None: TESSDATA_PREFIX or Debian's directory.
    tessdata: str | None = None

    def digest(self) -> str:
        """Eight hex digits naming the settings that change what is read (derivatives of
        different settings are stored apart)."""
        relevant = {k: v for k, v in asdict(self).items() if k not in ("tessdata", "max_pages")}
        text = json.dumps(relevant, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def tessdata_dir(self) -> str:
        """The models' directory: the setting, TESSDATA_PREFIX, or the first Debian one."""
        if self.tessdata:
            return self.tessdata
        prefix = os.environ.get("TESSDATA_PREFIX")
        if prefix:
            return prefix
        for candidate in TESSDATA_DIRS:
            if Path(candidate).is_dir():
                return candidate
        return TESSDATA_DIRS[0]

    def missing_languages(self) -> list[str]:
        """The configured languages whose model is not installed."""
        folder = Path(self.tessdata_dir())
        return [
            lang
            for lang in self.languages.split("+")
            if not (folder / f"{lang}.traineddata").is_file()
        ]


@dataclass(frozen=True)
class CollectionSettings:
    default: OcrSettings
    by_collection: Mapping[str, OcrSettings]

    def for_collection(self, name: str | None) -> OcrSettings:
        if name and name in self.by_collection:
            return self.by_collection[name]
        return self.default


_FIELD_TYPES: dict[str, type] = {
    "languages": str,
    "page_segmentation": int,
    "detect_orientation": bool,
    "upright_confidence": float,
    "orientation_confidence": float,
    "deskew_degrees": float,
    "fraktur_languages": str,
    "min_confidence": float,
    "dpi": int,
    "max_pages": int,
    "max_pixels": int,
    "tessdata": str,
}
assert set(_FIELD_TYPES) == {f.name for f in fields(OcrSettings)}


def settings_from(values: Mapping[str, Any], base: OcrSettings, where: str) -> OcrSettings:
    """``base`` with the keys of one TOML table; unknown keys and wrong types refused."""
    changes: dict[str, Any] = {}
    for key, value in values.items():
        expected = _FIELD_TYPES.get(key)
        if expected is None:
            known = ", ".join(sorted(_FIELD_TYPES))
            raise OcrConfigError(f"{where}: unknown key '{key}'; known keys: {known}")
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise OcrConfigError(
                f"{where}: '{key}' must be {expected.__name__}, not {type(value).__name__}"
            )
        changes[key] = value
    settings = replace(base, **changes)
    if not 0 <= settings.page_segmentation <= 13:
        raise OcrConfigError(f"{where}: page_segmentation must be 0 to 13 (tesseract --psm)")
    if not 50 <= settings.dpi <= 1200:
        raise OcrConfigError(f"{where}: dpi must be 50 to 1200")
    return settings


def load_collection_settings(path: Path | None = None) -> CollectionSettings:
    """The settings of ``path`` (default: the project's file; without it, built-in
    defaults everywhere)."""
    chosen = path or DEFAULT_CONFIG
    if not chosen.is_file():
        if path is not None:
            raise OcrConfigError(f"{chosen}: OCR configuration not found; fix the path")
        return CollectionSettings(OcrSettings(), {})
    try:
        document = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise OcrConfigError(f"{chosen}: not valid TOML ({error}); fix the file") from error
    default = settings_from(document.get("default", {}), OcrSettings(), f"{chosen} [default]")
    collections = document.get("collections", {})
    if not isinstance(collections, Mapping):
        raise OcrConfigError(f"{chosen}: 'collections' must be a table of tables")
    by_collection = {
        str(name): settings_from(values, default, f'{chosen} [collections."{name}"]')
        for name, values in collections.items()
    }
    return CollectionSettings(default, by_collection)
