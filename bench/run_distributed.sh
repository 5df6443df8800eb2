#!/usr/bin/env bash
# Data-parallel training over MPI (docs/distributed.md): step time and the share of it spent averaging gradients,
# 1 process vs 2 ranks on this machine, for the default gpt and ddpm models; the all-reduce's latency and bandwidth
# (TCP loopback, the path two machines would use, and shared memory); and, from those, the ring all-reduce cost model's
# expected step time and speed-up at 2, 8 and 64 ranks (one rank per machine, each with the whole per-rank batch).
#   bench/run_distributed.sh            # ~5 min on 2 cores
#   QUICK=1 bench/run_distributed.sh    # smoke test
# Env: GPT_STEPS (60), DDPM_STEPS (12), MPIRUN_OPTS (root, oversubscribe).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mpirun >/dev/null || { echo "mpirun not found: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
if [[ "${QUICK:-0}" == 1 ]]; then GPT_STEPS=${GPT_STEPS:-8}; DDPM_STEPS=${DDPM_STEPS:-3}
else GPT_STEPS=${GPT_STEPS:-60}; DDPM_STEPS=${DDPM_STEPS:-12}; fi
MPIRUN_OPTS=${MPIRUN_OPTS:---allow-run-as-root --oversubscribe}
TEXT=${TEXT:-../shared/data/tinyshakespeare.txt}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
./gensharp --version >/dev/null   # builds the Release CLI once, before several ranks start it
dotnet build -c Release bench/GenSharp.Bench -v q -nologo >/dev/null
CLI=(dotnet src/GenSharp.Cli/bin/Release/net10.0/GenSharp.Cli.dll)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $(cut -d' ' -f1-3 /proc/loadavg); $(mpirun --version | head -1)"

RESULTS=$OUT/results.txt
: > "$RESULTS"
measure() { # family, steps, args... : one process (2 threads) and 2 ranks (1 thread each), same global batch
  local fam=$1 steps=$2; shift 2
  local common=(train "$fam" --steps "$steps" --checkpoint-every 0 --sample-every 0 "$@")
  local one two
  one=$("${CLI[@]}" "${common[@]}" --out "$OUT/$fam-1" --threads 2 | grep '^done:')
  two=$(mpirun $MPIRUN_OPTS --mca btl self,tcp -np 2 "${CLI[@]}" "${common[@]}" --out "$OUT/$fam-2" --threads 1 --distributed | grep '^distributed: 2 ranks;')
  echo "$fam 1 process (2 threads): $one"
  echo "$fam 2 ranks (1 thread each, TCP): $two"
  # "done: N steps in S s" → ms/step; "step X ms; gradient sync Y ms/step (Z%...), all-reduce A ms/step, M MB/step"
  python3 - "$fam" "$one" "$two" >> "$RESULTS" <<'PY'
import re, sys
fam, one, two = sys.argv[1:]
n, s = re.search(r"done: (\d+) steps in ([\d.]+)s", one).groups()
f = lambda pat: float(re.search(pat, two).group(1))
print(fam, 1000 * float(s) / int(n), f(r"step ([\d.]+) ms"), f(r"gradient sync ([\d.]+) ms/step"), f(r"all-reduce ([\d.]+) ms/step"), f(r"([\d.]+) MB/step"))
PY
}
measure gpt "$GPT_STEPS" --data "$TEXT" --set eval_iters=1
measure ddpm "$DDPM_STEPS" --data embedded --set sampler_steps=2   # sampler_steps: only the end-of-run sample grid

echo
echo "all-reduce through GenSharp's MPI binding, 2 ranks on this machine (median of 5 batches of calls):"
for btl in tcp vader; do
  mpirun $MPIRUN_OPTS --mca btl self,$btl -np 2 dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll allreduce \
    | grep -o '{"bench".*' | sed "s/^{/{\"btl\":\"$btl\",/" | tee -a "$OUT/allreduce.jsonl"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$RESULTS" "$OUT/allreduce.jsonl" <<'PY'
import json, sys
rows = [l.split() for l in open(sys.argv[1])]
ar = [json.loads(l) for l in open(sys.argv[2])]
tcp = sorted((r for r in ar if r["btl"] == "tcp"), key=lambda r: r["bytes"])
# Ring all-reduce (Patarasuk & Yuan 2009): t(N, S) = 2(N-1)·alpha + 2(N-1)/N · S / beta.
# With N = 2 the measured time is 2·alpha + S/beta: alpha from the smallest message, beta from the largest two.
alpha = tcp[0]["us"] * 1e-6 / 2
big = tcp[-2:]
beta = (big[1]["bytes"] - big[0]["bytes"]) / ((big[1]["us"] - big[0]["us"]) * 1e-6)
if beta <= 0: beta = big[1]["bytes"] / (big[1]["us"] * 1e-6)
print()
print(f"measured here (TCP loopback, 2 ranks): latency alpha = {alpha*1e6:.0f} us per message step, bandwidth beta = {beta/1e9:.2f} GB/s")
print()
print("| model | 1 process ms/step | 2 ranks ms/step | gradient sync ms/step (share) | of which all-reduce | MB/step |")
print("|---|---:|---:|---:|---:|---:|")
for fam, one, two, sync, allr, mb in rows:
    print(f"| {fam} | {float(one):.1f} | {float(two):.1f} | {float(sync):.1f} ({100*float(sync)/float(two):.0f}%) | {float(allr):.1f} | {float(mb):.2f} |")
nets = [("as measured here", alpha, beta), ("10 GbE (alpha 25 us, 1.1 GB/s)", 25e-6, 1.1e9), ("100 Gb/s InfiniBand (alpha 3 us, 11 GB/s)", 3e-6, 11e9)]
print()
print("Expected weak scaling (each rank a 2-core machine with the whole batch of the 1-process row; buckets of 16 MB,")
print("no overlap of all-reduce and backward): step = compute + pack + 2(N-1)·alpha·buckets + 2(N-1)/N·S/beta; speed-up = N·compute/step")
print()
print("| model | network | N=2 step ms (speed-up) | N=8 | N=64 |")
print("|---|---|---:|---:|---:|")
for fam, one, two, sync, allr, mb in rows:
    comp = float(one) * 1e-3
    pack = max(0.0, float(sync) - float(allr)) * 1e-3
    S = float(mb) * 1e6
    buckets = max(1, -(-S // (16 * 2**20 * 4 / 4)))  # 4 Mi floats per bucket
    for name, a, b in nets:
        cells = []
        for n in (2, 8, 64):
            t = comp + pack + 2 * (n - 1) * a * buckets + 2 * (n - 1) / n * S / b
            cells.append(f"{t*1e3:.1f} ({n*comp/t:.1f}×)")
        print(f"| {fam} | {name} | " + " | ".join(cells) + " |")
PY
