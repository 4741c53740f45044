# Signing for the benchmark labs (validate-lab.sh, keys-lab.sh), sourced: expects $dir (the lab),
# $keys (where keys go), $algorithm (a dnssec-keygen name) and $VALIDITY_SECONDS.

# generate_key ORIGIN ksk|zsk: prints the key's path without extension.
generate_key() {
  local origin=$1 role=$2 args=(-K "$keys" -a "$algorithm" -n ZONE -q)
  [[ $algorithm == RSA* ]] && args+=(-b 2048)
  [[ $role == ksk ]] && args+=(-f KSK)
  printf '%s/%s\n' "$keys" "$(dnssec-keygen "${args[@]}" "$origin")"
}

# sign_zone ORIGIN BASENAME: BASENAME.zone (unsigned, without keys) → BASENAME.zone.signed, and
# the KSK's SHA-256 DS in BASENAME.ds. A zone's two keys are made one after the other, so their
# tags never collide; zones signed in parallel have different origins, hence different key files.
sign_zone() {
  local origin=$1 base=$dir/$2 ksk zsk
  ksk=$(generate_key "$origin" ksk)
  zsk=$(generate_key "$origin" zsk)
  grep -hv '^;' "$ksk.key" "$zsk.key" >>"$base.zone"
  dnssec-signzone -q -K "$keys" -d "$keys" -o "$origin" -N keep -e "now+$VALIDITY_SECONDS" \
    -f "$base.zone.signed" "$base.zone" "$ksk" "$zsk" >/dev/null
  dnssec-dsfromkey -2 "$ksk.key" >"$base.ds"
}
