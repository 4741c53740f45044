#!/usr/bin/env bash
# End-to-end cost of installing IPsec policies (issue 6): the same oedns twice, side by side,
# once with --ipsec-backend none and once with --ipsec-backend xfrm in a network namespace this
# script creates, both forwarding to one BIND that serves keys-lab.sh's signed lab (every other
# host publishes an IPSECKEY). oedns holds an answer that acts on an address until its policies
# are in place, so the difference in per-query latency on the keyed names is answer-to-policy as
# a client sees it. Built on lib.sh (see bench/README.md); sequential passes by seq-client.mjs.
#
#   bench/ipsec-e2e.sh                        # 50 keyed names per pass, 4 passes
#   BENCH_ZONES=100 bench/ipsec-e2e.sh
#
# Variables: BENCH_ZONES (50 keyed names per pass), BENCH_WARMUP (100 warm-up zones),
# BENCH_ALGORITHM (ECDSAP256SHA256), BENCH_STATE_DIR (the xfrm oedns' --state-dir, default a
# directory in the temp dir; oedns appends to its state journal there before each install, so
# a directory on tmpfs, e.g. under /dev/shm, shows what the disk costs), BENCH_KEEP=1 (keep the
# temp dir).
#
# Passes, one query in flight, each name the first lookup of its zone: keyed set 1 to none, 2 and
# 3 to xfrm, 4 to none (so drift in the machine's load hits both alike); none's figures are sets
# 1 + 4, xfrm's 2 + 3. Everything listens on 127.0.0.1 only; the policies go into the namespace
# (nothing is sent to their addresses). Every process is stopped by its PID on exit, and the
# namespace and the temp directory are deleted. Needs root (ip netns, CAP_NET_ADMIN).
set -euo pipefail

readonly LOG_TAG=ipsec-e2e
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly ZONES=${BENCH_ZONES:-50}
readonly WARMUP=${BENCH_WARMUP:-100}
readonly ALGORITHM=${BENCH_ALGORITHM:-ECDSAP256SHA256}
readonly NETNS=oedns-bench-e2e-$$
readonly MODES=(none xfrm)
# Keyed names are the odd-numbered zones: 4 passes of ZONES need 8 x ZONES zones past the warm-up.
readonly LAB_ZONES=$((WARMUP + 8 * ZONES + 2))
readonly OUT_JSON=$BENCH_DIR/out/ipsec-e2e.json

require_positive_integers ZONES WARMUP
((LAB_ZONES <= 9999)) || die "BENCH_WARMUP + 8 x BENCH_ZONES must be below 9998, got $LAB_ZONES"
[[ $(id -u) == 0 ]] || die "needs root (ip netns add, CAP_NET_ADMIN)"
install_missing bind9 bind9-utils bind9-dnsutils curl openssl
require_tools node named dig curl ip awk openssl dnssec-keygen dnssec-signzone dnssec-dsfromkey

e2e_cleanup() {
  local status=$? mode
  set +e
  for mode in "${MODES[@]}"; do
    if [[ -n ${PIDS[$mode]:-} ]]; then
      stop_process "$mode"
      log "stopped oedns ($mode): $STOPPED"
    fi
  done
  ip netns delete "$NETNS" 2>/dev/null
  (exit "$status")
  cleanup
}
trap e2e_cleanup EXIT

build_if_missing
make_workdir ipsec-e2e
log "signing the lab ($LAB_ZONES child zones, $ALGORITHM) in $TMP"
"$BENCH_DIR/keys-lab.sh" "$TMP" "$LAB_ZONES" "$ALGORITHM"
head -n "$WARMUP" "$TMP/queries.txt" >"$TMP/warmup.txt"
awk -v w="$WARMUP" '{ if (substr($1, 6, 4) + 0 > w) print }' "$TMP/keyed.txt" >"$TMP/measured.txt"
for set in 1 2 3 4; do
  sed -n "$(((set - 1) * ZONES + 1)),$((set * ZONES))p" "$TMP/measured.txt" >"$TMP/set$set.txt"
  (($(wc -l <"$TMP/set$set.txt") == ZONES)) || die "set $set holds fewer than $ZONES names"
done

choose_ports none xfrm
write_named_conf 'recursion yes; allow-recursion { 127.0.0.0/8; };'
start_named
wait_for_answer named "${PORTS[named]}" "${LOGS[named]}" . SOA aa

ip netns add "$NETNS"
for mode in "${MODES[@]}"; do
  LOGS[$mode]=$TMP/oedns-$mode.log
  flags=()
  [[ $mode == xfrm ]] && flags=(--ipsec-backend xfrm --ipsec-netns "$NETNS" --state-dir "${BENCH_STATE_DIR:-$TMP/state-xfrm}")
  (cd "$REPO_DIR" && exec node --max-old-space-size=512 dist/cli.js serve --listen "$ADDRESS:${PORTS[$mode]}" \
    --upstream "$ADDRESS:${PORTS[named]}" --log-level warn --trust-anchor "$TMP/root.ds" "${flags[@]}") \
    </dev/null >"${LOGS[$mode]}" 2>&1 &
  PIDS[$mode]=$!
done
for mode in "${MODES[@]}"; do wait_for_answer "$mode" "${PORTS[$mode]}" "${LOGS[$mode]}" test. SOA; done

# pass MODE LABEL FILE: one sequential pass, raw per-query lines into TMP/LABEL.raw.
pass() {
  node "$BENCH_DIR/seq-client.mjs" --server "$ADDRESS" --port "${PORTS[$1]}" --queries "$3" \
    --raw "$TMP/$2.raw" --timeout-ms $((QUERY_TIMEOUT_SECONDS * 1000)) --warm-up 'test. SOA' >"$RESULTS/$2.json" ||
    die "seq-client $2 failed"
  alive_or_die "$1" "${LOGS[$1]}"
  log "$2 ($1): $(node -e 'const r = JSON.parse(process.argv[1]); console.log(`p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, lost ${r.lost}`)' "$(cat "$RESULTS/$2.json")")"
}
for mode in "${MODES[@]}"; do pass "$mode" "warmup-$mode" "$TMP/warmup.txt"; done
spd_before=$(ip -n "$NETNS" xfrm policy count)
pass none set1 "$TMP/set1.txt"
pass xfrm set2 "$TMP/set2.txt"
pass xfrm set3 "$TMP/set3.txt"
pass none set4 "$TMP/set4.txt"
spd_after=$(ip -n "$NETNS" xfrm policy count)
errors=$(grep -c '"level":50' "${LOGS[xfrm]}" || true)

node --input-type=module - "$TMP" "$OUT_JSON" "$spd_before" "$spd_after" "$errors" "$ZONES" <<'EOF'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
const [tmp, out, spdBefore, spdAfter, errors, zones] = process.argv.slice(2);
const latencies = (set) => readFileSync(`${tmp}/${set}.raw`, 'utf8').split('\n')
  .map((line) => line.split(' ')).filter((w) => w[1] === 'NOERROR').map((w) => Number(w[4]) * 1000);
const ad = (set) => readFileSync(`${tmp}/${set}.raw`, 'utf8').split('\n').filter((l) => / ad$/.test(l)).length;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return Math.round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] * 1000) / 1000; };
const stats = (sets) => { const xs = sets.flatMap(latencies); return { n: xs.length, ad: sets.reduce((n, s) => n + ad(s), 0), p50Ms: pct(xs, 0.5), p90Ms: pct(xs, 0.9), p99Ms: pct(xs, 0.99) }; };
const none = stats(['set1', 'set4']);
const xfrm = stats(['set2', 'set3']);
const count = (text) => { const m = /IN\s+(\d+)\s+OUT\s+(\d+)/.exec(text); return m ? { in: Number(m[1]), out: Number(m[2]) } : text; };
const report = {
  keyedNamesPerPass: Number(zones), none, xfrm,
  ratioP50: Math.round((xfrm.p50Ms / none.p50Ms) * 100) / 100,
  addedP50Ms: Math.round((xfrm.p50Ms - none.p50Ms) * 1000) / 1000,
  spdEntries: { beforeMeasuredPasses: count(spdBefore), after: count(spdAfter) },
  xfrmErrorsLogged: Number(errors),
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
EOF
