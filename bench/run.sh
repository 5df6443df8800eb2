#!/usr/bin/env bash
# GenSharp vs PyTorch training throughput (VAE, DCGAN) and GenSharp memory flatness, in one run.
#   bench/run.sh                 # full run (~10-15 min on 2 cores)
#   QUICK=1 bench/run.sh         # smoke test with tiny step counts
# Env overrides: THREADS (2), WARMUP (10), VAE_STEPS (200), DCGAN_STEPS (80), FWD_STEPS (40),
# MEM_STEPS (2000; VAE memory run, RSS after step 500 and 2000; 0 skips it). Results are appended
# line by line to bench/results/<date>-*.json, so bench/table.py can tabulate a partial run.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
if [[ "${QUICK:-0}" == 1 ]]; then
  VAE_STEPS=${VAE_STEPS:-10}; DCGAN_STEPS=${DCGAN_STEPS:-5}; FWD_STEPS=${FWD_STEPS:-5}; MEM_STEPS=${MEM_STEPS:-0}; WARMUP=${WARMUP:-2}
else
  WARMUP=${WARMUP:-10}; VAE_STEPS=${VAE_STEPS:-200}; DCGAN_STEPS=${DCGAN_STEPS:-80}; FWD_STEPS=${FWD_STEPS:-40}; MEM_STEPS=${MEM_STEPS:-2000}
fi
DATE=$(date -u +%Y-%m-%d)
OUT=bench/results; [[ "${QUICK:-0}" == 1 ]] && OUT=bench/results/quick   # smoke runs are not results
mkdir -p "$OUT"
source bench/common.sh

for model in vae dcgan; do
  file="$OUT/$DATE-$model.json"
  : > "$file"
  steps=$VAE_STEPS; [[ $model == dcgan ]] && steps=$DCGAN_STEPS
  run "$file" "${GS[@]}" "$model" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py "$model" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
  run "$file" "${GS[@]}" "$model" --mode forward --steps "$FWD_STEPS" --warmup "$WARMUP" --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py "$model" --mode forward --steps "$FWD_STEPS" --warmup "$WARMUP" --threads "$THREADS"
done

# Per-op dispatch cost (interop/dispatcher overhead, no real compute) and a PyTorch thread-setting
# reference: the same VAE step with OpenBLAS's own pthread pool left at 2 threads.
file="$OUT/$DATE-overhead.json"
: > "$file"
run "$file" "${GS[@]}" vae --mode opcost --steps 200 --threads "$THREADS"
run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py vae --mode opcost --steps 200 --threads "$THREADS"
run "$file" env OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" "${PY[@]}" bench/pytorch/bench.py vae \
  --steps "$(( VAE_STEPS < 10 ? VAE_STEPS : 10 ))" --warmup 2 --threads "$THREADS"

if (( MEM_STEPS > 0 )); then
  file="$OUT/$DATE-vae-memory.json"
  : > "$file"
  run "$file" "${GS[@]}" vae --steps "$MEM_STEPS" --warmup 0 --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py vae --steps "$MEM_STEPS" --warmup 0 --threads "$THREADS"
fi

"${PY[@]}" bench/table.py "$OUT/$DATE-vae.json" "$OUT/$DATE-dcgan.json" "$OUT/$DATE-overhead.json" "$OUT/$DATE-vae-memory.json"

finish
