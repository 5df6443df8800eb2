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
OUT=bench/results
mkdir -p "$OUT"
PY=/usr/bin/python3
PY_ENV=(env OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS=1)   # see bench/run.sh and docs/benchmarks.md

echo "waiting for other GenSharp.Cli runs to finish..." >&2
[[ "${SKIP_WAIT:-0}" == 1 ]] || while pgrep -f "GenSharp.Cli.dll" >/dev/null; do sleep 10; done
CONTENTION=$(mktemp)
( while sleep 5; do pgrep -af "GenSharp.Cli.dll" | grep -v pgrep >> "$CONTENTION" || true; done ) &
MONITOR=$!
trap 'kill $MONITOR 2>/dev/null || true; rm -f "$CONTENTION"' EXIT
START=$(date +%s)

dotnet build -c Release bench/GenSharp.Bench -v q -nologo >/dev/null
GS=(dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll)
run() { local file=$1; shift; echo "+ $*" >&2; local log; log=$("$@"); echo "$log" >&2; echo "$log" | tail -n 1 >> "$file"; }

file="$OUT/$DATE-exact.json"
: > "$file"
for family in $FAMILIES; do
  steps=$STEPS; [[ $family == pixelcnn ]] && steps=$PIXELCNN_STEPS
  run "$file" "${GS[@]}" "$family" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "$PY" bench/pytorch/bench.py "$family" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
done
$PY bench/table.py "$file"
echo
echo "wall time: $(( $(date +%s) - START )) s; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
if [[ -s "$CONTENTION" ]]; then echo "WARNING: GenSharp.Cli was running during the measurement (results contaminated):"; sort -u "$CONTENTION" | cut -c1-160; fi
