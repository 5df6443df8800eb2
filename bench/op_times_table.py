"""Table of bench/op_times.sh: per operator, the smallest median over the rounds on each side and their ratio."""
import collections
import json
import sys

best = collections.defaultdict(dict)
order = []
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row["name"] not in order:
        order.append(row["name"])
    for key in ("forward_ms", "forward_backward_ms"):
        if key in row:
            slot = (row["impl"], key)
            best[row["name"]][slot] = min(best[row["name"]].get(slot, float("inf")), row[key])

print("| operator | forward GenSharp | forward PyTorch | ratio | fwd + bwd GenSharp | fwd + bwd PyTorch | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name in order:
    b = best[name]
    cells = []
    for key in ("forward_ms", "forward_backward_ms"):
        g, p = b.get(("gensharp", key)), b.get(("pytorch", key))
        cells += [f"{g:.3f} ms" if g else "", f"{p:.3f} ms" if p else "", f"{g / p:.2f}" if g and p else ""]
    print(f"| {name} | " + " | ".join(cells) + " |")
