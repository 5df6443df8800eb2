"""PyTorch twin of GenSharp's RealNVP (src/GenSharp/Models/Flows/{LogitTransform,AffineCoupling,
BatchNormFlow,RealNvpActNorm,RealNvpResNet,RealNvpScale,RealNvpFlow,RealNvpModel}.cs), imported by
bench.py: same layers in the same order, same parameter count, same loss (dequantized NLL in nats),
same L2 penalty, Adam and gradient clipping.

    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/pytorch/bench.py realnvp [--set key=value ...]
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = 64
IMAGE_SIZE, IMAGE_CHANNELS = 28, 1

DEFAULTS = {"scales": 3, "coupling_channels": 32, "residual_blocks": 1, "logit_alpha": 0.05,
            "norm": "batchnorm", "learning_rate": 1e-3, "grad_clip": 50000.0, "weight_decay": 5e-5}


class Logit(nn.Module):
    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        s = x * (1 - 2 * self.alpha) + self.alpha
        log_s, log1m_s = s.log(), (-s).log1p()
        return log_s - log1m_s, (math.log(1 - 2 * self.alpha) - log_s - log1m_s).flatten(1).sum(1)


class ResidualBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, h):
        return h + self.conv2(F.relu(self.conv1(F.relu(h))))


class ResNet(nn.Module):
    def __init__(self, cin, width, blocks, cout):
        super().__init__()
        self.in_conv = nn.Conv2d(cin, width, 3, padding=1)
        self.blocks = nn.ModuleList([ResidualBlock(width) for _ in range(blocks)])
        self.out_conv = nn.Conv2d(width, cout, 3, padding=1)
        nn.init.zeros_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)

    def forward(self, x):
        h = self.in_conv(x)
        for b in self.blocks:
            h = b(h)
        return self.out_conv(F.relu(h))


class AffineCoupling(nn.Module):
    def __init__(self, c, checkerboard, parity, width, blocks):
        super().__init__()
        self.c, self.checkerboard, self.parity = c, checkerboard, parity
        self.conditioner = ResNet(c, width, blocks, 2 * c)
        self.scale = nn.Parameter(torch.ones(1, c, 1, 1))

    def mask(self, h, w, x):
        if self.checkerboard:
            r = torch.arange(h, device=x.device).unsqueeze(1)
            q = torch.arange(w, device=x.device).unsqueeze(0)
            return (r + q + self.parity).remainder(2).eq(0).to(x.dtype).reshape(1, 1, h, w)
        first = torch.arange(self.c, device=x.device).lt(self.c // 2)
        return (first if self.parity == 0 else first.logical_not()).to(x.dtype).reshape(1, self.c, 1, 1)

    def forward(self, x):
        b = self.mask(x.shape[2], x.shape[3], x)
        raw, t = self.conditioner(x * b).chunk(2, 1)
        free = 1 - b
        s = self.scale * torch.tanh(raw) * free
        return x * torch.exp(s) + t * free, s.flatten(1).sum(1)


class BatchNormFlow(nn.Module):
    def __init__(self, c, momentum=0.05, eps=1e-4):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.log_gamma = nn.Parameter(torch.zeros(c))
        self.beta = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))

    def forward(self, x):
        if self.training:
            mean = x.mean((0, 2, 3))
            var = (x - mean.reshape(1, -1, 1, 1)).square().mean((0, 2, 3))
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(mean.detach(), alpha=self.momentum)
                self.running_var.mul_(1 - self.momentum).add_(var.detach(), alpha=self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        log_std = (var + self.eps).log() * 0.5
        y = (x - mean.reshape(1, -1, 1, 1)) * (self.log_gamma - log_std).exp().reshape(1, -1, 1, 1) + self.beta.reshape(1, -1, 1, 1)
        log_det = (self.log_gamma - log_std).sum() * (x.shape[2] * x.shape[3])
        return y, log_det.expand(x.shape[0]).contiguous()


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x):
        log_det = self.log_scale.sum() * (x.shape[2] * x.shape[3])
        return x * self.log_scale.exp() + self.bias, log_det.expand(x.shape[0]).contiguous()


class Squeeze(nn.Module):
    def forward(self, x):
        b, c, h, w = x.shape
        y = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h // 2, w // 2)
        return y, torch.zeros(b, dtype=x.dtype, device=x.device)


class Scale(nn.Module):
    def __init__(self, c, final, cfg):
        super().__init__()
        layers = []

        def coupling(ch, checkerboard, parity):
            layers.append(AffineCoupling(ch, checkerboard, parity, cfg["coupling_channels"], cfg["residual_blocks"]))
            if cfg["norm"] == "batchnorm":
                layers.append(BatchNormFlow(ch))
            elif cfg["norm"] == "actnorm":
                layers.append(ActNorm(ch))

        if final:
            for i in range(4):
                coupling(c, True, i % 2)
        else:
            for i in range(3):
                coupling(c, True, i % 2)
            layers.append(Squeeze())
            for i in range(3):
                coupling(4 * c, False, i % 2)
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det


class RealNvpFlow(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.logit = Logit(cfg["logit_alpha"])
        scales, c = [], IMAGE_CHANNELS
        for i in range(cfg["scales"]):
            final = i == cfg["scales"] - 1
            scales.append(Scale(c, final, cfg))
            c = c * 4 // 2
        self.scales = nn.ModuleList(scales)

    def log_prob(self, x):
        h, log_det = self.logit(x)
        logp = log_det
        for i, scale in enumerate(self.scales):
            y, ld = scale(h)
            logp = logp + ld
            if i == len(self.scales) - 1:
                z = y
            else:
                half = y.shape[1] // 2
                z, h = y.narrow(1, 0, half), y.narrow(1, half, half)
            logp = logp + (z.square() * -0.5 - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)
        return logp


class RealNvp:
    def __init__(self, cfg):
        self.cfg = cfg
        self.net = RealNvpFlow(cfg)
        self.dims = IMAGE_CHANNELS * IMAGE_SIZE * IMAGE_SIZE
        self.decayed = [p for n, p in self.net.named_parameters() if ".conditioner." in n and p.dim() == 4]
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg["learning_rate"])

    def train_step(self, images, labels):
        self.net.train()
        y = (images.to(torch.float32) + torch.rand(images.shape)) / 256.0   # ImageTransforms.Dequantize
        loss = (-self.net.log_prob(y) + self.dims * math.log(256)).mean()   # FlowMath.DiscreteNll
        nats = loss.item()
        if not math.isfinite(nats):
            raise RuntimeError(f"loss is {nats}")
        objective = loss
        if self.cfg["weight_decay"] > 0:
            objective = loss + sum(w.square().sum() for w in self.decayed) * self.cfg["weight_decay"]
        self.opt.zero_grad()
        objective.backward()
        out = {"loss": nats, "bpd": nats / (self.dims * math.log(2))}
        if self.cfg["grad_clip"] > 0:
            out["grad_norm"] = float(nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg["grad_clip"]))
        self.opt.step()
        return out


def build(sets):
    cfg = dict(DEFAULTS)
    for k, v in sets.items():
        if k not in cfg:
            raise SystemExit(f"--set {k}: unknown realnvp field; known: {', '.join(cfg)}")
        cfg[k] = type(cfg[k])(v) if not isinstance(cfg[k], str) else v
    return RealNvp(cfg)
