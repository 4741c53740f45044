#!/usr/bin/env bash
# ESP smoke test: does this kernel carry ESP in transport mode, IPv4 and IPv6, with manual SAs
# and with two charons? Meant to run inside User-Mode-Linux (the host kernel has no ESP):
#
#   lab/uml/run.sh -- lab/uml/esp-smoke.sh
#
# Two network namespaces joined by a veth (192.0.2.1/24 + 2001:db8::1/64 and .2 / ::2, no DAD).
#  1. Manual SAs and policies with `ip xfrm` (aead rfc4106(gcm(aes)), transport mode, level
#     required); ICMPv6 neighbour discovery (types 133-136) bypasses the policies through
#     higher-priority policies without a template, or the neighbour advertisement is dropped.
#     Pings both ways, v4 and v6, with tcpdump on the veth: ESP must be seen, no plaintext echo.
#  2. The same with one charon per namespace (own /run, STRONGSWAN_CONF, vici socket, Ed25519
#     raw public keys made with openssl, conns loaded with `swanctl --load-all`): IPv4 through
#     `swanctl --initiate` (timed: the IKE time), IPv6 through a trap policy and the ping's
#     ACQUIRE. The CHILD_SAs must be INSTALLED and the pings must go as ESP.
# Prints TAP lines (ok / not ok), exits 1 if anything failed. Everything started is stopped by
# PID and the namespaces are deleted. Needs root. With UML_RESULTS set (run.sh sets it) the
# captures and charon logs are kept in $UML_RESULTS/esp-smoke.
set -uo pipefail

[ "$(id -u)" = 0 ] || { echo "esp-smoke: needs root" >&2; exit 2; }

tag=$$
nsa=smoke-a-$tag
nsb=smoke-b-$tag
work=$(mktemp -d /tmp/esp-smoke.XXXXXX)
keep=${UML_RESULTS:+$UML_RESULTS/esp-smoke}
a4=192.0.2.1 b4=192.0.2.2 a6=2001:db8::1 b6=2001:db8::2
pids=()
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...: ok if COMMAND succeeds; says how long it took
  local what=$1 start; shift
  start=$(now_ms)
  if "$@"; then ok "$what ($(ms_since "$start") ms)"; else notok "$what ($(ms_since "$start") ms)"; return 1; fi
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); } # no process: `date` costs ~50 ms in UML
ms_since() { echo $(($(now_ms) - $1)); }

stop_pid() { # SIGTERM, then SIGKILL after 3 s
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

cleanup() {
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  pids=()
  ip netns del "$nsa" 2>/dev/null
  ip netns del "$nsb" 2>/dev/null
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp -r "$work"/. "$keep"/ 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two namespaces, a veth between them, the IPv6 ND bypass policies. Every process start costs
# tens of milliseconds inside UML, so each namespace gets one `ip -batch`.
make_namespaces() {
  ip netns del "$nsa" 2>/dev/null
  ip netns del "$nsb" 2>/dev/null
  ip netns add "$nsa" && ip netns add "$nsb" || return 1
  ip -n "$nsa" link add va type veth peer name vb netns "$nsb" || return 1
  local ns dev self4 self6 type dir
  for spec in "$nsa va $a4 $a6" "$nsb vb $b4 $b6"; do
    read -r ns dev self4 self6 <<< "$spec"
    {
      echo "link set lo up"
      echo "addr add $self4/24 dev $dev"
      echo "addr add $self6/64 dev $dev nodad"
      echo "link set $dev up"
      # Neighbour discovery must not need IPsec: policies without a template (allow) for ICMPv6
      # 133-136, both directions, at a higher priority (a lower number) than anything else.
      for type in 133 134 135 136; do
        for dir in out in fwd; do
          echo "xfrm policy add dir $dir src ::/0 dst ::/0 proto ipv6-icmp type $type priority 1"
        done
      done
    } | ip -n "$ns" -batch - || return 1
  done
}

# tcpdump on vb (namespace b) into $work/NAME.txt; waits until it listens.
start_capture() {
  local name=$1
  ip netns exec "$nsb" tcpdump -i vb -n -l -Z root -s 128 > "$work/$name.txt" 2> "$work/$name.err" &
  capture_pid=$!
  pids+=("$capture_pid")
  for _ in $(seq 100); do
    grep -q 'listening on' "$work/$name.err" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
stop_capture() {
  sleep 0.3 # the last replies
  stop_pid "$capture_pid"
}

# The capture NAME shows ESP for each address pair given and no plaintext echo.
capture_has_esp() {
  local file=$work/$1.txt; shift
  local src dst
  while [ $# -gt 0 ]; do
    src=$1 dst=$2; shift 2
    grep -qE "(IP|IP6) $src > $dst: ESP\(spi=" "$file" || { echo "# no ESP from $src to $dst in $file" >&2; return 1; }
  done
}
capture_has_no_echo() {
  local file=$work/$1.txt
  if grep -E 'ICMP echo (request|reply)|ICMP6, echo (request|reply)' "$file" >&2; then return 1; fi
  return 0
}

ping_ok() { # ping_ok NS ADDRESS: two replies within 5 s
  ip netns exec "$1" ping -n -q -c 2 -i 0.2 -w 5 "$2" > "$work/ping.out" 2>&1 ||
    { sed 's/^/# /' "$work/ping.out"; return 1; }
}

# ---------------------------------------------------------------------------------------------
# 1. Manual SAs
# ---------------------------------------------------------------------------------------------
t0=$(now_ms)
check 'manual: namespaces, veth, ND bypass policies' make_namespaces

# SPI and reqid of the manual SA from one address to another (the same number).
declare -A sa_id=(["$a4>$b4"]=4097 ["$b4>$a4"]=4098 ["$a6>$b6"]=4099 ["$b6>$a6"]=4100)
manual_sas() {
  local ns src dst id self peer
  # Both namespaces hold all four SAs (one per direction and family); a key is 20 bytes,
  # AES-128 and a 4-byte salt. A template matches only states with its reqid.
  for ns in "$nsa" "$nsb"; do
    {
      for pair in "$a4 $b4" "$b4 $a4" "$a6 $b6" "$b6 $a6"; do
        read -r src dst <<< "$pair"
        id=${sa_id["$src>$dst"]}
        echo "xfrm state add src $src dst $dst proto esp spi $id reqid $id mode transport" \
          "aead rfc4106(gcm(aes)) 0x$(printf '%040x' "$id") 128"
      done
      for pair in "$a4 $b4" "$a6 $b6"; do
        read -r self peer <<< "$pair"
        [ "$ns" = "$nsb" ] && read -r peer self <<< "$pair"
        echo "xfrm policy add dir out src $self dst $peer priority 100" \
          "tmpl src $self dst $peer proto esp reqid ${sa_id["$self>$peer"]} mode transport level required"
        echo "xfrm policy add dir in src $peer dst $self priority 100" \
          "tmpl src $peer dst $self proto esp reqid ${sa_id["$peer>$self"]} mode transport level required"
      done
    } | ip -n "$ns" -batch - || return 1
  done
}
check 'manual: ESP SAs (rfc4106(gcm(aes))) and transport policies installed' manual_sas ||
  echo '# does this kernel have ESP? Run it under lab/uml/run.sh'

check 'manual: tcpdump listens on the veth' start_capture manual
check 'manual: ping a -> b (IPv4)' ping_ok "$nsa" "$b4"
check 'manual: ping b -> a (IPv4)' ping_ok "$nsb" "$a4"
check 'manual: ping a -> b (IPv6)' ping_ok "$nsa" "$b6"
check 'manual: ping b -> a (IPv6)' ping_ok "$nsb" "$a6"
stop_capture
check 'manual: the capture shows ESP both ways, IPv4 and IPv6' capture_has_esp manual "$a4" "$b4" "$b4" "$a4" "$a6" "$b6" "$b6" "$a6"
check 'manual: the capture shows no plaintext ICMP/ICMPv6 echo' capture_has_no_echo manual
check 'manual: the kernel counted ESP packets on the SAs' \
  bash -c "ip -n $nsa -s xfrm state | grep -qE '[1-9][0-9]*\(packets\)'"
manual_ms=$(ms_since "$t0")
echo "# manual part took ${manual_ms} ms"

# ---------------------------------------------------------------------------------------------
# 2. Two charons
# ---------------------------------------------------------------------------------------------
t0=$(now_ms)
check 'charon: fresh namespaces, veth, ND bypass policies' make_namespaces

CHARON=/usr/lib/ipsec/charon
SWANCTL_PLUGINS='pem pkcs1 pkcs8 openssl curve25519 pubkey'
PLUGINS='random nonce openssl pem pkcs1 pkcs8 pubkey dnskey curve25519 sha1 sha2 hmac kdf aes gcm kernel-netlink socket-default vici'

# node_setup NAME SELF4 SELF6 PEER4 PEER6 PEERNAME START_ACTION
node_setup() {
  local name=$1 self4=$2 self6=$3 peer4=$4 peer6=$5 peer=$6 start=$7
  local dir=$work/$name
  mkdir -p "$dir/run" "$dir/swanctl/pkcs8" "$dir/swanctl/pubkey" || return 1
  openssl genpkey -algorithm ed25519 -out "$dir/swanctl/pkcs8/$name.pem" 2>/dev/null &&
    openssl pkey -in "$dir/swanctl/pkcs8/$name.pem" -pubout -out "$work/$name.pub" 2>/dev/null || return 1
  cat > "$dir/strongswan.conf" <<EOF
charon {
  load = $PLUGINS
  install_routes = no
  retransmit_tries = 2
  retransmit_timeout = 1
  plugins {
    vici {
      socket = unix://$dir/charon.vici
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
  filelog {
    smoke {
      path = $dir/charon.log
      time_format = %T
      time_add_ms = yes
      flush_line = yes
      default = 1
      ike = 2
      knl = 2
    }
  }
}
# swanctl reads this file too (STRONGSWAN_CONF): a short plugin list, or every swanctl call
# loads Debian's whole default set, which takes seconds inside UML.
swanctl {
  load = $SWANCTL_PLUGINS
}
EOF
  local fam addr_self addr_peer
  {
    echo 'connections {'
    for fam in 4 6; do
      if [ "$fam" = 4 ]; then addr_self=$self4 addr_peer=$peer4; else addr_self=$self6 addr_peer=$peer6; fi
      cat <<EOF
  smoke$fam {
    version = 2
    local_addrs = $addr_self
    remote_addrs = $addr_peer
    proposals = aes128gcm16-prfsha256-x25519
    local {
      auth = pubkey
      id = $name.smoke.test
      pubkeys = $name.pub
    }
    remote {
      auth = pubkey
      id = $peer.smoke.test
      pubkeys = $peer.pub
    }
    children {
      smoke$fam {
        mode = transport
        esp_proposals = aes128gcm16
        start_action = $start
      }
    }
  }
EOF
    done
    echo '}'
  } > "$dir/swanctl/swanctl.conf"
}

# charon_start NAME NS: charon with its own /run (the pid file path is compiled in).
charon_start() {
  local name=$1 ns=$2 dir=$work/$1
  STRONGSWAN_CONF=$dir/strongswan.conf ip netns exec "$ns" unshare -m --propagation private -- \
    sh -c 'mount --bind "$1" /run && exec "$2"' sh "$dir/run" "$CHARON" > "$dir/charon.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do
    [ -S "$dir/charon.vici" ] && return 0
    kill -0 "$!" 2>/dev/null || break
    sleep 0.05
  done
  echo "# charon $name did not open its vici socket:" >&2
  sed 's/^/#   /' "$dir/charon.out" >&2
  return 1
}

sw() { # sw NAME ARGS...: swanctl on NAME's charon
  local name=$1; shift
  STRONGSWAN_CONF=$work/$name/strongswan.conf SWANCTL_DIR=$work/$name/swanctl swanctl "$@" --uri "unix://$work/$name/charon.vici"
}

load_all() {
  local name=$1
  sw "$name" --load-all --noprompt > "$work/$name/load.out" 2>&1 || { sed 's/^/# /' "$work/$name/load.out" >&2; return 1; }
}

child_installed() { # child_installed NAME CHILD
  sw "$1" --list-sas --ike "$2" > "$work/$1/sas.out" 2>&1
  grep -qE "$2: #[0-9]+, reqid [0-9]+, INSTALLED, TRANSPORT" "$work/$1/sas.out"
}

# alice (a) initiates or traps, bob (b) responds.
node_setup alice "$a4" "$a6" "$b4" "$b6" bob trap &&
  node_setup bob "$b4" "$b6" "$a4" "$a6" alice none &&
  cp "$work/bob.pub" "$work/alice/swanctl/pubkey/" && cp "$work/alice.pub" "$work/alice/swanctl/pubkey/" &&
  cp "$work/alice.pub" "$work/bob/swanctl/pubkey/" && cp "$work/bob.pub" "$work/bob/swanctl/pubkey/"
check 'charon: Ed25519 keys (openssl) and configs written' test $? = 0
ts=$(now_ms)
check 'charon: alice starts in her namespace (own /run, vici socket)' charon_start alice "$nsa"
check 'charon: bob starts in his namespace (own /run, vici socket)' charon_start bob "$nsb"
charon_start_ms=$(ms_since "$ts")
ts=$(now_ms)
check 'charon: alice loads her key and conns (swanctl --load-all)' load_all alice
check 'charon: bob loads his key and conns (swanctl --load-all)' load_all bob
load_ms=$(ms_since "$ts")
check 'charon: alice installed trap policies' bash -c "ip -n $nsa xfrm policy | grep -q 'proto esp reqid'"

check 'charon: tcpdump listens on the veth' start_capture charon
ts=$(now_ms)
if sw alice --initiate --child smoke4 --timeout 20 > "$work/alice/initiate.out" 2>&1; then
  ike_ms=$(ms_since "$ts")
  ok "charon: alice initiates smoke4 (IKE_SA and CHILD_SA up in ${ike_ms} ms)"
else
  ike_ms=$(ms_since "$ts")
  sed 's/^/# /' "$work/alice/initiate.out"
  notok 'charon: alice initiates smoke4'
fi
check 'charon: alice lists smoke4 INSTALLED, TRANSPORT' child_installed alice smoke4
check 'charon: bob lists smoke4 INSTALLED, TRANSPORT' child_installed bob smoke4
check 'charon: ping a -> b (IPv4)' ping_ok "$nsa" "$b4"
check 'charon: ping b -> a (IPv4)' ping_ok "$nsb" "$a4"
# IPv6 on demand through alice's trap policy: the ACQUIRE starts IKE. (iputils ping first
# connect()s a UDP socket to the target to pick a source address; that route lookup already hits
# the trap, so the CHILD_SA is usually up before the first echo request.) Two replies wanted.
ts=$(now_ms)
check 'charon: ping a -> b (IPv6) through the trap policy' ping_ok "$nsa" "$b6"
trap_ms=$(ms_since "$ts")
check 'charon: alice lists smoke6 INSTALLED, TRANSPORT' child_installed alice smoke6
check 'charon: bob lists smoke6 INSTALLED, TRANSPORT' child_installed bob smoke6
check 'charon: ping b -> a (IPv6)' ping_ok "$nsb" "$a6"
stop_capture
check 'charon: the capture shows ESP both ways, IPv4 and IPv6' capture_has_esp charon "$a4" "$b4" "$b4" "$a4" "$a6" "$b6" "$b6" "$a6"
check 'charon: the capture shows no plaintext ICMP/ICMPv6 echo' capture_has_no_echo charon
check 'charon: the capture shows IKE on UDP 500' grep -qE "IP $a4\.500 > $b4\.500: isakmp" "$work/charon.txt"
charon_ms=$(ms_since "$t0")
# IKE as charon saw it: from "initiating IKE_SA smokeN" to "CHILD_SA smokeN{..} established".
ike_log_ms() {
  awk -v c="$1" '
    function ms(t,  p) { split(t, p, /[:.]/); return ((p[1] * 60 + p[2]) * 60 + p[3]) * 1000 + p[4] }
    index($0, "initiating IKE_SA " c "[") && !s { s = ms($1) }
    index($0, "CHILD_SA " c "{") && / established / && s && !e { e = ms($1) }
    END { if (s && e) print e - s; else print "?" }' "$work/alice/charon.log"
}
echo "# IKE in alice's charon log (IKE_SA_INIT + IKE_AUTH, CHILD_SA installed): smoke4 $(ike_log_ms smoke4) ms, smoke6 $(ike_log_ms smoke6) ms"
echo "# charon part took ${charon_ms} ms: charon start ${charon_start_ms} ms, load-all ${load_ms} ms, initiate (IKE) ${ike_ms} ms, trap ping v6 ${trap_ms} ms"

echo "1..$n"
if [ "$failed" -gt 0 ]; then
  echo "# $failed of $n failed"
  exit 1
fi
exit 0
