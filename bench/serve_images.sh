#!/usr/bin/env bash
# Image throughput of `gensharp serve` (issue 15): images/s from POST /v1/images/generations for a pixel DDPM sampled
# with DDIM (50 steps, the GenSharp extras `steps` and `scheduler`) and a class-conditional DCGAN, at the families'
# default sizes, driven by bench/GenSharp.LoadGen --images. The checkpoints are trained for a few steps only on the
# embedded Fashion-MNIST subset: sampling cost depends on the network's size, not on what it learned.
#
#   bench/serve_images.sh            full run: 1 and 4 clients, 1 and 16 images per request
#   QUICK=1 bench/serve_images.sh    smoke test (1 client, 1 and 4 images, DDIM 10 steps), results in bench/results/quick/
#
# Env overrides: CLIENTS (1 4), IMAGES ("1 16": images per request), REQUESTS (ddpm requests per client; default 4),
# DCGAN_REQUESTS (per client; default 64, a DCGAN request takes milliseconds), DDIM_STEPS (50),
# THREADS (2), GS_PORT (18082), SKIP_WAIT (1 = do not wait for other GenSharp.Cli runs to end).
# Every load appends one JSON line to bench/results/<date>-serve-images.jsonl; the server log goes beside it. The
# checkpoints stay in bench/results/image-models/ (gitignored) for later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  CLIENTS=${CLIENTS:-1}; IMAGES=${IMAGES:-"1 4"}; REQUESTS=${REQUESTS:-2}; DCGAN_REQUESTS=${DCGAN_REQUESTS:-8}; DDIM_STEPS=${DDIM_STEPS:-10}
else
  CLIENTS=${CLIENTS:-"1 4"}; IMAGES=${IMAGES:-"1 16"}; REQUESTS=${REQUESTS:-4}; DCGAN_REQUESTS=${DCGAN_REQUESTS:-64}; DDIM_STEPS=${DDIM_STEPS:-50}
fi
GS_PORT=${GS_PORT:-18082}
DATE=$(date -u +%Y-%m-%d)
OUT=bench/results; [[ $QUICK == 1 ]] && OUT=bench/results/quick   # smoke runs are not results
mkdir -p "$OUT"
FILE=$OUT/$DATE-serve-images.jsonl
MODELS=bench/results/image-models

echo "waiting for other GenSharp.Cli runs to finish..." >&2
[[ "${SKIP_WAIT:-0}" == 1 ]] || while pgrep -f "GenSharp.Cli.dll" >/dev/null; do sleep 10; done

dotnet build -c Release bench/GenSharp.LoadGen -v q -nologo >/dev/null
LG=(dotnet bench/GenSharp.LoadGen/bin/Release/net10.0/GenSharp.LoadGen.dll)

# A few training steps at the default architecture (the ddpm UNet has 1.1M parameters): a checkpoint to sample from.
train() { # name, family, options...
  local name=$1 family=$2; shift 2
  [[ -d $MODELS/$name/checkpoint ]] && return 0
  echo "+ gensharp train $family → $MODELS/$name" >&2
  ./gensharp train "$family" --out "$MODELS/$name" --data embedded --threads "$THREADS" --seed 0 "$@" >&2
}
train ddpm ddpm --steps 4 --batch-size 16
train dcgan-cond dcgan --steps 4 --batch-size 16 --set conditional=true

flags=(--threads "$THREADS" --max-concurrent 64 --max-queue 64)
log=$OUT/$DATE-serve-images.log
echo "+ gensharp serve ${flags[*]}" >&2
dotnet src/GenSharp.Cli/bin/Release/net10.0/GenSharp.Cli.dll serve --models "$MODELS" --port "$GS_PORT" "${flags[@]}" > "$log" 2>&1 &
SERVER_PID=$!
trap 'kill -TERM $SERVER_PID 2>/dev/null || true' EXIT
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
url=http://127.0.0.1:$GS_PORT
for _ in $(seq 120); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/health" || true) == 200 ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server exited; see $log" >&2; exit 1; }
  sleep 1
done

load() { # label, model, clients, requests per client, images per request, extra LoadGen options...
  local label=$1 model=$2 clients=$3 requests=$4 n=$5; shift 5
  echo "+ $label: $clients clients × $requests requests of $n images" >&2
  "${LG[@]}" --images --url "$url" --model "$model" --clients "$clients" --requests-per-client "$requests" --n "$n" --seed 0 \
    --pid "$SERVER_PID" --metrics-url "$url/metrics" --label "$label" --out "$FILE" --extra "quick=$QUICK" \
    --extra "threads=$THREADS" --extra "server_flags=${flags[*]}" "$@" | sed -n 1p
}

for c in $CLIENTS; do
  for n in $IMAGES; do
    load "ddpm-ddim$DDIM_STEPS" ddpm "$c" "$REQUESTS" "$n" --steps "$DDIM_STEPS" --scheduler ddim
    load dcgan-conditional dcgan-cond "$c" "$DCGAN_REQUESTS" "$n" --prompt "a sneaker"
  done
done

echo
echo "results: $FILE"
echo "wall time: $(( $(date +%s) - START )) s; $(nproc) cores; load average at start $LOAD_START, at end $(cut -d' ' -f1 /proc/loadavg)"
