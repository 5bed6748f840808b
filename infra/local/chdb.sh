#!/usr/bin/env bash
# A current ClickHouse engine without a server: the PyPI package chdb-core, which embeds the
# ClickHouse query engine (26.9) in a Python extension. The local server is ClickHouse 18.16, so
# this is what tests the `modern` rendering of the migrations and the sink's inserts against
# (test/helpers/chdb.ts, infra/local/chdb/run.py). Not part of `stack up`: nothing listens.
# Usage: chdb.sh fetch|status
#   fetch   download the pinned wheel with pip once (no system install) and unpack it under the
#           cache; prints the folder to put on PYTHONPATH (stdout), progress on stderr
#   status  prints that folder and the engine's version, or says it is not fetched (exit 1)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

NAME=chdb
CHDB_VERSION="${AMOSKYS_CHDB_VERSION:-26.9.0}"
CHDB_HOME="$CACHE_DIR/chdb-core-$CHDB_VERSION"
PYTHON="${AMOSKYS_PYTHON:-python3}"

# The wheel is cp39-abi3: any CPython from 3.9 on loads it.
check_python() {
  command -v "$PYTHON" >/dev/null || die "$NAME" "$PYTHON is needed to fetch and run chdb-core (set AMOSKYS_PYTHON)"
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' ||
    die "$NAME" "chdb-core needs Python 3.9 or later; $PYTHON is $("$PYTHON" -V 2>&1)"
  "$PYTHON" -m pip --version >/dev/null 2>&1 || die "$NAME" "pip is missing for $PYTHON (python3 -m ensurepip)"
}

fetch() {
  if [[ ! -f "$CHDB_HOME/.fetched" ]]; then
    check_python
    local tmp start
    tmp="$(mktemp -d)"
    start=$SECONDS
    log "$NAME" "downloading chdb-core==$CHDB_VERSION (~181 MB wheel, ~540 MB unpacked) with pip (once)"
    # --only-binary: never build from source; --no-cache-dir: no third copy in ~/.cache/pip.
    if ! "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --no-cache-dir \
      -d "$tmp" "chdb-core==$CHDB_VERSION" >&2; then
      rm -rf "$tmp"
      die "$NAME" "pip could not download chdb-core==$CHDB_VERSION (network, or no wheel for this platform)"
    fi
    log "$NAME" "downloaded in $((SECONDS - start)) s; unpacking into $CHDB_HOME"
    rm -rf "$CHDB_HOME.partial"
    # --target installs into a plain folder (nothing system-wide); --no-index: only this wheel.
    # PIP_ROOT_USER_ACTION: the root warning is about system installs, which this is not.
    if ! PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --no-deps --no-index --no-compile --no-cache-dir \
      --target "$CHDB_HOME.partial" "$tmp"/chdb_core-*.whl >&2; then
      rm -rf "$tmp" "$CHDB_HOME.partial"
      die "$NAME" "could not unpack the chdb-core wheel"
    fi
    rm -rf "$tmp" "$CHDB_HOME"
    mv "$CHDB_HOME.partial" "$CHDB_HOME"
    touch "$CHDB_HOME/.fetched"
    log "$NAME" "fetched in $((SECONDS - start)) s"
  fi
  printf '%s\n' "$CHDB_HOME"
}

status() {
  [[ -f "$CHDB_HOME/.fetched" ]] || { log "$NAME" "not fetched (run: $0 fetch)"; return 1; }
  local version
  version="$(PYTHONPATH="$CHDB_HOME" "$PYTHON" -c 'import chdb; print(chdb.query("SELECT version()", "TSV").bytes().decode().strip())')" ||
    die "$NAME" "$CHDB_HOME does not load with $PYTHON"
  printf '%s\t%s\n' "$CHDB_HOME" "$version"
}

case "${1:-}" in
  fetch | status) "$1" ;;
  *) die "$NAME" "usage: $(basename "$0") fetch|status" ;;
esac
