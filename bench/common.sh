# Shared plumbing of bench/run.sh and bench/run_exact.sh (sourced after THREADS, DATE, OUT are set):
# PyTorch thread settings, waiting for and watching competing GenSharp.Cli runs, building the C#
# bench, run() to log a measurement and keep its JSON line, and finish() for the closing report.
# The peers (PyTorch 2.14 and friends) live in the Debian sid chroot of bench/chroot.sh (SID, default /work/sid),
# which runs commands in this repository (mounted at /repo) with the thread and malloc variables below passed in.
SID=${SID:-/work/sid}
[[ -x "$SID/usr/bin/python3" ]] || { echo "no peer chroot at $SID: run 'bench/chroot.sh $SID' first (root, ~5 min)" >&2; exit 1; }
PY=(bench/chroot.sh run "$SID" -- python3)
# PyTorch thread settings: ATen/oneDNN intra-op pool via OpenMP = THREADS; OpenBLAS (used by
# Linear/addmm in the Debian build) single-threaded — the pthread OpenBLAS pool and the OpenMP pool
# otherwise oversubscribe the 2 cores and PyTorch gets ~10x slower (measured, see docs/benchmarks.md).
# glibc malloc: GenSharp raises the mmap and trim thresholds at start-up (TorchRuntime.TuneNativeAllocator)
# so freed tensor buffers are reused instead of page-faulted in again every step; PyTorch gets the same
# settings through glibc's environment variables, so both sides run with one allocator behaviour.
PY_ENV=(env OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824)

echo "waiting for other GenSharp.Cli runs to finish..." >&2
[[ "${SKIP_WAIT:-0}" == 1 ]] || while pgrep -f "GenSharp.Cli.dll" >/dev/null; do sleep 10; done

# Watch for competing heavy processes during the measurement; reported at the end.
CONTENTION=$(mktemp)
( while sleep 5; do pgrep -af "GenSharp.Cli.dll" | grep -v pgrep >> "$CONTENTION" || true; done ) &
MONITOR=$!
trap 'kill $MONITOR 2>/dev/null || true; rm -f "$CONTENTION"' EXIT
START=$(date +%s)

dotnet build -c Release bench/GenSharp.Bench -v q -nologo >/dev/null
GS=(dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll)

run() { # file, command... ; echoes the log to stderr, appends the JSON line to the file
  local file=$1; shift
  echo "+ $*" >&2
  local log; log=$("$@")
  echo "$log" >&2
  echo "$log" | tail -n 1 >> "$file"
}

finish() { # prints wall time, machine, and any contention seen during the measurement
  echo
  echo "wall time: $(( $(date +%s) - START )) s; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  if [[ -s "$CONTENTION" ]]; then
    echo "WARNING: GenSharp.Cli was running during the measurement (results contaminated):"
    sort -u "$CONTENTION" | cut -c1-160
  fi
}
