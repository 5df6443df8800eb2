"""PyTorch twin of GenSharp's Bernoulli-Bernoulli RBM, for bench/pytorch/bench.py (`bench.py rbm`).

Mirrors src/GenSharp/Models/Energy/{RbmConfig,Rbm,RbmTraining,RbmModel}.cs step for step: the same
parameters (weight (H, V), visible_bias, hidden_bias), stochastic binarization of each batch, the
running input mean, CD-k (or PCD) negative chain under no_grad, the free-energy surrogate
mean F(v+) - mean F(v-) backpropagated by autograd, SGD with momentum and weight decay on W only,
and the two monitors (reconstruction error, one-bit stochastic pseudo-likelihood).

    python3 bench/pytorch/bench.py rbm [--steps N] [--batch-size 100] [--threads 2] [--set hidden=500] [--set cd_steps=1]
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = 100  # RbmFamily.DefaultBatchSize
VISIBLE = 784

DEFAULTS = {  # RbmConfig defaults, snake_case as in its JSON
    "hidden": 500, "cd_steps": 1, "persistent": False, "persistent_chains": 100, "learning_rate": 0.01,
    "momentum": 0.9, "weight_decay": 1e-4, "init_std": 0.01, "sample_steps": 1000,
}


def parse_config(sets):
    config = dict(DEFAULTS)
    for key, text in sets.items():
        if key not in config:
            raise SystemExit(f"--set {key}: unknown rbm config field; known fields: {', '.join(config)}")
        default = DEFAULTS[key]
        if isinstance(default, bool):
            config[key] = text.strip().lower() == "true"
        elif isinstance(default, int):
            config[key] = int(text)
        else:
            config[key] = float(text)
    return config


class RbmNet(nn.Module):
    def __init__(self, visible, hidden, chains, init_std):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(hidden, visible) * init_std)   # (H, V)
        self.visible_bias = nn.Parameter(torch.zeros(visible))
        self.hidden_bias = nn.Parameter(torch.zeros(hidden))
        self.register_buffer("input_mean", torch.full((visible,), 0.5))
        self.register_buffer("input_count", torch.zeros(1, dtype=torch.float64))
        self.persistent = torch.bernoulli(torch.full((chains, visible), 0.5)) if chains > 0 else None

    def hidden_logits(self, v):
        return F.linear(v, self.weight, self.hidden_bias)

    def visible_logits(self, h):
        return h @ self.weight + self.visible_bias

    def free_energy(self, v):
        return -(v @ self.visible_bias) - F.softplus(self.hidden_logits(v)).sum(1)

    def gibbs(self, v, steps):
        for _ in range(steps):
            h = torch.bernoulli(torch.sigmoid(self.hidden_logits(v)))
            v = torch.bernoulli(torch.sigmoid(self.visible_logits(h)))
        return v

    def track_input_mean(self, x):
        with torch.no_grad():
            b = x.shape[0]
            n = self.input_count.item()
            self.input_mean.mul_(n / (n + b)).add_(x.mean(0) * (b / (n + b)))
            self.input_count.add_(b)

    def monitors(self, v):
        with torch.no_grad():
            pv = torch.sigmoid(self.visible_logits(torch.bernoulli(torch.sigmoid(self.hidden_logits(v)))))
            recon = (v - pv).square().sum(1).mean().item()
            i = torch.randint(v.shape[1], (v.shape[0],))
            flip = F.one_hot(i, v.shape[1]).to(v.dtype)
            flipped = v + flip * (1 - 2 * v)
            pseudo = -(v.shape[1] * F.logsigmoid(self.free_energy(flipped) - self.free_energy(v))).mean().item()
        return recon, pseudo


class Rbm:
    def __init__(self, config):
        self.config = config
        chains = config["persistent_chains"] if config["persistent"] else 0
        self.net = RbmNet(VISIBLE, config["hidden"], chains, config["init_std"])
        lr, mom = config["learning_rate"], config["momentum"]
        self.opt = torch.optim.SGD([
            {"params": [self.net.weight], "weight_decay": config["weight_decay"]},
            {"params": [self.net.visible_bias, self.net.hidden_bias], "weight_decay": 0.0},
        ], lr=lr, momentum=mom)

    def train_step(self, images, labels):
        net = self.net
        x01 = images.to(torch.float32).div(255.0).flatten(1)       # (B, V)
        net.track_input_mean(x01)
        v0 = torch.bernoulli(x01)
        with torch.no_grad():
            start = net.persistent if net.persistent is not None else v0
            negative = net.gibbs(start, self.config["cd_steps"])
            if net.persistent is not None:
                net.persistent.copy_(negative)
        loss = net.free_energy(v0).mean() - net.free_energy(negative).mean()
        gap = loss.item()
        if not math.isfinite(gap):
            raise RuntimeError(f"rbm: the free-energy gap became {gap}")
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        recon, pseudo = net.monitors(v0)
        return {"recon_error": recon, "pseudo_nll": pseudo, "free_energy_gap": gap}


def build(sets):
    return Rbm(parse_config(sets))
