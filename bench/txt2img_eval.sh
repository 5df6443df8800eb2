#!/usr/bin/env bash
# The text-to-image figures of issue 18 for one trained txt2img run: every scheduler at 10/20/50 steps, a guidance
# sweep, each row with FD-cls (class prompts, 1,000 samples vs 1,000 test images, the classifier's features) and
# prompt alignment (110 prompts × PER images: CLIP score, class agreement, per-attribute hit/paired, with and without
# the opposite word as negative prompt).
#
#   bench/txt2img_eval.sh T2I_RUN CLIP_RUN CLS_RUN OUT.jsonl [THREADS]
#
# Each row appends the eval's JSON line to OUT.jsonl; the table is printed at the end. PER (default 10) and N
# (default 1000) come from the environment.
set -euo pipefail
t2i=$1 clip=$2 cls=$3 out=$4 threads=${5:-2}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gs=${GENSHARP:-"$root/gensharp"}
per=${PER:-10} n=${N:-1000}
: > "$out"
row() {   # scheduler steps guidance
  echo "== $1, $2 steps, w = $3" >&2
  "$gs" eval "$t2i" --classifier "$cls" --clip "$clip" --quality-only --no-memorisation -n "$n" --per-prompt "$per" \
    --scheduler "$1" --steps "$2" --guidance-scale "$3" --seed 1 --threads "$threads" 2>/dev/null | tail -n 1 >> "$out"
}
for s in ddim euler euler-a dpm++2m ddpm; do for k in 10 20 50; do row "$s" "$k" 3; done; done
for w in 1 2 5 7.5; do row dpm++2m 20 "$w"; done
python3 - "$out" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| scheduler | steps | w | FD-cls | class agreement (class prompts) | class agreement (110 prompts) | CLIP score | attribute hit (unasked) | paired | with opposite negative: hit, paired |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['scheduler']} | {r['sampler_steps']} | {r['guidance_scale']:g} | {r['fd_cls']:.2f} | {r['class_agreement']:.3f} | {r['prompt_class_agreement']:.3f} | "
          f"{r['clip_score']:.2f} | {r['attribute_hit']:.3f} ({r['attribute_base']:.3f}) | {r['attribute_paired']:.3f} | {r['neg_attribute_hit']:.3f}, {r['neg_attribute_paired']:.3f} |")
EOF
