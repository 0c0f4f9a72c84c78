#!/usr/bin/env bash
# Installs everything the local stack needs, idempotently: Python packages into .venv,
# the Spark and Kafka jars from Maven Central, MinIO built with `go install` at a pinned
# commit, and Debian's PostgreSQL if absent. A second run with nothing to do says what was
# already present and finishes in seconds.
#
# Usage: scripts/setup.sh        (what `make setup` runs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${HERITAGE_STATE_DIR:-$ROOT/.state}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
# MinIO's repository was archived after its last community release; this is its final
# commit on the Go module proxy. Pinned: change it here and in docker-compose.yml together.
MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
COMPOSE_VERSION="v2.40.3"
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
fingerprint() { cat "$@" | sha256sum | cut -c1-16; }

# --- Python packages ----------------------------------------------------------------
# The ml extra brings torch with its CUDA libraries (about 1.5 minutes here); it runs on CPU.
extras="dev,ml"
py_stamp="$(fingerprint pyproject.toml config/constraints.txt)-$extras"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if [ "$(cat .venv/.heritage-installed 2>/dev/null)" = "$py_stamp" ]; then
  say "Python packages already present in .venv ($extras)"
else
  say "installing Python packages into .venv ($extras; pinned by pyproject.toml and config/constraints.txt)"
  .venv/bin/python -m pip install --quiet --upgrade "pip==25.3"
  .venv/bin/python -m pip install --quiet -c config/constraints.txt -e ".[$extras]"
  echo "$py_stamp" > .venv/.heritage-installed
fi

# --- Jars from Maven Central ----------------------------------------------------------
fetch_jars() {  # name pom
  local name="$1" pom="$2" dest="$STATE/jars/$1" stamp
  stamp="$(fingerprint "$pom")"
  if [ "$(cat "$dest/.stamp" 2>/dev/null)" = "$stamp" ]; then
    say "$name jars already present in $dest ($(ls "$dest"/*.jar | wc -l) jars)"
    return
  fi
  say "fetching $name jars with Maven ($pom)"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$dest.tmp"
  if [ "$name" = spark ]; then
    # One version of each class: drop what the pyspark wheel already ships.
    .venv/bin/python scripts/drop_shipped_jars.py "$dest.tmp"
  fi
  echo "$stamp" > "$dest.tmp/.stamp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}
fetch_jars spark config/spark-jars.pom.xml
fetch_jars kafka config/kafka-broker.pom.xml

# --- MinIO ------------------------------------------------------------------------------
if [ -x "$STATE/bin/minio" ] && [ "$(cat "$STATE/bin/.minio-module" 2>/dev/null)" = "$MINIO_MODULE" ]; then
  say "MinIO already present in $STATE/bin ($MINIO_MODULE)"
else
  command -v go >/dev/null || { echo "setup: Go is needed to build MinIO; install Go 1.24+ and rerun" >&2; exit 1; }
  say "building MinIO with go install $MINIO_MODULE (a few minutes on 2 cores)"
  mkdir -p "$STATE/bin"
  GOBIN="$STATE/bin" GOFLAGS=-buildvcs=false go install "$MINIO_MODULE"
  echo "$MINIO_MODULE" > "$STATE/bin/.minio-module"
fi

# --- Docker Compose (to validate docker-compose.yml; no Docker engine is needed) -------
if [ -x "$STATE/bin/docker-compose" ] && [ "$(cat "$STATE/bin/.compose-version" 2>/dev/null)" = "$COMPOSE_VERSION" ]; then
  say "docker compose already present in $STATE/bin ($COMPOSE_VERSION)"
else
  say "building docker compose $COMPOSE_VERSION from the Go module proxy (about 2 minutes)"
  # Compose's go.mod has replace directives, so `go install` refuses it: build in its source.
  src="$(cd "$STATE" && go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" \
        | "$ROOT/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  build="$STATE/build/compose" && rm -rf "$build" && mkdir -p "$build" && cp -r "$src/." "$build/"
  chmod -R u+w "$build"
  (cd "$build" && GOFLAGS=-buildvcs=false go build -o "$STATE/bin/docker-compose" ./cmd)
  rm -rf "$build"
  echo "$COMPOSE_VERSION" > "$STATE/bin/.compose-version"
fi

# --- PostgreSQL -----------------------------------------------------------------------
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "PostgreSQL already present ($(ls -d /usr/lib/postgresql/*/bin | head -n1))"
else
  say "installing Debian's PostgreSQL"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends postgresql
  # The local stack runs its own cluster in .state; Debian's default one is not needed.
  $SUDO pg_dropcluster --stop "$(ls /usr/lib/postgresql | head -n1)" main 2>/dev/null || true
fi
# --- Chromium for the dashboard's end-to-end test ------------------------------------------
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  say "Chromium already present ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
else
  say "installing Debian's chromium and chromium-driver (the dashboard's browser test)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    chromium chromium-driver
fi
say "done"
