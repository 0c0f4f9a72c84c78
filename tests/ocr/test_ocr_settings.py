"""OCR settings per collection and the deployment's OCR configuration."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from heritage.ocr.file_reading import field_rules_digest, load_ocr_config
from heritage.ocr.ocr_settings import (
    DEFAULT_CONFIG,
    OcrConfigError,
    OcrSettings,
    load_collection_settings,
)
from heritage.settings import Settings


def test_the_projects_file_gives_defaults_and_collections() -> None:
    settings = load_collection_settings()
    assert settings.default.languages == "eng"
    assert settings.for_collection("Rijksmuseum").languages == "nld+eng"
    assert settings.for_collection("Rijksmuseum").page_segmentation == 3, "inherits [default]"
    assert settings.for_collection("Unknown archive") == settings.default
    assert DEFAULT_CONFIG.is_file()


def test_every_collection_setting_names_an_installed_model() -> None:
    settings = load_collection_settings()
    for name, chosen in (("default", settings.default), *settings.by_collection.items()):
        assert chosen.missing_languages() == [], name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[default]\ncolour = 'red'\n", "unknown key 'colour'"),
        ("[default]\npage_segmentation = 'three'\n", "'page_segmentation' must be int"),
        ("[default]\npage_segmentation = 14\n", "0 to 13"),
        ("[default]\ndpi = 20\n", "dpi must be 50 to 1200"),
        ("[collections.x]\ndetect_orientation = 1\n", "must be bool"),
        ("[default\n", "not valid TOML"),
    ],
)
def test_a_bad_file_names_itself_the_key_and_the_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "collections.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OcrConfigError, match=message) as raised:
        load_collection_settings(path)
    assert str(path) in str(raised.value)


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OcrConfigError, match="not found"):
        load_collection_settings(tmp_path / "absent.toml")


def test_the_digest_changes_with_what_is_read_only() -> None:
    base = OcrSettings()
    assert base.digest() == OcrSettings().digest()
    assert base.digest() != dataclasses.replace(base, languages="deu").digest()
    assert base.digest() == dataclasses.replace(base, tessdata="/elsewhere").digest()


def test_the_deployment_configuration_comes_from_the_settings(offline_settings: Settings) -> None:
    environment = {
        **offline_settings.environment,
        "HERITAGE_OCR": "off",
        "HERITAGE_OCR_RECORD_TYPES": "text, image",
        "HERITAGE_OCR_WORKERS": "3",
    }
    config = load_ocr_config(dataclasses.replace(offline_settings, environment=environment))
    assert not config.enabled and config.record_types == ("TEXT", "IMAGE") and config.workers == 3
    for key, value in (("HERITAGE_OCR", "maybe"), ("HERITAGE_OCR_WORKERS", "0")):
        bad = dataclasses.replace(offline_settings, environment={**environment, key: value})
        with pytest.raises(ValueError, match=key):
            load_ocr_config(bad)


def test_the_field_rules_digest_follows_the_gazetteers_too(tmp_path: Path) -> None:
    rules = tmp_path / "ocr"
    shutil.copytree(DEFAULT_CONFIG.parent, rules)
    before = field_rules_digest(rules / "fields.toml")
    assert before == field_rules_digest(rules / "fields.toml")
    with (rules / "gazetteer.csv").open("a", encoding="utf-8") as out:
        out.write("place,Haarlem,http://vocab.getty.edu/tgn/7006824,\n")
    assert field_rules_digest(rules / "fields.toml") != before
