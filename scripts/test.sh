#!/usr/bin/env bash
# The whole suite, from a fresh clone: installs what it needs (npm packages, Debian's dbus,
# gnome-keyring and libsecret-tools, a cached Synapse virtualenv), builds, and runs every test,
# the integration tests against a real Synapse and a real Secret Service included.
set -euo pipefail
cd "$(dirname "$0")/.."
export OCLIF_SKIP_NEW_VERSION_CHECK=true
bash scripts/ensure-node-modules.sh
bash scripts/test-deps.sh
npm run build --silent
exec node_modules/.bin/vitest run "$@"
