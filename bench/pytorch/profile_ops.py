"""Where a PyTorch twin's training step spends its time, per operator (torch.profiler), for comparing with GenSharp's
`perf record` profile of the same family (docs/benchmarks.md, 2026-12-07):

    bench/chroot.sh run /work/sid -- env OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 python3 bench/pytorch/profile_ops.py ddpm|pixelcnn|dcgan|realnvp|glow [--shapes]

Two warm-up steps, then three profiled steps of batch 64 from the embedded training subset.
"""
import sys

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, "/repo/bench/pytorch")
import bench  # noqa: E402
import ddpm  # noqa: E402
import pixelcnn  # noqa: E402
import realnvp  # noqa: E402
import glow  # noqa: E402

FAMILIES = {"pixelcnn": pixelcnn.build, "ddpm": ddpm.build, "realnvp": realnvp.build, "glow": glow.build, "dcgan": lambda _: bench.Dcgan(conditional=False)}

if len(sys.argv) < 2 or sys.argv[1] not in FAMILIES:
    raise SystemExit(f"usage: profile_ops.py {'|'.join(FAMILIES)} [--shapes]")
shapes = "--shapes" in sys.argv[2:]
torch.set_num_threads(2)
torch.manual_seed(0)
model = FAMILIES[sys.argv[1]]({})
images, labels = bench.load_train()
x, y = images[:64], labels[:64]
for _ in range(2):
    model.train_step(x, y)
with profile(activities=[ProfilerActivity.CPU], record_shapes=shapes) as p:
    for _ in range(3):
        model.train_step(x, y)
print(p.key_averages(group_by_input_shape=shapes).table(sort_by="self_cpu_time_total", row_limit=30,
                                                        max_name_column_width=30, max_shapes_column_width=90))
