#!/usr/bin/env bash
# The video figures of issue 20 for one trained videodiffusion run: prediction (first half of each clip given) and
# generation metrics on N test clips (default 40, seed 0), one JSON line per row in OUT.jsonl, the table at the end.
#
#   bench/video_eval.sh VDIFF_RUN CLS_RUN VCLS_RUN OUT.jsonl [THREADS]
#
# Rows (ROWS from the environment, default all): ddim50 (the default sampler, ddim 50 steps, guidance 2; also writes
# the GIFs to GIF_DIR when set), carry (the same with --carry-known-frames: the sampler before the known-frame fix),
# ddim10 (10 steps), w1 (guidance 1), dpm20 (dpm++2m 20 steps). Rows append, so two shells can run different ROWS.
set -euo pipefail
run=$1 cls=$2 vcls=$3 out=$4 threads=${5:-2}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gs=${GENSHARP:-"$root/gensharp"}
n=${N:-40} rows=${ROWS:-"ddim50 carry ddim10 w1 dpm20"}
touch "$out"
row() {   # name, then eval flags
  local name=$1; shift
  echo "== $name: $*" >&2
  "$gs" eval "$run" -n "$n" --batch-size 20 --seed 0 --classifier "$cls" --video-classifier "$vcls" --threads "$threads" "$@" 2>/dev/null \
    | tail -n 1 | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['row']='$name'; print(json.dumps(r))" >> "$out"
}
for r in $rows; do
  case $r in
    ddim50) row ddim50 --scheduler ddim --steps 50 --guidance-scale 2 ${GIF_DIR:+--gif-dir "$GIF_DIR"} ;;
    carry)  row carry --scheduler ddim --steps 50 --guidance-scale 2 --carry-known-frames ;;
    ddim10) row ddim10 --scheduler ddim --steps 10 --guidance-scale 2 ;;
    w1)     row w1 --scheduler ddim --steps 50 --guidance-scale 1 ;;
    dpm20)  row dpm20 --scheduler dpm++2m --steps 20 --guidance-scale 2 ;;
    *) echo "unknown row $r" >&2; exit 2 ;;
  esac
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| row | sampler | pred MSE | pred SSIM | centroid px | motion acc | s/clip | copy-last MSE | copy-last SSIM | blank MSE | blank SSIM |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['row']} | {r['sampler']} | {r['pred_mse']:.2f} | {r['pred_ssim']:.3f} | {r['pred_centroid_px']:.2f} | "
          f"{r.get('pred_motion_accuracy', float('nan'))*100:.1f}% | {r['pred_seconds_per_clip']:.2f} | {r['copy_last_mse']:.2f} | {r['copy_last_ssim']:.3f} | "
          f"{r.get('blank_mse', float('nan')):.2f} | {r.get('blank_ssim', float('nan')):.3f} |")
print()
print("| row | FVD-style | FD-cls frames | class acc | motion-confident | consistency (all agree) | speed px | s/clip |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['row']} | {r.get('fvd_cls', float('nan')):.0f} | {r.get('fd_cls_frames', float('nan')):.2f} | {r.get('class_accuracy', float('nan'))*100:.1f}% | "
          f"{r.get('motion_confident', float('nan'))*100:.1f}% | {r.get('consistency', float('nan')):.3f} ({r.get('consistency_all_frames', float('nan'))*100:.1f}%) | "
          f"{r['gen_speed_px']:.2f} | {r['gen_seconds_per_clip']:.2f} |")
PY
