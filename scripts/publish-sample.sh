#!/usr/bin/env bash
# Regenerates the published sample: runs scenarios/quick.yaml on this machine (5 trials: the
# fewest on which compare gives a verdict), keeps the result
# as the curated baseline (results/baselines/quick.json) and writes its report, with executed
# notebooks when Jupyter is set up, to reports/sample/. Run it on a quiet machine: the result
# records other load (NOISY) and the scheduler-noise probe, and the report shows both.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
node dist/harness/cli/main.js run scenarios/quick.yaml --out "$out" --trials "${TRIALS:-5}"
mkdir -p results/baselines
cp "$out"/quick-*.json results/baselines/quick.json
notebook=()
if node -e "import('./dist/harness/report/notebooks.js').then(m => process.exit(m.notebookSupport().ok ? 0 : 1))"; then notebook=(--notebook); fi
node dist/harness/cli/main.js report results/baselines/quick.json --out reports/sample "${notebook[@]}"
rm -rf "$out"
