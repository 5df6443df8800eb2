#!/usr/bin/python3
"""Markdown tables from bench/results/*.json lines: bench/table.py FILE..."""
import json, os, sys
rows, extra = [], []
for path in sys.argv[1:]:
    if os.path.exists(path):
        for l in open(path):
            if not l.strip(): continue
            r = json.loads(l)
            if path.endswith("overhead.json"): extra.append(r)
            else: rows.append(r)
def pick(impl, model, mode):
    for r in rows:
        if r["impl"] == impl and r["model"] == model and r["mode"] == mode:
            return r
print("| model | mode | params GenSharp | params PyTorch | batch | threads | GenSharp img/s | PyTorch img/s | ratio |")  # pairs by model name
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for model in dict.fromkeys(r["model"] for r in rows):
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
    if True:
        print(f"| {r['impl']} | {r['model']} | {r['mode']} | {r['peak_rss_mb']:.1f} |")
