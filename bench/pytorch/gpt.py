#!/usr/bin/python3
"""PyTorch twin of GenSharp's gpt (src/GenSharp/Models/Gpt/*.cs): the same decoder-only transformer (module
names = GenSharp's checkpoint keys, same parameter count), the same AdamW parameter groups (decay on tensors
with >= 2 dimensions), warm-up + cosine learning rate, gradient clipping, and character-level tiny Shakespeare
with the same 90/10 split, so ms/iteration and validation loss can be compared side by side.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/pytorch/gpt.py [--steps 2000] [--warmup 10] [--batch-size 12]
        [--threads 2] [--seed S] [--data data/tinyshakespeare.txt] [--eval-every 250] [--set key=value ...]

Defaults are nanoGPT's CPU configuration (4 layers, 4 heads, 128-d, context 64, batch 12, lr 1e-3 -> 1e-4,
100 warm-up steps, beta2 0.99, weight decay 0.1, clip 1.0, no dropout, no biases).

Attention: PyTorch 1.13 (Debian's python3-torch) has no F.scaled_dot_product_attention, so the twin computes
softmax(QK^T / sqrt(d) + causal mask) V explicitly; GenSharp calls libtorch's fused kernel.

Written for GenSharp. GPT-2: Radford et al. 2019; AdamW: Loshchilov & Hutter 2019.
"""
import argparse
import json
import math
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "data", "tinyshakespeare.txt"))
DEFAULTS = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0, "bias": False,
            "learning_rate": 1e-3, "min_learning_rate": 1e-4, "warmup_steps": 100, "lr_decay_steps": 0,
            "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.99, "grad_clip": 1.0, "eval_iters": 20}


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (GptLayerNorm.cs); 1.13's nn.LayerNorm cannot drop only the bias."""
    def __init__(self, dim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["n_head"]
        self.dropout = c["dropout"]
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        self.resid_dropout = nn.Dropout(c["dropout"])
        t = c["block_size"]
        self.register_buffer("mask", torch.ones(t, t, dtype=torch.bool).tril(), persistent=False)

    def forward(self, x):
        b, t, ch = x.shape
        d = ch // self.heads
        q, k, v = self.c_attn(x).split(ch, dim=2)                            # 3 x (B, T, C)
        q = q.view(b, t, self.heads, d).transpose(1, 2)                     # (B, H, T, D)
        k = k.view(b, t, self.heads, d).transpose(1, 2)
        v = v.view(b, t, self.heads, d).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d)                      # (B, H, T, T)
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(-1)
        att = F.dropout(att, self.dropout, self.training)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, ch)           # (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"])
        self.dropout = nn.Dropout(c["dropout"])

    def forward(self, x):
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c["n_embd"], c["bias"])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c["n_embd"], c["bias"])
        self.mlp = Mlp(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["block_size"], c["n_embd"])
        self.drop = nn.Dropout(c["dropout"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = LayerNorm(c["n_embd"], c["bias"])
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.int64))
        for name, p in self.named_parameters():                              # GPT-2 init, as GptNetwork.Initialize
            if "ln_" in name:
                nn.init.zeros_(p) if name.endswith(".bias") else nn.init.ones_(p)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            elif name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c["n_layer"]))
            else:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx):                                                  # (B, T) -> (B, T, V)
        t = idx.shape[1]
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(t)))
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)                      # tied head


def lr_at(c, step):
    if step < c["warmup_steps"]:
        return c["learning_rate"] * (step + 1) / (c["warmup_steps"] + 1)
    end = c["lr_decay_steps"]
    if end <= c["warmup_steps"] or step >= end:
        return c["learning_rate"] if end <= 0 else c["min_learning_rate"]
    ratio = (step - c["warmup_steps"]) / (end - c["warmup_steps"])
    return c["min_learning_rate"] + 0.5 * (1 + math.cos(math.pi * ratio)) * (c["learning_rate"] - c["min_learning_rate"])


def parse(value, default):
    if isinstance(default, bool):
        return str(value).lower() == "true"
    return type(default)(value)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps before timing starts (they count as training)")
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    c = dict(DEFAULTS)
    for kv in a.set:
        k, v = kv.split("=", 1)
        if k not in c:
            raise SystemExit(f"gpt twin: unknown config field {k}")
        c[k] = parse(v, DEFAULTS[k])
    if c["lr_decay_steps"] <= 0:
        c["lr_decay_steps"] = a.steps                                        # as GptFamily.ForTraining

    text = open(a.data, encoding="utf-8").read()
    chars = sorted(set(text))                                                # code-point order, as CharTokenizer
    lookup = {ch: i for i, ch in enumerate(chars)}
    ids = torch.tensor([lookup[ch] for ch in text], dtype=torch.int64)
    n_val = round(len(ids) * 0.1)
    train, val = ids[: len(ids) - n_val], ids[len(ids) - n_val:]
    c["vocab_size"] = len(chars)

    model = Gpt(c)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=c["learning_rate"], betas=(c["beta1"], c["beta2"]))
    t, b = c["block_size"], a.batch_size
    gen = torch.Generator().manual_seed(a.seed)
    val_gen_seed = 12345

    def batch(src, g):
        ix = torch.randint(len(src) - t, (b,), generator=g)
        x = torch.stack([src[i:i + t] for i in ix])
        y = torch.stack([src[i + 1:i + 1 + t] for i in ix])
        return x, y

    @torch.no_grad()
    def val_loss():
        model.eval()
        g = torch.Generator().manual_seed(val_gen_seed)                      # the same windows every time
        losses = [F.cross_entropy(model(x).view(-1, c["vocab_size"]), y.view(-1)).item()
                  for x, y in (batch(val, g) for _ in range(c["eval_iters"]))]
        model.train()
        return sum(losses) / len(losses)

    print(f"PyTorch {torch.__version__}, threads {torch.get_num_threads()}; gpt params={params} batch={b} "
          f"config={json.dumps({k: c[k] for k in sorted(c)})}")
    total = a.steps
    timed, clock, last = 0.0, None, float("nan")
    evals = []
    for step in range(total):
        if step == a.warmup:
            clock = time.perf_counter()
        lr = lr_at(c, step)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = batch(train, gen)
        loss = F.cross_entropy(model(x).view(-1, c["vocab_size"]), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if c["grad_clip"] > 0:
            nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
        opt.step()
        model.steps_done += 1
        last = loss.item()
        done = step + 1
        if a.eval_every > 0 and (done % a.eval_every == 0 or done == total):
            if clock is not None:
                timed += time.perf_counter() - clock                          # validation is not timed
            v = val_loss()
            evals.append({"step": done, "val_loss": round(v, 4)})
            print(f"step {done}: train loss {last:.4f}, val loss {v:.4f}", flush=True)
            if clock is not None:
                clock = time.perf_counter()
    if clock is not None:
        timed += time.perf_counter() - clock
    with torch.no_grad():                                                    # whole validation split, disjoint windows (as `gensharp eval`)
        model.eval()
        windows = (len(val) - 1) // t
        xs = val[: windows * t].view(windows, t)
        ys = val[1: windows * t + 1].view(windows, t)
        full = sum(F.cross_entropy(model(xs[i:i + 64]).reshape(-1, c["vocab_size"]), ys[i:i + 64].reshape(-1), reduction="sum").item()
                   for i in range(0, windows, 64)) / ys.numel()
    print(f"val loss over the whole validation split ({ys.numel()} tokens): {full:.4f}")
    steps_timed = max(1, total - a.warmup)
    ms = 1000 * timed / steps_timed
    print(f"{steps_timed} timed steps: {ms:.2f} ms/iteration")
    print(json.dumps({"impl": "pytorch", "model": "gpt", "params": params, "batch": b, "threads": a.threads,
                      "steps": total, "ms_per_iter": round(ms, 3), "last_loss": round(last, 4),
                      "val_loss": evals[-1]["val_loss"] if evals else None, "evals": evals,
                      "seed": a.seed, "val_loss_full": round(full, 4), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "versions": f"PyTorch {torch.__version__}"}))


if __name__ == "__main__":
    main()
