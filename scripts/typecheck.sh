#!/usr/bin/env bash
# mypy over the one distribution: the top-level folders import as heritage.<component>
# (setuptools package-dir), so mypy reads them through a tree of links laid out that way.
# The tree lives in a fresh temporary folder, so concurrent runs do not disturb each other.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/heritage"
for entry in "$ROOT"/heritage/*; do ln -s "$entry" "$work/heritage/"; done
ln -s "$ROOT/producers" "$work/heritage/producers"
ln -s "$ROOT/spark-apps" "$work/heritage/spark_apps"
ln -s "$ROOT/ml" "$work/heritage/ml"
ln -s "$ROOT/dashboard" "$work/heritage/dashboard"
cd "$work" && "$ROOT/.venv/bin/mypy" --config-file "$ROOT/pyproject.toml" \
  --cache-dir "$ROOT/.mypy_cache" -p heritage
