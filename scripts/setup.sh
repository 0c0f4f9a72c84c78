#!/usr/bin/env bash
# Installs everything the local stack needs, idempotently: Python packages into .venv,
# the Spark and Kafka jars from Maven Central, MinIO built with `go install` at a pinned
# commit, and Debian's PostgreSQL if absent. One line per step; each step's tool output
# (pip, maven, go, apt) goes to .state/logs/setup-<step>.log. A second run with nothing to
# do says what was already present and finishes in seconds.
#
# Usage: scripts/setup.sh        (what `make setup` runs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${HERITAGE_STATE_DIR:-$ROOT/.state}"
LOGS="$STATE/logs"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
# MinIO's repository was archived after its last community release; this is its final
# commit on the Go module proxy. Pinned: change it here and in docker-compose.yml together.
MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
COMPOSE_VERSION="v2.40.3"
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %-12s %s\n' "$1" "$2"; }
fingerprint() { cat "$@" | sha256sum | cut -c1-16; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# Runs one step's work with its output in setup-<step>.log: "step  what... done" on one
# line, or the log's last lines and its path when the step fails.
run_step() {  # step what done-word function
  local step="$1" what="$2" done_word="$3" log="$LOGS/setup-$1.log" rc
  shift 3
  mkdir -p "$LOGS"
  printf 'setup: %-12s %s ... ' "$step" "$what"
  # In a subshell of its own, so `set -e` still stops the step at its first failure.
  set +e
  ( set -e; "$@" ) >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" = 0 ]; then
    echo "$done_word"
    return
  fi
  echo "FAILED (exit $rc)"
  echo "setup: last lines of $log:" >&2
  tail -n 20 "$log" | sed 's/^/  | /' >&2
  echo "setup: step '$step' failed; the whole log is $log" >&2
  exit "$rc"
}

echo "setup: tool output goes to $LOGS/setup-<step>.log"

# --- Python packages ----------------------------------------------------------------
# The ml extra brings torch with its CUDA libraries (about 1.5 minutes here); it runs on CPU.
extras="dev,ml"
py_stamp="$(fingerprint pyproject.toml config/constraints.txt)-$extras"
install_python() {
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --upgrade "pip==25.3"
  .venv/bin/python -m pip install -c config/constraints.txt -e ".[$extras]"
  echo "$py_stamp" > .venv/.heritage-installed
}
if [ -x .venv/bin/python ] && [ "$(cat .venv/.heritage-installed 2>/dev/null)" = "$py_stamp" ]; then
  say python "ok (.venv has $extras, pinned by pyproject.toml and config/constraints.txt)"
else
  run_step python "installing into .venv ($extras; $($PYTHON --version))" installed install_python
fi

# --- Jars from Maven Central ----------------------------------------------------------
copy_jars() {  # name pom dest
  local name="$1" pom="$2" dest="$3"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  mvn -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$dest.tmp"
  if [ "$name" = spark ]; then
    # One version of each class: drop what the pyspark wheel already ships.
    .venv/bin/python scripts/drop_shipped_jars.py "$dest.tmp"
  fi
  fingerprint "$pom" > "$dest.tmp/.stamp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}
fetch_jars() {  # name pom
  local name="$1" pom="$2" dest="$STATE/jars/$1"
  if [ "$(cat "$dest/.stamp" 2>/dev/null)" = "$(fingerprint "$pom")" ]; then
    say "jars-$name" "ok ($(ls "$dest"/*.jar | wc -l) jars in $dest)"
    return
  fi
  run_step "jars-$name" "fetching with Maven ($pom)" fetched copy_jars "$name" "$pom" "$dest"
}
fetch_jars spark config/spark-jars.pom.xml
fetch_jars kafka config/kafka-broker.pom.xml

# --- MinIO ------------------------------------------------------------------------------
build_minio() {
  mkdir -p "$STATE/bin"
  GOBIN="$STATE/bin" GOFLAGS=-buildvcs=false go install "$MINIO_MODULE"
  echo "$MINIO_MODULE" > "$STATE/bin/.minio-module"
}
if [ -x "$STATE/bin/minio" ] && [ "$(cat "$STATE/bin/.minio-module" 2>/dev/null)" = "$MINIO_MODULE" ]; then
  say minio "ok ($STATE/bin/minio, ${MINIO_MODULE#*@})"
else
  command -v go >/dev/null || { echo "setup: Go is needed to build MinIO; install Go 1.24+ and rerun" >&2; exit 1; }
  run_step minio "building with go install (a few minutes on 2 cores)" built build_minio
fi

# --- Docker Compose (to validate docker-compose.yml; no Docker engine is needed) -------
build_compose() {
  local src build="$STATE/build/compose"
  # Compose's go.mod has replace directives, so `go install` refuses it: build in its source.
  src="$(cd "$STATE" && go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" \
        | "$ROOT/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  rm -rf "$build" && mkdir -p "$build" && cp -r "$src/." "$build/"
  chmod -R u+w "$build"
  (cd "$build" && GOFLAGS=-buildvcs=false go build -o "$STATE/bin/docker-compose" ./cmd)
  rm -rf "$build"
  echo "$COMPOSE_VERSION" > "$STATE/bin/.compose-version"
}
if [ -x "$STATE/bin/docker-compose" ] && [ "$(cat "$STATE/bin/.compose-version" 2>/dev/null)" = "$COMPOSE_VERSION" ]; then
  say compose "ok ($STATE/bin/docker-compose, $COMPOSE_VERSION)"
else
  run_step compose "building $COMPOSE_VERSION from the Go module proxy (about 2 minutes)" \
    built build_compose
fi

# --- Debian packages: PostgreSQL, and Chromium for the dashboard's end-to-end test -------
install_postgres() {
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends postgresql
  # The local stack runs its own cluster in .state; Debian's default one is not needed.
  $SUDO pg_dropcluster --stop "$(ls /usr/lib/postgresql | head -n1)" main 2>/dev/null || true
}
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say postgresql "ok ($(ls -d /usr/lib/postgresql/*/bin | head -n1))"
else
  run_step postgresql "installing Debian's postgresql with apt-get" installed install_postgres
fi
install_chromium() {
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    chromium chromium-driver
}
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  say chromium "ok ($(/usr/bin/chromium --version 2>/dev/null | head -n1 | cut -d' ' -f1-2))"
else
  run_step chromium "installing Debian's chromium and chromium-driver with apt-get" installed \
    install_chromium
fi
install_clamav() {
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    clamav clamav-testfiles
}
# The virus scan of submission packages; signatures come from the deployment (freshclam in
# compose), the tests write their own.
if command -v clamscan >/dev/null && [ -d /usr/share/clamav-testfiles ]; then
  say clamav "ok ($(clamscan -V 2>/dev/null | cut -d/ -f1))"
else
  run_step clamav "installing Debian's clamav and clamav-testfiles with apt-get" installed \
    install_clamav
fi
# OCR: Tesseract's models (tessdata_fast) for the languages the default configuration and
# the tests read, OSD for page orientation, and the fonts the OCR benchmark sets pages in.
OCR_LANGS="eng deu fra nld ita lat frk osd"
install_tesseract() {
  $SUDO apt-get update -q
  # shellcheck disable=SC2046
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    tesseract-ocr $(printf 'tesseract-ocr-%s ' $OCR_LANGS) fonts-dejavu-core fonts-liberation2 \
    fonts-freefont-ttf
}
tessdata=/usr/share/tesseract-ocr/5/tessdata
missing_models=""
for lang in $OCR_LANGS; do
  [ -f "$tessdata/$lang.traineddata" ] || missing_models="$missing_models $lang"
done
if command -v tesseract >/dev/null && [ -z "$missing_models" ] \
    && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] \
    && [ -d /usr/share/fonts/truetype/liberation2 ] && [ -d /usr/share/fonts/truetype/freefont ]; then
  say tesseract "ok ($(tesseract --version 2>/dev/null | head -n1); models: $OCR_LANGS)"
else
  run_step tesseract "installing Debian's tesseract-ocr and models ($OCR_LANGS) with apt-get" \
    installed install_tesseract
fi
say done "everything in place"
