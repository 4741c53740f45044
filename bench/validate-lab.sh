#!/usr/bin/env bash
# Writes and signs the validation benchmark's lab hierarchy with BIND's tools.
#
#   validate-lab.sh DIR ZONES ALGORITHM
#
# DIR/root.zone.signed      .            signed; delegates test. (NS, glue, DS)
# DIR/test.zone.signed      test.        signed; delegates z0001.test. … (NS, glue, DS each)
# DIR/zNNNN.zone.signed     zNNNN.test.  signed; SOA, NS, ns, www, mail, MX
# DIR/root.ds               the root KSK's DS: the trust anchor for both resolvers
# DIR/zones.txt             "ORIGIN FILE", one zone a line, for named.conf
# DIR/queries.txt           "www.zNNNN.test. A", one line per child zone, in order
#
# Each zone has a KSK and a ZSK of ALGORITHM (RSA ones 2048 bits). Children are signed first,
# then test. with their DS records, then the root with test.'s DS, so every chain validates.
# Every name server is 127.0.0.1; the A records are in 192.0.2.0/24 and never contacted.
set -euo pipefail

dir=${1:?usage: validate-lab.sh DIR ZONES ALGORITHM}
zones=${2:?ZONES}
algorithm=${3:?ALGORITHM}
# An hour: nothing expires from either cache during a run, and it is a usual TTL.
readonly TTL_SECONDS=3600
# Signatures valid from an hour ago (dnssec-signzone's default) for 30 days.
readonly VALIDITY_SECONDS=$((30 * 86400))

[[ $zones =~ ^[1-9][0-9]*$ ]] && ((zones <= 9999)) || {
  echo "validate-lab.sh: ZONES must be 1..9999, got '$zones'" >&2
  exit 1
}

keys=$dir/keys
mkdir -p "$keys"

# shellcheck source=bench/lab-sign.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab-sign.sh"

# sign ORIGIN BASENAME: sign_zone, and the zone listed in zones.txt for named.conf.
sign() {
  sign_zone "$1" "$2"
  printf '%s %s\n' "$1" "$dir/$2.zone.signed" >>"$dir/zones.txt"
}

# apex ORIGIN NS_NAME: $ORIGIN, $TTL, SOA, NS and the name server's address.
apex() {
  printf '$ORIGIN %s\n$TTL %d\n' "$1" "$TTL_SECONDS"
  printf '@ IN SOA %s hostmaster.%s 1 3600 900 604800 %d\n' "$2" "${1#.}" "$TTL_SECONDS"
  printf '@ IN NS %s\n%s IN A 127.0.0.1\n' "$2" "$2"
}

: >"$dir/zones.txt"
: >"$dir/test.delegations"
: >"$dir/queries.txt"
for i in $(seq 1 "$zones"); do
  name=$(printf 'z%04d' "$i")
  origin=$name.test.
  {
    apex "$origin" "ns.$origin"
    printf 'www IN A 192.0.2.%d\nmail IN A 192.0.2.%d\n@ IN MX 10 mail\n' $((i % 254 + 1)) $(((i + 127) % 254 + 1))
  } >"$dir/$name.zone"
  sign "$origin" "$name"
  {
    printf '%s IN NS ns.%s\nns.%s IN A 127.0.0.1\n' "$origin" "$origin" "$origin"
    cat "$dir/$name.ds"
  } >>"$dir/test.delegations"
  printf 'www.%s A\n' "$origin" >>"$dir/queries.txt"
done

{
  apex test. ns.test.
  cat "$dir/test.delegations"
} >"$dir/test.zone"
sign test. test

{
  apex . ns.
  printf 'test. IN NS ns.test.\nns.test. IN A 127.0.0.1\n'
  cat "$dir/test.ds"
} >"$dir/root.zone"
sign . root
