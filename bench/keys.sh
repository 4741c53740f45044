#!/usr/bin/env bash
# Keys benchmark (issue 4): what the keys step costs. oedns as a plain validating forwarder
# (--no-keys, "A alone") next to oedns with the keys step (IPSECKEY, CERT and TLSA for port 443
# looked up with every A answer, validated and decided on: "A + keys"), both forwarding to one BIND
# that serves a signed lab hierarchy in which half the hosts publish keys. Built like validate.sh,
# on lib.sh and keys-lib.sh (see bench/README.md); the lab is written by keys-lab.sh, the report
# by keys-report.mjs, the sequential passes by seq-client.mjs.
#
#   bench/keys.sh                                   # 150 names per measured set, 3 x 3 s cached
#   BENCH_ZONES=50 BENCH_SECONDS=1 bench/keys.sh    # quick run while developing
#   BENCH_UPSTREAM_DELAY_MS=20 bench/keys.sh        # named 20 ms of round trip away
#
# Variables: BENCH_ZONES (150 names per measured set), BENCH_WARMUP (200 warm-up zones; 0 skips
# the warm-up), BENCH_SECONDS (3 s per cached run), BENCH_CACHED_ROUNDS (3 cached runs per oedns
# and kind), BENCH_ALGORITHM (ECDSAP256SHA256), BENCH_CLIENTS (1) and BENCH_MAX_OUTSTANDING (10)
# for the warm-up's and the loaded passes' dnsperf, BENCH_CACHED_CLIENTS (4) and
# BENCH_CACHED_MAX_OUTSTANDING (100) for the cached runs', BENCH_OEDNS_ARGS (extra flags for
# both), BENCH_UPSTREAM_DELAY_MS (0: both oedns forward to named directly; above 0, through
# delay-proxy.mjs, which holds each of named's replies that many ms), BENCH_KEEP=1 (keep the temp
# dir).
#
# The lab has BENCH_WARMUP + 4 x BENCH_ZONES child zones; odd-numbered ones publish an IPSECKEY and
# a TLSA for www (keyed), even-numbered ones nothing (keyless). Past the warm-up zones, the keyed
# and the keyless names are each split into a sequential set and a loaded set. Both oedns (plain
# and keys) are started fresh side by side and primed (test. SOA validates the root's and test.'s
# keys); only one is asked at a time, the other idles. Then:
#   1. warm-up: each is asked the warm-up names once (dnsperf), so that Node's JIT has compiled
#      the path before anything is measured;
#   2. sequential: the keyed sequential set, plain then keys, then the keyless one, one query at a
#      time (seq-client.mjs): cold per-query latency, on which the cold target is judged;
#   3. loaded: the two loaded sets likewise with dnsperf, BENCH_MAX_OUTSTANDING in flight;
#   4. cached: the keyed names of both passes (all answered once, now cached) repeated by dnsperf
#      for BENCH_SECONDS, then the keyless ones, against each oedns in turn, BENCH_CACHED_ROUNDS
#      times (the order of the two alternating): throughput, on which the cached target is judged.
# With BENCH_UPSTREAM_DELAY_MS above 0, the sequential sets are also asked of named through the
# proxy (the floor per round trip), and both oedns forward through it. named answers on loopback in
# about 20 us, so without a delay a cold lookup's latency is nearly all oedns CPU; with one, each
# upstream round trip costs what a resolver a network away costs, and the keys lookups, asked in
# parallel with the A query, can hide behind it.
# Both oedns ask the same names, every measured one the first lookup of its zone; named, which
# serves them from its zones, keeps no cache that the second could profit from. Runs alternate
# between the two so that a comparison is between runs made close together (the machine is
# shared). All queries ask with DO (dnsperf -D; seq-client.mjs's default), so every answer is the
# one a validating client gets, and the sequential passes check AD on each.
#
# Everything listens on 127.0.0.1 only, on ports free at run time; every process this script
# starts is stopped by its PID on exit, and the temp directory goes too (BENCH_KEEP=1 keeps it).
# The targets are informational: the script exits 0 unless something broke.
set -euo pipefail

readonly LOG_TAG=keys
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench/keys-lib.sh
source "$BENCH_DIR/keys-lib.sh"

readonly ZONES=${BENCH_ZONES:-150}
readonly WARMUP=${BENCH_WARMUP:-200}
readonly CACHED_SECONDS=${BENCH_SECONDS:-3}
readonly CACHED_ROUNDS=${BENCH_CACHED_ROUNDS:-3}
readonly ALGORITHM=${BENCH_ALGORITHM:-ECDSAP256SHA256}
# Warm-up and loaded passes: one client socket, 10 queries in flight (as validate.sh). Cached runs:
# as run.sh's, 4 sockets and 100 in flight. run_dnsperf reads CLIENTS and MAX_OUTSTANDING when it
# runs; the cached runs set them for their call only (bash keeps such assignments local to it).
CLIENTS=${BENCH_CLIENTS:-1}
MAX_OUTSTANDING=${BENCH_MAX_OUTSTANDING:-10}
readonly CACHED_CLIENTS=${BENCH_CACHED_CLIENTS:-4}
readonly CACHED_MAX_OUTSTANDING=${BENCH_CACHED_MAX_OUTSTANDING:-100}
readonly TLSA_PORT=443
readonly UPSTREAM_DELAY_MS=${BENCH_UPSTREAM_DELAY_MS:-0}
readonly OUT_JSON=$BENCH_DIR/out/keys.json
# oedns logs each decision that acts on an address at info ("decision"); the report counts them.
readonly OEDNS_LOG_LEVEL=info
readonly MODES=("${OEDNS_MODES[@]}")
readonly KINDS=(keyed keyless)

require_positive_integers ZONES CACHED_SECONDS CACHED_ROUNDS CLIENTS MAX_OUTSTANDING CACHED_CLIENTS CACHED_MAX_OUTSTANDING
[[ $WARMUP =~ ^(0|[1-9][0-9]*)$ ]] || die "BENCH_WARMUP must be a whole number (0 skips the warm-up), got '$WARMUP'"
[[ $UPSTREAM_DELAY_MS =~ ^(0|[1-9][0-9]*)$ ]] || die "BENCH_UPSTREAM_DELAY_MS must be a whole number of milliseconds (0: no proxy), got '$UPSTREAM_DELAY_MS'"
readonly LAB_ZONES=$((WARMUP + 4 * ZONES))
((LAB_ZONES <= 9999)) || die "BENCH_WARMUP + 4 x BENCH_ZONES must be at most 9999 (zones are z0001..z9999), got $LAB_ZONES"
case $ALGORITHM in
  RSASHA1 | NSEC3RSASHA1 | RSASHA256 | RSASHA512 | ECDSAP256SHA256 | ECDSAP384SHA384 | ED25519 | ED448) ;;
  *) die "BENCH_ALGORITHM must be a dnssec-keygen algorithm name (e.g. ECDSAP256SHA256, RSASHA256, ED25519), got '$ALGORITHM'" ;;
esac
install_missing bind9 bind9-utils bind9-dnsutils dnsperf curl openssl
require_tools node named dnsperf dig curl awk seq head sed openssl base64 dnssec-keygen dnssec-signzone dnssec-dsfromkey

# --- setup ----------------------------------------------------------------------------------
build_if_missing
make_workdir keys
LOGS[plain]=$TMP/oedns-plain.log
LOGS[keys]=$TMP/oedns-keys.log

fact zones "$ZONES"
fact warmupZones "$WARMUP"
fact cachedSeconds "$CACHED_SECONDS"
fact cachedRounds "$CACHED_ROUNDS"
fact algorithm "$ALGORITHM"
fact tlsaPort "$TLSA_PORT"
fact queryTimeoutSeconds "$QUERY_TIMEOUT_SECONDS"
fact clients "$CLIENTS"
fact maxOutstanding "$MAX_OUTSTANDING"
fact cachedClients "$CACHED_CLIENTS"
fact cachedMaxOutstanding "$CACHED_MAX_OUTSTANDING"
fact oednsArgs "${BENCH_OEDNS_ARGS:-none}"
fact upstreamDelayMs "$UPSTREAM_DELAY_MS"
record_keys_host_facts

log "signing the lab hierarchy (., test., $LAB_ZONES child zones, $ALGORITHM, every other one with keys) in $TMP"
lab_start=$SECONDS
"$BENCH_DIR/keys-lab.sh" "$TMP" "$LAB_ZONES" "$ALGORITHM"
log "signed $((LAB_ZONES + 2)) zones in $((SECONDS - lab_start)) s; trust anchor: $(cat "$TMP/root.ds")"

# split_queries: the warm-up names (the first WARMUP zones, keyed and keyless alternating), then,
# past them, the keyed names into seq-keyed.txt and loaded-keyed.txt and the keyless ones likewise;
# cached-KIND.txt is both passes' names of a kind, asked again by the cached runs.
split_queries() {
  head -n "$WARMUP" "$TMP/queries.txt" >"$TMP/warmup.txt"
  local kind count file
  for kind in "${KINDS[@]}"; do
    awk -v w="$WARMUP" '{ if (substr($1, 6, 4) + 0 > w) print }' "$TMP/$kind.txt" >"$TMP/measured-$kind.txt"
    head -n "$ZONES" "$TMP/measured-$kind.txt" >"$TMP/seq-$kind.txt"
    sed -n "$((ZONES + 1)),$((2 * ZONES))p" "$TMP/measured-$kind.txt" >"$TMP/loaded-$kind.txt"
    cat "$TMP/seq-$kind.txt" "$TMP/loaded-$kind.txt" >"$TMP/cached-$kind.txt"
    for file in "seq-$kind" "loaded-$kind"; do
      count=$(wc -l <"$TMP/$file.txt")
      ((count == ZONES)) || die "$file.txt holds $count names, not $ZONES"
    done
  done
  # The report checks the decisions against these lists.
  cp "$TMP/cached-keyed.txt" "$RESULTS/names-keyed.txt"
  cp "$TMP/cached-keyless.txt" "$RESULTS/names-keyless.txt"
  awk 'substr($1, 6, 4) % 2 == 1' "$TMP/warmup.txt" >"$RESULTS/names-warmup-keyed.txt"
}
split_queries

choose_keys_ports
# named hosts the root, so with recursion on it follows nothing off the lab; it answers every
# zone authoritatively, and DS queries from the parent zone.
write_named_conf 'recursion yes; allow-recursion { 127.0.0.0/8; };'

log "starting named on $ADDRESS#${PORTS[named]} with $((LAB_ZONES + 2)) zones"
start_named
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" . SOA aa
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" "$(printf 'www.z%04d.test.' "$LAB_ZONES")" A aa
# A keyed name's keys as named serves them, for the log (and a check that the lab has them).
spot=$(head -n 1 "$TMP/seq-keyed.txt" | cut -d' ' -f1)
for type in IPSECKEY TLSA; do
  owner=$spot
  [[ $type == TLSA ]] && owner=_$TLSA_PORT._tcp.$spot
  record=$(dig @"$ADDRESS" -p "${PORTS[named]}" +norec +short +time=2 +tries=1 "$owner" "$type")
  [[ -n $record ]] || die "named has no $type at $owner"
  log "lab: $owner $type $record"
done

# With a delay, both oedns forward to the proxy, which relays every query to named at once (named's
# statistics still count each one) and holds each reply UPSTREAM_DELAY_MS ms.
if ((UPSTREAM_DELAY_MS > 0)); then
  log "starting delay-proxy.mjs on $ADDRESS#${PORTS[proxy]}: queries to named, each reply held $UPSTREAM_DELAY_MS ms"
  start_delay_proxy "$UPSTREAM_DELAY_MS"
  wait_for_answer proxy "${PORTS[proxy]}" "${LOGS[proxy]}" . SOA aa
  UPSTREAM=proxy
fi

# --- measuring ------------------------------------------------------------------------------
# warm_up MODE: the warm-up names once each (dnsperf -D); only the log line of measure_end shows it.
warm_up() {
  ((WARMUP > 0)) || return 0
  log "$1: warm-up, $WARMUP zones, dnsperf -c $CLIENTS -q $MAX_OUTSTANDING -D"
  run_dnsperf "$1-warmup" "$1" "$TMP/warmup.txt" -n 1 -l "$PASS_LIMIT_SECONDS" -D
}

# Baseline: named itself answering the sequential names: the floor under every oedns latency; with
# a delay, also through the proxy: one round trip as oedns sees it.
log "baseline: named directly, sequential passes"
for kind in "${KINDS[@]}"; do
  seq_pass "named-seq-$kind" named "$TMP/seq-$kind.txt"
done
if [[ $UPSTREAM == proxy ]]; then
  log "baseline: named through the delay proxy, sequential passes"
  for kind in "${KINDS[@]}"; do
    seq_pass "proxy-seq-$kind" proxy "$TMP/seq-$kind.txt"
  done
fi

# Both oedns side by side, measured one at a time, so that each comparison is between two runs
# made close together: the machine is shared, and its load drifts over a minute.
for mode in "${MODES[@]}"; do
  if [[ $mode == plain ]]; then flags=(--no-keys); else flags=(--tlsa-port "$TLSA_PORT"); fi
  log "starting oedns ($mode: ${flags[*]}) on $ADDRESS#${PORTS[$mode]}, forwarding to $UPSTREAM on $ADDRESS#${PORTS[$UPSTREAM]}"
  start_oedns_as "$mode" "$OEDNS_LOG_LEVEL" --trust-anchor "$TMP/root.ds" "${flags[@]}"
  fact "$mode.build" "$(oedns_build)"
  log "oedns build: $(oedns_build)"
done
for mode in "${MODES[@]}"; do
  wait_for_answer "$mode" "${PORTS[$mode]}" "${LOGS[$mode]}" test. SOA
done
for mode in "${MODES[@]}"; do warm_up "$mode"; done

for kind in "${KINDS[@]}"; do
  for mode in "${MODES[@]}"; do
    log "$mode: sequential pass, $ZONES $kind names, one query in flight"
    seq_pass "$mode-seq-$kind" "$mode" "$TMP/seq-$kind.txt"
  done
done
for kind in "${KINDS[@]}"; do
  for mode in "${MODES[@]}"; do
    log "$mode: loaded pass, $ZONES $kind names, dnsperf -c $CLIENTS -q $MAX_OUTSTANDING -D"
    run_dnsperf "$mode-loaded-$kind" "$mode" "$TMP/loaded-$kind.txt" -n 1 -l "$PASS_LIMIT_SECONDS" -v -D
  done
done

# Cached: CACHED_ROUNDS rounds; in each, per kind, one run against each oedns, plain first in odd
# rounds and keys first in even ones. The report takes each one's median.
for round in $(seq 1 "$CACHED_ROUNDS"); do
  order=("${MODES[@]}")
  ((round % 2 == 0)) && order=("${MODES[1]}" "${MODES[0]}")
  for kind in "${KINDS[@]}"; do
    for mode in "${order[@]}"; do
      log "$mode: cached run $round of $CACHED_ROUNDS, $((2 * ZONES)) $kind names for $CACHED_SECONDS s, dnsperf -c $CACHED_CLIENTS -q $CACHED_MAX_OUTSTANDING -D"
      CLIENTS=$CACHED_CLIENTS MAX_OUTSTANDING=$CACHED_MAX_OUTSTANDING \
        run_dnsperf "$mode-cached-$kind-r$round" "$mode" "$TMP/cached-$kind.txt" -l "$CACHED_SECONDS" -v -D
    done
  done
done

for mode in "${MODES[@]}"; do
  stop_process "$mode"
  fact "$mode.exit" "$STOPPED"
  log "stopped oedns ($mode): $STOPPED"
done
finish_upstream

node "$BENCH_DIR/keys-report.mjs" "$RESULTS" "${LOGS[plain]}" "${LOGS[keys]}" "$OUT_JSON"
