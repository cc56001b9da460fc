#!/usr/bin/env bash
# Everything a run of the tests, the demo or the benchmark needs, installed if missing, then a build:
# npm packages, Debian's dbus, gnome-keyring, libsecret-tools, time and openssl, the cached Synapse
# virtualenv and Dendrite build (arguments go to test-deps.sh: --without-dendrite, --without-mas).
set -euo pipefail
cd "$(dirname "$0")/.."
export OCLIF_SKIP_NEW_VERSION_CHECK=true
bash scripts/ensure-node-modules.sh
bash scripts/test-deps.sh "$@"
npm run build --silent
