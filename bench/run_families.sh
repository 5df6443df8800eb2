#!/usr/bin/env bash
# Every family's training step, GenSharp vs PyTorch 2.14 (Debian sid chroot, bench/chroot.sh), in one run: the repeats
# alternate the two sides so drift hits both, and each run reports its peak resident memory. The gpt row runs the real
# nanoGPT (karpathy/nanoGPT's train.py, README CPU configuration), copied into the chroot from the search tool's
# mirror (fetch github:karpathy/nanoGPT first; it is not committed here).
#   bench/run_families.sh                # ~17 min on 2 cores
#   QUICK=1 bench/run_families.sh        # smoke test
# Env: THREADS (2), REPEATS (3), FAMILIES ("vae dcgan pixelcnn realnvp glow ddpm ebm rbm gpt wavenet videodiffusion"), NANOGPT (the mirror),
# TAG (names the output file, so that a second run on the same day does not overwrite the first).
# Output: bench/results/<date>-families[-TAG].jsonl (one JSON line per run, "repeat" added) and the table of
# bench/families_table.py on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-3}
FAMILIES=${FAMILIES:-"vae dcgan pixelcnn realnvp glow ddpm ebm rbm gpt wavenet videodiffusion"}
NANOGPT=${NANOGPT:-/work/.mirror/karpathy+nanoGPT/repo}
DATE=$(date -u +%Y-%m-%d)
OUT=bench/results; [[ "${QUICK:-0}" == 1 ]] && { OUT=bench/results/quick; REPEATS=1; }
mkdir -p "$OUT"
source bench/common.sh
steps_of() { # family -> "steps warmup" (about 5-15 s a run on 2 cores)
  if [[ "${QUICK:-0}" == 1 ]]; then echo "3 1"; return; fi
  case $1 in
    vae) echo "200 10" ;; dcgan) echo "80 10" ;; pixelcnn) echo "8 2" ;; realnvp|glow) echo "40 5" ;;
    ddpm) echo "20 3" ;; ebm) echo "6 1" ;; rbm) echo "200 10" ;; gpt) echo "300 10" ;; wavenet) echo "120 10" ;;
    videodiffusion) echo "12 2" ;;
  esac
}
if [[ " $FAMILIES " == *" gpt "* && ! -f "$SID/opt/nanoGPT/train.py" ]]; then
  [[ -d "$NANOGPT" ]] || { echo "no nanoGPT at $NANOGPT: fetch github:karpathy/nanoGPT with the search tool, or set NANOGPT" >&2; exit 1; }
  mkdir -p "$SID/opt/nanoGPT"
  if [[ -d "$NANOGPT/.git" || -f "$NANOGPT/HEAD" ]]; then git --git-dir="$( [[ -d $NANOGPT/.git ]] && echo "$NANOGPT/.git" || echo "$NANOGPT")" archive HEAD | tar -x -C "$SID/opt/nanoGPT"
  else cp -r "$NANOGPT"/. "$SID/opt/nanoGPT/"; fi
fi
file="$OUT/$DATE-families${TAG:+-$TAG}.jsonl"
: > "$file"
tag() { python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["repeat"]=int(sys.argv[2]); r.pop("evals",None); print(json.dumps(r))' "$1" "$2"; }
for repeat in $(seq 1 "$REPEATS"); do
  for family in $FAMILIES; do
    read -r steps warmup < <(steps_of "$family")
    if [[ $family == gpt ]]; then
      gs=("${GS[@]}" gpt --steps "$steps" --warmup "$warmup" --threads "$THREADS")
      # nanoGPT's fastest setting on 2 cores: PyTorch's OpenMP pool at 1, OpenBLAS's at 2 (docs/benchmarks.md)
      py=(env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS="$THREADS" MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824
          "${PY[@]}" bench/pytorch/nanogpt_bench.py --steps "$steps" --warmup "$warmup")
    else
      extra=(); [[ $family == rbm ]] && extra=(--set cd_steps=1)
      # wavenet: the mel vocoder of docs/audio.md (10 layers, dilation cycle 5, 1600-sample crops, batch 4), synthetic crops on both sides
      [[ $family == wavenet ]] && extra=(--batch-size 4 --set layers=10 --set dilation_cycle=5 --set sample_length=1600)
      # videodiffusion: the default config (8 clips of 8 frames 32x32, widths 32-64-64), synthetic uint8 clips on both sides
      gs=("${GS[@]}" "$family" --steps "$steps" --warmup "$warmup" --threads "$THREADS" "${extra[@]}")
      py=("${PY_ENV[@]}" "${PY[@]}" bench/pytorch/bench.py "$family" --steps "$steps" --warmup "$warmup" --threads "$THREADS" "${extra[@]}")
    fi
    for side in gs py; do
      if [[ $side == gs ]]; then cmd=("${gs[@]}"); else cmd=("${py[@]}"); fi
      echo "+ [$repeat] ${cmd[*]}" >&2
      line=$("${cmd[@]}" 2>&1 | tail -n 1)
      echo "$line" | cut -c1-160 >&2
      tag "$line" "$repeat" >> "$file"
    done
  done
done
python3 bench/families_table.py "$file"
finish
