#!/usr/bin/env bash
# Weight quantization beside llama.cpp (issue 16): decode and prefill speed, resident memory and perplexity of the random
# SmolLM2-135M-shaped model in F32, 8 bits and 4 bits on both sides (llama.cpp: F32, Q8_0, Q4_0 made by llama-quantize;
# GenSharp: the Hugging Face folder, and `gensharp quantize --bits 8` / `--bits 4` of it), plus the perplexity change
# quantization causes on trained weights both sides read (a small llama trained on tiny Shakespeare by PyTorch).
#
#   bench/llama_cpp.sh           full run (about half an hour on 2 cores; run it with the machine to itself)
#   QUICK=1 bench/llama_cpp.sh   smoke test: short runs of every step, results in bench/results/quick/
#
# Env overrides: THREADS (2, both sides), NGEN (decode tokens per test: 128; QUICK 8), DEPTHS (contexts at which decoding
# is timed: "64 512 2048"; QUICK "64"), PREFILL (prompt tokens: 960; QUICK 64), PPL_CHARS (characters of
# data/tinyshakespeare.txt whose last 10 % are scored: 200000; QUICK 6000), PPL_CONTEXT (512; QUICK 128), TRAIN_STEPS
# (steps of the trained small llama: 600; QUICK 20), GROUP_SIZE (GenSharp's int4 group: 32, as Q4_0's block), SKIP_WAIT (1 = do
# not wait for other GenSharp.Cli runs to end).
#
# Every measurement appends one JSON line to bench/results/<date>-llamacpp.jsonl with "impl" (llama.cpp or gensharp),
# "type" (f32, q8_0, q4_0, int8, int4), "test" and, where the process was measured, "max_rss_kb" (/usr/bin/time -v of
# the whole command: model, caches, runtime). llama-bench's own JSON fields are kept as it writes them.
#
# What is comparable: decode tokens/s at the same depth (llama-bench -d D -n NGEN: NGEN tokens after D cached ones;
# GenSharp: `generate` of NGEN tokens after a D-token prompt, counted after the first new token; the full run adds
# GenSharp.Bench --mode decode at its own contexts); prefill of PREFILL tokens (llama-bench -p; GenSharp: `generate` of a
# PREFILL-token prompt with one new token, time to first token, which includes the first call's warm-up);
# and the perplexity change F32 → 8 → 4 bits within each implementation. Absolute perplexities differ in how they score
# (llama-perplexity scores the second half of each window, `gensharp eval` every token of disjoint windows) and mean
# nothing on random weights; the trained small llama gives both sides' change on the same real weights.
#
# Conventions of bench/serve.sh and bench/common.sh: the peers run in the sid chroot of bench/chroot.sh with THREADS
# threads and the glibc malloc settings GenSharp sets for itself; other GenSharp.Cli runs are waited for first, and
# builds, tests or GenSharp runs seen during the measurement are reported at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  NGEN=${NGEN:-8}; DEPTHS=${DEPTHS:-64}; PREFILL=${PREFILL:-64}; PPL_CHARS=${PPL_CHARS:-6000}; PPL_CONTEXT=${PPL_CONTEXT:-128}
  TRAIN_STEPS=${TRAIN_STEPS:-20}; REPS=1
else
  NGEN=${NGEN:-128}; DEPTHS=${DEPTHS:-"64 512 2048"}; PREFILL=${PREFILL:-960}; PPL_CHARS=${PPL_CHARS:-200000}
  PPL_CONTEXT=${PPL_CONTEXT:-512}; TRAIN_STEPS=${TRAIN_STEPS:-600}; REPS=3
fi
GROUP_SIZE=${GROUP_SIZE:-32}
DATE=$(date -u +%Y-%m-%d)
OUT=bench/results; [[ $QUICK == 1 ]] && OUT=bench/results/quick   # smoke runs are not results
mkdir -p "$OUT"
FILE=$OUT/$DATE-llamacpp.jsonl

source bench/random_smollm2.sh        # SID, CHROOT, MALLOC_ENV, NAME, HF, GGUF_F32, make_random_smollm2
[[ -x "$SID/usr/bin/llama-perplexity" ]] || { echo "no llama-perplexity in $SID: run 'bench/chroot.sh $SID' (installs llama.cpp-tools-extra)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

GGUF=$(dirname "$GGUF_F32")                   # F32 from bench/random_smollm2.sh, Q8_0 and Q4_0 made here
QDIR=bench/results/quantized                  # GenSharp's quantized folders and the trained gpt (not under models/: serve would serve them)
mkdir -p "$GGUF" "$QDIR"

echo "waiting for other GenSharp.Cli runs to finish..." >&2
[[ "${SKIP_WAIT:-0}" == 1 ]] || while pgrep -f "GenSharp.Cli.dll" >/dev/null; do sleep 10; done

# --- models ---
make_random_smollm2
for t in q8_0 q4_0; do
  if [[ ! -f $GGUF/$NAME-$t.gguf || $GGUF/$NAME-$t.gguf -ot $GGUF/$NAME-f32.gguf ]]; then
    echo "+ llama-quantize $t" >&2
    "${CHROOT[@]}" llama-quantize "$GGUF/$NAME-f32.gguf" "$GGUF/$NAME-$t.gguf" "${t^^}" "$THREADS" 2>&1 | tail -n 2 >&2
  fi
done
./gensharp info >/dev/null                    # builds the CLI when sources changed
GSCLI=(dotnet src/GenSharp.Cli/bin/Release/net10.0/GenSharp.Cli.dll)
quantize() { # float folder, bits, out folder: (re)made when missing or older than the float weights
  local src=$1 bits=$2 dst=$3 group=()
  [[ $bits == 4 ]] && group=(--group-size "$GROUP_SIZE")
  if [[ ! -f $dst/model.safetensors || $dst/model.safetensors -ot $(ls -t "$src"/model.safetensors "$src"/checkpoint/model.safetensors 2>/dev/null | head -n 1) ]]; then
    rm -rf "$dst"
    echo "+ gensharp quantize $src --bits $bits ${group[*]}" >&2
    "${GSCLI[@]}" quantize "$src" --bits "$bits" "${group[@]}" --out "$dst" --threads "$THREADS" 2>/dev/null | head -n 1 >&2
  fi
}
quantize "$HF" 8 "$QDIR/$NAME-int8"
quantize "$HF" 4 "$QDIR/$NAME-int4"
dotnet build -c Release bench/GenSharp.Bench -v q -nologo >/dev/null
BENCH=(dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll)

# The scored text: the first PPL_CHARS characters of tiny Shakespeare; both sides score its last 10 %.
TEXT=$OUT/ppl-text.txt
VAL=$OUT/ppl-val.txt
head -c "$PPL_CHARS" data/tinyshakespeare.txt > "$TEXT"
tail -c $(( PPL_CHARS / 10 )) "$TEXT" > "$VAL"
head -c $(( PREFILL - 1 )) data/tinyshakespeare.txt > "$OUT/prefill-prompt.txt"   # one token per byte (+ BOS) in the random model's tokenizer
: > "$OUT/llama-stderr.log"; : > "$OUT/gensharp-stderr.log"

CONTENTION=$(mktemp)
( while sleep 5; do
    pgrep -af "GenSharp.Cli.dll|testhost|MSBuild.dll|VBCSCompiler" | grep -v -e pgrep -e "$QDIR" -e "$HF" >> "$CONTENTION" || true
  done ) &
MONITOR=$!
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

TIMEV=$(mktemp)
trap 'kill $MONITOR 2>/dev/null || true; rm -f "$CONTENTION" "$TIMEV"' EXIT
rss() { grep "Maximum resident set size" "$TIMEV" | awk '{print $NF}' || true; }
record() { # impl, type, test; JSON objects on stdin (one per line) → FILE with the labels and the measured command's max RSS
  local json kb
  json=$(cat)                                 # all of it first: /usr/bin/time writes TIMEV when the command has ended
  kb=$(rss)
  [[ -n $json ]] || { echo "no result for $1 $2 $3" >&2; return 0; }
  echo "$json" | jq -c --arg impl "$1" --arg type "$2" --arg test "$3" --argjson rss "${kb:-null}" --argjson quick "$QUICK" --argjson threads "$THREADS" \
    '. + {impl: $impl, type: $type, test: $test, max_rss_kb: $rss, quick: ($quick == 1), threads: $threads}' | tee -a "$FILE" | cut -c1-240 >&2
}

# --- llama.cpp: llama-bench (prefill; decode at each depth) and llama-perplexity, for F32, Q8_0, Q4_0 ---
for t in f32 q8_0 q4_0; do
  model=$GGUF/$NAME-$t.gguf
  echo "+ llama-bench $t: prefill $PREFILL, decode $NGEN at depths $DEPTHS" >&2
  env OMP_NUM_THREADS="$THREADS" "${MALLOC_ENV[@]}" /usr/bin/time -v -o "$TIMEV" "${CHROOT[@]}" llama-bench -m "$model" -t "$THREADS" \
    -r "$REPS" -p "$PREFILL" -n 0 -o jsonl 2>>"$OUT/llama-stderr.log" | record llama.cpp "$t" prefill
  env OMP_NUM_THREADS="$THREADS" "${MALLOC_ENV[@]}" /usr/bin/time -v -o "$TIMEV" "${CHROOT[@]}" llama-bench -m "$model" -t "$THREADS" \
    -r "$REPS" -p 0 -n "$NGEN" -d "$(echo $DEPTHS | tr ' ' ,)" -o jsonl 2>>"$OUT/llama-stderr.log" | record llama.cpp "$t" decode
  echo "+ llama-perplexity $t: context $PPL_CONTEXT on $VAL" >&2
  env OMP_NUM_THREADS="$THREADS" "${MALLOC_ENV[@]}" /usr/bin/time -v -o "$TIMEV" "${CHROOT[@]}" llama-perplexity -m "$model" -t "$THREADS" \
    -f "$VAL" -c "$PPL_CONTEXT" -b "$PPL_CONTEXT" > "$OUT/ppl-$t.log" 2>&1 || true
  ppl=$(grep -oE "Final estimate: PPL = [0-9.]+ \+/- [0-9.]+" "$OUT/ppl-$t.log" | awk '{print $5, $7}' || true)
  if [[ -n $ppl ]]; then
    read -r p e <<< "$ppl"
    echo "{\"perplexity\": $p, \"perplexity_error\": $e, \"context\": $PPL_CONTEXT, \"text\": \"$VAL\"}" | record llama.cpp "$t" perplexity
  else
    echo "llama-perplexity $t gave no estimate (text too short for two windows?); see $OUT/ppl-$t.log" >&2
  fi
done

# --- GenSharp: decode at the same depths and prefill (generate), the decode bench (full run), eval; float, int8, int4 ---
# The random model's tokenizer has no merges: one token per byte (+ BOS), so a D-byte prompt is a D-token context.
gen() { # folder, prompt file, new tokens → generate's JSON line; the process measured into TIMEV
  /usr/bin/time -v -o "$TIMEV" "${GSCLI[@]}" generate "$1" --prompt "$(cat "$2")" --max-tokens "$3" --temperature 0 --ignore-eos \
    --threads "$THREADS" 2>>"$OUT/gensharp-stderr.log" | tail -n 1
}
for t in f32 int8 int4; do
  folder=$HF; [[ $t != f32 ]] && folder=$QDIR/$NAME-$t
  for d in $DEPTHS; do
    head -c $(( d - 1 )) data/tinyshakespeare.txt > "$OUT/depth-prompt.txt"
    echo "+ gensharp generate $t: $NGEN tokens after $d" >&2
    # Decoding speed after the first new token (the prompt's prefill is the time to first token), as llama-bench's tg.
    gen "$folder" "$OUT/depth-prompt.txt" "$NGEN" | jq -c --argjson d "$d" '{n_depth: $d, n_gen: .generated_tokens, decode_tokens_per_s: ((.generated_tokens - 1) / (.seconds - .time_to_first_piece_ms / 1000)),
          time_to_first_token_ms: .time_to_first_piece_ms}' | record gensharp "$t" decode
  done
  echo "+ gensharp generate $t: prefill of $PREFILL tokens + 1" >&2
  gen "$folder" "$OUT/prefill-prompt.txt" 1 | jq -c --argjson n "$PREFILL" '{n_prompt: $n, time_to_first_token_ms: .time_to_first_piece_ms, prefill_tokens_per_s: ($n / .time_to_first_piece_ms * 1000)}' \
    | record gensharp "$t" prefill
  if [[ $QUICK != 1 ]]; then                  # the decode bench also times decoding without a cache: minutes per model
    echo "+ GenSharp.Bench $t --mode decode --steps $NGEN" >&2
    /usr/bin/time -v -o "$TIMEV" "${BENCH[@]}" "$folder" --mode decode --steps "$NGEN" --threads "$THREADS" 2>>"$OUT/gensharp-stderr.log" | tail -n 1 \
      | record gensharp "$t" decode-bench
  fi
  echo "+ gensharp eval $t: context $PPL_CONTEXT on the last 10 % of $TEXT" >&2
  /usr/bin/time -v -o "$TIMEV" "${GSCLI[@]}" eval "$folder" --data "$TEXT" --context "$PPL_CONTEXT" --batch-size 4 --threads "$THREADS" 2>>"$OUT/gensharp-stderr.log" \
    | tail -n 1 | record gensharp "$t" perplexity
done

# --- trained weights, both sides: a small llama (6 layers, 256 wide, byte tokenizer) trained by PyTorch on the first
# 90 % of tiny Shakespeare (bench/pytorch/train_tiny_llama.py), converted to GGUF; each side's F32 → 8 → 4-bit perplexity
# on the held-out last 10 % (llama-perplexity: that text as a file; gensharp eval: the whole file, whose last 10 % it scores).
TINY=$QDIR/tiny-llama$([[ $QUICK == 1 ]] && echo -quick || true)
if [[ ! -f $TINY-shakespeare/model.safetensors ]]; then
  rm -rf "$TINY-random" "$TINY-shakespeare"
  "${CHROOT[@]}" python3 bench/pytorch/random_smollm2.py "$TINY-random" --layers 6 --hidden 256 --heads 4 --kv-heads 2 \
    --intermediate 768 --vocab 257 --max-positions 1024 --dtype f32 >&2
  echo "+ training $TINY-shakespeare ($TRAIN_STEPS steps, PyTorch)" >&2
  env OMP_NUM_THREADS="$THREADS" "${CHROOT[@]}" python3 bench/pytorch/train_tiny_llama.py "$TINY-random" data/tinyshakespeare.txt \
    "$TINY-shakespeare" --steps "$TRAIN_STEPS" 2>&1 | grep -E "^step|wrote" | tail -n 2 >&2
fi
TINY_GGUF=$GGUF/$(basename "$TINY")-shakespeare
if [[ ! -f $TINY_GGUF-f32.gguf || $TINY_GGUF-f32.gguf -ot $TINY-shakespeare/model.safetensors ]]; then
  "${CHROOT[@]}" python3 bench/pytorch/gguf_random.py "$TINY-shakespeare" "$TINY_GGUF-f32.gguf" 2>&1 | grep -E "successfully|Error|error" >&2
  for t in q8_0 q4_0; do "${CHROOT[@]}" llama-quantize "$TINY_GGUF-f32.gguf" "$TINY_GGUF-$t.gguf" "${t^^}" "$THREADS" 2>&1 | tail -n 1 >&2; done
fi
n=$(stat -c %s data/tinyshakespeare.txt)
HELD=$OUT/shakespeare-last10.txt
tail -c $(( n - n * 9 / 10 )) data/tinyshakespeare.txt > "$HELD"
for t in f32 q8_0 q4_0; do
  echo "+ llama-perplexity trained $t: context 256 on $HELD" >&2
  env OMP_NUM_THREADS="$THREADS" "${MALLOC_ENV[@]}" /usr/bin/time -v -o "$TIMEV" "${CHROOT[@]}" llama-perplexity -m "$TINY_GGUF-$t.gguf" \
    -t "$THREADS" -f "$HELD" -c 256 -b 256 > "$OUT/ppl-trained-$t.log" 2>&1 || true
  ppl=$(grep -oE "Final estimate: PPL = [0-9.]+ \+/- [0-9.]+" "$OUT/ppl-trained-$t.log" | awk '{print $5, $7}' || true)
  [[ -n $ppl ]] || { echo "llama-perplexity trained $t gave no estimate; see $OUT/ppl-trained-$t.log" >&2; continue; }
  read -r p e <<< "$ppl"
  echo "{\"perplexity\": $p, \"perplexity_error\": $e, \"context\": 256, \"text\": \"$HELD\"}" | record llama.cpp "$t" perplexity-trained
done
quantize "$TINY-shakespeare" 8 "$TINY-int8"
quantize "$TINY-shakespeare" 4 "$TINY-int4"
for t in f32 int8 int4; do
  folder=$TINY-shakespeare; [[ $t != f32 ]] && folder=$TINY-$t
  echo "+ gensharp eval trained $t: context 256 on the last 10 % of data/tinyshakespeare.txt" >&2
  /usr/bin/time -v -o "$TIMEV" "${GSCLI[@]}" eval "$folder" --data data/tinyshakespeare.txt --context 256 --threads "$THREADS" \
    2>>"$OUT/gensharp-stderr.log" | tail -n 1 | record gensharp "$t" perplexity-trained
done

echo
echo "results: $FILE"
echo "wall time: $(( $(date +%s) - START )) s; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average at start $LOAD_START, at end $(cut -d' ' -f1 /proc/loadavg)"
if [[ -s "$CONTENTION" ]]; then
  echo "WARNING: other builds, tests or GenSharp runs were running during the measurement (results contaminated):"
  sort -u "$CONTENTION" | cut -c1-160
fi
