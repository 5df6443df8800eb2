#!/usr/bin/env bash
# Serving throughput and latency (issue 15): llama.cpp's llama-server and GenSharp's `gensharp serve` under 1, 4 and 16
# streaming clients, on the same random model with SmolLM2-135M's shape, driven by bench/GenSharp.LoadGen.
#
#   bench/serve.sh             full run: llama-server, GenSharp, GenSharp one request at a time (--max-concurrent 1)
#   QUICK=1 bench/serve.sh     smoke test (1 and 4 clients, 2 requests each, 16 tokens), results in bench/results/quick/
#   HOLD=600 bench/serve.sh    GenSharp under 16 clients for 600 s: resident memory every 10 s, /metrics counter
#                              deltas against the client's own counts, TCP connections the server keeps afterwards
#
# Env overrides: SERVERS (llama gensharp gensharp-serial; HOLD: gensharp), ENDPOINT (completions or chat),
# CLIENTS (1 4 16), REQUESTS (per client; default max(2, 8 / clients)), MAX_TOKENS (128), PROMPT_WORDS (32),
# TEMPERATURE (0.8), THREADS (2; both servers), LLAMA_THREADS (THREADS; llama-server's -t and -tb alone), SLOTS (16,
# llama-server's parallel slots), SLOT_CONTEXT (tokens per slot; default fits the prompt and MAX_TOKENS),
# LLAMA_PORT (18080), GS_PORT (18081), SKIP_WAIT (1 = do not wait for other GenSharp.Cli runs to end).
# Every load appends one JSON line (LoadGen's) to bench/results/<date>-serve.jsonl; server logs go to
# bench/results/<date>-serve-*.log. The model folders (bench/results/models/, bench/results/gguf/) are made on the first
# run and kept (gitignored).
#
# Conventions of bench/common.sh, kept here without sourcing it (it builds the training bench, and its contention
# watch would count our own GenSharp server): the peers run in the sid chroot of bench/chroot.sh with THREADS threads
# and the same glibc malloc settings GenSharp sets for itself; other GenSharp.Cli runs are waited for first and any
# seen during the measurement are reported at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
LLAMA_THREADS=${LLAMA_THREADS:-$THREADS}
QUICK=${QUICK:-0}
HOLD=${HOLD:-0}
if [[ $QUICK == 1 ]]; then
  CLIENTS=${CLIENTS:-"1 4"}; REQUESTS=${REQUESTS:-2}; MAX_TOKENS=${MAX_TOKENS:-16}; PROMPT_WORDS=${PROMPT_WORDS:-8}
else
  CLIENTS=${CLIENTS:-"1 4 16"}; MAX_TOKENS=${MAX_TOKENS:-128}; PROMPT_WORDS=${PROMPT_WORDS:-32}
fi
if [[ $HOLD != 0 ]]; then SERVERS=${SERVERS:-gensharp}; else SERVERS=${SERVERS:-"llama gensharp gensharp-serial"}; fi
TEMPERATURE=${TEMPERATURE:-0.8}
ENDPOINT=${ENDPOINT:-completions}
SLOTS=${SLOTS:-16}
# The tokenizer of the random model has no merges: one token per byte, so a prompt word (≤ 8 letters and a space) is
# up to 9 tokens. Each slot holds one prompt and its reply; rounded up to a multiple of 256.
SLOT_CONTEXT=${SLOT_CONTEXT:-$(( (PROMPT_WORDS * 9 + MAX_TOKENS + 16 + 255) / 256 * 256 ))}
LLAMA_PORT=${LLAMA_PORT:-18080}
GS_PORT=${GS_PORT:-18081}
DATE=$(date -u +%Y-%m-%d)
OUT=bench/results; [[ $QUICK == 1 ]] && OUT=bench/results/quick   # smoke runs are not results
mkdir -p "$OUT"
FILE=$OUT/$DATE-serve.jsonl

source bench/random_smollm2.sh        # SID, CHROOT, MALLOC_ENV, NAME, HF, GGUF_F32, make_random_smollm2
MODELS=$(dirname "$HF")
GGUF=$GGUF_F32

echo "waiting for other GenSharp.Cli runs to finish..." >&2
[[ "${SKIP_WAIT:-0}" == 1 ]] || while pgrep -f "GenSharp.Cli.dll" >/dev/null; do sleep 10; done

# --- models: the Hugging Face folder GenSharp reads, and the same weights as GGUF F32 for llama-server ---
make_random_smollm2

# --- builds: the load generator and the CLI (./gensharp builds it when sources changed) ---
dotnet build -c Release bench/GenSharp.LoadGen -v q -nologo >/dev/null
LG=(dotnet bench/GenSharp.LoadGen/bin/Release/net10.0/GenSharp.LoadGen.dll)
./gensharp info >/dev/null

SERVER_PID=""
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 60); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  sleep 1
}

# Watch for competing heavy processes (builds, tests, other GenSharp runs) during the measurement; reported at the end.
CONTENTION=$(mktemp)
( while sleep 5; do
    pgrep -af "GenSharp.Cli.dll|testhost|MSBuild.dll|VBCSCompiler" | grep -v -e pgrep -e "--port $GS_PORT" >> "$CONTENTION" || true
  done ) &
MONITOR=$!
trap 'stop_server; kill $MONITOR 2>/dev/null || true; rm -f "$CONTENTION"' EXIT
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

wait_healthy() { # url, seconds
  for _ in $(seq "$2"); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$1/health" || true) == 200 ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server exited; see its log" >&2; return 1; }
    sleep 1
  done
  echo "no healthy server at $1 after $2 s" >&2
  return 1
}

load() { # label, url, clients, extra LoadGen options...; prints LoadGen's human line, appends its JSON line to FILE
  local label=$1 url=$2 clients=$3; shift 3
  local per=$(( 8 / clients > 2 ? 8 / clients : 2 ))
  local mode=(--requests-per-client "${REQUESTS:-$per}")
  [[ $HOLD != 0 ]] && mode=(--duration "$HOLD")
  echo "+ $label: $clients clients ${mode[*]}, max_tokens $MAX_TOKENS, prompt $PROMPT_WORDS words" >&2
  "${LG[@]}" --url "$url" --model "$NAME" --endpoint "$ENDPOINT" --clients "$clients" "${mode[@]}" --max-tokens "$MAX_TOKENS" \
    --prompt-tokens "$PROMPT_WORDS" --temperature "$TEMPERATURE" --ignore-eos --seed 0 --pid "$SERVER_PID" \
    --metrics-url "$url/metrics" --label "$label" --out "$FILE" --extra "quick=$QUICK" --extra "threads=$THREADS" "$@" | sed -n 1p
}

levels() { [[ $HOLD != 0 ]] && echo 16 || echo "$CLIENTS"; }

for server in $SERVERS; do
  case $server in
    llama)
      # -t/-tb: THREADS threads for decoding and for prompt batches; -np: parallel slots, each a sequence in the
      # continuous batch; -c is split evenly between the slots; no prompt cache (GenSharp has none, and a cache hit
      # would skip prefill); --metrics turns on /metrics.
      flags=(-t "$LLAMA_THREADS" -tb "$LLAMA_THREADS" -np "$SLOTS" -c $(( SLOTS * SLOT_CONTEXT )) --cont-batching --no-cache-prompt --metrics)
      log=$OUT/$DATE-serve-llama.log
      echo "+ llama-server ${flags[*]}" >&2
      env OMP_NUM_THREADS="$LLAMA_THREADS" "${MALLOC_ENV[@]}" "${CHROOT[@]}" llama-server -m "$GGUF" --host 127.0.0.1 \
        --port "$LLAMA_PORT" --alias "$NAME" "${flags[@]}" > "$log" 2>&1 &
      # The server runs inside the chroot; its own process (not the chroot wrapper) is the one to measure.
      for _ in $(seq 30); do SERVER_PID=$(pgrep -f "^llama-server .*--port $LLAMA_PORT" | head -n 1 || true); [[ -n $SERVER_PID ]] && break; sleep 1; done
      [[ -n $SERVER_PID ]] || { echo "llama-server did not start; see $log" >&2; exit 1; }
      wait_healthy "http://127.0.0.1:$LLAMA_PORT" 300
      for c in $(levels); do
        # llama-server drops the connection after each streamed response (curl retries on a fresh one): a new
        # connection per request, so that no request fails on a connection the server has already closed.
        load llama-server "http://127.0.0.1:$LLAMA_PORT" "$c" --close-connections --extra "server_flags=${flags[*]}"
      done
      stop_server
      ;;
    gensharp|gensharp-serial)
      # gensharp: every client's request admitted at once (continuous batching decides how they share the model);
      # gensharp-serial: one request at a time, the rest queued, the baseline batching is measured against.
      concurrent=64; [[ $server == gensharp-serial ]] && concurrent=1
      flags=(--threads "$THREADS" --max-concurrent "$concurrent" --max-queue 64)
      log=$OUT/$DATE-serve-$server.log
      echo "+ gensharp serve ${flags[*]}" >&2
      dotnet src/GenSharp.Cli/bin/Release/net10.0/GenSharp.Cli.dll serve --models "$MODELS" --port "$GS_PORT" "${flags[@]}" > "$log" 2>&1 &
      SERVER_PID=$!
      wait_healthy "http://127.0.0.1:$GS_PORT" 120
      for c in $(levels); do
        load "$server" "http://127.0.0.1:$GS_PORT" "$c" --extra "server_flags=${flags[*]}"
      done
      stop_server
      ;;
    *) echo "unknown server '$server' in SERVERS; use llama, gensharp, gensharp-serial" >&2; exit 2 ;;
  esac
done

echo
echo "results: $FILE"
echo "wall time: $(( $(date +%s) - START )) s; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average at start $LOAD_START, at end $(cut -d' ' -f1 /proc/loadavg)"
if [[ -s "$CONTENTION" ]]; then
  echo "WARNING: other builds, tests or GenSharp runs were running during the measurement (results contaminated):"
  sort -u "$CONTENTION" | cut -c1-160
fi
