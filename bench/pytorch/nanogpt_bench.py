#!/usr/bin/python3
"""Runs the real nanoGPT (karpathy/nanoGPT's train.py, unmodified) on tiny Shakespeare with its README's CPU
configuration and prints one JSON line like GenSharp.Bench's gpt run: mean ms per training iteration (iterations that
ran an evaluation and the first --warmup ones left out, as GenSharp.Bench leaves validation untimed), last loss, peak
resident memory of the training process.

    bench/chroot.sh run /work/sid -- env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2 python3 bench/pytorch/nanogpt_bench.py \
        --nanogpt /opt/nanoGPT --steps 300 --warmup 10

nanoGPT itself is not in this repository: bench/run_families.sh copies it into the chroot from the search tool's
mirror (fetch github:karpathy/nanoGPT). Its prepare.py reads data/shakespeare_char/input.txt, which this script
copies from the repository's data/tinyshakespeare.txt, so nothing is downloaded.
"""
import argparse, json, os, re, resource, shutil, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = os.path.normpath(os.path.join(HERE, "..", "..", "data", "tinyshakespeare.txt"))

ap = argparse.ArgumentParser()
ap.add_argument("--nanogpt", default="/opt/nanoGPT")
ap.add_argument("--steps", type=int, default=300)
ap.add_argument("--warmup", type=int, default=10)
ap.add_argument("--eval-interval", type=int, default=250)
a = ap.parse_args()

data = os.path.join(a.nanogpt, "data", "shakespeare_char")
if not os.path.exists(os.path.join(data, "train.bin")):
    shutil.copyfile(TEXT, os.path.join(data, "input.txt"))
    subprocess.run([sys.executable, "prepare.py"], cwd=data, check=True, stdout=subprocess.DEVNULL)

# nanoGPT README, "I only have a macbook" CPU run, with the iteration count of this benchmark.
cmd = [sys.executable, "train.py", "config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--dtype=float32",
       "--eval_iters=20", "--log_interval=1", "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4",
       "--n_embd=128", f"--max_iters={a.steps}", f"--lr_decay_iters={a.steps}", "--dropout=0.0",
       f"--eval_interval={a.eval_interval}", "--out_dir=/tmp/nanogpt-bench-out"]
run = subprocess.run(cmd, cwd=a.nanogpt, capture_output=True, text=True)
if run.returncode != 0:
    sys.exit(run.stderr[-2000:])
times, last = [], None
for line in run.stdout.splitlines():
    m = re.match(r"iter (\d+): loss ([0-9.]+), time ([0-9.]+)ms", line)
    if m:
        it, last = int(m.group(1)), float(m.group(2))
        if it >= a.warmup and it % a.eval_interval != 0:
            times.append(float(m.group(3)))
params = next((l for l in run.stdout.splitlines() if "number of parameters" in l), "")
import torch
print(f"nanoGPT {a.steps} iterations, {len(times)} timed: mean {statistics.mean(times):.2f} ms, median {statistics.median(times):.2f} ms; {params.strip()}")
print(json.dumps({"impl": "pytorch-nanogpt", "model": "gpt", "batch": 12, "steps": a.steps, "timed": len(times),
                  "ms_per_iter": round(statistics.mean(times), 3), "median_ms": round(statistics.median(times), 3),
                  "last_loss": last, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
                  "versions": f"PyTorch {torch.__version__}", "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                  "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}))
