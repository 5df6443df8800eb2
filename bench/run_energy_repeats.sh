#!/usr/bin/env bash
# Interleaved repeats of the energy-model throughput settings closest to parity (RBM CD-25 and EBM K = 60):
# GenSharp, then the PyTorch twin, REPS times each, one thread each side, so the run-to-run spread is visible
# next to the ratio. Pin it to an otherwise idle core:
#   taskset -c 1 bench/run_energy_repeats.sh
# Env: REPS (3), RBM_STEPS (400 CD-25 updates), EBM_STEPS (20 K = 60 updates).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=1
REPS=${REPS:-3}; RBM_STEPS=${RBM_STEPS:-400}; EBM_STEPS=${EBM_STEPS:-20}
DATE=$(date -u +%Y-%m-%d)
OUT=bench/results; [[ "${QUICK:-0}" == 1 ]] && OUT=bench/results/quick   # smoke runs are not results
mkdir -p "$OUT"
SKIP_WAIT=${SKIP_WAIT:-0}
source bench/common.sh

file="$OUT/$DATE-energy-repeats.json"
: > "$file"
for rep in $(seq "$REPS"); do
  run "$file" "${GS[@]}" rbm --steps "$RBM_STEPS" --warmup 10 --threads 1 --set cd_steps=25
  run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py rbm --steps "$RBM_STEPS" --warmup 10 --threads 1 --set cd_steps=25
  run "$file" "${GS[@]}" ebm --steps "$EBM_STEPS" --warmup 2 --threads 1 --set langevin_steps=60
  run "$file" "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py ebm --steps "$EBM_STEPS" --warmup 2 --threads 1 --set langevin_steps=60
done
"${PY[@]}" - "$file" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| model | params (both sides) | GenSharp ms/update per rep | PyTorch ms/update per rep | speed ratio per rep | median ratio |")
print("|---|---:|---|---|---|---:|")
for model in dict.fromkeys(r["model"] for r in rows):
    g = [r for r in rows if r["model"] == model and r["impl"] == "gensharp"]
    p = [r for r in rows if r["model"] == model and r["impl"] == "pytorch"]
    ms = lambda r: 1000 * r["seconds"] / r["steps"]
    ratios = [ms(b) / ms(a) for a, b in zip(g, p)]   # > 1: GenSharp faster
    params = sorted({r["params"] for r in g + p})
    print(f"| {model} | {', '.join(f'{x:,}' for x in params)} | {' / '.join(f'{ms(r):.1f}' for r in g)} | "
          f"{' / '.join(f'{ms(r):.1f}' for r in p)} | {' / '.join(f'{x:.2f}x' for x in ratios)} | {statistics.median(ratios):.2f}x |")
PYEOF
finish
