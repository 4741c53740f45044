#!/usr/bin/env bash
# Runs one command inside User-Mode-Linux, where the kernel has ESP (this machine's kernel has
# XFRM but no ESP and no modules; see /work/shared/notes/ipsec-lab-facts.md).
#
#   lab/uml/run.sh [--timeout SECONDS] [--mem SIZE] [--results DIR] [--rw DIR]... \
#                  [--env NAME=VALUE]... [--modules 'MOD...'] [--modprobe] -- CMD [ARGS...]
#
# The guest's root is the host's / through hostfs, read-only, so CMD and everything it uses
# (node, node_modules, dist/, BIND, charon, tcpdump) are the host's own files. CMD runs as root
# with cwd = this repository (same path in the guest), stdout and stderr merged, streamed to this
# script's stdout and saved in RESULTS/uml-run/output.log. Writable in the guest: tmpfs on /run,
# /tmp, /var/tmp, /etc/netns, /dev/shm; the results directory (default: a fresh temporary
# directory, printed; exported to CMD as UML_RESULTS) and each --rw DIR (hostfs, same path).
# Environment: CMD gets a clean environment (PATH, HOME=/tmp, LANG, UML_RESULTS) plus every host
# variable named LAB_* or OEDNS_*, plus each --env NAME=VALUE.
#
# Kernel modules: the guest loads ipv6, xfrm_user, esp4, esp6, veth, bridge, dummy, tun and the
# crypto ESP needs (guest-init.sh has the list), plus --modules; then it turns the kernel's
# on-demand module loading off, which costs 100-300 ms per lookup inside UML. --modprobe keeps it
# on (slower, but a module nobody listed still loads).
#
# Host environment: UML_KERNEL replaces /usr/bin/linux.uml; UML_EXTRA_CMDLINE adds kernel
# parameters (words, e.g. 'loglevel=7').
#
# Exit status: CMD's own status. 124 if the guest ran out of time (--timeout, default 900 s, for
# the whole boot), 125 if the guest never reported a status (boot failure, kernel panic, a guest
# init error) or on a usage error.
#
# Needs: user-mode-linux (/usr/bin/linux.uml) and kmod (modprobe in the guest); the UML kernel's
# modules come from /usr/lib/uml/modules. The guest init mounts them on /lib/modules and a tmpfs
# on /etc/netns; both mount points must exist on the read-only root, so this script creates the
# empty directories /lib/modules and /etc/netns on the host if they are missing (harmless there:
# `ip netns` creates /etc/netns itself when needed).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
uml=${UML_KERNEL:-/usr/bin/linux.uml}
modules=/usr/lib/uml/modules
timeout_s=900
mem=2G
results=''
rw_dirs=()
extra_env=()
modules_extra=''
autoload=0

usage() {
  sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 125
}
help() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 0
}
die() { echo "uml: $*" >&2; exit 125; }

while [ $# -gt 0 ]; do
  case $1 in
    --timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
    --mem) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
    --results) [ $# -ge 2 ] || usage; results=$2; shift 2 ;;
    --rw) [ $# -ge 2 ] || usage; rw_dirs+=("$2"); shift 2 ;;
    --modules) [ $# -ge 2 ] || usage; modules_extra="$modules_extra $2"; shift 2 ;;
    --modprobe) autoload=1; shift ;;
    --env) [ $# -ge 2 ] || usage; [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env wants NAME=VALUE, not '$2'"; extra_env+=("$2"); shift 2 ;;
    --) shift; break ;;
    -h|--help) help ;;
    *) usage ;;
  esac
done
[ $# -gt 0 ] || usage
[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds, not '$timeout_s'"
[[ $mem =~ ^[0-9]+[KkMmGg]?$ ]] || die "--mem wants a size like 1536M or 2G, not '$mem'"
[ -x "$uml" ] || die "$uml is missing (apt-get install user-mode-linux)"
command -v modprobe >/dev/null || [ -x /usr/sbin/modprobe ] || die "modprobe is missing (apt-get install kmod)"
kversion=$("$uml" --version 2>/dev/null | head -n1)
[ -d "$modules/$kversion" ] || die "no modules for UML kernel $kversion in $modules"

for d in /lib/modules /etc/netns; do
  [ -d "$d" ] || mkdir -p "$d" || die "cannot create the mount point $d on the host (run as root once)"
done

if [ -z "$results" ]; then
  results=$(mktemp -d "${TMPDIR:-/tmp}/oedns-uml.XXXXXX")
  echo "uml: results in $results" >&2
fi
mkdir -p "$results"
results=$(cd "$results" && pwd -P)
# Paths reach the guest on the kernel command line and as hostfs mount options: keep them plain.
plain='^/[A-Za-z0-9._/+-]*$'
[[ $results =~ $plain ]] || die "results path '$results' has characters the guest cannot take"
for i in "${!rw_dirs[@]}"; do
  [ -d "${rw_dirs[$i]}" ] || die "--rw ${rw_dirs[$i]}: no such directory"
  rw_dirs[$i]=$(cd "${rw_dirs[$i]}" && pwd -P)
  [[ ${rw_dirs[$i]} =~ $plain ]] || die "--rw path '${rw_dirs[$i]}' has characters the guest cannot take"
done
[[ $repo =~ $plain ]] || die "repository path '$repo' has characters the guest cannot take"

run_dir=$results/uml-run
rm -rf "$run_dir"
mkdir -p "$run_dir/umid"

# The job: the guest init sources guest.env (settings for itself) and runs job.sh with bash.
{
  printf 'UML_REPO=%q\n' "$repo"
  printf 'UML_RESULTS=%q\n' "$results"
  printf 'UML_RW_DIRS=%q\n' "${rw_dirs[*]:-}"
  printf 'UML_MODULES=%q\n' "$modules_extra"
  printf 'UML_AUTOLOAD=%q\n' "$autoload"
} > "$run_dir/guest.env"
{
  echo '# Written by lab/uml/run.sh; run by lab/uml/guest-init.sh inside the guest.'
  printf 'export UML_RESULTS=%q\n' "$results"
  for name in $(compgen -e); do
    [[ $name =~ ^(LAB|OEDNS)_ ]] && printf 'export %s=%q\n' "$name" "${!name}"
  done
  for kv in "${extra_env[@]}"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
  printf 'cd %q || exit 125\n' "$repo"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} > "$run_dir/job.sh"
printf '%s\n' "$*" > "$run_dir/command.txt"

pid=''
# group_alive PGID: a process of that group still exists.
group_alive() { kill -0 -- "-$1" 2>/dev/null; }
cleanup() {
  # timeout(1) leads a process group of its own; the UML kernel calls setsid() and leads another
  # one with its helper processes (its pid is in uml_dir/UMID/pid while it runs). timeout passes
  # SIGTERM on to the kernel, which then shuts down; SIGKILL for whatever is left after 5 s.
  if [ -n "$pid" ]; then
    local uml_pid='' i
    uml_pid=$(cat "$run_dir"/umid/*/pid 2>/dev/null | head -n1) || true
    [[ $uml_pid =~ ^[0-9]+$ ]] && [ "$(readlink "/proc/$uml_pid/exe" 2>/dev/null)" = "$(readlink -f "$uml")" ] || uml_pid=''
    if group_alive "$pid"; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      for i in $(seq 50); do
        group_alive "$pid" || { [ -n "$uml_pid" ] && group_alive "$uml_pid"; } || break
        sleep 0.1
      done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    if [ -n "$uml_pid" ] && group_alive "$uml_pid"; then kill -KILL -- "-$uml_pid" 2>/dev/null || true; fi
    pid=''
  fi
  rm -rf "$run_dir/umid"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

start=$(date +%s.%N)
# UML sets O_NONBLOCK on its console's file description; give it a pipe of its own (cat) so our
# stdout, shared with the caller, stays blocking. loglevel=3 keeps the kernel's own chatter off
# the console (the guest saves dmesg in uml-run/dmesg.log).
set +e
# shellcheck disable=SC2086 # UML_EXTRA_CMDLINE is a list of words
timeout --kill-after=10 "$timeout_s" "$uml" \
  mem="$mem" quiet loglevel=3 ${UML_EXTRA_CMDLINE:-} root=/dev/root rootfstype=hostfs rootflags=/ ro \
  con=null con0=null,fd:1 ssl=null uml_dir="$run_dir/umid" \
  init="$repo/lab/uml/guest-init.sh" uml_env="$run_dir/guest.env" \
  </dev/null > >(cat) 2>&1 &
pid=$!
wait "$pid"
rc=$?
set -e
cleanup
end=$(date +%s.%N)
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

if [ -s "$run_dir/exit-status" ]; then
  status=$(cat "$run_dir/exit-status")
  timing=''
  [ -s "$run_dir/timing" ] && timing=" ($(cat "$run_dir/timing"))"
  echo "uml: command exited with status $status after ${elapsed}s in all$timing; results in $results" >&2
  [[ $status =~ ^[0-9]+$ ]] || die "bad exit status '$status' from the guest"
  exit "$status"
fi
timed_out=$(awk -v a="$start" -v b="$end" -v t="$timeout_s" 'BEGIN { print (b - a >= t) ? 1 : 0 }')
if [ "$rc" = 124 ] || { [ "$rc" = 137 ] && [ "$timed_out" = 1 ]; }; then
  echo "uml: FAILED: the guest did not finish within ${timeout_s}s (--timeout); killed it. Output so far: $run_dir/output.log" >&2
  exit 124
fi
[ -s "$run_dir/guest-error" ] && echo "uml: the guest init said: $(cat "$run_dir/guest-error")" >&2
echo "uml: FAILED: the guest never reported an exit status (boot failure or guest init error; linux.uml exited $rc after ${elapsed}s). Results: $results" >&2
exit 125
