# What keys.sh needs beyond lib.sh (sourced after it): two oedns side by side (ports, start, clean-up),
# one sequential pass with seq-client.mjs, and the host facts without Unbound. The delay proxy
# (start_delay_proxy, UPSTREAM) and named's server counters (named_nsstat) are lib.sh's. Sourcing
# it replaces lib.sh's EXIT trap with keys_cleanup, which ends in lib.sh's cleanup.
# shellcheck shell=bash

# Two oedns run side by side, named by their mode: plain (--no-keys) and keys. Only one is
# measured at a time; the other sits idle. PIDS, PORTS and LOGS hold them under those names, so
# lib.sh's wait_for_answer, run_dnsperf and measure_begin/measure_end take "plain" or "keys" as
# the server. lib.sh's cleanup stops only oedns, unbound, proxy and named, hence keys_cleanup.
readonly OEDNS_MODES=(plain keys)

# choose_keys_ports: PORTS[named], STATS_PORT (named's statistics channel), PORTS[plain],
# PORTS[keys] and PORTS[proxy] (delay-proxy.mjs, used only with an upstream delay); lib.sh's
# choose_ports names its ports oedns and unbound.
choose_keys_ports() {
  local named plain keys proxy
  read -r named STATS_PORT plain keys proxy < <(node "$BENCH_DIR/free-port.mjs" 5)
  [[ -n $proxy ]] || die "could not choose free ports"
  PORTS=([named]=$named [plain]=$plain [keys]=$keys [proxy]=$proxy)
}


# start_oedns_as MODE LEVEL FLAG...: as lib.sh's start_oedns (same command line, as users start
# it), but listening on PORTS[MODE], forwarding to UPSTREAM, logging at LEVEL into LOGS[MODE] and
# kept as PIDS[MODE].
# lib.sh's start_oedns fixes --log-level warn, and oedns refuses a second --log-level.
start_oedns_as() {
  local mode=$1 level=$2
  shift 2
  # shellcheck disable=SC2086 # BENCH_OEDNS_ARGS is a list of extra flags
  (cd "$REPO_DIR" && exec node --max-old-space-size=512 dist/cli.js serve --listen "$ADDRESS:${PORTS[$mode]}" \
    --upstream "$ADDRESS:${PORTS[$UPSTREAM]}" --log-level "$level" "$@" ${BENCH_OEDNS_ARGS:-}) \
    </dev/null >"${LOGS[$mode]}" 2>&1 &
  PIDS[$mode]=$!
}

# keys_cleanup: the EXIT trap: stops both oedns and the delay proxy by PID, then lib.sh's cleanup
# (named, the temp directory) with the status the script exits with. Without errexit: the (exit)
# that hands that status on to cleanup would otherwise end the trap before cleanup runs.
keys_cleanup() {
  local status=$? mode
  set +e
  for mode in "${OEDNS_MODES[@]}"; do
    if [[ -n ${PIDS[$mode]:-} ]]; then
      stop_process "$mode"
      log "stopped oedns ($mode): $STOPPED"
    fi
  done
  if [[ -n ${PIDS[proxy]:-} ]]; then
    stop_process proxy
    log "stopped delay proxy: $STOPPED"
  fi
  (exit "$status")
  cleanup
}
trap keys_cleanup EXIT

# seq_pass LABEL SERVER FILE: the names of FILE one at a time (seq-client.mjs, with DO), into
# RESULTS/LABEL.json, with the upstream and CPU facts of measure_end. The client first asks
# test. SOA 20 times (cached by the readiness probe, and named's own zone for named) to warm
# itself up.
seq_pass() {
  local label=$1 server=$2 file=$3
  measure_begin "$server"
  node "$BENCH_DIR/seq-client.mjs" --server "$ADDRESS" --port "${PORTS[$server]}" \
    --queries "$file" --raw "$TMP/seq-client-$label.txt" \
    --timeout-ms $((QUERY_TIMEOUT_SECONDS * 1000)) --warm-up 'test. SOA' \
    >"$RESULTS/$label.json" || die "seq-client $label failed"
  measure_end "$label" "$server"
}

# record_keys_host_facts: lib.sh's record_host_facts without Unbound, which keys.sh does not run.
record_keys_host_facts() {
  fact cpus "$(nproc)"
  fact kernel "$(uname -r)"
  fact version.node "$(node --version)"
  fact version.named "$("$NAMED" -v)"
  fact version.dnsperf "$(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
  fact version.openssl "$(openssl version | cut -d' ' -f1-2)"
}
