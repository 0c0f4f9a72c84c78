#!/usr/bin/env bash
# mypy over the one distribution: the top-level folders import as heritage.<component>
# (setuptools package-dir), so mypy reads them through a tree of links laid out that way.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
tree=.typecheck/heritage
rm -rf .typecheck && mkdir -p "$tree"
for entry in heritage/*; do ln -s "../../$entry" "$tree/"; done
ln -s ../../producers "$tree/producers"
ln -s ../../spark-apps "$tree/spark_apps"
ln -s ../../ml "$tree/ml"
ln -s ../../dashboard "$tree/dashboard"
cd .typecheck && ../.venv/bin/mypy --config-file ../pyproject.toml -p heritage
