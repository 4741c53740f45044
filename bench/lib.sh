# Shared by run.sh, validate.sh and keys.sh, which source it: checking the host, choosing ports,
# writing named's and Unbound's configs, starting and stopping named, oedns, Unbound and the
# optional delay proxy in front of named (delay-proxy.mjs), and measuring one pass (a dnsperf run,
# or another client between measure_begin and measure_end). Set LOG_TAG (the prefix of log lines)
# before sourcing.
#
# Sourcing it installs the EXIT, INT and TERM traps: on exit every process in PIDS is stopped by its
# PID and TMP is removed (BENCH_KEEP=1 keeps it). Everything listens on ADDRESS (loopback) only.
# shellcheck shell=bash

readonly QUERY_TIMEOUT_SECONDS=5
# Upper bound on one pass over a query file; a pass normally takes seconds.
readonly PASS_LIMIT_SECONDS=900
readonly START_TIMEOUT_SECONDS=60
readonly STOP_TIMEOUT_SECONDS=10
readonly ADDRESS=127.0.0.1

readonly BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly REPO_DIR=$(dirname "$BENCH_DIR")

log() { printf '[%s %s] %s\n' "${LOG_TAG:-bench}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# require_positive_integers VAR...: dies unless each named variable holds a positive integer.
require_positive_integers() {
  local var
  for var in "$@"; do
    [[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive integer, got '${!var}'"
  done
}

# install_missing PACKAGE...: installs what is missing from Debian's packages (root), with their
# services kept from starting.
install_missing() {
  local pkg missing=() policy_created=0
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy_created=1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if ((policy_created)); then rm -f /usr/sbin/policy-rc.d; fi
}

# require_tools TOOL...: dies unless each is on PATH or in /usr/sbin; sets NAMED and UNBOUND.
NAMED=
UNBOUND=
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool not found"
  done
  NAMED=$(command -v named || echo /usr/sbin/named)
  UNBOUND=$(command -v unbound || echo /usr/sbin/unbound)
}

build_if_missing() {
  [[ -f $REPO_DIR/dist/cli.js ]] && return 0
  log "dist/cli.js missing; building (npx tsc -p .)"
  (cd "$REPO_DIR" && npx tsc -p .)
}

# oedns_build: what dist/ was built from, as far as can be told: the commit, "+src-changes" when
# src/ differs from it, and when dist/cli.js was written. Other work on the checkout may rebuild
# dist/ at any time, so a benchmark records this when it starts oedns.
oedns_build() {
  local head changes=
  if head=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null); then
    git -C "$REPO_DIR" diff --quiet HEAD -- src 2>/dev/null || changes=+src-changes
  else
    head="not a git checkout"
  fi
  printf '%s%s, dist/cli.js of %s\n' "$head" "$changes" "$(date -u -r "$REPO_DIR/dist/cli.js" +%FT%TZ)"
}

# --- processes ------------------------------------------------------------------------------
declare -A PIDS=() PORTS=() LOGS=()
TMP=
RESULTS=

# Stops one process this script started: SIGTERM, then SIGKILL after STOP_TIMEOUT_SECONDS.
# Sets STOPPED to how it ended. Not in a subshell: only this shell can wait for its children.
STOPPED=
stop_process() {
  local name=$1 pid=${PIDS[$1]:-}
  STOPPED="was not running"
  [[ -n $pid ]] || return 0
  unset "PIDS[$name]"
  if ! kill -0 "$pid" 2>/dev/null; then
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    STOPPED="had already exited (status $rc)"
    return 0
  fi
  local start_ms=$(date +%s%3N) rc=0 how=exit
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if (($(date +%s%3N) - start_ms > STOP_TIMEOUT_SECONDS * 1000)); then
      kill -KILL "$pid" 2>/dev/null || true
      how=killed
      break
    fi
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || rc=$?
  local elapsed_ms=$(($(date +%s%3N) - start_ms))
  if [[ $how == killed ]]; then
    STOPPED="did not stop on SIGTERM within ${STOP_TIMEOUT_SECONDS} s; killed"
  else
    STOPPED="exit status $rc after ${elapsed_ms} ms"
  fi
}

cleanup() {
  local status=$? name
  trap - EXIT INT TERM
  for name in oedns unbound proxy named; do
    if [[ -n ${PIDS[$name]:-} ]]; then
      stop_process "$name"
      log "stopped $name: $STOPPED"
    fi
  done
  if [[ -n $TMP && -d $TMP ]]; then
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
      log "kept $TMP"
    else
      rm -rf -- "$TMP"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

alive_or_die() {
  local name=$1 logfile=$2
  kill -0 "${PIDS[$name]}" 2>/dev/null && return 0
  log "$name exited unexpectedly; last lines of $logfile:"
  tail -n 30 "$logfile" >&2 || true
  die "$name is not running"
}

# Waits until a server answers QNAME/QTYPE with NOERROR on PORT. With "aa": asks without
# recursion and wants an authoritative answer (for named).
wait_for_answer() {
  local name=$1 port=$2 logfile=$3 qname=$4 qtype=$5 want_aa=${6:-}
  local deadline=$((SECONDS + START_TIMEOUT_SECONDS)) reply rec=+rec
  [[ -n $want_aa ]] && rec=+norec
  while ((SECONDS < deadline)); do
    alive_or_die "$name" "$logfile"
    if reply=$(dig @"$ADDRESS" -p "$port" "$rec" +time=1 +tries=1 "$qname" "$qtype" 2>/dev/null) &&
      [[ $reply == *"status: NOERROR"* ]] &&
      { [[ -z $want_aa ]] || [[ $reply =~ flags:[^\;]*\ aa ]]; }; then
      return 0
    fi
    sleep 0.2
  done
  tail -n 30 "$logfile" >&2 || true
  die "$name on $ADDRESS#$port did not answer $qname/$qtype within ${START_TIMEOUT_SECONDS} s"
}

# --- setup ----------------------------------------------------------------------------------
# make_workdir NAME: the temp directory TMP (oedns-NAME.XXXXXX), RESULTS in it, and LOGS.
make_workdir() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/oedns-$1.XXXXXX")
  RESULTS=$TMP/results
  mkdir -p "$RESULTS"
  LOGS=([named]=$TMP/named.log [oedns]=$TMP/oedns.log [unbound]=$TMP/unbound.log)
}

# fact KEY VALUE: one line of RESULTS/facts.txt, which the report reads.
fact() { printf '%s %s\n' "$1" "$2" >>"$RESULTS/facts.txt"; }

record_host_facts() {
  fact cpus "$(nproc)"
  fact kernel "$(uname -r)"
  fact version.node "$(node --version)"
  fact version.named "$("$NAMED" -v)"
  fact version.unbound "$("$UNBOUND" -V | head -n 1)"
  fact version.dnsperf "$(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
}

# choose_ports [NAME...]: sets PORTS[named], PORTS[oedns], PORTS[unbound] and STATS_PORT (named's
# statistics channel), and PORTS[NAME] for each further NAME (e.g. proxy), all distinct.
STATS_PORT=
choose_ports() {
  local wanted=$((4 + $#)) name i=4 ports=()
  read -r -a ports < <(node "$BENCH_DIR/free-port.mjs" "$wanted")
  ((${#ports[@]} == wanted)) || die "could not choose free ports"
  STATS_PORT=${ports[1]}
  PORTS=([named]=${ports[0]} [oedns]=${ports[2]} [unbound]=${ports[3]})
  for name in "$@"; do
    PORTS[$name]=${ports[i]}
    i=$((i + 1))
  done
}

# UPSTREAM: the server the resolvers forward to (start_oedns's --upstream, write_unbound_conf's
# forward-addr), by its name in PORTS: named, or proxy (delay-proxy.mjs in front of named, started
# by start_delay_proxy). Set it before write_unbound_conf and start_oedns.
UPSTREAM=named

# write_named_conf RECURSION: TMP/named.conf serving the zones of TMP/zones.txt ("ORIGIN FILE" a
# line). Every path named would otherwise use (/etc/bind, /var/cache/bind, /run/named) points into
# TMP. dnssec-validation no keeps it from priming the root; query-source and blackhole keep it on
# loopback. The statistics channel counts the queries the resolvers send upstream.
write_named_conf() {
  local recursion=$1 origin file
  {
    cat <<EOF
options {
  directory "$TMP"; pid-file "$TMP/named.pid"; lock-file "$TMP/named.lock";
  session-keyfile "$TMP/session.key"; managed-keys-directory "$TMP"; bindkeys-file "$TMP/bind.keys";
  dump-file "$TMP/named_dump.db"; statistics-file "$TMP/named.stats";
  memstatistics-file "$TMP/named.memstats"; secroots-file "$TMP/named.secroots";
  recursing-file "$TMP/named.recursing";
  listen-on port ${PORTS[named]} { $ADDRESS; }; listen-on-v6 { none; };
  query-source address $ADDRESS; blackhole { !127.0.0.0/8; any; };
  $recursion notify no; dnssec-validation no; empty-zones-enable no;
};
controls { };
statistics-channels { inet $ADDRESS port $STATS_PORT allow { $ADDRESS; }; };
EOF
    while read -r origin file; do
      printf 'zone "%s" { type primary; file "%s"; };\n' "$origin" "$file"
    done <"$TMP/zones.txt"
  } >"$TMP/named.conf"
}

# write_unbound_conf SERVER_LINE...: TMP/unbound.conf, a caching forwarder to UPSTREAM (named, or
# the delay proxy in front of it) with one thread, plus the given server: lines. test. is one of Unbound's default local zones (RFC 6761),
# so it must be switched off to be forwarded.
write_unbound_conf() {
  {
    cat <<EOF
server:
  interface: $ADDRESS
  port: ${PORTS[unbound]}
  outgoing-interface: $ADDRESS
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  num-threads: 1
  do-not-query-localhost: no
  local-zone: "test." nodefault
  chroot: ""
  username: ""
  pidfile: ""
  directory: "$TMP"
  use-syslog: no
  logfile: ""
  verbosity: 1
EOF
    printf '  %s\n' "$@"
    cat <<EOF
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: $ADDRESS@${PORTS[$UPSTREAM]}
EOF
  } >"$TMP/unbound.conf"
}

start_named() {
  "$NAMED" -f -g -c "$TMP/named.conf" -n 1 -4 </dev/null >"${LOGS[named]}" 2>&1 &
  PIDS[named]=$!
}

# start_oedns FLAG...: oedns serve forwarding to UPSTREAM (named, or the delay proxy in front of
# it), as users start it (see the main README on memory), with the given flags and BENCH_OEDNS_ARGS.
start_oedns() {
  # shellcheck disable=SC2086 # BENCH_OEDNS_ARGS is a list of extra flags
  (cd "$REPO_DIR" && exec node --max-old-space-size=512 dist/cli.js serve --listen "$ADDRESS:${PORTS[oedns]}" \
    --upstream "$ADDRESS:${PORTS[$UPSTREAM]}" --log-level warn "$@" ${BENCH_OEDNS_ARGS:-}) \
    </dev/null >"${LOGS[oedns]}" 2>&1 &
  PIDS[oedns]=$!
}

start_unbound() {
  "$UNBOUND" -d -c "$TMP/unbound.conf" </dev/null >"${LOGS[unbound]}" 2>&1 &
  PIDS[unbound]=$!
}

# start_delay_proxy MS: delay-proxy.mjs on PORTS[proxy], relaying to named and holding each reply
# MS milliseconds, kept as PIDS[proxy]; its summary line (on SIGTERM) goes to LOGS[proxy].
start_delay_proxy() {
  LOGS[proxy]=$TMP/delay-proxy.log
  node "$BENCH_DIR/delay-proxy.mjs" --address "$ADDRESS" --port "${PORTS[proxy]}" \
    --upstream-address "$ADDRESS" --upstream-port "${PORTS[named]}" --delay-ms "$1" \
    </dev/null >"${LOGS[proxy]}" 2>&1 &
  PIDS[proxy]=$!
}

# --- measuring ------------------------------------------------------------------------------
named_queries() {
  curl -sf --max-time 5 "http://$ADDRESS:$STATS_PORT/json/v1/server" |
    node --input-type=module -e \
      'let s = ""; for await (const c of process.stdin) s += c; console.log(JSON.parse(s).opcodes?.QUERY ?? 0);'
}

# named_nsstat COUNTER: one of named's server counters (nsstats; a counter still at 0 is absent).
named_nsstat() {
  curl -sf --max-time 5 "http://$ADDRESS:$STATS_PORT/json/v1/server" |
    node --input-type=module -e \
      'let s = ""; for await (const c of process.stdin) s += c; console.log(JSON.parse(s).nsstats?.[process.argv[1]] ?? 0);' "$1"
}

# CPU time (user + system) a process has used, in clock ticks (proc(5): fields 14 and 15).
readonly CLOCK_TICKS_PER_SECOND=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# measure_begin SERVER: notes the queries named has received and the CPU ticks SERVER has used,
# before one pass of any client; measure_end records the difference.
MEASURE_UPSTREAM_BEFORE=
MEASURE_CPU_BEFORE=
measure_begin() {
  MEASURE_UPSTREAM_BEFORE=$(named_queries)
  MEASURE_CPU_BEFORE=$(cpu_ticks "${PIDS[$1]}")
}

# measure_end LABEL SERVER: after a pass whose result is in RESULTS/LABEL.json (the fields of
# parse-dnsperf.mjs), checks that SERVER still runs and records (with '-' in LABEL as '.') the
# queries named received since measure_begin, upstream.LABEL, and the CPU seconds SERVER used,
# cpu.LABEL; logs the result.
measure_end() {
  local label=$1 server=$2 after cpu_after
  after=$(named_queries)
  alive_or_die "$server" "${LOGS[$server]}"
  cpu_after=$(cpu_ticks "${PIDS[$server]}")
  fact "upstream.${label/-/.}" $((after - MEASURE_UPSTREAM_BEFORE))
  fact "cpu.${label/-/.}" "$(awk -v t=$((cpu_after - MEASURE_CPU_BEFORE)) -v hz="$CLOCK_TICKS_PER_SECOND" 'BEGIN { print t / hz }')"
  # Percentiles need dnsperf -v; without it (a warm-up) there are none.
  log "$label: $(node -e 'const r = JSON.parse(process.argv[1]);
    const percentiles = r.p50Ms === null ? "" : `, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`;
    console.log(`${r.qps} qps, avg ${r.avgMs} ms${percentiles}, lost ${r.lost}, ${r.responseCodesLine.replace(/\s+/g, " ")}`)' \
    "$(cat "$RESULTS/$label.json")"), upstream $((after - MEASURE_UPSTREAM_BEFORE))"
}

# run_dnsperf LABEL SERVER FILE DNSPERF_ARGS...: one dnsperf run against SERVER with CLIENTS
# sockets and MAX_OUTSTANDING queries in flight, parsed into RESULTS/LABEL.json, with the
# upstream.LABEL and cpu.LABEL facts of measure_end.
run_dnsperf() {
  local label=$1 server=$2 file=$3
  shift 3
  local raw=$TMP/dnsperf-$label.txt
  measure_begin "$server"
  dnsperf -s "$ADDRESS" -p "${PORTS[$server]}" -d "$file" -c "$CLIENTS" -q "$MAX_OUTSTANDING" \
    -t "$QUERY_TIMEOUT_SECONDS" "$@" >"$raw" 2>&1 || {
    tail -n 20 "$raw" >&2
    die "dnsperf $label failed"
  }
  node "$BENCH_DIR/parse-dnsperf.mjs" "$raw" >"$RESULTS/$label.json"
  measure_end "$label" "$server"
}

# finish_upstream: the resolvers retry a truncated UDP answer over TCP, which the delay proxy does
# not relay, so named's counters are recorded (did any answer truncate, did anything come over
# TCP); then the delay proxy, if one runs, is stopped and its summary line recorded.
finish_upstream() {
  fact named.truncatedAnswers "$(named_nsstat TruncatedResp)"
  fact named.tcpRequests "$(named_nsstat ReqTCP)"
  if [[ -n ${PIDS[proxy]:-} ]]; then
    stop_process proxy
    fact proxy.exit "$STOPPED"
    fact proxy.summary "$(tail -n 1 "${LOGS[proxy]}")"
    log "stopped delay proxy: $STOPPED; $(tail -n 1 "${LOGS[proxy]}")"
  fi
}
