"""The workflow's configuration, read from the settings (environment > .state/local.env >
defaults): unpacking limits, the virus scanner, the institution named on records of
packages that do not name their own, and OCR."""

from __future__ import annotations

from heritage.ocr.file_reading import load_ocr_config
from heritage.producers.packages.package_examination import ExaminationConfig
from heritage.producers.packages.unpacking import UnpackLimits
from heritage.publication_settings import load_publication_policy
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
        publication=load_publication_policy(settings),
    )
