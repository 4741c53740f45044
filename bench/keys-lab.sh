#!/usr/bin/env bash
# Writes and signs the keys benchmark's lab hierarchy with BIND's tools: validate-lab.sh's
# hierarchy, where every other child zone's www name also publishes keys.
#
#   keys-lab.sh DIR ZONES ALGORITHM
#
# DIR/root.zone.signed      .            signed; delegates test. (NS, glue, DS)
# DIR/test.zone.signed      test.        signed; delegates z0001.test. … (NS, glue, DS each)
# DIR/zNNNN.zone.signed     zNNNN.test.  signed; SOA, NS, ns, www, mail, MX, and in odd-numbered
#                                        zones www IPSECKEY and _443._tcp.www TLSA
# DIR/root.ds               the root KSK's DS: the trust anchor
# DIR/host-key.pem          the Ed25519 key pair whose public key every IPSECKEY carries
# DIR/zones.txt             "ORIGIN FILE", one zone a line, for named.conf
# DIR/queries.txt           "www.zNNNN.test. A", one line per child zone, in order
# DIR/keyed.txt             the names of queries.txt whose zone has keys (odd NNNN), in order
# DIR/keyless.txt           the others (even NNNN), in order
#
# The keys: "www IN IPSECKEY 10 0 4 . KEY" (precedence 10, no gateway: the host itself, EdDSA,
# RFC 9373: the 32-byte Ed25519 public key) and "_443._tcp.www IN TLSA 3 1 1 HASH" (DANE-EE, the
# SHA-256 of the key's SubjectPublicKeyInfo). One key pair serves every zone: a benchmark needs
# valid records, not distinct hosts. Zones without keys have neither record, so their IPSECKEY and
# CERT lookups end in NODATA and their TLSA lookup in NXDOMAIN, each proven by signed NSEC records.
#
# Each zone has a KSK and a ZSK of ALGORITHM (RSA ones 2048 bits). Children are signed first (in
# parallel, JOBS at a time: KEYS_LAB_JOBS, default the number of CPUs), then test. with their DS
# records, then the root with test.'s DS, so every chain validates. Every name server is
# 127.0.0.1; the A records are in 192.0.2.0/24 and never contacted.
set -euo pipefail

dir=${1:?usage: keys-lab.sh DIR ZONES ALGORITHM}
zones=${2:?ZONES}
algorithm=${3:?ALGORITHM}
jobs=${KEYS_LAB_JOBS:-$(nproc)}
# An hour: nothing expires from either cache during a run, and it is a usual TTL.
readonly TTL_SECONDS=3600
# Signatures valid from an hour ago (dnssec-signzone's default) for 30 days.
readonly VALIDITY_SECONDS=$((30 * 86400))
# An Ed25519 SubjectPublicKeyInfo in DER is a 12-byte header and the 32-byte key (RFC 8410 §4).
readonly ED25519_KEY_BYTES=32

[[ $zones =~ ^[1-9][0-9]*$ ]] && ((zones <= 9999)) || {
  echo "keys-lab.sh: ZONES must be 1..9999, got '$zones'" >&2
  exit 1
}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || {
  echo "keys-lab.sh: KEYS_LAB_JOBS must be a positive integer, got '$jobs'" >&2
  exit 1
}

keys=$dir/keys
mkdir -p "$keys"

# The host key and the two records' data.
openssl genpkey -algorithm ed25519 -out "$dir/host-key.pem" 2>/dev/null
openssl pkey -in "$dir/host-key.pem" -pubout -outform DER -out "$dir/host-key.spki.der"
ipseckey_key=$(tail -c "$ED25519_KEY_BYTES" "$dir/host-key.spki.der" | base64 -w 0)
tlsa_hash=$(openssl dgst -sha256 -r "$dir/host-key.spki.der" | cut -d' ' -f1)
[[ ${#ipseckey_key} -eq 44 && ${#tlsa_hash} -eq 64 ]] || {
  echo "keys-lab.sh: unexpected key material (IPSECKEY key '$ipseckey_key', TLSA hash '$tlsa_hash')" >&2
  exit 1
}

# shellcheck source=bench/lab-sign.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab-sign.sh"

# apex ORIGIN NS_NAME: $ORIGIN, $TTL, SOA, NS and the name server's address.
apex() {
  printf '$ORIGIN %s\n$TTL %d\n' "$1" "$TTL_SECONDS"
  printf '@ IN SOA %s hostmaster.%s 1 3600 900 604800 %d\n' "$2" "${1#.}" "$TTL_SECONDS"
  printf '@ IN NS %s\n%s IN A 127.0.0.1\n' "$2" "$2"
}

# child I: writes and signs zNNNN.test.; odd I gets the keys.
child() {
  local i=$1 name origin
  name=$(printf 'z%04d' "$i")
  origin=$name.test.
  {
    apex "$origin" "ns.$origin"
    printf 'www IN A 192.0.2.%d\nmail IN A 192.0.2.%d\n@ IN MX 10 mail\n' $((i % 254 + 1)) $(((i + 127) % 254 + 1))
    if ((i % 2 == 1)); then
      printf 'www IN IPSECKEY 10 0 4 . %s\n_443._tcp.www IN TLSA 3 1 1 %s\n' "$ipseckey_key" "$tlsa_hash"
    fi
  } >"$dir/$name.zone"
  sign_zone "$origin" "$name"
}

# The children, JOBS at a time. wait -n returns the status of the job that ended: a failed
# signing stops the script (set -e) once it is noticed.
running=0
for i in $(seq 1 "$zones"); do
  child "$i" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
done
while ((running > 0)); do
  wait -n
  running=$((running - 1))
done

# Assembled in zone order once every child is signed.
: >"$dir/zones.txt"
: >"$dir/test.delegations"
: >"$dir/queries.txt"
: >"$dir/keyed.txt"
: >"$dir/keyless.txt"
for i in $(seq 1 "$zones"); do
  name=$(printf 'z%04d' "$i")
  origin=$name.test.
  [[ -s $dir/$name.zone.signed && -s $dir/$name.ds ]] || {
    echo "keys-lab.sh: $origin was not signed" >&2
    exit 1
  }
  printf '%s %s\n' "$origin" "$dir/$name.zone.signed" >>"$dir/zones.txt"
  {
    printf '%s IN NS ns.%s\nns.%s IN A 127.0.0.1\n' "$origin" "$origin" "$origin"
    cat "$dir/$name.ds"
  } >>"$dir/test.delegations"
  printf 'www.%s A\n' "$origin" >>"$dir/queries.txt"
  if ((i % 2 == 1)); then list=keyed; else list=keyless; fi
  printf 'www.%s A\n' "$origin" >>"$dir/$list.txt"
done

{
  apex test. ns.test.
  cat "$dir/test.delegations"
} >"$dir/test.zone"
sign_zone test. test
printf '%s %s\n' test. "$dir/test.zone.signed" >>"$dir/zones.txt"

{
  apex . ns.
  printf 'test. IN NS ns.test.\nns.test. IN A 127.0.0.1\n'
  cat "$dir/test.ds"
} >"$dir/root.zone"
sign_zone . root
printf '%s %s\n' . "$dir/root.zone.signed" >>"$dir/zones.txt"
