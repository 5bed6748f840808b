#!/usr/bin/env bash
# ClickHouse for the local stack: Debian's clickhouse-server 18.16 running as our own instance,
# with config, data and logs under the state folder (the package's /etc and /var/lib copies and
# its init script are never used).
#
#   clickhouse.sh fetch | up | down | status | logs [-f]
#
# 18.16 is deliberately old: it is the floor the DDL and queries must support
# (infra/local/clickhouse/NOTES.md lists what it lacks and how its HTTP interface differs).
source "$(dirname "$0")/lib.sh"

NAME=clickhouse
TEMPLATES="$AMOSKYS_REPO_ROOT/infra/local/clickhouse"
CH_DIR="$AMOSKYS_STATE_DIR/clickhouse"
HTTP_URL="http://127.0.0.1:$AMOSKYS_CLICKHOUSE_HTTP_PORT"
SERVER_BIN=/usr/sbin/clickhouse-server

fetch() {
  # curl is how health is checked; the client is what benchmarks and humans use.
  apt_ensure clickhouse-server clickhouse-client curl
}

write_config() {
  mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas,users.d}
  render_template "$TEMPLATES/config.xml.in" "$CH_DIR/config.xml" \
    "DIR=$CH_DIR" "LOG_DIR=$LOG_DIR" \
    "HTTP_PORT=$AMOSKYS_CLICKHOUSE_HTTP_PORT" "TCP_PORT=$AMOSKYS_CLICKHOUSE_TCP_PORT"
  render_template "$TEMPLATES/users.xml.in" "$CH_DIR/users.xml" "DIR=$CH_DIR"
}

# The query goes in the POST body, as @clickhouse/client sends it: a GET runs in readonly mode.
ch_query() {
  curl -fsS --max-time 5 "$HTTP_URL/" --data-binary "$1"
}

# Prints the server version when the HTTP interface both answers /ping and runs a query.
ch_version() {
  local ping version
  ping="$(curl -fsS --max-time 2 "$HTTP_URL/ping" 2>/dev/null)" || return 1
  [[ "$ping" == "Ok." ]] || return 1
  version="$(ch_query 'SELECT version()' 2>/dev/null)" || return 1
  [[ -n "$version" ]] || return 1
  printf '%s\n' "$version"
}

native_ok() {
  [[ "$(clickhouse-client --host 127.0.0.1 --port "$AMOSKYS_CLICKHOUSE_TCP_PORT" -q 'SELECT 1' 2>/dev/null)" == 1 ]]
}

up() {
  fetch
  write_config
  local pid version
  if pid="$(running_pid "$NAME")"; then
    log "$NAME" "already running (pid $pid); users.xml changes reload by themselves, others need down + up"
  elif version="$(ch_version)"; then
    # Someone else's server (an earlier checkout, a manual start) owns the port. Starting ours
    # would only fail to bind; reuse it and leave it alone on `down`.
    log "$NAME" "an existing ClickHouse $version answers on $HTTP_URL (not started by this script); reusing it"
    return 0
  else
    log "$NAME" "starting ClickHouse on $HTTP_URL (native tcp 127.0.0.1:$AMOSKYS_CLICKHOUSE_TCP_PORT), data in $CH_DIR"
    # Foreground (no --daemon) so the recorded pid is the server itself and stop_daemon's TERM
    # reaches it. 18.16 runs as root as is (checked), no user switch needed.
    start_daemon "$NAME" "$SERVER_BIN" --config-file="$CH_DIR/config.xml"
  fi
  wait_until "$NAME" "$START_TIMEOUT" "GET $HTTP_URL/ping and SELECT version()" ch_version ||
    die "$NAME" "not healthy, see the log lines above (full log: $(log_file "$NAME"))"
  # The native port is what clickhouse-client (and the benchmark baseline) uses.
  wait_until "$NAME" 10 "native protocol on 127.0.0.1:$AMOSKYS_CLICKHOUSE_TCP_PORT" native_ok ||
    die "$NAME" "HTTP answers but the native port $AMOSKYS_CLICKHOUSE_TCP_PORT does not"
  log "$NAME" "up: ClickHouse $(ch_version) at $HTTP_URL, native 127.0.0.1:$AMOSKYS_CLICKHOUSE_TCP_PORT"
}

down() {
  # ClickHouse waits for running queries and flushes system.query_log before exiting.
  stop_daemon "$NAME" 30
}

status() {
  local pid="" version
  pid="$(running_pid "$NAME" || true)"
  if version="$(ch_version)"; then
    status_line "$NAME" "$HTTP_URL" "$version" up \
      "$([[ -n "$pid" ]] && echo "pid $pid" || echo "not started by us (reused)"); native 127.0.0.1:$AMOSKYS_CLICKHOUSE_TCP_PORT"
    return 0
  fi
  if [[ -n "$pid" ]]; then
    status_line "$NAME" "$HTTP_URL" - down "pid $pid alive but HTTP not answering"
  else
    status_line "$NAME" "$HTTP_URL" - down "not running"
  fi
  return 1
}

component_main "$@"
