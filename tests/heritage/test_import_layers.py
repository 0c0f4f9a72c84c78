"""The import contracts: every core module is in a layer, and a forbidden import breaks them."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = ROOT / ".venv" / "bin" / "lint-imports"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _layered_modules() -> set[str]:
    layers = next(c for c in _contracts() if c["id"] == "layers")["layers"]
    assert isinstance(layers, list)
    names = re.split(r"[|:\s()]+", " ".join(layers))
    return {name for name in names if name}


def test_every_module_of_the_heritage_package_is_in_a_layer() -> None:
    package = ROOT / "heritage"
    modules = {f"heritage.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {f"heritage.{p.name}" for p in package.iterdir() if (p / "__init__.py").is_file()}
    missing = modules - _layered_modules()
    assert not missing, (
        f"add {sorted(missing)} to a layer of [tool.importlinter] in pyproject.toml "
        "(the core's layer unless it imports a component)"
    )


def _tree() -> Path:
    made = subprocess.run(
        ["bash", str(ROOT / "scripts" / "import_graph_tree.sh")],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(made.stdout.strip())


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is installed by make setup")
@pytest.mark.parametrize(
    ("importer", "imported", "broken"),
    [
        ("settings.py", "heritage.ml.ml_stage", "heritage.settings is not allowed to import"),
        ("ml/ml_stage.py", "heritage.spark_apps.curate", "heritage.ml is not allowed to import"),
        ("producers/csv_drop.py", "heritage.pipeline", "not allowed to import heritage.pipeline"),
    ],
)
def test_a_forbidden_import_breaks_the_contracts(importer: str, imported: str, broken: str) -> None:
    tree = _tree()
    try:
        assert _lint(tree).returncode == 0, "the contracts must hold before the change"
        module = tree / "heritage" / importer
        module.write_text(module.read_text(encoding="utf-8") + f"\nimport {imported}\n")
        result = _lint(tree)
        assert result.returncode != 0
        assert broken in " ".join(result.stdout.split())
    finally:
        shutil.rmtree(tree)
