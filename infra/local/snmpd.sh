#!/usr/bin/env bash
# A real SNMP agent for the local stack: Debian's snmpd on an unprivileged loopback UDP port, with
# its configuration, persistent state (engine id, boots, the v3 user's keys) and log under the
# state folder. /etc/snmp and /var/lib/snmp are never read or written.
#
#   snmpd.sh fetch | up | down | status | logs [-f]
source "$(dirname "$0")/lib.sh"

NAME=snmpd
TEMPLATES="$AMOSKYS_REPO_ROOT/infra/local/snmpd"
SNMP_DIR="$AMOSKYS_STATE_DIR/snmpd"
PERSIST_DIR="$SNMP_DIR/persist"
CLIENT_DIR="$SNMP_DIR/client"
AGENT="127.0.0.1:$AMOSKYS_SNMP_PORT"
ENDPOINT="udp:$AGENT"
# Spelled as snmpget's -a / -x expect them; infra/local/snmpd/NOTES.md lists the full parameters.
V3_AUTH_PROTO=SHA-256
V3_PRIV_PROTO=AES
SYS_DESCR_OID=1.3.6.1.2.1.1.1.0
SYS_NAME_OID=1.3.6.1.2.1.1.5.0

# net-snmp looks up config and persistent files through SNMPCONFPATH / SNMP_PERSISTENT_DIR. Setting
# SNMPCONFPATH replaces the default search path (so /etc/snmp is never read) but also drops the
# persistent dir from it, hence both directories in the path. `snmpd -C` is not used: it skips the
# persistent dir too, and the v3 user would never be created. MIBS is empty because no MIB files
# are installed (snmp-mibs-downloader is unavailable); everything here uses numeric OIDs.
AGENT_ENV=(env "SNMPCONFPATH=$SNMP_DIR:$PERSIST_DIR" "SNMP_PERSISTENT_DIR=$PERSIST_DIR" "MIBS=")
# Command-line tools get an empty directory of their own, so they cannot pick up the agent's
# createUser lines nor write into /var/lib/snmp.
CLIENT_ENV=(env "SNMPCONFPATH=$CLIENT_DIR" "SNMP_PERSISTENT_DIR=$CLIENT_DIR" "MIBS=")

fetch() {
  apt_ensure snmpd snmp
}

write_config() {
  mkdir -p "$PERSIST_DIR" "$CLIENT_DIR"
  chmod 700 "$SNMP_DIR" "$PERSIST_DIR"
  render_template "$TEMPLATES/snmpd.conf.in" "$SNMP_DIR/snmpd.conf" \
    "COMMUNITY=$AMOSKYS_SNMP_COMMUNITY" "V3_USER=$AMOSKYS_SNMP_V3_USER"
}

# snmpd turns a createUser line in its persistent snmpd.conf into a usmUser line holding keys
# localized to its engine id, and drops the plaintext. So the line is (re)queued only when the user
# is missing or the credentials changed since it was queued, and only while snmpd is stopped
# (snmpd rewrites that file on exit and would undo the edit).
ensure_v3_user() {
  local user="$AMOSKYS_SNMP_V3_USER" auth="$AMOSKYS_SNMP_V3_AUTH_PASS" priv="$AMOSKYS_SNMP_V3_PRIV_PASS"
  local conf="$PERSIST_DIR/snmpd.conf" stamp="$SNMP_DIR/v3-user.sha256" want hex
  ((${#auth} >= 8 && ${#priv} >= 8)) || die "$NAME" "SNMPv3 passphrases need at least 8 characters (net-snmp rule)"
  [[ "$user$auth$priv" != *[\"\\[:space:]]* ]] || die "$NAME" "SNMPv3 user and passphrases must not contain quotes, backslashes or spaces"
  want="$(printf '%s\n' "$user" "$V3_AUTH_PROTO" "$auth" "$V3_PRIV_PROTO" "$priv" | sha256sum | cut -d' ' -f1)"
  hex="0x$(printf '%s' "$user" | od -An -tx1 | tr -d ' \n')"
  touch "$conf"
  if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]] &&
    awk -v h="$hex" -v u="$user" '($1 == "usmUser" && ($5 == h || $5 == u || $5 == "\"" u "\"")) || ($1 == "createUser" && $2 == u) { found = 1 } END { exit !found }' "$conf"; then
    return 0
  fi
  log "$NAME" "queueing SNMPv3 user $user ($V3_AUTH_PROTO/$V3_PRIV_PROTO, authPriv) in $conf"
  (
    umask 077
    awk -v h="$hex" -v u="$user" '!(($1 == "usmUser" && ($5 == h || $5 == u || $5 == "\"" u "\"")) || ($1 == "createUser" && $2 == u))' "$conf" >"$conf.tmp"
    printf 'createUser %s %s "%s" %s "%s"\n' "$user" "$V3_AUTH_PROTO" "$auth" "$V3_PRIV_PROTO" "$priv" >>"$conf.tmp"
    mv -f "$conf.tmp" "$conf"
  )
  printf '%s\n' "$want" >"$stamp"
}

# UDP gives no "connection refused", so a probe of a stopped agent always costs its full timeout.
# SNMP_TIMEOUT (seconds) is 1 for status, shorter while `up` polls a starting agent.
v2c_get() {
  "${CLIENT_ENV[@]}" snmpget -v2c -c "$AMOSKYS_SNMP_COMMUNITY" -t "${SNMP_TIMEOUT:-1}" -r 0 -Oqv "$AGENT" "$@"
}

v3_get() {
  "${CLIENT_ENV[@]}" snmpget -v3 -l authPriv -u "$AMOSKYS_SNMP_V3_USER" \
    -a "$V3_AUTH_PROTO" -A "$AMOSKYS_SNMP_V3_AUTH_PASS" -x "$V3_PRIV_PROTO" -X "$AMOSKYS_SNMP_V3_PRIV_PASS" \
    -t "${SNMP_TIMEOUT:-1}" -r 0 -Oqv "$AGENT" "$@"
}

healthy() {
  [[ -n "$(v2c_get "$SYS_DESCR_OID" 2>/dev/null)" ]]
}

# The installed agent's version; running it under AGENT_ENV keeps it from creating
# /var/lib/snmp/cert_indexes as a side effect.
snmpd_version() {
  "${AGENT_ENV[@]}" /usr/sbin/snmpd -v 2>/dev/null | awk '/NET-SNMP version/ { print $3; exit }'
}

up() {
  fetch
  write_config
  local pid SNMP_TIMEOUT=0.3
  if pid="$(running_pid "$NAME")"; then
    log "$NAME" "already running (pid $pid); configuration changes apply after down + up"
  elif healthy; then
    log "$NAME" "an existing SNMP agent answers on $ENDPOINT for community $AMOSKYS_SNMP_COMMUNITY (not started by this script); reusing it"
    return 0
  else
    ensure_v3_user
    log "$NAME" "starting snmpd on $ENDPOINT, state in $SNMP_DIR"
    # -f: stay in the foreground so the recorded pid is snmpd itself; -Lo: log to stdout, which
    # start_daemon appends to logs/snmpd.log.
    start_daemon "$NAME" "${AGENT_ENV[@]}" /usr/sbin/snmpd -f -Lo "$ENDPOINT"
  fi
  wait_until "$NAME" "$START_TIMEOUT" "v2c GET sysDescr on $ENDPOINT" healthy ||
    die "$NAME" "not answering, see the log lines above (full log: $(log_file "$NAME"))"
  wait_until "$NAME" 10 "v3 authPriv GET sysName as $AMOSKYS_SNMP_V3_USER" v3_get "$SYS_NAME_OID" ||
    die "$NAME" "v2c answers but the SNMPv3 user $AMOSKYS_SNMP_V3_USER does not authenticate"
  log "$NAME" "up: snmpd $(snmpd_version) at $ENDPOINT (sysName $(v2c_get "$SYS_NAME_OID"))"
}

down() {
  # snmpd saves its persistent state (engineBoots, usmUser keys) on TERM.
  stop_daemon "$NAME" 10
}

status() {
  local pid=""
  pid="$(running_pid "$NAME" || true)"
  if healthy; then
    status_line "$NAME" "$ENDPOINT" "$(snmpd_version)" up \
      "$([[ -n "$pid" ]] && echo "pid $pid" || echo "not started by us (reused)"); community $AMOSKYS_SNMP_COMMUNITY, v3 user $AMOSKYS_SNMP_V3_USER"
    return 0
  fi
  if [[ -n "$pid" ]]; then
    status_line "$NAME" "$ENDPOINT" "$(snmpd_version)" down "pid $pid alive but not answering v2c GET"
  else
    status_line "$NAME" "$ENDPOINT" - down "not running"
  fi
  return 1
}

component_main "$@"
