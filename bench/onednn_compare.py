"""Compares the oneDNN primitives two runs executed, from their ONEDNN_VERBOSE=1 logs: for each primitive (kind,
propagation, shape; reorders by layouts), the calls per step and the median time of a call on each side, sorted by
what the first side spends more per step. Usage: onednn_compare.py A.log B.log STEPS_A STEPS_B [ROWS]

    ONEDNN_VERBOSE=1 dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll dcgan --steps 20 --warmup 5 > gs.log
    bench/chroot.sh run /work/sid -- env ONEDNN_VERBOSE=1 ... python3 bench/pytorch/bench.py dcgan --steps 20 --warmup 5 > py.log
    python3 bench/onednn_compare.py gs.log py.log 25 25

STEPS counts every step the run took, warm-up included, since the log holds them all.
"""
import collections
import statistics
import sys


def load(path):
    calls = collections.defaultdict(list)
    for line in open(path, errors="replace"):
        if not line.startswith("onednn_verbose") or ",exec," not in line:
            continue
        f = line.strip().split(",")
        kind, impl, prop, desc, ms = f[5], f[6], f[7], f[-2], float(f[-1])
        if kind == "reorder":
            desc = desc + " " + f[8].replace("f32::blocked:", "").replace(":f0", "").replace("f32:p:blocked:", "p:")
        calls[(kind, prop, desc)].append((ms, impl))
    return calls


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    a, b = load(sys.argv[1]), load(sys.argv[2])
    na, nb = int(sys.argv[3]), int(sys.argv[4])
    rows = int(sys.argv[5]) if len(sys.argv) > 5 else 30
    total_a = sum(ms for v in a.values() for ms, _ in v) / na
    total_b = sum(ms for v in b.values() for ms, _ in v) / nb
    typical_a = sum(len(v) / na * statistics.median(ms for ms, _ in v) for v in a.values())
    typical_b = sum(len(v) / nb * statistics.median(ms for ms, _ in v) for v in b.values())
    print(f"oneDNN time per step: {total_a:.1f} ms against {total_b:.1f} ms "
          f"(calls per step x median call, robust to warm-up outliers: {typical_a:.1f} against {typical_b:.1f} ms)")
    print(f"{'ms/step':>8} {'calls':>5} {'median':>7} | {'ms/step':>8} {'calls':>5} {'median':>7} | primitive")

    def stats(calls, n):
        if not calls:
            return 0.0, 0.0, 0.0, ""
        return sum(ms for ms, _ in calls) / n, len(calls) / n, statistics.median(ms for ms, _ in calls), calls[-1][1]

    table = []
    for key in set(a) | set(b):
        sa, sb = stats(a.get(key, []), na), stats(b.get(key, []), nb)
        table.append((sa[0] - sb[0], key, sa, sb))
    for _, key, sa, sb in sorted(table, key=lambda r: -r[0])[:rows]:
        impls = sa[3] if sa[3] == sb[3] or not sb[3] else f"{sa[3]} | {sb[3]}" if sa[3] else sb[3]
        print(f"{sa[0]:8.2f} {sa[1]:5.1f} {sa[2]:7.3f} | {sb[0]:8.2f} {sb[1]:5.1f} {sb[2]:7.3f} | "
              f"{key[0][:6]} {key[1][:17]:17} {key[2][:90]}  [{impls[:60]}]")


if __name__ == "__main__":
    main()
