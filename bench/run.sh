#!/usr/bin/env bash
# GenSharp vs PyTorch training throughput (VAE, DCGAN) and GenSharp memory flatness, in one run.
#   bench/run.sh                 # full run (~10-15 min on 2 cores)
#   QUICK=1 bench/run.sh         # smoke test with tiny step counts
# Env overrides: THREADS (2), VAE_STEPS, DCGAN_STEPS, FWD_STEPS, MEM_STEPS (2000), WARMUP.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
if [[ "${QUICK:-0}" == 1 ]]; then
  VAE_STEPS=${VAE_STEPS:-10}; DCGAN_STEPS=${DCGAN_STEPS:-5}; FWD_STEPS=${FWD_STEPS:-5}; MEM_STEPS=${MEM_STEPS:-0}; WARMUP=${WARMUP:-2}
else
  VAE_STEPS=${VAE_STEPS:-300}; DCGAN_STEPS=${DCGAN_STEPS:-150}; FWD_STEPS=${FWD_STEPS:-100}; MEM_STEPS=${MEM_STEPS:-2000}; WARMUP=${WARMUP:-20}
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
  --steps "$(( VAE_STEPS / 6 + 1 ))" --warmup "$(( WARMUP / 4 + 1 ))" --threads "$THREADS"

if (( MEM_STEPS > 0 )); then
  file="$OUT/$DATE-vae-memory.json"
  : > "$file"
  run "$file" "${GS[@]}" vae --steps "$MEM_STEPS" --warmup 0 --threads "$THREADS"
  run "$file" "${PY_ENV[@]}" "$PY" bench/pytorch/bench.py vae --steps "$MEM_STEPS" --warmup 0 --threads "$THREADS"
fi

$PY - "$OUT/$DATE-vae.json" "$OUT/$DATE-dcgan.json" "$OUT/$DATE-vae-memory.json" "$OUT/$DATE-overhead.json" <<'PYEOF'
import json, os, sys
rows, extra = [], []
for path in sys.argv[1:]:
    if os.path.exists(path):
        for l in open(path):
            if not l.strip(): continue
            r = json.loads(l)
            if path.endswith("overhead.json"): extra.append(r)
            else: rows.append(r)
def pick(impl, model, mode, mem=False):
    for r in rows:
        if r["impl"] == impl and r["model"] == model and r["mode"] == mode and (r["rss_mb_2000"] is not None) == mem:
            return r
print("| model | mode | params GenSharp | params PyTorch | batch | threads | GenSharp img/s | PyTorch img/s | ratio |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for model in ("vae", "dcgan"):
    for mode in ("train", "forward"):
        g, p = pick("gensharp", model, mode), pick("pytorch", model, mode)
        if not g or not p: continue
        print(f"| {model} | {mode} | {g['params']:,} | {p['params']:,} | {g['batch']} | {g['threads']} | "
              f"{g['images_per_s']:.1f} | {p['images_per_s']:.1f} | {g['images_per_s'] / p['images_per_s']:.2f}x |")
print()
print("| impl | model | steps | RSS @500 (MB) | RSS @2000 (MB) | growth | peak RSS (MB) | img/s |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    if r["rss_mb_2000"] is None: continue
    growth = 100 * (r["rss_mb_2000"] - r["rss_mb_500"]) / r["rss_mb_500"]
    print(f"| {r['impl']} | {r['model']} | {r['steps']} | {r['rss_mb_500']:.1f} | {r['rss_mb_2000']:.1f} | {growth:+.2f}% | {r['peak_rss_mb']:.1f} | {r['images_per_s']:.1f} |")
print()
for r in extra:
    if r["mode"] == "opcost":
        print(f"- {r['impl']}: {r['us_per_op']:.2f} us per op (add of two 1-element tensors, {r['ops']} ops)")
    else:
        print(f"- pytorch vae train with OMP_NUM_THREADS={r['omp_num_threads']} OPENBLAS_NUM_THREADS={r['openblas_num_threads']}: {r['images_per_s']:.1f} img/s ({r['steps']} steps)")
print()
print("| impl | model | mode | peak RSS (MB) |")
print("|---|---|---|---:|")
for r in rows:
    if r["rss_mb_2000"] is None:
        print(f"| {r['impl']} | {r['model']} | {r['mode']} | {r['peak_rss_mb']:.1f} |")
PYEOF

echo
echo "wall time: $(( $(date +%s) - START )) s; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
if [[ -s "$CONTENTION" ]]; then
  echo "WARNING: GenSharp.Cli was running during the measurement (results contaminated):"
  sort -u "$CONTENTION" | cut -c1-160
fi
