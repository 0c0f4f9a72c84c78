"""The OCR step of the package workflow: every image and PDF of a clean package is read, page
by page, in the worker that examined it.

Per page: its text, hOCR, mean word confidence, language, rotation and the fields extracted
from it (:mod:`heritage.ocr`), one ``transcription`` event each (``file#page=N``). The text and
hOCR are written to the examination's work folder; the storing process uploads them next
to the file's blob. A file that cannot be read gets one warning event with the reason: the
package's other files, and the package, are unaffected. Identical files are read once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from heritage.ocr.field_rules import FieldRules
from heritage.ocr.file_reading import OcrConfig, field_rules_for, read_to_entry, reader_for
from heritage.ocr.ocr_results import BLANK
from heritage.ocr.ocr_settings import OcrSettings
from heritage.ocr.page_images import is_readable
from heritage.ocr.page_reading import TOOL, TOOL_VERSION, PageReader
from heritage.producers.packages.examination_model import Examination, ExaminedFile
from heritage.producers.packages.ingest_events import Outcome, Step, utc_now


def read_package(exam: Examination, config: OcrConfig, pages_dir: Path) -> None:
    """Read every clean image and PDF of the package; its files' ``ocr`` entries and events.
    The page texts and hOCR go under ``pages_dir``, a folder of the examination's own, never
    beside the package's files (a submitted folder is read in place)."""
    if not config.enabled:
        return
    provider = exam.metadata.get("data_provider")
    settings = config.collections.for_collection(str(provider) if provider else None)
    rules = field_rules_for(config.field_rules, str(provider) if provider else None)
    read: dict[str, dict[str, Any]] = {}
    for item in exam.files:
        if item.container or item.virus_verdict != "clean":
            continue
        if not is_readable(Path(item.local_path)):
            continue
        entry = read.get(item.sha256)
        if entry is None:
            folder = pages_dir / str(len(read))
            entry = _read_file(exam, item, folder, settings, rules, reader_for(settings))
            read[item.sha256] = entry
        else:
            _log_pages(exam, item, entry, repeat=True)
        item.ocr = entry


def _read_file(
    exam: Examination,
    item: ExaminedFile,
    folder: Path,
    settings: OcrSettings,
    rules: FieldRules,
    reader: PageReader,
) -> dict[str, Any]:
    started = utc_now()
    entry = read_to_entry(Path(item.local_path), folder, settings, rules, reader)
    _log_pages(exam, item, entry, started=started)
    return entry


def _log_pages(
    exam: Examination,
    item: ExaminedFile,
    entry: dict[str, Any],
    started: Any = None,
    repeat: bool = False,
) -> None:
    same = " (same content as a file read before)" if repeat else ""
    for page in entry["pages"]:
        exam.log.add(
            Step.OCR,
            Outcome.WARNING if page["flagged"] else Outcome.SUCCESS,
            page_detail(page) + same,
            file_path=f"{item.path}#page={page['page']}",
            tool=TOOL,
            tool_version=TOOL_VERSION,
            started_at=started,
        )
    if entry["failure"]:
        exam.log.add(
            Step.OCR,
            Outcome.WARNING,
            f"not read: {entry['failure']}; the package is stored without this file's text",
            file_path=item.path,
            tool=TOOL,
            tool_version=TOOL_VERSION,
            started_at=started,
        )


def page_detail(page: dict[str, Any]) -> str:
    """One line for a page's event: what was read, how sure, in which language and turn."""
    if page["reason"] == BLANK:
        return "blank page: no text"
    turned = f", turned {page['rotation']} degrees" if page["rotation"] else ""
    if page.get("deskew"):
        turned += f", levelled {page['deskew']:+g} degrees"
    detail = (
        f"{page['characters']} characters, {page['words']} words,"
        f" mean confidence {page['confidence']} ({page['language']}{turned})"
    )
    fields = len(page["fields"])
    if fields:
        detail += f"; {fields} field{'s' if fields != 1 else ''} extracted"
    if page["flagged"]:
        detail += f"; flagged for review: {page['reason']}"
    return detail
