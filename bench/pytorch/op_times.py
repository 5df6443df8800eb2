"""PyTorch's side of bench/op_times.sh: the median time of each ATen operator in bench/op_times.json, forward under
no_grad and forward + backward, as JSON lines. Run in the sid chroot (bench/op_times.sh does):

    bench/chroot.sh run /work/sid -- env OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 python3 bench/pytorch/op_times.py [REPS]
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

OPS = {
    "silu": lambda x: F.silu(x),
    "group_norm": lambda x: F.group_norm(x, 8),
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
    "layer_norm": lambda x: F.layer_norm(x, (x.shape[-1],)),
    "add": lambda a, b: a + b,
    "cat": lambda a, b: torch.cat([a, b], 1),
    "softmax": lambda x: x.softmax(-1),
    "bmm": lambda a, b: torch.bmm(a, b),
    "linear": lambda x, w: F.linear(x, w),
    "upsample": lambda x: F.interpolate(x, scale_factor=2.0, mode="nearest"),
    "relu": lambda x: F.relu(x),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "gelu": lambda x: F.gelu(x),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "logsigmoid": F.logsigmoid,
    "actnorm": lambda x, b, s: (x + b) * torch.exp(s),
    "sum_chw": lambda x: x.sum((1, 2, 3)),
    "mse": lambda a, b: F.mse_loss(a, b),
    "cross_entropy": lambda x: F.cross_entropy(x, torch.zeros(x.shape[0], dtype=torch.long)),
    "bernoulli": lambda x: torch.bernoulli(x),
    "rand_lt": lambda x: torch.rand(x.shape).lt_(x),
    "randn": lambda x: torch.randn_like(x),
    "dropout": lambda x: F.dropout(x, 0.1, True),
}


def median_ms(fn, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[reps // 2]


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(0)
    for spec in json.load(open("/repo/bench/op_times.json")):
        op = OPS[spec["op"]]
        forward_only = spec.get("forward_only", False)
        if spec["op"] in ("bernoulli", "rand_lt"):
            xs = [torch.rand(*s) for s in spec["shapes"]]
        else:
            xs = [torch.randn(*s, requires_grad=not forward_only) for s in spec["shapes"]]

        def forward():
            with torch.no_grad():
                op(*xs)

        def forward_backward():
            y = op(*xs)
            y.backward(torch.ones_like(y))
            for x in xs:
                x.grad = None

        row = {"impl": "pytorch", "name": spec["name"], "forward_ms": median_ms(forward, reps)}
        if not forward_only:
            row["forward_backward_ms"] = median_ms(forward_backward, reps)
        print(json.dumps(row), flush=True)


main()
