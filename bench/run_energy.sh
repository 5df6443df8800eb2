#!/usr/bin/env bash
# GenSharp vs PyTorch training throughput of the RBM (784 visible, 500 hidden, batch 100, SGD + momentum),
# side by side in one run, same thread settings as bench/run.sh: CD-1, CD-25 and PCD-1 updates; then the
# convolutional EBM (batch 64, K = 20 and the default K = 60 Langevin steps per update) against bench/pytorch/ebm.py.
#   bench/run_energy.sh            # a few minutes on 2 cores
#   QUICK=1 bench/run_energy.sh    # smoke test
# Env: THREADS (2), WARMUP (10), STEPS (200 for CD-1/PCD-1; CD-25 runs STEPS/5).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
if [[ "${QUICK:-0}" == 1 ]]; then WARMUP=${WARMUP:-2}; STEPS=${STEPS:-10}
else WARMUP=${WARMUP:-10}; STEPS=${STEPS:-200}; fi
DATE=$(date -u +%Y-%m-%d)
OUT=bench/results; [[ "${QUICK:-0}" == 1 ]] && OUT=bench/results/quick   # smoke runs are not results
mkdir -p "$OUT"
source bench/common.sh

file="$OUT/$DATE-rbm.json"
: > "$file"
for setting in cd_steps=1 cd_steps=25 persistent=true; do
  steps=$STEPS; [[ $setting == cd_steps=25 ]] && steps=$(( STEPS / 5 > 2 ? STEPS / 5 : 2 ))
  run "$file" "${GS[@]}" rbm --steps "$steps" --warmup "$WARMUP" --threads "$THREADS" --set "$setting"
  run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py rbm --steps "$steps" --warmup "$WARMUP" --threads "$THREADS" --set "$setting"
done
"${PY[@]}" bench/table.py "$file"

file="$OUT/$DATE-ebm.json"
: > "$file"
ebm_steps=$(( STEPS / 10 > 2 ? STEPS / 10 : 2 ))   # one EBM update is K+1 forward/backward passes
for setting in langevin_steps=20 langevin_steps=60; do
  run "$file" "${GS[@]}" ebm --steps "$ebm_steps" --warmup 2 --threads "$THREADS" --set "$setting"
  run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py ebm --steps "$ebm_steps" --warmup 2 --threads "$THREADS" --set "$setting"
done
"${PY[@]}" bench/table.py "$file"
finish
