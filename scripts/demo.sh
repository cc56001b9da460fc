#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh --without-dendrite --without-mas
exec node_modules/.bin/tsx scripts/demo.ts
