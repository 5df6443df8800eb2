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
OUT=bench/results
mkdir -p "$OUT"
PY=/usr/bin/python3
# PyTorch thread settings: ATen/oneDNN intra-op pool via OpenMP = THREADS; OpenBLAS (used by
# Linear/addmm in the Debian build) single-threaded — the pthread OpenBLAS pool and the OpenMP pool
# otherwise oversubscribe the 2 cores and PyTorch gets ~10x slower (measured, see docs/benchmarks.md).
PY_ENV=(env OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS=1)

echo "waiting for other GenSharp.Cli runs to finish..." >&2
[[ "${SKIP_WAIT:-0}" == 1 ]] || while pgrep -f "GenSharp.Cli.dll" >/dev/null; do sleep 10; done

# Watch for competing heavy processes during the measurement; reported at the end.
CONTENTION=$(mktemp)
( while sleep 5; do pgrep -af "GenSharp.Cli.dll" | grep -v pgrep >> "$CONTENTION" || true; done ) &
MONITOR=$!
trap 'kill $MONITOR 2>/dev/null || true; rm -f "$CONTENTION"' EXIT
START=$(date +%s)

dotnet build -c Release bench/GenSharp.Bench -v q -nologo >/dev/null
GS=(dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll)

run() { # file, command... ; echoes the log to stderr, appends the JSON line to the file
  local file=$1; shift
  echo "+ $*" >&2
  local log; log=$("$@")
  echo "$log" >&2
  echo "$log" | tail -n 1 >> "$file"
}

for model in vae dcgan; do
  file="$OUT/$DATE-$model.json"
  : > "$file"
  steps=$VAE_STEPS; [[ $model == dcgan ]] && steps=$DCGAN_STEPS
  run "$file" "${GS[@]}" "$model" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "$PY" bench/pytorch/bench.py "$model" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
  run "$file" "${GS[@]}" "$model" --mode forward --steps "$FWD_STEPS" --warmup "$WARMUP" --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "$PY" bench/pytorch/bench.py "$model" --mode forward --steps "$FWD_STEPS" --warmup "$WARMUP" --threads "$THREADS"
done

# Per-op dispatch cost (interop/dispatcher overhead, no real compute) and a PyTorch thread-setting
# reference: the same VAE step with OpenBLAS's own pthread pool left at 2 threads.
file="$OUT/$DATE-overhead.json"
: > "$file"
run "$file" "${GS[@]}" vae --mode opcost --steps 200 --threads "$THREADS"
run "$file" "${PY_ENV[@]}" "$PY" bench/pytorch/bench.py vae --mode opcost --steps 200 --threads "$THREADS"
run "$file" env OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" "$PY" bench/pytorch/bench.py vae \
  --steps "$(( VAE_STEPS < 10 ? VAE_STEPS : 10 ))" --warmup 2 --threads "$THREADS"

if (( MEM_STEPS > 0 )); then
  file="$OUT/$DATE-vae-memory.json"
  : > "$file"
  run "$file" "${GS[@]}" vae --steps "$MEM_STEPS" --warmup 0 --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "$PY" bench/pytorch/bench.py vae --steps "$MEM_STEPS" --warmup 0 --threads "$THREADS"
fi

$PY bench/table.py "$OUT/$DATE-vae.json" "$OUT/$DATE-dcgan.json" "$OUT/$DATE-overhead.json" "$OUT/$DATE-vae-memory.json"

echo
echo "wall time: $(( $(date +%s) - START )) s; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
if [[ -s "$CONTENTION" ]]; then
  echo "WARNING: GenSharp.Cli was running during the measurement (results contaminated):"
  sort -u "$CONTENTION" | cut -c1-160
fi
