#!/usr/bin/env bash
# Writes the benchmark's unsigned zone bench.test. and its two query files.
#
#   make-zone.sh DIR NAMES CACHED_NAMES
#
# DIR/bench.test.zone   SOA, NS, h000001..hNNNNNN A records and c0001..cNNNN A records
# DIR/uncached.txt      "hNNNNNN.bench.test. A", one line per host name, each once
# DIR/cached.txt        "cNNNN.bench.test. A", the small set the cached workload repeats
#
# Addresses are in 10.0.0.0/8 and never contacted: the zone is only ever queried.
set -euo pipefail

dir=${1:?usage: make-zone.sh DIR NAMES CACHED_NAMES}
names=${2:?NAMES}
cached=${3:?CACHED_NAMES}
# A day: nothing expires from either cache during a run.
ttl_seconds=86400

{
  printf '$ORIGIN bench.test.\n$TTL %d\n' "$ttl_seconds"
  printf '@ IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 900 604800 %d\n' "$ttl_seconds"
  printf '@ IN NS ns.bench.test.\nns IN A 127.0.0.1\n'
  seq 1 "$names" | awk '{ printf "h%06d IN A 10.%d.%d.%d\n", $1, int($1 / 65536) % 256, int($1 / 256) % 256, $1 % 256 }'
  seq 1 "$cached" | awk '{ printf "c%04d IN A 192.0.2.%d\n", $1, $1 % 254 + 1 }'
} >"$dir/bench.test.zone"

seq 1 "$names" | awk '{ printf "h%06d.bench.test. A\n", $1 }' >"$dir/uncached.txt"
seq 1 "$cached" | awk '{ printf "c%04d.bench.test. A\n", $1 }' >"$dir/cached.txt"
