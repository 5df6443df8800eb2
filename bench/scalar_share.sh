#!/usr/bin/env bash
# How much of each libtorch elementwise kernel ran scalar: for the top N TensorIterator kernels of a `perf record`, the
# share of the kernel's samples on scalar float instructions (v…ss). An elementwise operation whose operands disagree in
# layout (channels-last against default) falls back to a strided scalar loop inside the same symbol as the vectorised
# one, so the symbol's share alone does not show it; a large scalar share here does (docs/benchmarks.md).
#
#   perf record -F 999 -o fam.perf -- dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll vae --steps 40 --threads 2
#   bench/scalar_share.sh fam.perf [N]        (N: kernels to list, default 10; the first 20 % of the run is skipped)
set -euo pipefail
data=$1; n=${2:-10}
perf report -i "$data" --time 20%-100% --sort sym --no-children --stdio 2>/dev/null | grep -v "^#" \
  | grep "VectorizedLoop2d\|loop_2d\|basic_loop\|cpu_kernel" | head -"$n" | while read -r pct rest; do
  sym=${rest#"[.] "}
  lines=$(perf annotate -i "$data" --stdio -s "$sym" 2>/dev/null | grep -E "^\s+[0-9]+\.[0-9]+\s+:" || true)
  scalar=$(echo "$lines" | grep -E "v(mov|add|mul|sub|fmadd[0-9]*|max|min|div|cmp)ss|vcvtsi2ss|vu?comiss" | awk '{s += $1} END {print s + 0}')
  name=$(echo "$sym" | grep -o "(anonymous namespace)::[a-z_]*kernel[a-z_]*\|direct_copy_kernel\|[a-z_]*_kernel" | head -1)
  echo "$pct of samples, ${scalar}% of them scalar: ${name:-$sym}"
done
