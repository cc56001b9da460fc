#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
export OCLIF_SKIP_NEW_VERSION_CHECK=true
bash scripts/ensure-node-modules.sh
npm run build --silent
node scripts/bench.mjs
