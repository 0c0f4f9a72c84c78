"""Numbers from the environment."""

from __future__ import annotations

import pytest

from heritage.env_values import env_number
from heritage.ml_settings import load_embedding_job_config
from heritage.settings import load_settings
from heritage.source_settings import load_image_fetch_config


def test_unset_or_empty_gives_the_default_and_a_value_is_parsed() -> None:
    assert env_number({}, "HERITAGE_X", 2.5) == 2.5
    assert env_number({"HERITAGE_X": ""}, "HERITAGE_X", 2.5) == 2.5
    assert env_number({"HERITAGE_X": "0.25"}, "HERITAGE_X", 2.5) == 0.25


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match=r"HERITAGE_X='many' is not a number"):
        env_number({"HERITAGE_X": "many"}, "HERITAGE_X", 1)


def test_the_ml_settings_read_their_variables() -> None:
    job = load_embedding_job_config(load_settings({"HERITAGE_ML_COMMIT_EVERY": "64"}))
    assert job.commit_every == 64
    fetch = load_image_fetch_config(load_settings({"HERITAGE_IMAGE_RETRIES": "5"}))
    assert fetch.http.max_attempts == 6  # five retries
    with pytest.raises(ValueError, match="HERITAGE_IMAGE_WORKERS"):
        load_image_fetch_config(load_settings({"HERITAGE_IMAGE_WORKERS": "eight"}))
