#!/usr/bin/env bash
# Side-by-side benchmark: oedns and Unbound, both forwarding to one authoritative BIND, measured
# with dnsperf on loopback. See bench/README.md for what it measures and how to read it.
#
#   bench/run.sh                          # full run: 10 s cached workload, 100,000 names
#   BENCH_SECONDS=5 BENCH_NAMES=20000 bench/run.sh
#
# Everything listens on 127.0.0.1 only, on ports free at run time. Every process this script
# starts is stopped by its PID on exit; the temp directory goes too (BENCH_KEEP=1 keeps it).
# The targets are informational: the script exits 0 unless something broke.
set -euo pipefail

readonly SECONDS_PER_RUN=${BENCH_SECONDS:-10}
readonly NAMES=${BENCH_NAMES:-100000}
readonly CACHED_NAMES=${BENCH_CACHED_NAMES:-100}
# Idle time before a second memory reading: V8 gives garbage back to the OS only some time after
# a burst, so the reading right after the uncached run includes garbage. 0 skips it.
readonly SETTLE_SECONDS=${BENCH_SETTLE_SECONDS:-30}
# dnsperf: 4 client sockets, 100 queries in flight (its default), 5 s before a query counts as lost.
readonly CLIENTS=${BENCH_CLIENTS:-4}
readonly MAX_OUTSTANDING=${BENCH_MAX_OUTSTANDING:-100}
readonly QUERY_TIMEOUT_SECONDS=5
# Upper bound on one pass over the name file; a pass normally takes seconds.
readonly PASS_LIMIT_SECONDS=900
readonly START_TIMEOUT_SECONDS=60
readonly STOP_TIMEOUT_SECONDS=10
readonly ADDRESS=127.0.0.1

readonly BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly REPO_DIR=$(dirname "$BENCH_DIR")
readonly OUT_JSON=$BENCH_DIR/out/latest.json

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $SETTLE_SECONDS =~ ^[0-9]+$ ]] || die "BENCH_SETTLE_SECONDS must be a whole number, got '$SETTLE_SECONDS'"
for var in SECONDS_PER_RUN NAMES CACHED_NAMES CLIENTS MAX_OUTSTANDING; do
  [[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive integer, got '${!var}'"
done
((NAMES <= 999999)) || die "BENCH_NAMES must be at most 999999 (names are h000001..h999999)"
((CACHED_NAMES <= 9999)) || die "BENCH_CACHED_NAMES must be at most 9999"
# Install what is missing from Debian's packages (root), with their services kept from starting.
missing=()
for pkg in bind9 bind9-dnsutils unbound dnsperf curl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  policy_created=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy_created=1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if ((policy_created)); then rm -f /usr/sbin/policy-rc.d; fi
fi
for tool in node named unbound dnsperf dig curl awk seq; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool not found"
done
readonly NAMED=$(command -v named || echo /usr/sbin/named)
readonly UNBOUND=$(command -v unbound || echo /usr/sbin/unbound)

# --- processes ------------------------------------------------------------------------------
declare -A PIDS=()
TMP=

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
  local status=$?
  trap - EXIT INT TERM
  for name in oedns unbound named; do
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
if [[ ! -f $REPO_DIR/dist/cli.js ]]; then
  log "dist/cli.js missing; building (npx tsc -p .)"
  (cd "$REPO_DIR" && npx tsc -p .)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/oedns-bench.XXXXXX")
readonly RESULTS=$TMP/results
mkdir -p "$RESULTS"
fact() { printf '%s %s\n' "$1" "$2" >>"$RESULTS/facts.txt"; }

fact seconds "$SECONDS_PER_RUN"
fact names "$NAMES"
fact cachedNames "$CACHED_NAMES"
fact settleSeconds "$SETTLE_SECONDS"
fact clients "$CLIENTS"
fact maxOutstanding "$MAX_OUTSTANDING"
fact cpus "$(nproc)"
fact kernel "$(uname -r)"
fact version.node "$(node --version)"
fact version.named "$("$NAMED" -v)"
fact version.unbound "$("$UNBOUND" -V | head -n 1)"
fact version.dnsperf "$(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"

log "generating zone with $NAMES + $CACHED_NAMES names in $TMP"
"$BENCH_DIR/make-zone.sh" "$TMP" "$NAMES" "$CACHED_NAMES"

read -r NAMED_PORT STATS_PORT OEDNS_PORT UNBOUND_PORT < <(node "$BENCH_DIR/free-port.mjs" 4)
[[ -n $UNBOUND_PORT ]] || die "could not choose free ports"

# Every path named would otherwise use (/etc/bind, /var/cache/bind, /run/named) points into TMP.
# dnssec-validation no keeps it from priming the root; query-source and blackhole keep it on
# loopback. The statistics channel counts the queries the resolvers forward.
cat >"$TMP/named.conf" <<EOF
options {
  directory "$TMP"; pid-file "$TMP/named.pid"; lock-file "$TMP/named.lock";
  session-keyfile "$TMP/session.key"; managed-keys-directory "$TMP"; bindkeys-file "$TMP/bind.keys";
  dump-file "$TMP/named_dump.db"; statistics-file "$TMP/named.stats";
  memstatistics-file "$TMP/named.memstats"; secroots-file "$TMP/named.secroots";
  recursing-file "$TMP/named.recursing";
  listen-on port $NAMED_PORT { $ADDRESS; }; listen-on-v6 { none; };
  query-source address $ADDRESS; blackhole { !127.0.0.0/8; any; };
  recursion no; notify no; dnssec-validation no; empty-zones-enable no;
};
controls { };
statistics-channels { inet $ADDRESS port $STATS_PORT allow { $ADDRESS; }; };
zone "bench.test." { type primary; file "$TMP/bench.test.zone"; };
EOF

# A plain caching forwarder, one thread, no validation (oedns does not validate yet). test. is
# one of Unbound's default local zones (RFC 6761), so it must be switched off to be forwarded.
cat >"$TMP/unbound.conf" <<EOF
server:
  interface: $ADDRESS
  port: $UNBOUND_PORT
  outgoing-interface: $ADDRESS
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  num-threads: 1
  module-config: "iterator"
  do-not-query-localhost: no
  local-zone: "test." nodefault
  msg-cache-size: 128m
  rrset-cache-size: 256m
  chroot: ""
  username: ""
  pidfile: ""
  directory: "$TMP"
  use-syslog: no
  logfile: ""
  verbosity: 1
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: $ADDRESS@$NAMED_PORT
EOF

log "starting named on $ADDRESS#$NAMED_PORT"
"$NAMED" -f -g -c "$TMP/named.conf" -n 1 -4 </dev/null >"$TMP/named.log" 2>&1 &
PIDS[named]=$!
wait_for_answer named "$NAMED_PORT" "$TMP/named.log" bench.test. SOA aa
wait_for_answer named "$NAMED_PORT" "$TMP/named.log" "h$(printf %06d "$NAMES").bench.test." A aa

log "starting oedns on $ADDRESS#$OEDNS_PORT"
# shellcheck disable=SC2086 # BENCH_OEDNS_ARGS is a list of extra flags
(cd "$REPO_DIR" && exec node --max-old-space-size=512 dist/cli.js serve --listen "$ADDRESS:$OEDNS_PORT" \
  --upstream "$ADDRESS:$NAMED_PORT" --log-level warn --insecure bench.test ${BENCH_OEDNS_ARGS:-}) \
  </dev/null >"$TMP/oedns.log" 2>&1 &
PIDS[oedns]=$!

log "starting unbound on $ADDRESS#$UNBOUND_PORT"
"$UNBOUND" -d -c "$TMP/unbound.conf" </dev/null >"$TMP/unbound.log" 2>&1 &
PIDS[unbound]=$!

wait_for_answer oedns "$OEDNS_PORT" "$TMP/oedns.log" bench.test. SOA
wait_for_answer unbound "$UNBOUND_PORT" "$TMP/unbound.log" bench.test. SOA

declare -A PORTS=([oedns]=$OEDNS_PORT [unbound]=$UNBOUND_PORT)
declare -A LOGS=([oedns]=$TMP/oedns.log [unbound]=$TMP/unbound.log)

# --- measuring ------------------------------------------------------------------------------
named_queries() {
  curl -sf --max-time 5 "http://$ADDRESS:$STATS_PORT/json/v1/server" |
    node --input-type=module -e \
      'let s = ""; for await (const c of process.stdin) s += c; console.log(JSON.parse(s).opcodes?.QUERY ?? 0);'
}

rss_kB() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

# CPU time (user + system) a process has used, in clock ticks (proc(5): fields 14 and 15).
readonly CLOCK_TICKS_PER_SECOND=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run_dnsperf LABEL RESOLVER FILE DNSPERF_ARGS...: one dnsperf run, parsed into RESULTS/LABEL.json.
# Also records (with '-' in LABEL as '.') the queries named received meanwhile, upstream.LABEL,
# and the CPU seconds the resolver used, cpu.LABEL.
run_dnsperf() {
  local label=$1 resolver=$2 file=$3
  shift 3
  local before after cpu_before cpu_after raw=$TMP/dnsperf-$label.txt
  before=$(named_queries)
  cpu_before=$(cpu_ticks "${PIDS[$resolver]}")
  dnsperf -s "$ADDRESS" -p "${PORTS[$resolver]}" -d "$file" -c "$CLIENTS" -q "$MAX_OUTSTANDING" \
    -t "$QUERY_TIMEOUT_SECONDS" "$@" >"$raw" 2>&1 || {
    tail -n 20 "$raw" >&2
    die "dnsperf $label failed"
  }
  after=$(named_queries)
  alive_or_die "$resolver" "${LOGS[$resolver]}"
  cpu_after=$(cpu_ticks "${PIDS[$resolver]}")
  node "$BENCH_DIR/parse-dnsperf.mjs" "$raw" >"$RESULTS/$label.json"
  fact "upstream.${label/-/.}" $((after - before))
  fact "cpu.${label/-/.}" "$(awk -v t=$((cpu_after - cpu_before)) -v hz="$CLOCK_TICKS_PER_SECOND" 'BEGIN { print t / hz }')"
  log "$label: $(node -e 'const r = JSON.parse(process.argv[1]);
    console.log(`${r.qps} qps, avg ${r.avgMs} ms, lost ${r.lost}, ${r.responseCodesLine.replace(/\s+/g, " ")}`)' \
    "$(cat "$RESULTS/$label.json")"), upstream $((after - before))"
}

log "warming the cached set ($CACHED_NAMES names)"
for resolver in oedns unbound; do
  run_dnsperf "warm-$resolver" "$resolver" "$TMP/cached.txt" -n 1 -l "$PASS_LIMIT_SECONDS"
done

log "workload cached: $CACHED_NAMES names for $SECONDS_PER_RUN s each"
for resolver in oedns unbound; do
  run_dnsperf "cached-$resolver" "$resolver" "$TMP/cached.txt" -l "$SECONDS_PER_RUN" -v
  fact "rss.$resolver.beforeUncached.kB" "$(rss_kB "${PIDS[$resolver]}" VmRSS)"
done

log "workload uncached: $NAMES names, each once"
for resolver in oedns unbound; do
  run_dnsperf "uncached-$resolver" "$resolver" "$TMP/uncached.txt" -n 1 -l "$PASS_LIMIT_SECONDS" -v
done

for resolver in oedns unbound; do
  fact "rss.$resolver.kB" "$(rss_kB "${PIDS[$resolver]}" VmRSS)"
  fact "hwm.$resolver.kB" "$(rss_kB "${PIDS[$resolver]}" VmHWM)"
done

log "workload recheck: the same $NAMES names again (should all be cached)"
for resolver in oedns unbound; do
  run_dnsperf "recheck-$resolver" "$resolver" "$TMP/uncached.txt" -n 1 -l "$PASS_LIMIT_SECONDS" -v
done

if ((SETTLE_SECONDS > 0)); then
  log "idle for $SETTLE_SECONDS s, then reading memory again"
  sleep "$SETTLE_SECONDS"
  for resolver in oedns unbound; do
    alive_or_die "$resolver" "${LOGS[$resolver]}"
    fact "rss.$resolver.settled.kB" "$(rss_kB "${PIDS[$resolver]}" VmRSS)"
  done
fi

stop_process oedns
fact oedns.exit "$STOPPED"

node "$BENCH_DIR/report.mjs" "$RESULTS" "$TMP/oedns.log" "$OUT_JSON"
