#!/usr/bin/env bash
# Validation benchmark (issue 3): cold validated lookups on a signed lab hierarchy, oedns next to
# Unbound, both validating forwarders to one BIND that serves every zone. Built like run.sh, on
# lib.sh (see bench/README.md); the lab is written by validate-lab.sh, the report by
# validate-report.mjs.
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

readonly LOG_TAG=validate
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly ZONES=${BENCH_ZONES:-200}
readonly ALGORITHM=${BENCH_ALGORITHM:-ECDSAP256SHA256}
# dnsperf: one client socket, 10 queries in flight, so that latency reflects the work of
# validating, not queueing; 5 s before a query counts as lost.
readonly CLIENTS=${BENCH_CLIENTS:-1}
readonly MAX_OUTSTANDING=${BENCH_MAX_OUTSTANDING:-10}
readonly OUT_JSON=$BENCH_DIR/out/validate.json

require_positive_integers ZONES CLIENTS MAX_OUTSTANDING
((ZONES <= 9999)) || die "BENCH_ZONES must be at most 9999 (zones are z0001..z9999)"
case $ALGORITHM in
  RSASHA1 | NSEC3RSASHA1 | RSASHA256 | RSASHA512 | ECDSAP256SHA256 | ECDSAP384SHA384 | ED25519 | ED448) ;;
  *) die "BENCH_ALGORITHM must be a dnssec-keygen algorithm name (e.g. ECDSAP256SHA256, RSASHA256, ED25519), got '$ALGORITHM'" ;;
esac
install_missing bind9 bind9-utils bind9-dnsutils unbound dnsperf curl
require_tools node named unbound dnsperf dig curl awk seq dnssec-keygen dnssec-signzone dnssec-dsfromkey

# --- setup ----------------------------------------------------------------------------------
build_if_missing
make_workdir validate

fact zones "$ZONES"
fact algorithm "$ALGORITHM"
fact clients "$CLIENTS"
fact maxOutstanding "$MAX_OUTSTANDING"
record_host_facts

log "signing the lab hierarchy (., test., $ZONES child zones, $ALGORITHM) in $TMP"
lab_start=$SECONDS
"$BENCH_DIR/validate-lab.sh" "$TMP" "$ZONES" "$ALGORITHM"
log "signed $((ZONES + 2)) zones in $((SECONDS - lab_start)) s; trust anchor: $(cat "$TMP/root.ds")"

choose_ports
# named hosts the root, so with recursion on it follows nothing off the lab; it answers every
# zone authoritatively, and DS queries from the parent zone.
write_named_conf 'recursion yes; allow-recursion { 127.0.0.0/8; };'
# A validating caching forwarder trusting only the lab root's DS (no auto-trust-anchor-file: no
# RFC 5011 tracking).
write_unbound_conf 'module-config: "validator iterator"' "trust-anchor-file: \"$TMP/root.ds\"" \
  'trust-anchor-signaling: no' 'log-servfail: yes' 'val-log-level: 2'

log "starting named on $ADDRESS#${PORTS[named]} with $((ZONES + 2)) zones"
start_named
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" . SOA aa
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" "$(printf 'www.z%04d.test.' "$ZONES")" A aa

# --- measuring ------------------------------------------------------------------------------
# lookup_pass SERVER: one pass over the query file, each name once, parsed into RESULTS/SERVER.json;
# records the queries named received meanwhile (upstream.SERVER) and the CPU seconds the server
# used (cpu.SERVER).
lookup_pass() {
  # shellcheck disable=SC2086 # BENCH_DNSPERF_ARGS is a list of extra flags
  run_dnsperf "$1" "$1" "$TMP/queries.txt" -n 1 -l "$PASS_LIMIT_SECONDS" -v ${BENCH_DNSPERF_ARGS:-}
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
lookup_pass named

# Each resolver is started fresh, one after the other (the machine has two cores, and dnsperf and
# named need them). The readiness probe, test. SOA, validates the root's and test.'s keys for
# both, so every measured lookup costs the same chain step in both: the zone's DS from test.,
# its DNSKEY, and the answer.
for resolver in oedns unbound; do
  log "starting $resolver on $ADDRESS#${PORTS[$resolver]}"
  if [[ $resolver == oedns ]]; then start_oedns --trust-anchor "$TMP/root.ds"; else start_unbound; fi
  wait_for_answer "$resolver" "${PORTS[$resolver]}" "${LOGS[$resolver]}" test. SOA
  log "$resolver: cold validated lookups, $ZONES zones, dnsperf -c $CLIENTS -q $MAX_OUTSTANDING"
  lookup_pass "$resolver"
  check_ad "$resolver"
  stop_process "$resolver"
  fact "$resolver.exit" "$STOPPED"
done

node "$BENCH_DIR/validate-report.mjs" "$RESULTS" "${LOGS[oedns]}" "${LOGS[unbound]}" "$OUT_JSON"
