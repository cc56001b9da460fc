#!/usr/bin/env bash
# The whole suite, from a fresh clone: installs what it needs, builds, and runs every test, the
# integration tests against a real Synapse and a real Secret Service included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
exec node_modules/.bin/vitest run "$@"
