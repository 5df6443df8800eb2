#!/usr/bin/env bash
# GenSharp vs PyTorch training throughput for the exact-likelihood families (PixelCNN, RealNVP, Glow),
# side by side in one run, same thread settings as bench/run.sh.
#   bench/run_exact.sh            # ~10 min on 2 cores
#   QUICK=1 bench/run_exact.sh    # smoke test
# Env: THREADS (2), WARMUP (3), STEPS (40 for the flows), PIXELCNN_STEPS (10; ~5 s per step),
# FAMILIES ("pixelcnn realnvp glow"). Each family runs with its default config and batch size.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
if [[ "${QUICK:-0}" == 1 ]]; then WARMUP=${WARMUP:-1}; STEPS=${STEPS:-3}; PIXELCNN_STEPS=${PIXELCNN_STEPS:-2}
else WARMUP=${WARMUP:-3}; STEPS=${STEPS:-40}; PIXELCNN_STEPS=${PIXELCNN_STEPS:-10}; fi
FAMILIES=${FAMILIES:-pixelcnn realnvp glow}
DATE=$(date -u +%Y-%m-%d)
OUT=bench/results; [[ "${QUICK:-0}" == 1 ]] && OUT=bench/results/quick   # smoke runs are not results
mkdir -p "$OUT"
source bench/common.sh

file="$OUT/$DATE-exact.json"
: > "$file"
for family in $FAMILIES; do
  steps=$STEPS; [[ $family == pixelcnn ]] && steps=$PIXELCNN_STEPS
  run "$file" "${GS[@]}" "$family" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py "$family" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
done
"${PY[@]}" bench/table.py "$file"
finish
