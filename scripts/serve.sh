#!/usr/bin/env bash
# Runs oedns on the default: 127.0.0.1:53 and [::1]:53, forwarding to the nameservers in
# /etc/resolv.conf. Port 53 needs root (or CAP_NET_BIND_SERVICE); extra flags pass through,
# e.g. ./scripts/serve.sh --listen 127.0.0.1:5353
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then npm ci --no-audit --no-fund; fi
npm run --silent build
# The heap cap matches dist/cli.js's shebang (see src/cli.ts).
exec node --max-old-space-size=512 dist/cli.js serve "$@"
