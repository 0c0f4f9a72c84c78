#!/usr/bin/env bash
# Lay the distribution out as it imports (top-level folders are heritage.<component> through
# setuptools package-dir) in a fresh temporary folder, and print that folder. Import tools
# that walk a package's directory (grimp, import-linter) see every module there; symbolic
# links are not followed by them, so the files are copied.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tree="$(mktemp -d)"
copy() {
  mkdir -p "$tree/$2"
  (cd "$ROOT/$1" && find . -name '*.py' -not -path '*/__pycache__/*' -print0 |
    xargs -0 -I{} cp --parents {} "$tree/$2/")
}
copy heritage heritage
copy producers heritage/producers
copy spark-apps heritage/spark_apps
copy ml heritage/ml
copy dashboard heritage/dashboard
echo "$tree"
