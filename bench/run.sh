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

readonly LOG_TAG=bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly SECONDS_PER_RUN=${BENCH_SECONDS:-10}
readonly NAMES=${BENCH_NAMES:-100000}
readonly CACHED_NAMES=${BENCH_CACHED_NAMES:-100}
# Idle time before a second memory reading: V8 gives garbage back to the OS only some time after
# a burst, so the reading right after the uncached run includes garbage. 0 skips it.
readonly SETTLE_SECONDS=${BENCH_SETTLE_SECONDS:-30}
# dnsperf: 4 client sockets, 100 queries in flight (its default), 5 s before a query counts as lost.
readonly CLIENTS=${BENCH_CLIENTS:-4}
readonly MAX_OUTSTANDING=${BENCH_MAX_OUTSTANDING:-100}
readonly OUT_JSON=$BENCH_DIR/out/latest.json

[[ $SETTLE_SECONDS =~ ^[0-9]+$ ]] || die "BENCH_SETTLE_SECONDS must be a whole number, got '$SETTLE_SECONDS'"
require_positive_integers SECONDS_PER_RUN NAMES CACHED_NAMES CLIENTS MAX_OUTSTANDING
((NAMES <= 999999)) || die "BENCH_NAMES must be at most 999999 (names are h000001..h999999)"
((CACHED_NAMES <= 9999)) || die "BENCH_CACHED_NAMES must be at most 9999"
install_missing bind9 bind9-dnsutils unbound dnsperf curl
require_tools node named unbound dnsperf dig curl awk seq

# --- setup ----------------------------------------------------------------------------------
build_if_missing
make_workdir bench

fact seconds "$SECONDS_PER_RUN"
fact names "$NAMES"
fact cachedNames "$CACHED_NAMES"
fact settleSeconds "$SETTLE_SECONDS"
fact clients "$CLIENTS"
fact maxOutstanding "$MAX_OUTSTANDING"
record_host_facts

log "generating zone with $NAMES + $CACHED_NAMES names in $TMP"
"$BENCH_DIR/make-zone.sh" "$TMP" "$NAMES" "$CACHED_NAMES"
printf 'bench.test. %s\n' "$TMP/bench.test.zone" >"$TMP/zones.txt"

choose_ports
write_named_conf 'recursion no;'
# A plain caching forwarder, no validation (oedns runs with --insecure bench.test).
write_unbound_conf 'module-config: "iterator"' 'msg-cache-size: 128m' 'rrset-cache-size: 256m'

log "starting named on $ADDRESS#${PORTS[named]}"
start_named
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" bench.test. SOA aa
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" "h$(printf %06d "$NAMES").bench.test." A aa

log "starting oedns on $ADDRESS#${PORTS[oedns]}"
# --no-keys: Unbound has no keys step; this compares forwarding alone (bench/keys.sh measures the step).
start_oedns --insecure bench.test --no-keys

log "starting unbound on $ADDRESS#${PORTS[unbound]}"
start_unbound

wait_for_answer oedns "${PORTS[oedns]}" "${LOGS[oedns]}" bench.test. SOA
wait_for_answer unbound "${PORTS[unbound]}" "${LOGS[unbound]}" bench.test. SOA

# --- measuring ------------------------------------------------------------------------------
rss_kB() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

# on_both WORKLOAD FILE DNSPERF_ARGS...: the workload against oedns, then against Unbound.
on_both() {
  local workload=$1 file=$2 resolver
  shift 2
  for resolver in oedns unbound; do
    run_dnsperf "$workload-$resolver" "$resolver" "$file" "$@"
  done
}

log "warming the cached set ($CACHED_NAMES names)"
on_both warm "$TMP/cached.txt" -n 1 -l "$PASS_LIMIT_SECONDS"

log "workload cached: $CACHED_NAMES names for $SECONDS_PER_RUN s each"
for resolver in oedns unbound; do
  run_dnsperf "cached-$resolver" "$resolver" "$TMP/cached.txt" -l "$SECONDS_PER_RUN" -v
  fact "rss.$resolver.beforeUncached.kB" "$(rss_kB "${PIDS[$resolver]}" VmRSS)"
done

log "workload uncached: $NAMES names, each once"
on_both uncached "$TMP/uncached.txt" -n 1 -l "$PASS_LIMIT_SECONDS" -v

for resolver in oedns unbound; do
  fact "rss.$resolver.kB" "$(rss_kB "${PIDS[$resolver]}" VmRSS)"
  fact "hwm.$resolver.kB" "$(rss_kB "${PIDS[$resolver]}" VmHWM)"
done

log "workload recheck: the same $NAMES names again (should all be cached)"
on_both recheck "$TMP/uncached.txt" -n 1 -l "$PASS_LIMIT_SECONDS" -v

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
