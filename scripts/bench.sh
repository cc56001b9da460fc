#!/usr/bin/env bash
# Start-up and scale figures against a throwaway Synapse, Dendrite and keyring, as ratios to baselines
# measured in the same run. BENCH_RUNS (default 7) sets the runs per timed case.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh --without-mas
exec node_modules/.bin/tsx scripts/bench.ts
