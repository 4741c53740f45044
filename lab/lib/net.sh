# The lab's network: three namespaces, a bridge in dns, one veth per host plugged into it.
#
#   alice eth0 ──veth── alice@br0 ┐
#                                  br0 (dns: 192.0.2.53, 2001:db8::53)
#   bob   eth0 ──veth── bob@br0  ──┘
#
# IPv6 addresses are added with nodad: they are usable at once, with no duplicate address
# detection delay (and no address here is ever duplicated).
# shellcheck shell=bash

readonly PREFIX4=24 PREFIX6=64

# net_check_free: dies if one of the lab's namespaces exists already (up would otherwise take it
# over, and its clean-up would delete it).
net_check_free() {
  local node
  for node in "${NODES[@]}"; do
    netns_exists "$(ns_of "$node")" && die "network namespace $(ns_of "$node") exists already (lab/lab.sh down removes a lab's)"
  done
  return 0
}

# addr_add NS DEV NODE [EXTRA_NODE...]: NODE's IPv4 and IPv6 addresses (and those of the extra
# names that live on the same host) on DEV.
addr_add() {
  local ns=$1 dev=$2 name
  shift 2
  for name in "$@"; do
    ip -n "$ns" addr add "${ADDR4[$name]}/$PREFIX4" dev "$dev"
    ip -n "$ns" addr add "${ADDR6[$name]}/$PREFIX6" dev "$dev" nodad
  done
}

net_up() {
  local dns host ns node
  dns=$(ns_of dns)
  for node in "${NODES[@]}"; do
    ip netns add "$(ns_of "$node")"
    ip -n "$(ns_of "$node")" link set lo up
  done
  # No STP (ports forward at once); no multicast snooping, so Neighbor Discovery's multicast
  # reaches every port without an MLD querier.
  ip -n "$dns" link add br0 type bridge stp_state 0 mcast_snooping 0
  ip -n "$dns" link set br0 up
  addr_add "$dns" br0 dns
  for host in "${HOSTS[@]}"; do
    ns=$(ns_of "$host")
    ip -n "$dns" link add "$host" type veth peer name eth0 netns "$ns"
    ip -n "$dns" link set "$host" master br0 up
    if [[ $host == bob ]]; then addr_add "$ns" eth0 bob plain bogus; else addr_add "$ns" eth0 "$host"; fi
    ip -n "$ns" link set eth0 up
  done
}

net_down() {
  local node ns
  for node in "${NODES[@]}"; do
    ns=$(ns_of "$node")
    if netns_exists "$ns"; then
      ip netns delete "$ns" || log "could not delete network namespace $ns"
    fi
  done
}

# --- /etc/netns: what `ip netns exec` bind-mounts over /etc in each namespace -----------------
# alice's and bob's resolv.conf name their own oedns; dns's names its own named (which answers
# only for the lab's zones). /etc/netns itself is removed at down only if up created it.

resolv_conf_line() {
  case $1 in
    dns) printf 'nameserver %s\n' "${ADDR4[dns]}" ;;
    *) printf 'nameserver 127.0.0.1\n' ;;
  esac
}

etc_netns_up() {
  local node dir created=$LAB_DIR/etc-netns.created
  : >>"$created"
  if [[ ! -d /etc/netns ]]; then
    mkdir /etc/netns
    printf '%s\n' /etc/netns >>"$created"
  fi
  for node in "${NODES[@]}"; do
    dir=/etc/netns/$(ns_of "$node")
    if [[ ! -d $dir ]]; then
      mkdir "$dir"
      printf '%s\n' "$dir" >>"$created"
    fi
    resolv_conf_line "$node" >"$dir/resolv.conf"
  done
}

# etc_netns_down: removes each resolv.conf the lab wrote (only if it still holds the lab's line),
# then the directories up created (listed in LAB_DIR/etc-netns.created), innermost first.
etc_netns_down() {
  local node dir created=$LAB_DIR/etc-netns.created
  for node in "${NODES[@]}"; do
    dir=/etc/netns/$(ns_of "$node")
    if [[ -f $dir/resolv.conf && $(<"$dir/resolv.conf") == "$(resolv_conf_line "$node")" ]]; then
      rm -f -- "$dir/resolv.conf"
    fi
  done
  [[ -f $created ]] || return 0
  while read -r dir; do
    [[ $dir == /etc/netns || $dir == /etc/netns/* ]] || continue
    rmdir -- "$dir" 2>/dev/null || log "left $dir (not empty)"
  done < <(tac "$created")
  rm -f -- "$created"
}
