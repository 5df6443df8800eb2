"""PyTorch twin of GenSharp's Glow (src/GenSharp/Models/Flows/Glow*.cs, ActNorm.cs, InvertibleConv1x1.cs,
GlowCoupling.cs, GlowSplit.cs): the same layers, parameter shapes, loss, Adam + clipping + warm-up.
Imported by bench.py (`bench.py glow [--set key=value ...]`).

Written for GenSharp; Glow is Kingma & Dhariwal 2018, "Glow: Generative Flow with Invertible 1x1 Convolutions".
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = 64
IMAGE_SIZE, IMAGE_CHANNELS = 28, 1
DEFAULTS = {"levels": 2, "steps_per_level": 8, "hidden_channels": 64, "lu_decomposed": True,
            "learning_rate": 1e-3, "grad_clip": 50.0, "warmup_steps": 50}


def squeeze(x):  # (B,C,H,W) -> (B,4C,H/2,W/2), channel 4c + 2i + j = input c at offset (i, j)
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)


def gaussian_log_prob(z, mean, log_std):
    return (((z - mean) * torch.exp(-log_std)).square() * -0.5 - log_std - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        if self.training and self.initialized.item() == 0:
            with torch.no_grad():
                mean = x.mean(dim=(0, 2, 3), keepdim=True)
                std = (x - mean).square().mean(dim=(0, 2, 3), keepdim=True).sqrt()
                self.bias.copy_(-mean)
                self.logs.copy_(-(std + 1e-6).log())
                self.initialized.fill_(1)
        y = (x + self.bias) * self.logs.exp()
        return y, (self.logs.sum() * x.shape[2] * x.shape[3]).expand(x.shape[0])


class InvConv(nn.Module):
    def __init__(self, c, lu):
        super().__init__()
        self.lu = lu
        q, _ = torch.linalg.qr(torch.randn(c, c))
        if not lu:
            self.weight = nn.Parameter(q.contiguous())
        else:
            p, l, u = torch.linalg.lu(q)
            s = u.diagonal()
            self.register_buffer("perm", p.contiguous())
            self.register_buffer("sign_s", s.sign())
            self.register_buffer("lower_mask", torch.ones(c, c).tril(-1))
            self.register_buffer("eye", torch.eye(c))
            self.lower = nn.Parameter((l * self.lower_mask).contiguous())
            self.upper = nn.Parameter(u.triu(1).contiguous())
            self.log_s = nn.Parameter(s.abs().log())

    def weight_matrix(self):
        if not self.lu:
            return self.weight
        l = self.lower * self.lower_mask + self.eye
        u = self.upper * self.lower_mask.t() + torch.diag(self.sign_s * self.log_s.exp())
        return self.perm @ l @ u

    def log_abs_det(self):
        la = self.log_s.sum() if self.lu else torch.linalg.slogdet(self.weight)[1]
        if not math.isfinite(la.item()):
            raise RuntimeError("invertible 1x1 convolution became singular")
        return la

    def forward(self, x):
        c = x.shape[1]
        y = F.conv2d(x, self.weight_matrix().view(c, c, 1, 1))
        return y, (self.log_abs_det() * x.shape[2] * x.shape[3]).expand(x.shape[0])


class Coupling(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.ca, self.cb = c // 2, c - c // 2
        self.in_conv = nn.Conv2d(self.ca, hidden, 3, padding=1)
        self.mid_conv = nn.Conv2d(hidden, hidden, 1)
        self.out_conv = nn.Conv2d(hidden, 2 * self.cb, 3, padding=1)
        nn.init.zeros_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)

    def forward(self, x):
        xa, xb = x[:, :self.ca], x[:, self.ca:]
        h = self.out_conv(F.relu(self.mid_conv(F.relu(self.in_conv(xa)))))
        log_s = F.logsigmoid(h[:, :self.cb] + 2.0)
        t = h[:, self.cb:]
        return torch.cat([xa, (xb + t) * log_s.exp()], 1), log_s.flatten(1).sum(1)


class Step(nn.Module):
    def __init__(self, c, hidden, lu):
        super().__init__()
        self.actnorm, self.invconv, self.coupling = ActNorm(c), InvConv(c, lu), Coupling(c, hidden)

    def forward(self, x):
        x, a = self.actnorm(x)
        x, b = self.invconv(x)
        x, c = self.coupling(x)
        return x, a + b + c


class Split(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.keep, self.out = c // 2, c - c // 2
        self.prior = nn.Conv2d(self.keep, 2 * self.out, 3, padding=1)
        nn.init.zeros_(self.prior.weight)
        nn.init.zeros_(self.prior.bias)

    def forward(self, h):
        kept, z = h[:, :self.keep], h[:, self.keep:]
        stats = self.prior(kept)
        return kept, gaussian_log_prob(z, stats[:, :self.out], stats[:, self.out:])


class Level(nn.Module):
    def __init__(self, c, cfg, has_split):
        super().__init__()
        self.steps = nn.ModuleList(Step(c, cfg["hidden_channels"], cfg["lu_decomposed"]) for _ in range(cfg["steps_per_level"]))
        self.split = Split(c) if has_split else None

    def forward(self, h):
        x = squeeze(h)
        log_det = torch.zeros(x.shape[0])
        for step in self.steps:
            x, ld = step(x)
            log_det = log_det + ld
        if self.split is None:
            return x, log_det, torch.zeros_like(log_det)
        kept, lp = self.split(x)
        return kept, log_det, lp


class GlowNetwork(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, s, levels = IMAGE_CHANNELS, IMAGE_SIZE, []
        for i in range(cfg["levels"]):
            c, s = c * 4, s // 2
            has_split = i < cfg["levels"] - 1
            levels.append(Level(c, cfg, has_split))
            if has_split:
                c //= 2
        self.levels = nn.ModuleList(levels)
        self.top_mean = nn.Parameter(torch.zeros(1, c, s, s))
        self.top_log_std = nn.Parameter(torch.zeros(1, c, s, s))

    def log_density(self, x):
        h, log_det, log_prior = x, 0, 0
        for level in self.levels:
            h, ld, lp = level(h)
            log_det, log_prior = log_det + ld, log_prior + lp
        return log_prior + gaussian_log_prob(h, self.top_mean, self.top_log_std) + log_det


def parse(value, default):
    if isinstance(default, bool):
        return value.lower() == "true"
    return type(default)(value)


class Glow:
    def __init__(self, cfg):
        self.cfg = cfg
        self.net = GlowNetwork(cfg)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg["learning_rate"])
        self.steps_done = 0
        self.dims = IMAGE_CHANNELS * IMAGE_SIZE * IMAGE_SIZE

    def train_step(self, images, labels):
        self.net.train()
        y = (images.to(torch.float32) + torch.rand(images.shape)) / 256.0   # ImageTransforms.Dequantize
        nll = -self.net.log_density(y - 0.5) + self.dims * math.log(256)   # FlowMath.DiscreteNll
        loss = nll.mean()
        warm = self.cfg["warmup_steps"]
        lr = self.cfg["learning_rate"] * (min(1.0, (self.steps_done + 1) / warm) if warm > 0 else 1.0)
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.opt.zero_grad()
        loss.backward()
        if self.cfg["grad_clip"] > 0:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg["grad_clip"])
        self.opt.step()
        self.steps_done += 1
        value = loss.item()
        return {"loss": value, "bpd": value / (self.dims * math.log(2))}


def build(sets):
    cfg = dict(DEFAULTS)
    for k, v in sets.items():
        if k not in cfg:
            raise SystemExit(f"glow twin: unknown config field {k}")
        cfg[k] = parse(v, DEFAULTS[k])
    return Glow(cfg)
