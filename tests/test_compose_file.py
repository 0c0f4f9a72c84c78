"""docker-compose.yml is checked here because no Docker engine runs on the CI machine:
pinned images, healthchecks, healthy dependencies, and no literal credentials."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from heritage.settings import PROJECT_ROOT
from heritage.stage_registry import select_stages, stage_names

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|TOKEN|API_KEY", re.IGNORECASE)
ONE_SHOT = {"init", "producers"}


def compose_problems(compose: dict[str, Any]) -> list[str]:
    """Every violation of the compose rules, as readable lines (empty when the file is good)."""
    problems = []
    services: dict[str, Any] = compose.get("services", {})
    for name, service in services.items():
        image = service.get("image", "")
        if not image or ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
            problems.append(f"{name}: image {image!r} is not pinned to a version")
        if name not in ONE_SHOT and "healthcheck" not in service:
            problems.append(f"{name}: long-running service without a healthcheck")
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on must name a condition")
            depends = {}
        for dependency, rule in depends.items():
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            if rule.get("condition") != wanted:
                problems.append(f"{name}: depends on {dependency} without condition {wanted}")
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for key, value in environment.items():
            if SECRET_NAME.search(key) and not re.fullmatch(
                r"\$\{[A-Z_]+(:?\?[^}]*)?\}", str(value)
            ):
                problems.append(f"{name}: {key} is a literal, not a ${{VAR}} from .env")
    return problems


def load() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_follows_the_rules() -> None:
    compose = load()
    assert {
        "kafka",
        "minio",
        "qdrant",
        "postgres",
        "init",
        "producers",
        "spark-apps",
        "dashboard",
    } <= set(compose["services"])
    assert compose_problems(compose) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c["services"]["postgres"].update(image="postgres"), "not pinned"),
        (lambda c: c["services"]["minio"].update(image="minio/minio:latest"), "not pinned"),
        (lambda c: c["services"]["qdrant"].pop("healthcheck"), "without a healthcheck"),
        (
            lambda c: c["services"]["postgres"]["environment"].update(POSTGRES_PASSWORD="postgres"),
            "literal",
        ),
        (
            lambda c: c["services"]["dashboard"]["depends_on"]["qdrant"].update(
                condition="service_started"
            ),
            "without condition",
        ),
    ],
)
def test_rules_catch_each_kind_of_mistake(mutate: Any, expected: str) -> None:
    compose = load()
    mutate(compose)
    assert any(expected in p for p in compose_problems(compose))


def test_every_dockerfile_named_by_compose_exists() -> None:
    for service in load()["services"].values():
        build = service.get("build")
        if build:
            assert (PROJECT_ROOT / build["dockerfile"]).is_file()


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    compose_binary = shutil.which("docker-compose") or str(
        PROJECT_ROOT / ".state/bin/docker-compose"
    )
    if not Path(compose_binary).exists():
        pytest.fail("docker-compose not installed; run `make setup`")
    env_file = tmp_path / ".env"
    subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts/make_env.sh"), str(env_file)],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [compose_binary, "--env-file", str(env_file), "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def stages_run_by(command: str) -> list[str]:
    """The registered stages one service command runs through `heritage lakehouse run`."""
    found: list[str] = []
    for invocation in re.findall(r"heritage lakehouse run([^&;]*)", command):
        words = invocation.split()
        only = words[words.index("--stage") + 1] if "--stage" in words else None
        skip = [words[i + 1] for i, word in enumerate(words) if word == "--skip"]
        found += [stage.name for stage in select_stages(only, skip)]
    return found


def test_every_registered_stage_runs_in_exactly_one_compose_service() -> None:
    runs: dict[str, list[str]] = {}
    for name, service in load()["services"].items():
        command = service.get("command", [])
        text = command if isinstance(command, str) else " ".join(command)
        for stage in stages_run_by(text):
            runs.setdefault(stage, []).append(name)
    assert {stage: services for stage, services in runs.items() if len(services) != 1} == {}
    assert sorted(runs) == sorted(stage_names())
