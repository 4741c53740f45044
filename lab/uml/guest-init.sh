#!/bin/bash
# PID 1 of the User-Mode-Linux guest that lab/uml/run.sh boots (not meant to be run by hand).
# The root is the host's / (hostfs, read-only). This script makes the writable places a lab needs,
# loads the kernel modules for ESP, veth and bridges, runs the job run.sh wrote (job.sh), writes
# the job's exit status to RESULTS/uml-run/exit-status and powers the guest off. The kernel hands
# it `uml_env=PATH` (the job's settings) as an environment variable.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8 TERM=dumb
umask 022

say() { echo "uml-guest: $*"; }
halt_now() {
  sync
  poweroff -f >/dev/null 2>&1
  echo o > /proc/sysrq-trigger
  sleep 10
}
die() {
  say "FAILED: $*"
  [ -n "${run_dir:-}" ] && [ -d "$run_dir" ] && echo "$*" >> "$run_dir/guest-error"
  halt_now
}

mount -t proc proc /proc || die "cannot mount /proc"
mount -t sysfs sysfs /sys || die "cannot mount /sys"
# CONFIG_DEVTMPFS_MOUNT normally mounted /dev already.
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev || die "cannot mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts || die "cannot mount /dev/pts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || die "cannot mount /dev/shm"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
# The job's settings: read them before the tmpfs mounts below can hide the file.
[ -n "${uml_env:-}" ] && [ -r "$uml_env" ] || die "no job settings (uml_env=${uml_env:-unset})"
# shellcheck source=/dev/null
. "$uml_env"
unset uml_env
mount -t tmpfs -o mode=755 tmpfs /run || die "cannot mount /run"
mkdir -p /run/netns /run/lock /run/user
mount -t tmpfs -o mode=1777 tmpfs /tmp || die "cannot mount /tmp"
mount -t tmpfs -o mode=1777 tmpfs /var/tmp || die "cannot mount /var/tmp"
# `ip netns exec NAME` bind-mounts /etc/netns/NAME/* over /etc: give it a writable /etc/netns
# (the empty directory exists on the host; run.sh creates it).
mount -t tmpfs -o mode=755 tmpfs /etc/netns || die "cannot mount /etc/netns"
mount -t hostfs -o ro,/usr/lib/uml/modules hostfs /lib/modules || die "cannot mount the UML modules on /lib/modules"
# The repository, when it lies under a directory the tmpfs mounts above just hid (a clone in
# /tmp, as a CI machine may make): read-only at its host path again.
if [ ! -d "$UML_REPO/lab/uml" ]; then
  mkdir -p "$UML_REPO" && mount -t hostfs -o "ro,$UML_REPO" hostfs "$UML_REPO" || die "cannot mount the repository $UML_REPO"
fi
# The results directory and the --rw directories, writable, at their host paths; mounted after
# the tmpfs mounts, which would hide them (they may well be under /tmp on the host).
for d in "$UML_RESULTS" $UML_RW_DIRS; do
  mkdir -p "$d" && mount -t hostfs -o "$d" hostfs "$d" || die "cannot mount $d writable"
done
run_dir=$UML_RESULTS/uml-run
[ -r "$run_dir/job.sh" ] || die "no $run_dir/job.sh"

read -r up_kernel _ < /proc/uptime
echo oedns-uml > /proc/sys/kernel/hostname
# ipv6 is a module in this kernel: load it before anything creates a namespace. Then what ESP
# (AES-GCM/CCM/CBC/CTR, ChaCha20-Poly1305, HMAC-SHA1/2, the default RNG), veth, bridges and
# charon's kernel interface need, and any extra modules from run.sh --modules.
modules=(ipv6 xfrm_user xfrm_algo esp4 esp6 xfrm4_tunnel xfrm6_tunnel tunnel4 tunnel6 veth bridge dummy tun
  gcm ghash-generic ctr seqiv echainiv authenc hmac cbc sha512_generic chacha20poly1305 ccm cmac xcbc
  drbg jitterentropy_rng ansi_cprng)
# shellcheck disable=SC2206
modules+=(${UML_MODULES:-})
modprobe -a "${modules[@]}" || die "modprobe failed"
# The kernel runs modprobe for every crypto algorithm name it has not instantiated yet (several
# per new ESP transform, each spawn 100-300 ms inside UML: the first ESP SA took 1-1.6 s instead of
# 0.07 s). Everything needed is loaded above, so on-demand loading is off unless run.sh --modprobe.
if [ "${UML_AUTOLOAD:-0}" != 1 ]; then
  echo /nonexistent/modprobe-disabled-by-lab-uml > /proc/sys/kernel/modprobe
fi
ip link set lo up || die "cannot bring lo up"

read -r up_start _ < /proc/uptime
say "booted in ${up_start}s (modules from ${up_kernel}s); running: $(cat "$run_dir/command.txt")"
# The job's output goes to the console and into output.log. Only the job is waited for: a daemon
# it left behind may hold the pipe open, so tee gets at most two seconds more.
env -i PATH="$PATH" HOME="$HOME" LANG="$LANG" TERM="$TERM" bash "$run_dir/job.sh" > >(tee "$run_dir/output.log") 2>&1 < /dev/null
status=$?
tee_pid=$!
read -r up_end _ < /proc/uptime
for _ in $(seq 20); do kill -0 "$tee_pid" 2>/dev/null || break; sleep 0.1; done
echo "guest up after ${up_start}s incl. $(awk -v a="$up_kernel" -v b="$up_start" 'BEGIN { printf "%.1f", b - a }')s for modules, command $(awk -v a="$up_start" -v b="$up_end" 'BEGIN { printf "%.1f", b - a }')s" > "$run_dir/timing"
dmesg > "$run_dir/dmesg.log" 2>&1
echo "$status" > "$run_dir/exit-status"
halt_now
