#!/usr/bin/env bash
# The whole suite, from a fresh clone: installs what it needs, builds, and runs every test, the
# integration tests against a real Synapse and a real Secret Service included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
# Types, lint and format first: a few seconds, and they fail before the services start.
npm run --silent lint
# A run makes several hundred temporary directories (config dirs, buses, keyrings, servers): all
# go under one, removed at the end, so that runs do not pile up in /tmp.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mxtok-test-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
TMPDIR=$tmp node_modules/.bin/vitest run "$@"
