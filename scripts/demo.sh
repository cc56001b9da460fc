#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
export OCLIF_SKIP_NEW_VERSION_CHECK=true
bash scripts/ensure-node-modules.sh
bash scripts/test-deps.sh
npm run build --silent
exec node_modules/.bin/tsx scripts/demo.ts
