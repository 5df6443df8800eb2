"""PyTorch twin of GenSharp's convolutional EBM, for bench/pytorch/bench.py (`bench.py ebm`).

Mirrors src/GenSharp/Models/Energy/{EbmConfig,EnergyNet,Langevin,ReplayBuffer,EbmModel}.cs step for step: the same
network (3x3 s1 -> 4x4 s2 -> 4x4 s2 -> (S/4)x(S/4) valid conv to one scalar, SiLU between, spectral norm on every
conv), a replay buffer of uniform noise (95% of starts from it, 5% fresh), K Langevin steps in eval mode with
x <- clamp(x - clamp((eps/2) dE/dx, +-clip) + sigma*xi, -1, 1) and gradients from torch.autograd.grad, the chains'
end points written back, loss = mean E(x+) - mean E(x-) + alpha*mean(E(x+)^2 + E(x-)^2), gradient-norm clipping, Adam.

    python3 bench/pytorch/bench.py ebm [--steps N] [--batch-size 64] [--threads 2] [--set langevin_steps=60] [--set channels=32]
Standalone (prints the parameter count and ms/step on random data):
    python3 bench/pytorch/ebm.py [--steps 20] [--set key=value ...]
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = 64  # EbmFamily.DefaultBatchSize
CHANNELS_IN, SIZE = 1, 28

DEFAULTS = {  # EbmConfig defaults, snake_case as in its JSON
    "channels": 32, "spectral_norm": True, "langevin_step": 20.0, "langevin_noise": 0.005, "langevin_steps": 60,
    "langevin_drift_clip": 0.03, "replay_size": 10000, "fresh_fraction": 0.05, "energy_penalty": 1.0, "data_noise": 0.0,
    "learning_rate": 1e-4, "beta1": 0.0, "beta2": 0.999, "grad_clip": 1.0,
}


def parse_config(sets):
    config = dict(DEFAULTS)
    for key, text in sets.items():
        if key not in config:
            raise SystemExit(f"--set {key}: unknown ebm config field; known fields: {', '.join(config)}")
        default = DEFAULTS[key]
        if isinstance(default, bool):
            config[key] = text.strip().lower() == "true"
        elif isinstance(default, int):
            config[key] = int(text)
        else:
            config[key] = float(text)
    return config


class EnergyNet(nn.Module):
    def __init__(self, config):
        super().__init__()
        c, sn = config["channels"], config["spectral_norm"]

        def conv(cin, cout, k, stride, pad):
            layer = nn.Conv2d(cin, cout, k, stride=stride, padding=pad)
            return nn.utils.spectral_norm(layer) if sn else layer

        self.conv1 = conv(CHANNELS_IN, c, 3, 1, 1)
        self.conv2 = conv(c, 2 * c, 4, 2, 1)
        self.conv3 = conv(2 * c, 4 * c, 4, 2, 1)
        self.head = conv(4 * c, 1, SIZE // 4, 1, 0)
        self.register_buffer("replay", torch.rand(config["replay_size"], CHANNELS_IN, SIZE, SIZE) * 2 - 1)

    def forward(self, x):
        h = F.silu(self.conv1(x))
        h = F.silu(self.conv2(h))
        h = F.silu(self.conv3(h))
        return self.head(h).flatten()


class Ebm:
    def __init__(self, config):
        self.config = config
        self.net = EnergyNet(config)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config["learning_rate"], betas=(config["beta1"], config["beta2"]))

    def langevin(self, x, steps):
        cfg, net = self.config, self.net
        net.eval()
        half, clip, sigma = cfg["langevin_step"] / 2, cfg["langevin_drift_clip"], cfg["langevin_noise"]
        x = x.detach()
        for _ in range(steps):
            xg = x.detach().requires_grad_(True)
            grad, = torch.autograd.grad(net(xg).sum(), [xg])
            with torch.no_grad():
                drift = grad * half
                if clip > 0:
                    drift = drift.clamp(-clip, clip)
                nxt = x - drift
                if sigma > 0:
                    nxt = nxt + sigma * torch.randn_like(x)
                x = nxt.clamp(-1, 1)
        net.train()
        return x.detach()

    def train_step(self, images, labels):
        cfg, net = self.config, self.net
        pos = images.to(torch.float32).div(127.5).sub(1.0)
        if cfg["data_noise"] > 0:
            pos = pos + cfg["data_noise"] * torch.randn_like(pos)
        b = pos.shape[0]
        idx = torch.randint(net.replay.shape[0], (b,))
        fresh = torch.rand(b) < cfg["fresh_fraction"]
        starts = torch.where(fresh.view(b, 1, 1, 1), torch.rand_like(pos) * 2 - 1, net.replay[idx])
        neg = self.langevin(starts, cfg["langevin_steps"])
        with torch.no_grad():
            net.replay.index_copy_(0, idx, neg)
        e_pos, e_neg = net(pos), net(neg)
        cd = e_pos.mean() - e_neg.mean()
        loss = cd + cfg["energy_penalty"] * (e_pos.square() + e_neg.square()).mean()
        self.opt.zero_grad()
        loss.backward()
        if cfg["grad_clip"] > 0:
            nn.utils.clip_grad_norm_(net.parameters(), cfg["grad_clip"])
        self.opt.step()
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"ebm: loss became {value}")
        return {"loss": value, "e_pos": e_pos.mean().item(), "e_neg": e_neg.mean().item(), "cd": cd.item()}


def build(sets):
    return Ebm(parse_config(sets))


if __name__ == "__main__":
    args = sys.argv[1:]
    steps = int(args[args.index("--steps") + 1]) if "--steps" in args else 20
    sets = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--set")
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = build(sets)
    params = sum(p.numel() for p in model.net.parameters())
    images = torch.randint(0, 256, (DEFAULT_BATCH, CHANNELS_IN, SIZE, SIZE), dtype=torch.uint8)
    labels = torch.zeros(DEFAULT_BATCH, dtype=torch.int64)
    model.train_step(images, labels)  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        last = model.train_step(images, labels)
    ms = 1000 * (time.perf_counter() - t0) / steps
    print(f"ebm twin: params={params} batch={DEFAULT_BATCH} langevin_steps={model.config['langevin_steps']} "
          f"{ms:.1f} ms/step, last loss {last['loss']:.4f}")
