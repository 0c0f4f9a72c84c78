"""The workflow's configuration, read from the settings (environment > .state/local.env >
defaults): unpacking limits, the virus scanner, the institution named on records of
packages that do not name their own, and OCR."""

from __future__ import annotations

from pathlib import Path

from heritage.ocr.field_rules import load_field_rules
from heritage.ocr.ocr_settings import load_collection_settings
from heritage.producers.packages.package_examination import ExaminationConfig
from heritage.producers.packages.package_ocr import OcrConfig
from heritage.producers.packages.unpacking import UnpackLimits
from heritage.settings import Settings
from heritage.source_settings import load_clamav_settings

_DEFAULTS = UnpackLimits()


def load_examination_config(settings: Settings) -> ExaminationConfig:
    def number(name: str, default: float) -> float:
        text = settings.value(name, "")
        try:
            return float(text) if text.strip() else default
        except ValueError as error:
            raise ValueError(
                f"{name}={text!r} is not a number; set it to one or unset it"
            ) from error

    limits = UnpackLimits(
        max_depth=int(number("HERITAGE_UNPACK_MAX_DEPTH", _DEFAULTS.max_depth)),
        max_members=int(number("HERITAGE_UNPACK_MAX_MEMBERS", _DEFAULTS.max_members)),
        max_total_bytes=int(
            number("HERITAGE_UNPACK_MAX_GB", _DEFAULTS.max_total_bytes / 1024**3) * 1024**3
        ),
        max_ratio=number("HERITAGE_UNPACK_MAX_RATIO", _DEFAULTS.max_ratio),
    )
    return ExaminationConfig(
        limits=limits,
        clamav=load_clamav_settings(settings),
        default_data_provider=settings.value("HERITAGE_PACKAGE_DATA_PROVIDER", "") or None,
        ocr=load_ocr_config(settings),
    )


def load_ocr_config(settings: Settings) -> OcrConfig:
    """HERITAGE_OCR (on | off, default on), HERITAGE_OCR_CONFIG (the per-collection settings,
    default config/ocr/collections.toml) and HERITAGE_OCR_FIELDS (the field rules, default
    config/ocr/fields.toml)."""
    switch = settings.value("HERITAGE_OCR", "on").strip().lower()
    if switch not in ("on", "off"):
        raise ValueError(f"HERITAGE_OCR={switch!r} must be 'on' or 'off'")
    collections = settings.value("HERITAGE_OCR_CONFIG", "")
    fields = settings.value("HERITAGE_OCR_FIELDS", "")
    # Read once here so that a broken rules file stops the run before any package is read.
    load_field_rules(Path(fields) if fields else None)
    return OcrConfig(
        enabled=switch == "on",
        collections=load_collection_settings(Path(collections) if collections else None),
        field_rules=Path(fields) if fields else None,
    )
