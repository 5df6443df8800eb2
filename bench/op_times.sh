#!/usr/bin/env bash
# The same ATen operators, GenSharp's libtorch 2.10 against PyTorch 2.14 (sid chroot), at shapes from the families'
# training steps (bench/op_times.json): ROUNDS alternating processes per side, then the table of the smallest median of
# each side over the rounds (this host's speed moves between processes; the minimum is the least disturbed figure).
#
#   ROUNDS=3 bench/op_times.sh        (~5 min; 2 threads; nothing else should run)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}; ROUNDS=${ROUNDS:-3}; REPS=${REPS:-100}
source bench/common.sh
out=$(mktemp)
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS" >&2
  dotnet run -c Release bench/op_times.cs -- "$REPS" | grep '^{' >> "$out"
  "${PY_ENV[@]}" "${PY[@]}" bench/pytorch/op_times.py "$REPS" | grep '^{' >> "$out"
done
python3 bench/op_times_table.py "$out"
rm -f "$out"
