#!/usr/bin/env bash
# Validation benchmark (issue 3): cold validated lookups on a signed lab hierarchy, oedns next to
# Unbound, both validating forwarders to one BIND that serves every zone. Built like run.sh (see
# bench/README.md); the lab is written by validate-lab.sh, the report by validate-report.mjs.
#
#   bench/validate.sh                     # 200 signed child zones, ECDSAP256SHA256
#   BENCH_ZONES=50 bench/validate.sh      # quick run while developing
#
# Variables: BENCH_ZONES (200), BENCH_ALGORITHM (ECDSAP256SHA256; any dnssec-keygen name),
# BENCH_CLIENTS (1) and BENCH_MAX_OUTSTANDING (10) for dnsperf -c and -q, BENCH_OEDNS_ARGS and
# BENCH_DNSPERF_ARGS (extra flags, e.g. -D to ask with DO), BENCH_KEEP=1 (keep the temp dir).
# dnsperf 2.10 with -q 1 paces itself (about 15 queries/s): latencies stay right, qps does not.
#
# Each resolver is started fresh and asked www.zNNNN.test. A once for every child zone, so every
# lookup needs its own chain step (DS from test., the zone's DNSKEY, the answer). Everything
# listens on 127.0.0.1 only, on ports free at run time; every process this script starts is
# stopped by its PID on exit, and the temp directory goes too (BENCH_KEEP=1 keeps it). The target
# is informational: the script exits 0 unless something broke.
set -euo pipefail

readonly ZONES=${BENCH_ZONES:-200}
readonly ALGORITHM=${BENCH_ALGORITHM:-ECDSAP256SHA256}
# dnsperf: one client socket, 10 queries in flight, so that latency reflects the work of
# validating, not queueing; 5 s before a query counts as lost.
readonly CLIENTS=${BENCH_CLIENTS:-1}
readonly MAX_OUTSTANDING=${BENCH_MAX_OUTSTANDING:-10}
readonly QUERY_TIMEOUT_SECONDS=5
readonly PASS_LIMIT_SECONDS=900
readonly START_TIMEOUT_SECONDS=60
readonly STOP_TIMEOUT_SECONDS=10
readonly ADDRESS=127.0.0.1

readonly BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly REPO_DIR=$(dirname "$BENCH_DIR")
readonly OUT_JSON=$BENCH_DIR/out/validate.json

log() { printf '[validate %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for var in ZONES CLIENTS MAX_OUTSTANDING; do
  [[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive integer, got '${!var}'"
done
((ZONES <= 9999)) || die "BENCH_ZONES must be at most 9999 (zones are z0001..z9999)"
case $ALGORITHM in
  RSASHA1 | NSEC3RSASHA1 | RSASHA256 | RSASHA512 | ECDSAP256SHA256 | ECDSAP384SHA384 | ED25519 | ED448) ;;
  *) die "BENCH_ALGORITHM must be a dnssec-keygen algorithm name (e.g. ECDSAP256SHA256, RSASHA256, ED25519), got '$ALGORITHM'" ;;
esac

# Install what is missing from Debian's packages (root), with their services kept from starting.
missing=()
for pkg in bind9 bind9-utils bind9-dnsutils unbound dnsperf curl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  policy_created=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy_created=1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if ((policy_created)); then rm -f /usr/sbin/policy-rc.d; fi
fi
for tool in node named unbound dnsperf dig curl awk seq dnssec-keygen dnssec-signzone dnssec-dsfromkey; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool not found"
done
readonly NAMED=$(command -v named || echo /usr/sbin/named)
readonly UNBOUND=$(command -v unbound || echo /usr/sbin/unbound)

# --- processes (as in run.sh) -----------------------------------------------------------------
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

TMP=$(mktemp -d "${TMPDIR:-/tmp}/oedns-validate.XXXXXX")
readonly RESULTS=$TMP/results
mkdir -p "$RESULTS"
fact() { printf '%s %s\n' "$1" "$2" >>"$RESULTS/facts.txt"; }

fact zones "$ZONES"
fact algorithm "$ALGORITHM"
fact clients "$CLIENTS"
fact maxOutstanding "$MAX_OUTSTANDING"
fact cpus "$(nproc)"
fact kernel "$(uname -r)"
fact version.node "$(node --version)"
fact version.named "$("$NAMED" -v)"
fact version.unbound "$("$UNBOUND" -V | head -n 1)"
fact version.dnsperf "$(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"

log "signing the lab hierarchy (., test., $ZONES child zones, $ALGORITHM) in $TMP"
lab_start=$SECONDS
"$BENCH_DIR/validate-lab.sh" "$TMP" "$ZONES" "$ALGORITHM"
log "signed $((ZONES + 2)) zones in $((SECONDS - lab_start)) s; trust anchor: $(cat "$TMP/root.ds")"

read -r NAMED_PORT STATS_PORT OEDNS_PORT UNBOUND_PORT < <(node "$BENCH_DIR/free-port.mjs" 4)
[[ -n $UNBOUND_PORT ]] || die "could not choose free ports"

# named hosts the root, so with recursion on it follows nothing off the lab; it answers every
# zone authoritatively, and DS queries from the parent zone. Every path named would otherwise use
# points into TMP; query-source and blackhole keep it on loopback. The statistics channel counts
# the queries each resolver sends upstream.
{
  cat <<EOF
options {
  directory "$TMP"; pid-file "$TMP/named.pid"; lock-file "$TMP/named.lock";
  session-keyfile "$TMP/session.key"; managed-keys-directory "$TMP"; bindkeys-file "$TMP/bind.keys";
  dump-file "$TMP/named_dump.db"; statistics-file "$TMP/named.stats";
  memstatistics-file "$TMP/named.memstats"; secroots-file "$TMP/named.secroots";
  recursing-file "$TMP/named.recursing";
  listen-on port $NAMED_PORT { $ADDRESS; }; listen-on-v6 { none; };
  query-source address $ADDRESS; blackhole { !127.0.0.0/8; any; };
  recursion yes; allow-recursion { 127.0.0.0/8; }; dnssec-validation no;
  notify no; empty-zones-enable no;
};
controls { };
statistics-channels { inet $ADDRESS port $STATS_PORT allow { $ADDRESS; }; };
EOF
  while read -r origin file; do
    printf 'zone "%s" { type primary; file "%s"; };\n' "$origin" "$file"
  done <"$TMP/zones.txt"
} >"$TMP/named.conf"

# A validating caching forwarder, one thread, trusting only the lab root's DS (no
# auto-trust-anchor-file: no RFC 5011 tracking). test. is one of Unbound's default local zones
# (RFC 6761), so it must be switched off to be forwarded.
cat >"$TMP/unbound.conf" <<EOF
server:
  interface: $ADDRESS
  port: $UNBOUND_PORT
  outgoing-interface: $ADDRESS
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  num-threads: 1
  module-config: "validator iterator"
  trust-anchor-file: "$TMP/root.ds"
  trust-anchor-signaling: no
  do-not-query-localhost: no
  local-zone: "test." nodefault
  chroot: ""
  username: ""
  pidfile: ""
  directory: "$TMP"
  use-syslog: no
  logfile: ""
  verbosity: 1
  log-servfail: yes
  val-log-level: 2
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: $ADDRESS@$NAMED_PORT
EOF

log "starting named on $ADDRESS#$NAMED_PORT with $((ZONES + 2)) zones"
"$NAMED" -f -g -c "$TMP/named.conf" -n 1 -4 </dev/null >"$TMP/named.log" 2>&1 &
PIDS[named]=$!
wait_for_answer named "$NAMED_PORT" "$TMP/named.log" . SOA aa
wait_for_answer named "$NAMED_PORT" "$TMP/named.log" "$(printf 'www.z%04d.test.' "$ZONES")" A aa

declare -A PORTS=([named]=$NAMED_PORT [oedns]=$OEDNS_PORT [unbound]=$UNBOUND_PORT)
declare -A LOGS=([named]=$TMP/named.log [oedns]=$TMP/oedns.log [unbound]=$TMP/unbound.log)

start_oedns() {
  # shellcheck disable=SC2086 # BENCH_OEDNS_ARGS is a list of extra flags
  (cd "$REPO_DIR" && exec node --max-old-space-size=512 dist/cli.js serve --listen "$ADDRESS:$OEDNS_PORT" \
    --upstream "$ADDRESS:$NAMED_PORT" --trust-anchor "$TMP/root.ds" --log-level warn ${BENCH_OEDNS_ARGS:-}) \
    </dev/null >"$TMP/oedns.log" 2>&1 &
  PIDS[oedns]=$!
}
start_unbound() {
  "$UNBOUND" -d -c "$TMP/unbound.conf" </dev/null >"$TMP/unbound.log" 2>&1 &
  PIDS[unbound]=$!
}

# --- measuring ------------------------------------------------------------------------------
named_queries() {
  curl -sf --max-time 5 "http://$ADDRESS:$STATS_PORT/json/v1/server" |
    node --input-type=module -e \
      'let s = ""; for await (const c of process.stdin) s += c; console.log(JSON.parse(s).opcodes?.QUERY ?? 0);'
}

readonly CLOCK_TICKS_PER_SECOND=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run_dnsperf SERVER: one pass over the query file, each name once, parsed into RESULTS/SERVER.json;
# records the queries named received meanwhile (upstream.SERVER) and the CPU seconds the server
# used (cpu.SERVER).
run_dnsperf() {
  local server=$1 before after cpu_before cpu_after raw=$TMP/dnsperf-$1.txt
  before=$(named_queries)
  cpu_before=$(cpu_ticks "${PIDS[$server]}")
  # shellcheck disable=SC2086 # BENCH_DNSPERF_ARGS is a list of extra flags
  dnsperf -s "$ADDRESS" -p "${PORTS[$server]}" -d "$TMP/queries.txt" -c "$CLIENTS" -q "$MAX_OUTSTANDING" \
    -t "$QUERY_TIMEOUT_SECONDS" -n 1 -l "$PASS_LIMIT_SECONDS" -v ${BENCH_DNSPERF_ARGS:-} >"$raw" 2>&1 || {
    tail -n 20 "$raw" >&2
    die "dnsperf against $server failed"
  }
  after=$(named_queries)
  alive_or_die "$server" "${LOGS[$server]}"
  cpu_after=$(cpu_ticks "${PIDS[$server]}")
  node "$BENCH_DIR/parse-dnsperf.mjs" "$raw" >"$RESULTS/$server.json"
  fact "upstream.$server" $((after - before))
  fact "cpu.$server" "$(awk -v t=$((cpu_after - cpu_before)) -v hz="$CLOCK_TICKS_PER_SECOND" 'BEGIN { print t / hz }')"
  log "$server: $(node -e 'const r = JSON.parse(process.argv[1]);
    console.log(`${r.qps} qps, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, lost ${r.lost}, ${r.responseCodesLine.replace(/\s+/g, " ")}`)' \
    "$(cat "$RESULTS/$server.json")"), upstream $((after - before))"
}

# check_ad SERVER: after the run (answers cached), asks every name again with DO and counts the
# NOERROR answers that carry AD (ad.SERVER); prints the flags of one spot check.
check_ad() {
  local server=$1 port=${PORTS[$1]} spot reply
  spot=$(printf 'www.z%04d.test.' "$(((ZONES + 1) / 2))")
  reply=$(dig @"$ADDRESS" -p "$port" +dnssec +time=2 +tries=1 "$spot" A) || die "dig $spot on $server failed"
  fact "spot.$server" "$(grep -o 'status: [A-Z]*' <<<"$reply" | head -n 1 | cut -d' ' -f2) $(grep -o 'flags: [a-z ]*' <<<"$reply" | head -n 1 | cut -d' ' -f2-)"
  log "$server spot check $spot: $(grep -E '^;; ->>HEADER|^;; flags' <<<"$reply" | tr -s ' ' | tr '\n' ' ')"
  dig @"$ADDRESS" -p "$port" +dnssec +time=2 +tries=1 +noall +comments -f "$TMP/queries.txt" >"$TMP/ad-$server.txt" 2>&1 || true
  fact "ad.$server" "$(awk '/status: NOERROR/ { ok = 1; next } /^;; flags:/ { if (ok && $0 ~ / ad[ ;]/) n++; ok = 0 } END { print n + 0 }' "$TMP/ad-$server.txt")"
}

# Baseline: named itself, over the same names (its answers come straight from its zones). This
# also touches every zone in named once, so neither resolver meets a colder named than the other.
log "baseline: named directly, $ZONES names"
run_dnsperf named

# Each resolver is started fresh, one after the other (the machine has two cores, and dnsperf and
# named need them). The readiness probe, test. SOA, validates the root's and test.'s keys for
# both, so every measured lookup costs the same chain step in both: the zone's DS from test.,
# its DNSKEY, and the answer.
for resolver in oedns unbound; do
  log "starting $resolver on $ADDRESS#${PORTS[$resolver]}"
  "start_$resolver"
  wait_for_answer "$resolver" "${PORTS[$resolver]}" "${LOGS[$resolver]}" test. SOA
  log "$resolver: cold validated lookups, $ZONES zones, dnsperf -c $CLIENTS -q $MAX_OUTSTANDING"
  run_dnsperf "$resolver"
  check_ad "$resolver"
  stop_process "$resolver"
  fact "$resolver.exit" "$STOPPED"
done

node "$BENCH_DIR/validate-report.mjs" "$RESULTS" "$TMP/oedns.log" "$TMP/unbound.log" "$OUT_JSON"
