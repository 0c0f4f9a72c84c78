"""`heritage services env --role ...` without services: the lines each role prints, the
files the reader and the curator get, and no password anywhere in the output."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from heritage.cli import build_parser
from heritage.services.credentials import (
    ensure_local_credentials,
    pgpass_line,
    service_file_text,
)
from heritage.services.stack import (
    MissingRolePassword,
    Role,
    RoleFiles,
    env_for_role,
    role_exports,
)
from heritage.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    ensure_local_credentials(tmp_path / "local.env")
    return load_settings({"HERITAGE_STATE_DIR": str(tmp_path)})


def test_the_reader_is_the_default_role() -> None:
    args = build_parser().parse_args(["services", "env"])
    assert args.role == "reader"
    assert build_parser().parse_args(["services", "env", "--role", "admin"]).role == "admin"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["services", "env", "--role", "root"])


def test_reader_and_curator_lines_point_psql_at_their_files(tmp_path: Path) -> None:
    settings = load_settings({"HERITAGE_STATE_DIR": str(tmp_path), "PGDATABASE": "d1"})
    files = RoleFiles(Path("/s/psql/reader.service.conf"), Path("/s/psql/reader.pgpass"))
    assert role_exports(settings, "reader", files).splitlines() == [
        "unset PGPASSWORD",
        "export PGHOST=127.0.0.1",
        "export PGPORT=15432",
        "export PGDATABASE=d1",
        "export PGSERVICEFILE=/s/psql/reader.service.conf",
        "export PGSERVICE=heritage-reader",
        "export PGPASSFILE=/s/psql/reader.pgpass",
    ]
    curator = RoleFiles(Path("/my state/c.conf"), Path("/my state/c.pgpass"))
    assert "export PGSERVICE=heritage-curator" in role_exports(settings, "curator", curator)
    assert "export PGPASSFILE='/my state/c.pgpass'" in role_exports(settings, "curator", curator)


@pytest.mark.parametrize(
    ("role", "user", "password_key"),
    [
        ("reader", "heritage_reader", "HERITAGE_PG_READER_PASSWORD"),
        ("curator", "heritage_curator", "HERITAGE_PG_CURATOR_PASSWORD"),
    ],
)
def test_a_role_gets_private_files_and_its_password_is_never_printed(
    settings: Settings, role: Role, user: str, password_key: str
) -> None:
    printed = env_for_role(settings, role)
    password = settings.environment[password_key]
    assert password not in printed and "PGPASSWORD=" not in printed
    files = RoleFiles.of(settings, role)
    assert f"export PGSERVICE=heritage-{role}" in printed
    for path in (files.service_file, files.password_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert files.password_file.read_text() == (
        pgpass_line(settings.pg_host, settings.pg_port, user, password) + "\n"
    )
    assert files.service_file.read_text() == service_file_text(f"heritage-{role}", user)


def test_the_admin_gets_every_service_and_leaves_any_role_service(settings: Settings) -> None:
    printed = env_for_role(settings, "admin")
    assert printed.splitlines()[0] == "unset PGSERVICE PGSERVICEFILE PGPASSFILE"
    assert f"export PGUSER={settings.pg_user}" in printed
    for name in ("PGPASSWORD", "KAFKA_BOOTSTRAP_SERVERS", "AWS_SECRET_ACCESS_KEY"):
        assert f"export {name}=" in printed


def test_a_role_without_a_password_is_refused(tmp_path: Path) -> None:
    empty = load_settings({"HERITAGE_STATE_DIR": str(tmp_path)})
    with pytest.raises(MissingRolePassword, match="heritage services up"):
        env_for_role(empty, "reader")
    assert not (tmp_path / "psql").exists()


def test_password_file_fields_are_escaped() -> None:
    assert pgpass_line("127.0.0.1", 15432, "u", "a:b\\c") == "127.0.0.1:15432:*:u:a\\:b\\\\c"
    assert service_file_text("heritage-reader", "u") == "[heritage-reader]\nuser=u\n"
