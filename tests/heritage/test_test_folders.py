"""The tests folder never shadows the package: a script run from tests/ (the Spark cluster
test runs one) has tests/ first on sys.path, where tests/heritage is a namespace package, so
a folder tests/heritage/NAME would hide the subpackage heritage.NAME."""

from __future__ import annotations

from heritage.settings import PROJECT_ROOT


def test_no_folder_under_tests_heritage_is_named_like_a_heritage_module() -> None:
    package = PROJECT_ROOT / "heritage"
    shadowing = [
        folder.name
        for folder in (PROJECT_ROOT / "tests" / "heritage").iterdir()
        if folder.is_dir()
        and folder.name != "__pycache__"
        and ((package / folder.name).is_dir() or (package / f"{folder.name}.py").is_file())
    ]
    assert shadowing == []
