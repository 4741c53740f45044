# The lab's keys and signed zones (lab/lab.sh zones), made fresh every time; nothing is committed.
#
#   LAB_DIR/alice/key.pem, bob/key.pem   each host's Ed25519 key (PKCS#8 PEM), its IKE key
#   LAB_DIR/alice/cert.pem, bob/cert.pem a self-signed certificate of that key, for the TLSA record
#   LAB_DIR/dns/mallory.pem              a third key, for the wrongkey variant
#   LAB_DIR/dns/keys/                    each zone's KSK and ZSK (ECDSAP256SHA256)
#   LAB_DIR/dns/records/                 the IPSECKEY and TLSA lines, as `oedns record` wrote them
#   LAB_DIR/dns/root.zone.signed         .            delegates example. (NS, glue, DS)
#   LAB_DIR/dns/example.zone.signed      example.     delegates lab.example. (NS, glue, DS)
#   LAB_DIR/dns/lab.example.normal.signed    lab.example. with alice, bob, plain and bogus
#   LAB_DIR/dns/lab.example.wrongkey.signed  the same, but bob's IPSECKEY holds mallory's key
#   LAB_DIR/dns/lab.example.served       the variant named serves (a copy; lab/lab.sh zone swaps it)
#   LAB_DIR/root.ds                      the root KSK's DS: the trust anchor (--trust-anchor)
#
# IPSECKEY and TLSA records are written by oedns itself (`oedns record`). Zones are signed with
# NSEC and `-O full`, one record a line, so that bogus.lab.example's IPSECKEY signature can be
# altered after signing: it then validates as bogus while everything else stays secure.
# shellcheck shell=bash

readonly TTL_SECONDS=300
readonly ALGORITHM=ECDSAP256SHA256

# zone_key DIR ORIGIN ksk|zsk: prints the new key's path without extension.
zone_key() {
  local args=(-K "$1" -a "$ALGORITHM" -n ZONE -q)
  [[ $3 == ksk ]] && args+=(-f KSK)
  printf '%s/%s\n' "$1" "$(dnssec-keygen "${args[@]}" "$2")"
}

# sign ORIGIN IN OUT KSK ZSK: signs IN (unsigned, its DNSKEYs are added here) into OUT.
sign() {
  local origin=$1 in=$2 out=$3 ksk=$4 zsk=$5 keys
  keys=$(dirname "$ksk")
  grep -hv '^;' "$ksk.key" "$zsk.key" >>"$in"
  dnssec-signzone -q -O full -K "$keys" -d "$keys" -o "$origin" -N keep -f "$out" "$in" "$ksk" "$zsk" >/dev/null
}

# apex ORIGIN: $ORIGIN, $TTL, SOA, NS, and the name server's addresses (its own glue).
apex() {
  local origin=$1 ns
  ns=ns.${origin#.}
  # shellcheck disable=SC2016 # $ORIGIN and $TTL are zone-file directives
  printf '$ORIGIN %s\n$TTL %d\n' "$origin" "$TTL_SECONDS"
  printf '@ IN SOA %s hostmaster.%s 1 3600 900 604800 %d\n' "$ns" "${origin#.}" "$TTL_SECONDS"
  printf '@ IN NS %s\n' "$ns"
  printf '%s IN A %s\n%s IN AAAA %s\n' "$ns" "${ADDR4[dns]}" "$ns" "${ADDR6[dns]}"
}

# delegation CHILD DSFILE: the child's NS, glue and DS, for its parent's zone.
delegation() {
  printf '%s IN NS ns.%s\n' "$1" "$1"
  printf 'ns.%s IN A %s\nns.%s IN AAAA %s\n' "$1" "${ADDR4[dns]}" "$1" "${ADDR6[dns]}"
  cat "$2"
}

# make_records DIR: every IPSECKEY and TLSA line the zone variants use, written by oedns itself
# into DIR/NAME (one `oedns record` each, run side by side: a node start is slow inside UML).
make_records() {
  local dir=$1 pids=() pid
  mkdir -p "$dir"
  record() {
    local out=$1
    shift
    node "$CLI" record "$@" >"$dir/$out" &
    pids+=("$!")
  }
  local tlsa=(--usage 3 --selector 1 --matching 1 --port 443)
  record alice.ipseckey ipseckey --key "$LAB_DIR/alice/key.pem" "alice.$ZONE"
  record alice.tlsa tlsa --cert "$LAB_DIR/alice/cert.pem" "${tlsa[@]}" "alice.$ZONE"
  record bob.ipseckey ipseckey --key "$LAB_DIR/bob/key.pem" "bob.$ZONE"
  record bob.tlsa tlsa --cert "$LAB_DIR/bob/cert.pem" "${tlsa[@]}" "bob.$ZONE"
  record bob-mallory.ipseckey ipseckey --key "$(node_dir dns)/mallory.pem" "bob.$ZONE"
  record bogus.ipseckey ipseckey --key "$LAB_DIR/bob/key.pem" "bogus.$ZONE"
  for pid in "${pids[@]}"; do wait "$pid" || die "oedns record failed (see above)"; done
}

# addresses NAME: NAME's A and AAAA records.
addresses() { printf '%s IN A %s\n%s IN AAAA %s\n' "$1" "${ADDR4[$1]}" "$1" "${ADDR6[$1]}"; }

# lab_zone RECORDS BOB_IPSECKEY: the unsigned lab.example zone, bob's IPSECKEY from RECORDS/BOB_IPSECKEY.
lab_zone() {
  local records=$1 bob_ipseckey=$2
  apex "$ZONE."
  addresses alice
  cat "$records/alice.ipseckey" "$records/alice.tlsa"
  addresses bob
  cat "$records/$bob_ipseckey" "$records/bob.tlsa"
  addresses plain
  addresses bogus
  cat "$records/bogus.ipseckey"
}

# spoil_ipseckey_signature FILE OWNER: flips one character in the middle of the base64 signature
# of OWNER's IPSECKEY RRSIG (fields 13 on of a `-O full` line; dnssec-signzone splits the base64
# into words), in place. Dies unless exactly one line was changed.
spoil_ipseckey_signature() {
  local file=$1 owner=$2 changed
  awk -v owner="$owner" '
    $1 == owner && $4 == "RRSIG" && $5 == "IPSECKEY" {
      sig = ""
      for (i = 13; i <= NF; i++) sig = sig $i
      mid = int(length(sig) / 2)
      c = substr(sig, mid, 1)
      sig = substr(sig, 1, mid - 1) (c == "A" ? "B" : "A") substr(sig, mid + 1)
      line = $1
      for (i = 2; i <= 12; i++) line = line "\t" $i
      print line "\t" sig
      n++
      next
    }
    { print }
    END { print n + 0 > "/dev/stderr" }' "$file" 2>"$file.count" >"$file.spoiled"
  changed=$(<"$file.count")
  rm -f -- "$file.count"
  [[ $changed == 1 ]] || die "expected one IPSECKEY RRSIG of $owner in $file, found $changed"
  mv -f -- "$file.spoiled" "$file"
}

# host_key NODE_DIR NAME: an Ed25519 key (PKCS#8 PEM, mode 0600) and its self-signed certificate.
host_key() {
  local dir=$1 name=$2
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$dir/key.pem")
  openssl req -new -x509 -key "$dir/key.pem" -subj "/CN=$name" -days 30 -out "$dir/cert.pem" 2>/dev/null
}

zones_make() {
  require_built
  local dns keys node ksk zsk variant
  dns=$(node_dir dns)
  keys=$dns/keys
  rm -rf -- "$keys"
  mkdir -p "$keys" "$(node_dir alice)" "$(node_dir bob)"
  for node in "${HOSTS[@]}"; do host_key "$(node_dir "$node")" "$node.$ZONE"; done
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$dns/mallory.pem")

  # lab.example: both variants signed with the same keys, so one DS serves both.
  ksk=$(zone_key "$keys" "$ZONE." ksk)
  zsk=$(zone_key "$keys" "$ZONE." zsk)
  make_records "$dns/records"
  for variant in normal wrongkey; do
    if [[ $variant == normal ]]; then lab_zone "$dns/records" bob.ipseckey; else lab_zone "$dns/records" bob-mallory.ipseckey; fi >"$dns/$ZONE.$variant.zone"
    sign "$ZONE." "$dns/$ZONE.$variant.zone" "$dns/$ZONE.$variant.signed" "$ksk" "$zsk"
    spoil_ipseckey_signature "$dns/$ZONE.$variant.signed" "bogus.$ZONE."
  done
  dnssec-dsfromkey -2 "$ksk.key" >"$dns/$ZONE.ds"

  ksk=$(zone_key "$keys" example. ksk)
  zsk=$(zone_key "$keys" example. zsk)
  {
    apex example.
    delegation "$ZONE." "$dns/$ZONE.ds"
  } >"$dns/example.zone"
  sign example. "$dns/example.zone" "$dns/example.zone.signed" "$ksk" "$zsk"
  dnssec-dsfromkey -2 "$ksk.key" >"$dns/example.ds"

  ksk=$(zone_key "$keys" . ksk)
  zsk=$(zone_key "$keys" . zsk)
  {
    apex .
    delegation example. "$dns/example.ds"
  } >"$dns/root.zone"
  sign . "$dns/root.zone" "$dns/root.zone.signed" "$ksk" "$zsk"
  dnssec-dsfromkey -2 "$ksk.key" >"$LAB_DIR/root.ds"

  cp -f -- "$dns/$ZONE.normal.signed" "$dns/$ZONE.served"
  printf 'normal\n' >"$dns/zone-variant"
  log "zones signed in $dns; trust anchor $LAB_DIR/root.ds"
}

# ipseckey_of FILE OWNER: the IPSECKEY rdata of OWNER in a signed zone file, as dig +short prints it.
ipseckey_of() {
  awk -v owner="$2" '$1 == owner && $4 == "IPSECKEY" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' "$1"
}
