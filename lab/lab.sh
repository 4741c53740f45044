#!/usr/bin/env bash
# The oedns lab: a small internet in network namespaces, with a signed DNS hierarchy, two hosts
# that each run strongSwan's charon and oedns (vici backend), and scenarios that check it.
#
#   alice (192.0.2.10, 2001:db8::10) ─┐
#                                     ├─ br0 in dns (192.0.2.53, 2001:db8::53): named, ., example., lab.example.
#   bob   (192.0.2.20, 2001:db8::20) ─┘  bob also holds plain (.21/::21) and bogus (.22/::22)
#
# Run `lab/lab.sh help` for the subcommands. Needs root and a built oedns (dist/cli.js). Writes only
# under LAB_DIR (default /tmp/oedns-lab), /run (namespaces) and /etc/netns (their resolv.conf), so
# it also runs inside User-Mode-Linux with the host's / mounted read-only.
set -euo pipefail

LAB_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)
# shellcheck source=lab/lib/common.sh
source "$LAB_LIB/common.sh"
# shellcheck source=lab/lib/net.sh
source "$LAB_LIB/net.sh"
# shellcheck source=lab/lib/zones.sh
source "$LAB_LIB/zones.sh"
# shellcheck source=lab/lib/nodes.sh
source "$LAB_LIB/nodes.sh"

usage() {
  cat <<EOF
usage: lab/lab.sh COMMAND [ARGS]

  up                      namespaces ${LAB_PREFIX}dns, ${LAB_PREFIX}alice, ${LAB_PREFIX}bob, zones, named, charon and oedns;
                          waits until each answers (cleans up if anything fails)
  down                    stops what up started (by PID), deletes the namespaces and LAB_DIR;
                          safe to run twice and after a failed up
  demo                    up, then shows DNS, ping, SAs, the kernel's policies and oedns status;
                          leaves the lab up
  test [--esp|--no-esp] [--only N,M]
                          the scenarios (lab/test.mjs), TAP-like, results in LAB_DIR/results.json.
                          Uses the lab that is up; when none is, brings one up and takes it down
                          after. --esp: the kernel has ESP (User-Mode-Linux); --no-esp: it has not
                          (IKE only); default: detected. Exit 0 only if every scenario passed.
  figures [--runs N]      the lab's figures (lab/figures.mjs): query to policy, query to answer,
                          first packet to first ESP, medians of N runs (default 5), with and without
                          initiate: on-answer; needs a lab that is up. For ESP run it inside UML:
                          lab/uml/run.sh -- bash -c 'lab/lab.sh up && lab/lab.sh figures; lab/lab.sh down'
  exec NODE CMD...        CMD in NODE's namespace (alice and bob resolve through their own oedns)
  swanctl NODE ARGS...    swanctl ARGS against NODE's charon (e.g. swanctl alice --list-sas)
  status NODE [--json]    oedns status of NODE's oedns
  oedns-restart NODE [--kill]
                          stops NODE's oedns (SIGTERM, or SIGKILL with --kill), starts it again
  zone normal|wrongkey    which lab.example named serves (wrongkey: bob's IPSECKEY holds another key)
  logs NODE [-f]          NODE's logs (the last lines, or followed with -f)
  zones                   (re)makes the keys and signed zones in LAB_DIR (part of up)
  role dns|alice|bob      runs one node in the current network namespace, in the foreground,
                          from a LAB_DIR made by zones (for containers)

NODE is dns, alice or bob (exec, logs) or alice or bob (swanctl, status, oedns-restart).
Environment: LAB_DIR (default /tmp/oedns-lab), LAB_PREFIX (namespace name prefix, default none),
LAB_START_TIMEOUT (seconds any start may take, default 60).
EOF
}

# --- up / down -----------------------------------------------------------------------------------

UP_DONE=0
up_failed() {
  local status=$?
  trap - EXIT
  if [[ $UP_DONE != 1 ]]; then
    log "up failed (status $status); cleaning up"
    lab_down || true
  fi
  exit "$status"
}

cmd_up() {
  require_root
  require_built
  [[ ! -e $LAB_DIR/env ]] || die "a lab is up in $LAB_DIR already (lab/lab.sh down first)"
  net_check_free
  claim_lab_dir
  local started=$SECONDS node
  trap up_failed EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  for node in "${NODES[@]}"; do
    rm -rf -- "$(node_dir "$node")"
    mkdir -p "$(node_dir "$node")"
  done
  net_up
  etc_netns_up
  write_env
  zones_make
  for node in "${NODES[@]}"; do node_start "$node"; done
  write_env
  UP_DONE=1
  trap - EXIT INT TERM
  log "lab up in $((SECONDS - started)) s: $LAB_DIR/env; try: lab/lab.sh exec alice ping -c3 bob.$ZONE"
}

lab_down() {
  local node
  for node in bob alice dns; do
    [[ -d $(node_dir "$node") ]] && node_stop "$node"
  done
  net_down
  etc_netns_down
  remove_lab_dir
}

cmd_down() {
  require_root
  lab_down
  log "lab down"
}

# --- one node ------------------------------------------------------------------------------------

cmd_exec() {
  (($# >= 2)) || die "usage: lab/lab.sh exec NODE CMD..."
  check_node "$1"
  require_lab
  local ns
  ns=$(ns_of "$1")
  shift
  exec ip netns exec "$ns" "$@"
}

cmd_swanctl() {
  (($# >= 1)) || die "usage: lab/lab.sh swanctl alice|bob ARGS..."
  check_node "$1" "${HOSTS[@]}"
  local dir
  dir=$(node_dir "$1")
  shift
  exec swanctl "$@" --uri "unix://$dir/charon.vici"
}

cmd_status() {
  (($# >= 1)) || die "usage: lab/lab.sh status alice|bob [--json]"
  check_node "$1" "${HOSTS[@]}"
  local dir
  dir=$(node_dir "$1")
  shift
  exec node "$CLI" status --control-socket "$dir/control.sock" "$@"
}

cmd_oedns_restart() {
  (($# >= 1)) || die "usage: lab/lab.sh oedns-restart alice|bob [--kill]"
  check_node "$1" "${HOSTS[@]}"
  require_lab
  local node=$1 signal=TERM
  [[ ${2:-} == --kill ]] && signal=KILL
  [[ -z ${2:-} || ${2:-} == --kill ]] || die "unknown option ${2:-}"
  printf '\n' >>"$(node_dir "$node")/oedns.log"
  stop_process "$node" oedns "$signal"
  oedns_start "$node"
  write_env
}

cmd_logs() {
  (($# >= 1)) || die "usage: lab/lab.sh logs NODE [-f]"
  check_node "$1"
  local dir files=() name
  dir=$(node_dir "$1")
  for name in named.log charon.log charon.out oedns.log; do
    [[ -f $dir/$name ]] && files+=("$dir/$name")
  done
  ((${#files[@]})) || die "no logs in $dir"
  if [[ ${2:-} == -f ]]; then exec tail -n 20 -F "${files[@]}"; fi
  tail -n 40 "${files[@]}"
}

cmd_zone() {
  local variant=${1:-} dir expected
  [[ $variant == normal || $variant == wrongkey ]] || die "usage: lab/lab.sh zone normal|wrongkey"
  require_root
  require_lab
  dir=$(node_dir dns)
  cp -f -- "$dir/$ZONE.$variant.signed" "$dir/$ZONE.served.tmp"
  mv -f -- "$dir/$ZONE.served.tmp" "$dir/$ZONE.served"
  rndc_reload "$ZONE"
  expected=$(ipseckey_of "$dir/$ZONE.$variant.signed" "bob.$ZONE.")
  wait_until 10 "named serving the $variant $ZONE" served_is "$expected"
  printf '%s\n' "$variant" >"$dir/zone-variant"
  printf 'lab.example: serving %s (bob.%s IPSECKEY %s)\n' "$variant" "$ZONE" "$expected"
}

# served_is RDATA: named answers bob's IPSECKEY with RDATA.
served_is() {
  local got
  got=$(in_node dns dig @"${ADDR4[dns]}" +norec +short +time=1 +tries=1 "bob.$ZONE" IPSECKEY 2>/dev/null) && [[ $got == "$1" ]]
}

cmd_zones() {
  require_built
  claim_lab_dir
  mkdir -p "$(node_dir dns)"
  zones_make
}

# --- role: one node in the current namespace, in the foreground (containers) ---------------------

ROLE_NODE=
cmd_role() {
  (($# == 1)) || die "usage: lab/lab.sh role dns|alice|bob"
  check_node "$1"
  require_built
  local status=0
  ROLE_NODE=$1
  LAB_ROLE=1
  # Whatever ends this shell (SIGTERM from the container runtime, a failed start, a process that
  # exited) stops the node's other processes first.
  trap 'node_stop "$ROLE_NODE"' EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  node_start "$ROLE_NODE"
  log "$ROLE_NODE: running; stop with SIGTERM"
  wait -n || status=$?
  log "$ROLE_NODE: a process exited (status $status); stopping the others"
  exit "$status"
}

# --- demo ----------------------------------------------------------------------------------------

# show TITLE CMD...: prints TITLE and the command, then runs it (its failure is shown, not fatal).
show() {
  if [[ -t 1 ]]; then printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; else printf '\n== %s\n$ %s\n' "$1" "${*:2}"; fi
  "${@:2}" || printf '(exit status %d)\n' "$?"
}

cmd_demo() {
  local self=$LAB_HOME/lab.sh
  [[ -e $LAB_DIR/env ]] || "$self" up
  show "alice asks her oedns for bob: held until IKE with bob ran; with ESP the answer carries the AD flag, on a kernel without ESP it is SERVFAIL and the EDE says why (the CHILD_SA was refused; require fails closed)" \
    "$self" exec alice dig "bob.$ZONE"
  show "bob's key, as oedns validated it" \
    "$self" exec alice node "$CLI" lookup "bob.$ZONE" IPSECKEY --upstream "${ADDR4[dns]}" --trust-anchor "$LAB_DIR/root.ds"
  show "alice pings bob by name (a kernel without ESP refuses the CHILD_SA: then the pings are dropped, never sent in clear)" \
    "$self" exec alice ping -c3 -W1 "bob.$ZONE"
  show "alice's IKE and IPsec SAs (without ESP none: failing closed took the IKE_SA down)" "$self" swanctl alice --list-sas
  show "bob's IKE and IPsec SAs" "$self" swanctl bob --list-sas
  show "alice's kernel policies (charon's trap for bob, the ND bypass)" "$self" exec alice ip xfrm policy
  show "alice's kernel SAs (ESP when the kernel has it)" "$self" exec alice ip xfrm state
  show "what alice's oedns holds" "$self" status alice
  cat <<EOF

The lab stays up. Look around:
  lab/lab.sh exec alice dig bogus.$ZONE     (SERVFAIL: its IPSECKEY signature is broken)
  lab/lab.sh logs alice                     (charon and oedns logs)
  lab/lab.sh test                           (the scenarios)
Take it down with: lab/lab.sh down
EOF
}

# --- test ----------------------------------------------------------------------------------------

cmd_test() {
  require_root
  require_built
  local status=0
  export LAB_DIR LAB_PREFIX LAB_SH=$LAB_HOME/lab.sh
  if [[ -e $LAB_DIR/env ]]; then
    require_lab
    node "$LAB_HOME/test.mjs" "$@" || status=$?
  else
    log "no lab up: bringing one up for the test, and down after it"
    "$LAB_HOME/lab.sh" up
    node "$LAB_HOME/test.mjs" "$@" || status=$?
    "$LAB_HOME/lab.sh" down
  fi
  exit "$status"
}

cmd_figures() {
  require_root
  require_built
  require_lab
  export LAB_DIR LAB_PREFIX LAB_SH=$LAB_HOME/lab.sh
  node "$LAB_HOME/figures.mjs" "$@"
}

main() {
  local command=${1:-help}
  (($#)) && shift
  case $command in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    demo) cmd_demo "$@" ;;
    test) cmd_test "$@" ;;
    figures) cmd_figures "$@" ;;
    exec) cmd_exec "$@" ;;
    swanctl) cmd_swanctl "$@" ;;
    status) cmd_status "$@" ;;
    oedns-restart) cmd_oedns_restart "$@" ;;
    zone) cmd_zone "$@" ;;
    zones) cmd_zones "$@" ;;
    logs) cmd_logs "$@" ;;
    role) cmd_role "$@" ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
