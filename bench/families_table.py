#!/usr/bin/python3
"""Markdown table of bench/run_families.sh's JSON lines: per family, the median over repeats of each side's throughput,
the ratio, and each side's largest peak resident memory.   bench/families_table.py FILE.jsonl"""
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]

def speed(r):  # higher is faster: images/s, or iterations/s for gpt
    return r["images_per_s"] if "images_per_s" in r else 1000.0 / r["ms_per_iter"]

print("| family | batch | GenSharp | PyTorch 2.14 | GenSharp / PyTorch | repeats | peak RSS GenSharp | peak RSS PyTorch | RSS ratio |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for family in dict.fromkeys(r["model"] for r in rows):
    g = [r for r in rows if r["model"] == family and r["impl"] == "gensharp"]
    p = [r for r in rows if r["model"] == family and r["impl"] != "gensharp"]
    if not g or not p:
        continue
    gs, ps = statistics.median(speed(r) for r in g), statistics.median(speed(r) for r in p)
    unit = "it/s" if family == "gpt" else "crops/s" if family.startswith("wavenet") else "clips/s" if family.startswith("videodiffusion") else "img/s"
    fmt = (lambda v: f"{1000 / v:.1f} ms/it") if family == "gpt" else (lambda v: f"{v:,.1f} {unit}")
    spread = lambda xs: f" ({min(xs):,.0f}–{max(xs):,.0f})" if family != "gpt" and len(xs) > 1 else ""
    gr, pr = max(r["peak_rss_mb"] for r in g), max(r["peak_rss_mb"] for r in p)
    name = family + (" (vs nanoGPT)" if p[0]["impl"] == "pytorch-nanogpt" else "")
    print(f"| {name} | {g[0].get('batch', '')} | {fmt(gs)}{spread([speed(r) for r in g])} | {fmt(ps)}{spread([speed(r) for r in p])} | "
          f"**{gs / ps:.2f}×** | {len(g)}/{len(p)} | {gr:,.0f} MB | {pr:,.0f} MB | {gr / pr:.2f}× |")
