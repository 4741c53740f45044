#!/usr/bin/env bash
# Validation benchmark (issue 3): cold validated lookups on a signed lab hierarchy, oedns next to
# Unbound, both validating forwarders to one BIND that serves every zone. Built like run.sh, on
# lib.sh (see bench/README.md); the lab is written by validate-lab.sh, the report by
# validate-report.mjs, the sequential pass by seq-client.mjs.
#
#   bench/validate.sh                              # 200 signed child zones per pass, ECDSAP256SHA256
#   BENCH_ZONES=50 bench/validate.sh               # quick run while developing
#   BENCH_UPSTREAM_DELAY_MS=20 bench/validate.sh   # named 20 ms of round trip away
#
# Variables: BENCH_ZONES (200 zones per measured pass), BENCH_WARMUP (200 warm-up zones; 0 skips
# the warm-up), BENCH_ALGORITHM (ECDSAP256SHA256; any dnssec-keygen name), BENCH_SEQ_DO (1: the
# sequential pass and the warm-up ask with DO, as dnsperf -D; 0: without EDNS), BENCH_CLIENTS (1)
# and BENCH_MAX_OUTSTANDING (10) for dnsperf -c and -q, BENCH_OEDNS_ARGS and BENCH_DNSPERF_ARGS
# (extra flags; the latter for the loaded pass, e.g. -D to ask with DO), BENCH_UPSTREAM_DELAY_MS
# (0: both resolvers forward to named directly; above 0, through delay-proxy.mjs, which holds each
# of named's replies that many ms), BENCH_KEEP=1 (keep the temp dir).
#
# The lab has BENCH_WARMUP + 2 x BENCH_ZONES child zones, split into three disjoint sets of names
# www.zNNNN.test. A. Each resolver is started fresh, primed (test. SOA validates the root's and
# test.'s keys) and then:
#   1. warm-up: asked the warm-up names once (dnsperf, logged only), so that Node's JIT has
#      compiled the validation path before anything is measured; Unbound gets the same;
#   2. sequential: asked the first measured set one query at a time by seq-client.mjs: per-query
#      latency, which is what issue 3's target is about and what the target is judged on;
#   3. loaded: asked the second set by dnsperf with BENCH_MAX_OUTSTANDING queries in flight:
#      latency under some load (queueing included), printed next to it for information.
# Every measured lookup is the first of its zone (its DS, its DNSKEY, its answer all asked
# upstream). dnsperf -q 1 is not used for the sequential pass: dnsperf 2.10 then sometimes paces
# itself to ~20 queries/s when answers take over ~1 ms, and the idle gaps change what is measured.
#
# With BENCH_UPSTREAM_DELAY_MS above 0, oedns's --upstream and Unbound's forward-addr both point at
# delay-proxy.mjs, and the sequential names are also asked of named through it (the floor per
# round trip). On loopback named answers in about 20 us, so without a delay a cold lookup is nearly
# all resolver CPU, and how many round trips each resolver waits for one after the other hardly
# shows; with one, it does.
#
# Everything listens on 127.0.0.1 only, on ports free at run time; every process this script
# starts is stopped by its PID on exit, and the temp directory goes too (BENCH_KEEP=1 keeps it).
# The target is informational: the script exits 0 unless something broke.
set -euo pipefail

readonly LOG_TAG=validate
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly ZONES=${BENCH_ZONES:-200}
readonly WARMUP=${BENCH_WARMUP:-200}
readonly ALGORITHM=${BENCH_ALGORITHM:-ECDSAP256SHA256}
readonly SEQ_DO=${BENCH_SEQ_DO:-1}
# Loaded pass (and warm-up): one client socket, 10 queries in flight. A resolver that needs more
# CPU per lookup than the other queues them, so its latency there tells of throughput too. In both
# passes a query unanswered within 5 s counts as lost.
readonly CLIENTS=${BENCH_CLIENTS:-1}
readonly MAX_OUTSTANDING=${BENCH_MAX_OUTSTANDING:-10}
readonly UPSTREAM_DELAY_MS=${BENCH_UPSTREAM_DELAY_MS:-0}
readonly OUT_JSON=$BENCH_DIR/out/validate.json

require_positive_integers ZONES CLIENTS MAX_OUTSTANDING
[[ $WARMUP =~ ^(0|[1-9][0-9]*)$ ]] || die "BENCH_WARMUP must be a whole number (0 skips the warm-up), got '$WARMUP'"
[[ $SEQ_DO == 0 || $SEQ_DO == 1 ]] || die "BENCH_SEQ_DO must be 0 or 1, got '$SEQ_DO'"
[[ $UPSTREAM_DELAY_MS =~ ^(0|[1-9][0-9]*)$ ]] || die "BENCH_UPSTREAM_DELAY_MS must be a whole number of milliseconds (0: no proxy), got '$UPSTREAM_DELAY_MS'"
readonly LAB_ZONES=$((WARMUP + 2 * ZONES))
((LAB_ZONES <= 9999)) || die "BENCH_WARMUP + 2 x BENCH_ZONES must be at most 9999 (zones are z0001..z9999), got $LAB_ZONES"
case $ALGORITHM in
  RSASHA1 | NSEC3RSASHA1 | RSASHA256 | RSASHA512 | ECDSAP256SHA256 | ECDSAP384SHA384 | ED25519 | ED448) ;;
  *) die "BENCH_ALGORITHM must be a dnssec-keygen algorithm name (e.g. ECDSAP256SHA256, RSASHA256, ED25519), got '$ALGORITHM'" ;;
esac
install_missing bind9 bind9-utils bind9-dnsutils unbound dnsperf curl
require_tools node named unbound dnsperf dig curl awk seq head sed dnssec-keygen dnssec-signzone dnssec-dsfromkey

# --- setup ----------------------------------------------------------------------------------
build_if_missing
make_workdir validate

fact zones "$ZONES"
fact warmupZones "$WARMUP"
fact algorithm "$ALGORITHM"
fact seqDnssecOk "$SEQ_DO"
fact queryTimeoutSeconds "$QUERY_TIMEOUT_SECONDS"
fact clients "$CLIENTS"
fact maxOutstanding "$MAX_OUTSTANDING"
fact loadedDnsperfArgs "${BENCH_DNSPERF_ARGS:-none}"
fact upstreamDelayMs "$UPSTREAM_DELAY_MS"
record_host_facts

log "signing the lab hierarchy (., test., $LAB_ZONES child zones, $ALGORITHM) in $TMP"
lab_start=$SECONDS
"$BENCH_DIR/validate-lab.sh" "$TMP" "$LAB_ZONES" "$ALGORITHM"
log "signed $((LAB_ZONES + 2)) zones in $((SECONDS - lab_start)) s; trust anchor: $(cat "$TMP/root.ds")"

# split_queries: the lab's queries.txt (one name per child zone, in order) into three disjoint
# sets, so that no measured lookup meets a zone asked before: the warm-up names, the sequential
# pass's and the loaded pass's; and measured.txt, both measured sets, for the AD recheck.
split_queries() {
  head -n "$WARMUP" "$TMP/queries.txt" >"$TMP/warmup.txt"
  sed -n "$((WARMUP + 1)),$((WARMUP + ZONES))p" "$TMP/queries.txt" >"$TMP/sequential.txt"
  sed -n "$((WARMUP + ZONES + 1)),$((WARMUP + 2 * ZONES))p" "$TMP/queries.txt" >"$TMP/loaded.txt"
  cat "$TMP/sequential.txt" "$TMP/loaded.txt" >"$TMP/measured.txt"
  local file count
  for file in sequential loaded; do
    count=$(wc -l <"$TMP/$file.txt")
    ((count == ZONES)) || die "$file.txt holds $count names, not $ZONES"
  done
}
split_queries

# With a delay, both resolvers forward to the proxy (UPSTREAM, which write_unbound_conf and
# start_oedns read), which relays every query to named at once (named's statistics still count
# each one) and holds each reply UPSTREAM_DELAY_MS ms.
if ((UPSTREAM_DELAY_MS > 0)); then
  choose_ports proxy
  UPSTREAM=proxy
else
  choose_ports
fi
# named hosts the root, so with recursion on it follows nothing off the lab; it answers every
# zone authoritatively, and DS queries from the parent zone.
write_named_conf 'recursion yes; allow-recursion { 127.0.0.0/8; };'
# A validating caching forwarder trusting only the lab root's DS (no auto-trust-anchor-file: no
# RFC 5011 tracking).
write_unbound_conf 'module-config: "validator iterator"' "trust-anchor-file: \"$TMP/root.ds\"" \
  'trust-anchor-signaling: no' 'log-servfail: yes' 'val-log-level: 2'

log "starting named on $ADDRESS#${PORTS[named]} with $((LAB_ZONES + 2)) zones"
start_named
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" . SOA aa
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" "$(printf 'www.z%04d.test.' "$LAB_ZONES")" A aa
if [[ $UPSTREAM == proxy ]]; then
  log "starting delay-proxy.mjs on $ADDRESS#${PORTS[proxy]}: queries to named, each reply held $UPSTREAM_DELAY_MS ms"
  start_delay_proxy "$UPSTREAM_DELAY_MS"
  wait_for_answer proxy "${PORTS[proxy]}" "${LOGS[proxy]}" . SOA aa
fi

# --- measuring ------------------------------------------------------------------------------
# With BENCH_SEQ_DO=1 the warm-up and the sequential pass ask with DO (dnsperf -D; seq-client's
# default), so the path that adds RRSIGs to an answer is warm before it is measured.
DO_DNSPERF=()
SEQ_CLIENT_DO=()
if ((SEQ_DO)); then DO_DNSPERF=(-D); else SEQ_CLIENT_DO=(--no-do); fi

# warm_up SERVER: the warm-up names once each (dnsperf, as many in flight as the loaded pass);
# only the log line of measure_end shows it, the report does not.
warm_up() {
  ((WARMUP > 0)) || return 0
  log "$1: warm-up, $WARMUP zones, dnsperf -c $CLIENTS -q $MAX_OUTSTANDING ${DO_DNSPERF[*]}"
  run_dnsperf "$1-warmup" "$1" "$TMP/warmup.txt" -n 1 -l "$PASS_LIMIT_SECONDS" "${DO_DNSPERF[@]}"
}

# sequential_pass SERVER: the sequential names one at a time (seq-client.mjs), into
# RESULTS/SERVER-sequential.json, with the upstream and CPU facts of measure_end. The client first
# asks test. SOA 20 times (cached by the readiness probe; named's own zone) to warm itself up.
sequential_pass() {
  local server=$1 label=$1-sequential
  log "$server: sequential pass, $ZONES zones, one query in flight"
  measure_begin "$server"
  node "$BENCH_DIR/seq-client.mjs" --server "$ADDRESS" --port "${PORTS[$server]}" \
    --queries "$TMP/sequential.txt" --raw "$TMP/seq-client-$label.txt" \
    --timeout-ms $((QUERY_TIMEOUT_SECONDS * 1000)) --warm-up 'test. SOA' "${SEQ_CLIENT_DO[@]}" \
    >"$RESULTS/$label.json" || die "seq-client $label failed"
  measure_end "$label" "$server"
}

# loaded_pass SERVER: the loaded names once each, dnsperf -v with MAX_OUTSTANDING in flight, into
# RESULTS/SERVER-loaded.json.
loaded_pass() {
  log "$1: loaded pass, $ZONES zones, dnsperf -c $CLIENTS -q $MAX_OUTSTANDING ${BENCH_DNSPERF_ARGS:-}"
  # shellcheck disable=SC2086 # BENCH_DNSPERF_ARGS is a list of extra flags
  run_dnsperf "$1-loaded" "$1" "$TMP/loaded.txt" -n 1 -l "$PASS_LIMIT_SECONDS" -v ${BENCH_DNSPERF_ARGS:-}
}

# check_ad SERVER: after both passes (answers cached), asks every measured name again with DO and
# counts the NOERROR answers that carry AD (ad.SERVER); records the flags of one spot check.
check_ad() {
  local server=$1 port=${PORTS[$1]} spot reply
  spot=$(sed -n "$(((ZONES + 1) / 2))p" "$TMP/sequential.txt" | cut -d' ' -f1)
  reply=$(dig @"$ADDRESS" -p "$port" +dnssec +time=2 +tries=1 "$spot" A) || die "dig $spot on $server failed"
  fact "spot.$server" "$(grep -o 'status: [A-Z]*' <<<"$reply" | head -n 1 | cut -d' ' -f2) $(grep -o 'flags: [a-z ]*' <<<"$reply" | head -n 1 | cut -d' ' -f2-)"
  log "$server spot check $spot: $(grep -E '^;; ->>HEADER|^;; flags' <<<"$reply" | tr -s ' ' | tr '\n' ' ')"
  dig @"$ADDRESS" -p "$port" +dnssec +time=2 +tries=1 +noall +comments -f "$TMP/measured.txt" >"$TMP/ad-$server.txt" 2>&1 || true
  fact "ad.$server" "$(awk '/status: NOERROR/ { ok = 1; next } /^;; flags:/ { if (ok && $0 ~ / ad[ ;]/) n++; ok = 0 } END { print n + 0 }' "$TMP/ad-$server.txt")"
}

# Baseline: named itself, through the same passes (its answers come straight from its zones): the
# floor under both resolvers. This also touches every zone in named once, so neither resolver
# meets a colder named than the other.
log "baseline: named directly"
warm_up named
sequential_pass named
loaded_pass named
# With a delay, the sequential names through the proxy too: one upstream round trip as both
# resolvers see it.
if [[ $UPSTREAM == proxy ]]; then
  log "baseline: named through the delay proxy"
  sequential_pass proxy
fi

# Each resolver is started fresh, one after the other (the machine has two cores, and the clients
# and named need them). The readiness probe, test. SOA, validates the root's and test.'s keys for
# both, so every measured lookup costs the same chain step in both: the zone's DS from test.,
# its DNSKEY, and the answer.
for resolver in oedns unbound; do
  log "starting $resolver on $ADDRESS#${PORTS[$resolver]}, forwarding to $UPSTREAM on $ADDRESS#${PORTS[$UPSTREAM]}"
  if [[ $resolver == oedns ]]; then
    # --no-keys: validation alone, as Unbound does it (bench/keys.sh measures the keys step).
    start_oedns --trust-anchor "$TMP/root.ds" --no-keys
    fact oednsBuild "$(oedns_build)"
    log "oedns build: $(oedns_build)"
  else
    start_unbound
  fi
  wait_for_answer "$resolver" "${PORTS[$resolver]}" "${LOGS[$resolver]}" test. SOA
  warm_up "$resolver"
  sequential_pass "$resolver"
  loaded_pass "$resolver"
  check_ad "$resolver"
  stop_process "$resolver"
  fact "$resolver.exit" "$STOPPED"
done
finish_upstream

node "$BENCH_DIR/validate-report.mjs" "$RESULTS" "${LOGS[oedns]}" "${LOGS[unbound]}" "$OUT_JSON"
