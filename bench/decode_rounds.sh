#!/usr/bin/env bash
# Decoding speed beside llama.cpp, interleaved (issue 16): ROUNDS rounds, each running, one after the other, GenSharp and
# llama.cpp on the same random SmolLM2-135M-shaped weights in F32, 8 bits and 4 bits (GenSharp: the Hugging Face folder
# and `gensharp quantize --bits 8|4` of it; llama.cpp: F32 GGUF, Q8_0 and Q4_0 by llama-quantize), at depths 64, 512 and
# 2048. On a host whose speed drifts by tens of percent within minutes, a pair taken in the same round is the fair
# comparison; the ratio of medians over rounds is the figure to quote.
#
#   bench/decode_rounds.sh                 3 rounds (about 15 minutes on 2 cores; run it with the machine to itself)
#   ROUNDS=1 NGEN=8 bench/decode_rounds.sh smoke test
#   TYPES="int8" ROUNDS=5 bench/decode_rounds.sh   some of f32, int8, int4 only (default: all three)
#
# Each measurement appends one JSON line to bench/results/<date>-decode-rounds.jsonl: {"run" (the invocation's start,
# Unix seconds), "round", "impl", "type", "depth", "tokens_per_s"}. GenSharp: `GenSharp.Bench FOLDER --mode speed` (greedy decoding of NGEN tokens after a D-token prompt,
# best of 3 runs of each depth); llama.cpp: `llama-bench -p 0 -n NGEN -d D -r 3` (mean of 3).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
NGEN=${NGEN:-32}
TYPES=${TYPES:-"f32 int8 int4"}
DATE=$(date -u +%Y-%m-%d)
FILE=bench/results/$DATE-decode-rounds.jsonl
RUN=$(date +%s)
source bench/random_smollm2.sh          # SID, CHROOT, MALLOC_ENV, HF, GGUF_F32, make_random_smollm2
make_random_smollm2
GGUF=$(dirname "$GGUF_F32")
QDIR=bench/results/quantized
mkdir -p "$QDIR"
for t in Q8_0 Q4_0; do
  f=$GGUF/$NAME-${t,,}.gguf
  [[ -f $f ]] || "${CHROOT[@]}" llama-quantize "/repo/$GGUF_F32" "/repo/$f" "$t" >/dev/null 2>&1
done
dotnet build -c Release bench/GenSharp.Bench -v q -nologo >/dev/null
[[ -f $QDIR/$NAME-int8/model.safetensors ]] || ./gensharp quantize "$HF" --bits 8 --out "$QDIR/$NAME-int8" >/dev/null
[[ -f $QDIR/$NAME-int4/model.safetensors ]] || ./gensharp quantize "$HF" --bits 4 --out "$QDIR/$NAME-int4" >/dev/null

gensharp() { # round, type, folder
  env "${MALLOC_ENV[@]}" dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll "$3" --mode speed --steps "$NGEN" \
      --threads "$THREADS" --data data/tinyshakespeare.txt 2>/dev/null | grep '^{' |
    jq -c --argjson run "$RUN" --argjson round "$1" --arg type "$2" '.results | to_entries[] | select(.key | startswith("tg_d"))
        | {run: $run, round: $round, impl: "gensharp", type: $type, depth: (.key[4:] | tonumber), tokens_per_s: .value}' | tee -a "$FILE"
}
llama() { # round, type, gguf
  "${CHROOT[@]}" env "${MALLOC_ENV[@]}" llama-bench -m "/repo/$3" -t "$THREADS" -p 0 -n "$NGEN" -d 64,512,2048 -r 3 -o jsonl 2>/dev/null |
    jq -c --argjson run "$RUN" --argjson round "$1" --arg type "$2" '{run: $run, round: $round, impl: "llama.cpp", type: $type, depth: .n_depth, tokens_per_s: (.avg_ts * 100 | round / 100)}' | tee -a "$FILE"
}
for r in $(seq 1 "$ROUNDS"); do
  for t in $TYPES; do
    case $t in
      f32)  gensharp "$r" f32 "$HF";                    llama "$r" f32 "$GGUF_F32" ;;
      int8) gensharp "$r" int8 "$QDIR/$NAME-int8";      llama "$r" q8_0 "$GGUF/$NAME-q8_0.gguf" ;;
      int4) gensharp "$r" int4 "$QDIR/$NAME-int4";      llama "$r" q4_0 "$GGUF/$NAME-q4_0.gguf" ;;
      *) echo "TYPES: f32, int8 or int4, got $t" >&2; exit 2 ;;
    esac
  done
done
echo "medians over $ROUNDS rounds (tokens/s):" >&2
jq -s -r 'group_by([.impl, .type, .depth])[] | sort_by(.tokens_per_s) | .[(length / 2 | floor)]
          | "\(.impl) \(.type) d\(.depth): \(.tokens_per_s)"' <(jq -c "select(.run == $RUN)" "$FILE") >&2
