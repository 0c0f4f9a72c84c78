from __future__ import annotations

from pathlib import Path

import pytest

from heritage.services.credentials import ensure_local_credentials
from heritage.services.stack import shell_exports
from heritage.settings import Secret, load_settings


def test_secret_never_prints_its_value() -> None:
    secret = Secret("hunter2-very-secret")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert secret.reveal() == "hunter2-very-secret"


def test_environment_overrides_generated_file_which_overrides_defaults(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state).mkdir()
    (state / "local.env").write_text("PGPORT=25432\nPGPASSWORD=from-file\n")
    settings = load_settings({"HERITAGE_STATE_DIR": str(state), "PGPORT": "35432"})
    assert settings.pg_port == 35432
    assert settings.pg_password.reveal() == "from-file"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"


def test_bad_number_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PGPORT"):
        load_settings({"HERITAGE_STATE_DIR": str(tmp_path), "PGPORT": "five"})


def test_generated_credentials_are_private_random_and_kept(tmp_path: Path) -> None:
    env_file = tmp_path / "local.env"
    assert ensure_local_credentials(env_file) is True
    first = env_file.read_text()
    assert env_file.stat().st_mode & 0o077 == 0
    assert ensure_local_credentials(env_file) is False
    assert env_file.read_text() == first
    other = tmp_path / "other.env"
    ensure_local_credentials(other)
    assert other.read_text() != first


def test_env_exports_cover_the_clients_variables(tmp_path: Path) -> None:
    ensure_local_credentials(tmp_path / "local.env")
    exports = shell_exports(load_settings({"HERITAGE_STATE_DIR": str(tmp_path)}))
    for name in (
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "KAFKA_BOOTSTRAP_SERVERS",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "HERITAGE_BUCKET",
        "HERITAGE_QDRANT_PATH",
    ):
        assert f"export {name}=" in exports
