#!/usr/bin/env bash
# The import contracts (pyproject.toml [tool.importlinter]) and the no-cycle rule, checked
# over the distribution as it imports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tree="$(bash "$ROOT/scripts/import_graph_tree.sh")"
trap 'rm -rf "$tree"' EXIT
cd "$tree"
PYTHONPATH="$tree" "$ROOT/.venv/bin/lint-imports" --no-cache --no-logo "$ROOT/pyproject.toml" |
  grep -vE '^\s*$'
PYTHONPATH="$tree" "$ROOT/.venv/bin/python" "$ROOT/scripts/import_cycles.py" heritage
