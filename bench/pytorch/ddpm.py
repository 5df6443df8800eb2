"""PyTorch twin of GenSharp's ddpm (src/GenSharp/Models/Diffusion/DdpmUNet.cs, UNetLevel.cs, ResBlock.cs,
AttentionBlock.cs, DdpmModel.cs): the same UNet (module names = GenSharp's checkpoint keys, same layer order and
parameter count), the same loss (uniform t, epsilon-MSE on images in [-1, 1], linear schedule), Adam + clipping.
Imported by bench.py (`bench.py ddpm [--set key=value ...]`).

Attention: PyTorch 1.13 (Debian's python3-torch) has no F.scaled_dot_product_attention, so the twin computes
softmax(QK^T / sqrt(d)) V explicitly; GenSharp calls libtorch's fused kernel. At 7x7 (49 positions) this is a
negligible share of the step.

Written for GenSharp; DDPM is Ho et al. 2020, "Denoising Diffusion Probabilistic Models" (arXiv:2006.11239).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = 64
IMAGE_SIZE, IMAGE_CHANNELS, NUM_CLASSES = 28, 1, 10
DEFAULTS = {"base_channels": 32, "channel_mult": "1,2,2", "res_blocks": 1, "attention_resolutions": "7",
            "attention_heads": 4, "norm_groups": 8, "dropout": 0.0, "time_embed_dim": 0, "timesteps": 1000,
            "conditional": False, "label_dropout": 0.1, "learning_rate": 5e-4, "grad_clip": 1.0}


def ints(text):
    return [int(v) for v in str(text).strip("[]").split(",") if v.strip()]


def sinusoid(t, dim):  # (B) -> (B, dim): [sin(t w_i), cos(t w_i)], w_i = 10000^(-i/(dim/2))
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / half))
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups, dropout):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_proj = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (x if self.skip is None else self.skip(x)) + h


class AttentionBlock(nn.Module):
    def __init__(self, c, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).permute(1, 0, 2, 4, 3)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(c // self.heads), dim=-1) @ v  # (B, heads, HW, d)
        return x + self.proj(att.permute(0, 1, 3, 2).reshape(b, c, h, w))


class UNetLevel(nn.Module):
    def __init__(self, cin, ch, count, skips, attention, resample, up, cfg, emb):
        super().__init__()
        self.up = up
        blocks, width = [], cin
        for i in range(count):
            blocks.append(ResBlock(width + (skips[i] if skips else 0), ch, emb, cfg["norm_groups"], cfg["dropout"]))
            width = ch
        self.blocks = nn.ModuleList(blocks)
        self.attentions = nn.ModuleList([AttentionBlock(ch, cfg["attention_heads"], cfg["norm_groups"])
                                         for _ in range(count)]) if attention else None
        self.resample = (nn.Conv2d(ch, ch, 3, padding=1) if up else nn.Conv2d(ch, ch, 3, stride=2, padding=1)) \
            if resample else None

    def forward(self, h, emb, skips):
        for i, block in enumerate(self.blocks):
            if self.up:
                h = torch.cat([h, skips.pop()], dim=1)
            h = block(h, emb)
            if self.attentions is not None:
                h = self.attentions[i](h)
            if not self.up:
                skips.append(h)
        if self.resample is not None:
            if self.up:
                h = self.resample(F.interpolate(h, scale_factor=2.0, mode="nearest"))
            else:
                h = self.resample(h)
                skips.append(h)
        return h


class DdpmUNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        base, mult, rb = cfg["base_channels"], ints(cfg["channel_mult"]), cfg["res_blocks"]
        attn_res = ints(cfg["attention_resolutions"])
        emb = cfg["time_embed_dim"] or 4 * base
        self.time_features = base
        self.time_mlp = nn.Sequential(nn.Linear(base, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.class_embedding = nn.Embedding(NUM_CLASSES + 1, emb) if cfg["conditional"] else None
        self.conv_in = nn.Conv2d(IMAGE_CHANNELS, base, 3, padding=1)
        widths, width, down = [base], base, []
        for l, m in enumerate(mult):
            ch, last = base * m, l == len(mult) - 1
            down.append(UNetLevel(width, ch, rb, None, (IMAGE_SIZE >> l) in attn_res, not last, False, cfg, emb))
            widths += [ch] * rb + ([] if last else [ch])
            width = ch
        self.down = nn.ModuleList(down)
        g = cfg["norm_groups"]
        self.mid_block1 = ResBlock(width, width, emb, g, cfg["dropout"])
        self.mid_attention = AttentionBlock(width, cfg["attention_heads"], g)
        self.mid_block2 = ResBlock(width, width, emb, g, cfg["dropout"])
        up = []
        for l in reversed(range(len(mult))):
            ch = base * mult[l]
            skips = [widths.pop() for _ in range(rb + 1)]
            up.append(UNetLevel(width, ch, rb + 1, skips, (IMAGE_SIZE >> l) in attn_res, l > 0, True, cfg, emb))
            width = ch
        self.up = nn.ModuleList(up)
        self.norm_out = nn.GroupNorm(g, width)
        self.conv_out = nn.Conv2d(width, IMAGE_CHANNELS, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x, t, labels=None):
        emb = self.time_mlp(sinusoid(t, self.time_features))
        if self.class_embedding is not None:
            emb = emb + self.class_embedding(labels)
        h = self.conv_in(x)
        skips = [h]
        for level in self.down:
            h = level(h, emb, skips)
        h = self.mid_block2(self.mid_attention(self.mid_block1(h, emb)), emb)
        for level in self.up:
            h = level(h, emb, skips)
        return self.conv_out(F.silu(self.norm_out(h)))


def parse(value, default):
    if isinstance(default, bool):
        return str(value).lower() == "true"
    return type(default)(value)


class Ddpm:
    def __init__(self, cfg):
        self.cfg = cfg
        self.net = DdpmUNet(cfg)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg["learning_rate"])
        T = cfg["timesteps"]
        betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)   # linear schedule (Ho et al. 2020, section 4)
        self.alphas_cumprod = torch.cumprod(1 - betas, 0).float()

    def train_step(self, images, labels):
        self.net.train()
        x0 = images.to(torch.float32) / 127.5 - 1                     # ImageTransforms.ToFloat(MinusOneOne)
        b = x0.shape[0]
        t = torch.randint(self.cfg["timesteps"], (b,))
        noise = torch.randn_like(x0)
        ab = self.alphas_cumprod[t].reshape(b, 1, 1, 1)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        y = None
        if self.cfg["conditional"]:
            drop = torch.rand(b) < self.cfg["label_dropout"]
            y = torch.where(drop, torch.full_like(labels, NUM_CLASSES), labels)
        loss = F.mse_loss(self.net(xt, t, y), noise)
        self.opt.zero_grad()
        loss.backward()
        if self.cfg["grad_clip"] > 0:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg["grad_clip"])
        self.opt.step()
        return {"loss": loss.item()}


def build(sets):
    cfg = dict(DEFAULTS)
    for k, v in sets.items():
        if k not in cfg:
            raise SystemExit(f"ddpm twin: unknown config field {k}")
        cfg[k] = parse(v, DEFAULTS[k])
    return Ddpm(cfg)


if __name__ == "__main__":
    m = build({})
    print(sum(p.numel() for p in m.net.parameters()))
    print(sorted(m.net.state_dict())[:6])
