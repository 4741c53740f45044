# Each node's processes: named in dns; charon and oedns in alice and bob. The same functions run
# a node inside its namespace on `up` and in the current namespace for `role` (LAB_ROLE=1).
# shellcheck shell=bash

# The plugin list that works for charon 5.9.8 (kdf included, or IKE fails "key derivation failed").
readonly CHARON_PLUGINS='random nonce openssl pem pkcs1 pkcs8 pubkey dnskey curve25519 sha1 sha2 hmac kdf aes gcm kernel-netlink socket-default vici'
readonly RNDC_PORT=953
LAB_ROLE=${LAB_ROLE:-0}

# in_node NODE CMD...: runs CMD in NODE's network namespace (for role: here).
in_node() {
  local node=$1
  shift
  if [[ $LAB_ROLE == 1 ]]; then "$@"; else ip netns exec "$(ns_of "$node")" "$@"; fi
}

# spawn NODE NAME LOG CMD...: starts CMD in NODE's namespace in the background, output appended to
# LOG, and records its PID. Every program on the way (setsid, ip netns exec, unshare, sh) execs
# in place, so the PID is the server's own. Outside role, setsid puts it in a session of its own:
# the lab outlives the shell that started it, and a Ctrl-C there does not reach it.
spawn() {
  local node=$1 name=$2 logfile=$3
  shift 3
  if [[ $LAB_ROLE == 1 ]]; then
    "$@" </dev/null >>"$logfile" 2>&1 &
  else
    setsid ip netns exec "$(ns_of "$node")" "$@" </dev/null >>"$logfile" 2>&1 &
  fi
  printf '%s\n' "$!" >"$(pid_file "$node" "$name")"
}

# alive_or_die NODE NAME LOG
alive_or_die() {
  local pid
  pid=$(recorded_pid "$1" "$2") && running "$pid" && return 0
  log "$1/$2 exited; last lines of $3:"
  tail -n 20 "$3" >&2 || true
  die "$1/$2 is not running"
}

# answers NODE SERVER NAME TYPE [DIG_FLAG...]: true when SERVER (in NODE's namespace) answers NOERROR.
answers() {
  local node=$1 server=$2 name=$3 type=$4 reply
  shift 4
  reply=$(in_node "$node" dig @"$server" +time=1 +tries=1 "$@" "$name" "$type" 2>/dev/null) && [[ $reply == *"status: NOERROR"* ]]
}

# --- dns: named ----------------------------------------------------------------------------------

dns_prepare() {
  local dir secret
  dir=$(node_dir dns)
  [[ -f $dir/$ZONE.served && -f $LAB_DIR/root.ds ]] || die "no zones in $dir (lab/lab.sh zones makes them)"
  secret=$(openssl rand -base64 32)
  (
    umask 077
    printf 'key "lab-rndc" { algorithm hmac-sha256; secret "%s"; };\n' "$secret" >"$dir/rndc.key"
    {
      printf 'include "%s/rndc.key";\n' "$dir"
      printf 'options { default-key "lab-rndc"; default-server 127.0.0.1; default-port %d; };\n' "$RNDC_PORT"
    } >"$dir/rndc.conf"
  )
  # Every path named would otherwise use (/etc/bind, /var/cache/bind, /run/named) points into dir:
  # inside User-Mode-Linux only LAB_DIR is writable. Authoritative only; rndc on loopback.
  cat >"$dir/named.conf" <<EOF
options {
  directory "$dir"; pid-file none; lock-file "$dir/named.lock";
  session-keyfile "$dir/session.key"; managed-keys-directory "$dir"; bindkeys-file "$dir/bind.keys";
  dump-file "$dir/named_dump.db"; statistics-file "$dir/named.stats";
  memstatistics-file "$dir/named.memstats"; secroots-file "$dir/named.secroots";
  recursing-file "$dir/named.recursing";
  listen-on port 53 { ${ADDR4[dns]}; }; listen-on-v6 port 53 { ${ADDR6[dns]}; };
  recursion no; notify no; dnssec-validation no; empty-zones-enable no;
  allow-query { any; };
};
include "$dir/rndc.key";
controls { inet 127.0.0.1 port $RNDC_PORT allow { 127.0.0.1; } keys { "lab-rndc"; }; };
zone "." { type primary; file "$dir/root.zone.signed"; };
zone "example" { type primary; file "$dir/example.zone.signed"; };
zone "$ZONE" { type primary; file "$dir/$ZONE.served"; };
EOF
}

dns_start() {
  local dir
  dir=$(node_dir dns)
  dns_prepare
  spawn dns named "$dir/named.log" named -g -c "$dir/named.conf" -n 1
  wait_until "$LAB_START_TIMEOUT" "named on ${ADDR4[dns]} answering $ZONE SOA" named_answers
  log "dns: named up (pid $(live_pid dns named)), log $dir/named.log"
}

named_answers() {
  alive_or_die dns named "$(node_dir dns)/named.log"
  answers dns "${ADDR4[dns]}" "$ZONE" SOA +norec
}

# rndc_reload ZONE
rndc_reload() { in_node dns rndc -c "$(node_dir dns)/rndc.conf" reload "$1" >/dev/null; }

# --- alice, bob: charon ----------------------------------------------------------------------------

host_prepare() {
  local node=$1 dir
  dir=$(node_dir "$node")
  [[ -f $dir/key.pem && -f $LAB_DIR/root.ds ]] || die "no key in $dir (lab/lab.sh zones makes it)"
  mkdir -p "$dir/run" "$dir/state"
  # The shipped policies, copied fresh: scenarios add files here (the directory is watched).
  rm -rf -- "$dir/policies"
  mkdir -p "$dir/policies"
  cp -RL -- "$REPO_DIR/policies/." "$dir/policies/"
  cat >"$dir/strongswan.conf" <<EOF
charon {
  load = $CHARON_PLUGINS
  install_routes = no
  retransmit_timeout = 1
  retransmit_tries = 2
  plugins {
    vici { socket = unix://$dir/charon.vici }
  }
  filelog {
    lab {
      path = $dir/charon.log
      time_format = %T
      ike_name = yes
      flush_line = yes
      default = 0
      ike = 1
      cfg = 1
      knl = 1
      net = 1
    }
  }
  syslog { daemon { default = -1 } }
}
EOF
}

# charon_start NODE: charon in its own mount namespace with NODE/run on /run (its pid file path is
# compiled in, so two charons on one host need two /run), config from STRONGSWAN_CONF.
charon_start() {
  local node=$1 dir
  dir=$(node_dir "$node")
  rm -f -- "$dir/charon.vici"
  # shellcheck disable=SC2016 # the paths reach the fixed script as positional parameters
  STRONGSWAN_CONF=$dir/strongswan.conf spawn "$node" charon "$dir/charon.out" \
    unshare -m --propagation private -- sh -c 'mount --bind "$1" /run && exec "$2"' sh "$dir/run" "$CHARON"
  wait_until "$LAB_START_TIMEOUT" "$node: charon's socket $dir/charon.vici" charon_ready "$node"
  log "$node: charon up (pid $(live_pid "$node" charon)), log $dir/charon.log"
}

charon_ready() {
  alive_or_die "$1" charon "$(node_dir "$1")/charon.out"
  [[ -S $(node_dir "$1")/charon.vici ]]
}

# --- alice, bob: oedns -----------------------------------------------------------------------------

# oedns_args NODE: `oedns serve`'s flags for NODE, one a line.
oedns_args() {
  local node=$1 dir
  dir=$(node_dir "$node")
  printf '%s\n' serve --listen 127.0.0.1:53 --listen '[::1]:53' \
    --upstream "${ADDR4[dns]}" --upstream "[${ADDR6[dns]}]:53" \
    --trust-anchor "$LAB_DIR/root.ds" --policies "$dir/policies" \
    --ipsec-backend vici --vici-socket "$dir/charon.vici" \
    --ike-identity "$node.$ZONE" --ike-key "$dir/key.pem" \
    --state-dir "$dir/state" --control-socket "$dir/control.sock" \
    --resolv-conf /dev/null --log-level debug
}

oedns_start() {
  local node=$1 dir args
  dir=$(node_dir "$node")
  mapfile -t args < <(oedns_args "$node")
  spawn "$node" oedns "$dir/oedns.log" node "$CLI" "${args[@]}"
  wait_until "$LAB_START_TIMEOUT" "$node: oedns answering $ZONE SOA on 127.0.0.1" oedns_answers "$node"
  log "$node: oedns up (pid $(live_pid "$node" oedns)), log $dir/oedns.log"
}

oedns_answers() {
  alive_or_die "$1" oedns "$(node_dir "$1")/oedns.log"
  answers "$1" 127.0.0.1 "$ZONE" SOA
}

# node_start NODE: everything NODE runs, waited for until it answers.
node_start() {
  case $1 in
    dns) dns_start ;;
    *)
      host_prepare "$1"
      charon_start "$1"
      oedns_start "$1"
      ;;
  esac
}

# node_stop NODE [SIGNAL]: NODE's processes, last started first (oedns removes its conns from
# charon on SIGTERM, so it goes before charon).
node_stop() {
  local node=$1 signal=${2:-TERM} names name i
  read -r -a names <<<"${PROCESSES[$node]}"
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do
    name=${names[i]}
    stop_process "$node" "$name" "$signal"
  done
}
