# The lab's names, addresses and paths, logging, and processes started and stopped by PID.
# Sourced by lab.sh (and by the other lab/lib files through it).
#
# Everything the lab writes lives under LAB_DIR, /run (network namespaces) and /etc/netns
# (each namespace's resolv.conf): inside User-Mode-Linux the root file system is the host's,
# read-only, and only those are writable.
# shellcheck shell=bash

LAB_PREFIX=${LAB_PREFIX:-}
LAB_DIR=${LAB_DIR:-/tmp/oedns-lab}
[[ $LAB_PREFIX =~ ^[A-Za-z0-9_-]{0,32}$ ]] || {
  echo "lab: LAB_PREFIX may hold only letters, digits, _ and - (at most 32), not '$LAB_PREFIX'" >&2
  exit 2
}
# Upper bound on any one wait (a server answering, a socket appearing). Inside User-Mode-Linux
# everything is 5-10 times slower than on the host, hence the margin.
LAB_START_TIMEOUT=${LAB_START_TIMEOUT:-60}
readonly STOP_TIMEOUT_SECONDS=10

LAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(dirname "$LAB_HOME")
readonly LAB_HOME REPO_DIR
readonly CLI=$REPO_DIR/dist/cli.js
readonly CHARON=/usr/lib/ipsec/charon
readonly ZONE=lab.example
readonly NODES=(dns alice bob)
readonly HOSTS=(alice bob)

# Documentation ranges (RFC 5737, RFC 3849), one /24 and one /64 on the bridge.
declare -rA ADDR4=([dns]=192.0.2.53 [alice]=192.0.2.10 [bob]=192.0.2.20 [plain]=192.0.2.21 [bogus]=192.0.2.22)
declare -rA ADDR6=([dns]=2001:db8::53 [alice]=2001:db8::10 [bob]=2001:db8::20 [plain]=2001:db8::21 [bogus]=2001:db8::22)
# What each node's processes are, in the order they start (and stop in reverse).
declare -rA PROCESSES=([dns]=named [alice]="charon oedns" [bob]="charon oedns")

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

ns_of() { printf '%s%s\n' "$LAB_PREFIX" "$1"; }
node_dir() { printf '%s/%s\n' "$LAB_DIR" "$1"; }

# check_node NODE [ALLOWED...]: dies unless NODE is one of ALLOWED (default: every node).
check_node() {
  local node=${1:-} allowed=("${@:2}") n
  ((${#allowed[@]})) || allowed=("${NODES[@]}")
  for n in "${allowed[@]}"; do [[ $node == "$n" ]] && return 0; done
  die "unknown node '$node' (one of: ${allowed[*]})"
}

require_root() { ((EUID == 0)) || die "the lab needs root (network namespaces, charon, port 53)"; }

require_built() {
  [[ -f $CLI ]] || die "$CLI is missing: build oedns first (npx tsc -p tsconfig.json in $REPO_DIR)"
}

# The lab's own mark in LAB_DIR: down deletes LAB_DIR only when it holds it, so a LAB_DIR set to
# a directory the lab did not make is never removed.
readonly LAB_MARK=.oedns-lab

# claim_lab_dir: checks LAB_DIR (absolute; missing, empty, or a lab's) and marks it as the lab's.
claim_lab_dir() {
  [[ $LAB_DIR == /?* && $LAB_DIR != *..* ]] || die "LAB_DIR must be an absolute path, not '$LAB_DIR'"
  if [[ -d $LAB_DIR && ! -e $LAB_DIR/$LAB_MARK && -n $(ls -A "$LAB_DIR") ]]; then
    die "$LAB_DIR exists and is not a lab's directory: choose another LAB_DIR"
  fi
  mkdir -p "$LAB_DIR"
  : >"$LAB_DIR/$LAB_MARK"
}

# remove_lab_dir: deletes LAB_DIR if it is a lab's (its mark, or an env file the lab wrote).
remove_lab_dir() {
  [[ -d $LAB_DIR ]] || return 0
  if [[ -e $LAB_DIR/$LAB_MARK ]] || head -n 1 "$LAB_DIR/env" 2>/dev/null | grep -q '^# oedns lab '; then
    rm -rf -- "$LAB_DIR"
  else
    log "left $LAB_DIR: not a lab's directory"
  fi
}

# netns_exists NAME
netns_exists() { [[ -e /run/netns/$1 ]]; }

# lab_is_up: an env file and every namespace it names.
lab_is_up() {
  local node
  [[ -f $LAB_DIR/env ]] || return 1
  for node in "${NODES[@]}"; do netns_exists "$(ns_of "$node")" || return 1; done
}

require_lab() {
  [[ -f $LAB_DIR/env ]] || die "no lab in $LAB_DIR (start one with: lab/lab.sh up)"
  lab_is_up || die "the lab in $LAB_DIR has lost its namespaces (lab/lab.sh down, then up)"
}

# --- processes ---------------------------------------------------------------------------------
# Each process the lab starts has its PID in LAB_DIR/NODE/NAME.pid. Before a signal is sent the
# PID is checked against /proc (its command line must still name the program), so a PID reused by
# the system after a crash is never signalled.

pid_file() { printf '%s/%s.pid\n' "$(node_dir "$1")" "$2"; }

# cmdline_mark NODE NAME: what the process' command line must contain (its config or socket
# path where it has one, so one node's PID is never taken for another's).
cmdline_mark() {
  case $2 in
    named) printf '%s\n' "$(node_dir "$1")/named.conf" ;;
    charon) printf '%s\n' "$CHARON" ;;
    oedns) printf '%s\n' "$(node_dir "$1")/control.sock" ;;
    *) die "unknown process $2" ;;
  esac
}

# recorded_pid NODE NAME: the PID in NODE/NAME.pid; fails if there is none.
recorded_pid() {
  local file pid
  file=$(pid_file "$1" "$2")
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$pid"
}

# running PID: the process exists and is not a zombie.
running() { [[ -e /proc/$1 && $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# live_pid NODE NAME: prints the recorded PID if that process still runs the program it was started
# for (checked before any signal); fails otherwise. Right after a start the PID may still be the
# forked shell that is about to exec it: use `running` to watch a start.
live_pid() {
  local pid cmdline
  pid=$(recorded_pid "$1" "$2") || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$(cmdline_mark "$1" "$2")"* ]] || return 1
  printf '%s\n' "$pid"
}

# stop_process NODE NAME [SIGNAL]: SIGNAL (default TERM) to the recorded PID, then waits for it to
# go (SIGKILL after STOP_TIMEOUT_SECONDS). The PID file goes too. Quiet when nothing runs.
stop_process() {
  local node=$1 name=$2 signal=${3:-TERM} pid deadline
  if pid=$(live_pid "$node" "$name"); then
    kill "-$signal" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT_SECONDS))
    while running "$pid"; do
      if ((SECONDS >= deadline)); then
        log "$node/$name ($pid) did not stop on SIG$signal within ${STOP_TIMEOUT_SECONDS} s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + STOP_TIMEOUT_SECONDS))
      fi
      sleep 0.05
    done
    # Our own child (role, or a start that failed in this shell) is reaped here; others by init.
    wait "$pid" 2>/dev/null || true
    log "stopped $node/$name ($pid, SIG$signal)"
  fi
  rm -f -- "$(pid_file "$node" "$name")"
}

# wait_until SECONDS WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds; dies after SECONDS.
wait_until() {
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || die "$what: not within ${limit} s"
    sleep 0.1
  done
}

# --- the env file ------------------------------------------------------------------------------
# write_env: LAB_DIR/env, sourceable: names, addresses, paths and the PIDs running now. Rewritten
# whenever a PID changes.
write_env() {
  local node name pid var
  {
    printf '# oedns lab (lab/lab.sh), written %s\n' "$(date -u +%FT%TZ)"
    printf 'LAB_DIR=%q\nLAB_PREFIX=%q\nLAB_REPO=%q\nLAB_ZONE=%q\n' "$LAB_DIR" "$LAB_PREFIX" "$REPO_DIR" "$ZONE"
    printf 'LAB_TRUST_ANCHOR=%q\n' "$LAB_DIR/root.ds"
    for node in "${NODES[@]}"; do
      var=${node^^}
      printf '%s_NS=%q\n%s_DIR=%q\n' "$var" "$(ns_of "$node")" "$var" "$(node_dir "$node")"
      printf '%s_IPV4=%q\n%s_IPV6=%q\n' "$var" "${ADDR4[$node]}" "$var" "${ADDR6[$node]}"
      for name in ${PROCESSES[$node]}; do
        pid=$(live_pid "$node" "$name") || pid=
        printf '%s_%s_PID=%q\n' "$var" "${name^^}" "$pid"
      done
    done
    for node in "${HOSTS[@]}"; do
      var=${node^^}
      printf '%s_VICI=%q\n%s_CONTROL=%q\n' "$var" "$(node_dir "$node")/charon.vici" "$var" "$(node_dir "$node")/control.sock"
    done
    printf 'PLAIN_IPV4=%q\nPLAIN_IPV6=%q\nBOGUS_IPV4=%q\nBOGUS_IPV6=%q\n' \
      "${ADDR4[plain]}" "${ADDR6[plain]}" "${ADDR4[bogus]}" "${ADDR6[bogus]}"
  } >"$LAB_DIR/env.$$"
  # Renamed into place: two restarts at once each write a whole file, and readers never see half.
  mv -f -- "$LAB_DIR/env.$$" "$LAB_DIR/env"
}
