# shellcheck shell=bash
# Shared helpers for the native local stack (infra/local/*.sh). Sourced, never run.
#
# Layout under the state folder (git-ignored, default <repo>/.amoskys):
#   cache/<what>/      downloads and unpacked distributions, kept across `down`
#   <component>/       data of one service (Kafka log dirs, ClickHouse data, ...)
#   logs/<component>.log
#   run/<component>.pid   "<pid> <start-time-ticks>" of the process that `up` started
#
# Every knob is an environment variable with a default, so each script also runs alone;
# `amoskys stack` passes the values resolved from the project configuration.

set -euo pipefail

AMOSKYS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AMOSKYS_STATE_DIR="${AMOSKYS_STATE_DIR:-$AMOSKYS_REPO_ROOT/.amoskys}"
mkdir -p "$AMOSKYS_STATE_DIR"
AMOSKYS_STATE_DIR="$(cd "$AMOSKYS_STATE_DIR" && pwd)"
CACHE_DIR="$AMOSKYS_STATE_DIR/cache"
LOG_DIR="$AMOSKYS_STATE_DIR/logs"
RUN_DIR="$AMOSKYS_STATE_DIR/run"
mkdir -p "$CACHE_DIR" "$LOG_DIR" "$RUN_DIR"

# Ports and credentials of the local services (defaults match config/defaults and infra/compose).
AMOSKYS_KAFKA_PORT="${AMOSKYS_KAFKA_PORT:-9092}"
AMOSKYS_KAFKA_CONTROLLER_PORT="${AMOSKYS_KAFKA_CONTROLLER_PORT:-9093}"
AMOSKYS_REGISTRY_PORT="${AMOSKYS_REGISTRY_PORT:-8081}"
AMOSKYS_CLICKHOUSE_HTTP_PORT="${AMOSKYS_CLICKHOUSE_HTTP_PORT:-8123}"
AMOSKYS_CLICKHOUSE_TCP_PORT="${AMOSKYS_CLICKHOUSE_TCP_PORT:-9000}"
AMOSKYS_SNMP_PORT="${AMOSKYS_SNMP_PORT:-1161}"
AMOSKYS_SNMP_COMMUNITY="${AMOSKYS_SNMP_COMMUNITY:-amoskys}"
AMOSKYS_SNMP_V3_USER="${AMOSKYS_SNMP_V3_USER:-amoskys-v3}"
AMOSKYS_SNMP_V3_AUTH_PASS="${AMOSKYS_SNMP_V3_AUTH_PASS:-amoskys-auth-pass}"
AMOSKYS_SNMP_V3_PRIV_PASS="${AMOSKYS_SNMP_V3_PRIV_PASS:-amoskys-priv-pass}"
AMOSKYS_REGISTRY_MANAGEMENT_PORT="${AMOSKYS_REGISTRY_MANAGEMENT_PORT:-9081}"
# How long `up` waits for a component to answer (config stack.startTimeoutSeconds).
START_TIMEOUT="${AMOSKYS_STACK_START_TIMEOUT_SECONDS:-180}"

# log COMPONENT MESSAGE... — progress goes to stderr so stdout stays parseable.
log() {
  local component="$1"
  shift
  printf '[%s] %s\n' "$component" "$*" >&2
}

die() {
  local component="$1"
  shift
  printf '[%s] error: %s\n' "$component" "$*" >&2
  exit 1
}

# Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat). Stored next to
# the pid so that `down` never signals an unrelated process that reused the pid.
proc_start_ticks() {
  local pid="$1"
  [[ -r "/proc/$pid/stat" ]] || return 1
  # The command name (field 2) may contain spaces; strip through the closing parenthesis.
  sed -E 's/^[0-9]+ \(.*\) //' "/proc/$pid/stat" | awk '{ print $20 }'
}

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log' "$LOG_DIR" "$1"; }

# Prints the pid of NAME's process if the one `up` started is still alive.
running_pid() {
  local name="$1" file pid ticks
  file="$(pid_file "$name")"
  [[ -f "$file" ]] || return 1
  read -r pid ticks <"$file" || return 1
  [[ -n "${pid:-}" ]] || return 1
  [[ "$(proc_start_ticks "$pid" 2>/dev/null || true)" == "$ticks" ]] || return 1
  # A zombie counts as gone: after a kill -9 the process stays a zombie until its parent reaps
  # it, and PID 1 on these machines reaps only about once a second, so `up` right after a crash
  # would otherwise believe the dead server is still running.
  local state
  state="$(sed -E 's/^[0-9]+ \(.*\) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $1 }')"
  [[ -n "$state" && "$state" != Z && "$state" != X ]] || return 1
  printf '%s\n' "$pid"
}

# start_daemon NAME CMD... — runs CMD in its own session (process group), output to its log.
start_daemon() {
  local name="$1"
  shift
  local log pid
  log="$(log_file "$name")"
  printf '\n===== %s starting %s =====\n' "$(date -u +%FT%TZ)" "$name" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null &
  pid=$!
  printf '%s %s\n' "$pid" "$(proc_start_ticks "$pid")" >"$(pid_file "$name")"
}

# stop_daemon NAME [GRACE_SECONDS] — TERM the process group that `up` started, KILL after grace.
stop_daemon() {
  local name="$1" grace="${2:-20}" pid i
  if ! pid="$(running_pid "$name")"; then
    rm -f "$(pid_file "$name")"
    log "$name" "not running (nothing started by up)"
    return 0
  fi
  log "$name" "stopping pid $pid"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    running_pid "$name" >/dev/null || break
    sleep 0.1
  done
  if running_pid "$name" >/dev/null; then
    log "$name" "still alive after ${grace}s, sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$name")"
}

# wait_until NAME TIMEOUT_SECONDS DESCRIPTION CMD... — polls CMD until it succeeds. Fails with
# the end of the component's log when the process died or the deadline passed.
wait_until() {
  local name="$1" timeout="$2" what="$3"
  shift 3
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [[ -f "$(pid_file "$name")" ]] && ! running_pid "$name" >/dev/null; then
      log "$name" "process exited while waiting for: $what; last log lines:"
      tail -n 30 "$(log_file "$name")" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  log "$name" "timed out after ${timeout}s waiting for: $what; last log lines:"
  tail -n 30 "$(log_file "$name")" >&2 || true
  return 1
}

# apt_ensure PACKAGE... — installs Debian packages that are missing (root only, runs update once).
apt_ensure() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ "$(id -u)" != 0 ]]; then
    die apt "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})"
  fi
  log apt "installing ${missing[*]}"
  local marker="$CACHE_DIR/.apt-updated"
  if [[ ! -f "$marker" ]] || [[ -n "$(find "$marker" -mmin +720 2>/dev/null)" ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    touch "$marker"
  fi
  # policy-rc.d keeps the packages' own init scripts from starting system-wide daemons:
  # the stack runs its own instances under the state folder.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  ((created_policy)) && rm -f "$policy"
  return 0
}

# status_line NAME ENDPOINT VERSION HEALTH [DETAIL] — the one line each `<component>.sh status`
# prints (tab separated) and that `amoskys stack status` parses. HEALTH is "up" or "down".
status_line() {
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${3:--}" "$4" "${5:-}"
}

# render_template SRC DST KEY=VALUE... — copies SRC to DST replacing every @KEY@ with VALUE.
# Pure bash, so values may hold any character (paths, passphrases) without sed escaping; the
# quoted replacement keeps bash 5.2's patsub_replacement from expanding '&'. Refuses to leave a
# placeholder unfilled, and only rewrites DST when its content changes (servers that watch their
# config files, like ClickHouse's users.xml, do not reload for nothing).
render_template() {
  local src="$1" dst="$2" content pair key value
  shift 2
  content="$(<"$src")"
  for pair in "$@"; do
    key="${pair%%=*}"
    value="${pair#*=}"
    content="${content//"@${key}@"/"$value"}"
  done
  if [[ "$content" =~ @[A-Z][A-Z0-9_]*@ ]]; then
    die template "$src: placeholder ${BASH_REMATCH[0]} has no value"
  fi
  if [[ -f "$dst" ]] && [[ "$(<"$dst")" == "$content" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$dst")"
  printf '%s\n' "$content" >"$dst.tmp" && mv -f "$dst.tmp" "$dst"
}


# show_logs NAME [-f] — the end of a component's log, or follow it.
show_logs() {
  local file
  file="$(log_file "$1")"
  [[ -f "$file" ]] || die "$1" "no log yet ($file)"
  if [[ "${2:-}" == -f ]]; then
    exec tail -n 200 -F "$file"
  fi
  tail -n 200 "$file"
}

# component_main ARGS... — the command line every component script shares. The script sets NAME
# and defines fetch, up and status, and may define down (default: stop the recorded pid, 30 s grace).
component_main() {
  case "${1:-}" in
    fetch | up | status) "$1" ;;
    down) if declare -F down >/dev/null; then down; else stop_daemon "$NAME" 30; fi ;;
    logs) show_logs "$NAME" "${2:-}" ;;
    *) die "$NAME" "usage: $(basename "$0") fetch|up|down|status|logs [-f]" ;;
  esac
}
