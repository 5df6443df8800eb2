# Sourced by bench/serve.sh and bench/llama_cpp.sh (not run): the peer chroot, the malloc settings both sides get, and
# the random SmolLM2-135M-shaped model both benchmarks use, as a Hugging Face folder for GenSharp and as GGUF F32 for
# llama.cpp. Made on first use and kept (gitignored).
SID=${SID:-/work/sid}
[[ -x "$SID/usr/bin/python3" ]] || { echo "no peer chroot at $SID: run 'bench/chroot.sh $SID' first (root, ~5 min)" >&2; exit 1; }
CHROOT=(bench/chroot.sh run "$SID" --)
MALLOC_ENV=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824)

NAME=smollm2-135m-random
HF=bench/results/models/$NAME                 # GenSharp serves every sub-folder of models/: keep only text models there
GGUF_F32=bench/results/gguf/$NAME-f32.gguf

# Writes $HF and converts it to $GGUF_F32 when either is missing or older than its source.
make_random_smollm2() {
  if [[ ! -f $HF/model.safetensors ]]; then
    echo "+ writing $HF (random weights, SmolLM2-135M's shape)" >&2
    "${CHROOT[@]}" python3 bench/pytorch/random_smollm2.py "$HF" >&2
  fi
  if [[ ! -f $GGUF_F32 || $GGUF_F32 -ot $HF/model.safetensors ]]; then
    echo "+ converting to $GGUF_F32" >&2
    mkdir -p "$(dirname "$GGUF_F32")"
    "${CHROOT[@]}" python3 bench/pytorch/gguf_random.py "$HF" "$GGUF_F32" 2>&1 | grep -E "successfully|Error|error" >&2
  fi
}
