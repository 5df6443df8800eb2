"""PyTorch twin of GenSharp's videodiffusion, for bench/pytorch/bench.py (`bench.py videodiffusion`).

Mirrors src/GenSharp/Models/Video/{VideoDiffusionConfig,SpaceTimeUNet,TemporalAttention,VideoDiffusionModel}.cs and the
pieces they share with ddpm (Diffusion/ResBlock.cs, DiffusionLayers.cs, TimeEmbedding.cs, Sampling/NoiseSchedule.cs):
the factorised space-time UNet (a 2D UNet on every frame, temporal self-attention across the frames at every position
after each residual block, zero-initialised output projections), the loss of VideoDiffusionModel.TrainStep (clips
scaled to [-1, 1]; known-frame masks: first k frames with predict_probability, first and last with
interpolate_probability, none otherwise; uniform t, cosine schedule, every frame noised to the same t; label dropped to
"no class" with label_dropout; epsilon-MSE averaged over the frames not shown), Adam and gradient-norm clipping as
GenSharp's StepRunner runs them. Module names are GenSharp's checkpoint keys; the parameter count is the same.

The data are synthetic on both sides (GenSharp.Bench does the same for a video family, SyntheticVideo.cs): a pool of
uint8 clips (B, T, 1, S, S) uniform in 0..255 and labels uniform in 0..9 (the garment classes), drawn from one seeded generator.
Rendering Moving Fashion-MNIST is the batch source's work, outside the training step; the values do not change its work.

    python3 bench/pytorch/videodiffusion.py --check DIR [--set key=value ...]
checks the twin against GenSharp: DIR is written by `GenSharp.Bench videodiffusion --mode export --data DIR`
(GenSharp's initial weights, one batch, and the loss and gradient norm GenSharp computes on it right after seeding
torch's generator with 1234); the twin loads the weights by name, seeds the same, recomputes both and prints the
differences (the random draws of the loss are the same calls in the same order on both sides).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = 8  # VideoDiffusionFamily's defaultBatchSize
INPUT_CHANNELS = 3  # x_t, known frame, mask

DEFAULTS = {  # VideoDiffusionConfig defaults, snake_case as in its JSON (sampling settings play no part in training)
    "frames": 8, "frame_size": 32, "garments": 1, "speed": 3.0, "num_classes": 10,
    "base_channels": 32, "channel_mult": "1,2,2", "attention_heads": 4, "norm_groups": 8,
    "schedule": "cosine", "timesteps": 1000, "label_dropout": 0.1, "predict_probability": 0.4,
    "interpolate_probability": 0.2, "learning_rate": 5e-4, "grad_clip": 1.0,
}


def ints(text):
    return [int(v) for v in str(text).strip("[]").split(",") if v.strip()]


def parse_config(sets):
    c = dict(DEFAULTS)
    for key, text in sets.items():
        if key not in c:
            raise SystemExit(f"--set {key}: unknown videodiffusion config field; known fields: {', '.join(c)}")
        default = DEFAULTS[key]
        c[key] = int(text) if isinstance(default, int) else float(text) if isinstance(default, float) else text.strip().lower()
    c["channel_mult"] = ints(c["channel_mult"])
    if c["schedule"] not in ("cosine", "linear"):
        raise SystemExit("--set schedule: cosine or linear")
    return c


def sinusoid(t, dim):
    """TimeEmbedding.Sinusoidal: (N) -> (N, dim), [sin(t w_i), cos(t w_i)], w_i = 10000^(-i/(dim/2))."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / half))
    args = t.to(torch.float32)[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=1)


def alphas_cumprod(kind, steps):
    """NoiseSchedule: cosine (Nichol & Dhariwal 2021, offset 0.008, beta capped at 0.999) or linear 1e-4..0.02, in float64."""
    if kind == "cosine":
        f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
        betas = torch.tensor([min(1.0 - f((t + 1.0) / steps) / f(t / steps), 0.999) for t in range(steps)], dtype=torch.float64)
    else:
        betas = torch.linspace(1e-4, 0.02, steps, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, 0)


class ResBlock(nn.Module):
    """Diffusion/ResBlock.cs: GroupNorm-SiLU-conv3x3, + projected embedding, GroupNorm-SiLU-dropout-conv3x3, 1x1 skip."""

    def __init__(self, cin, cout, emb, groups, dropout=0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_proj = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x))) + self.time_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (x if self.skip is None else self.skip(x)) + h


class TemporalAttention(nn.Module):
    """TemporalAttention.cs: GroupNorm per frame, sinusoidal frame positions, multi-head attention over T per position."""

    def __init__(self, channels, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x, frames):
        bt, c, h, w = x.shape
        b, hw = bt // frames, h * w
        seq = self.norm(x).reshape(b, frames, c, hw).permute(0, 3, 1, 2).reshape(b * hw, frames, c) \
            + sinusoid(torch.arange(frames), c)                                                   # (B·HW, T, C)
        q, k, v = self.qkv(seq).reshape(b * hw, frames, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v)                                        # (B·HW, heads, T, C/heads)
        merged = self.proj(attended.permute(0, 2, 1, 3).reshape(b * hw, frames, c))               # (B·HW, T, C)
        return x + merged.reshape(b, hw, frames, c).permute(0, 2, 3, 1).reshape(bt, c, h, w)


class SpaceTimeUNet(nn.Module):
    """SpaceTimeUNet.cs, field for field (the field names are the checkpoint keys)."""

    def __init__(self, c):
        super().__init__()
        base, mult, g, heads = c["base_channels"], c["channel_mult"], c["norm_groups"], c["attention_heads"]
        e = 4 * base
        self.base, self.levels = base, len(mult)
        self.time_mlp = nn.Sequential(nn.Linear(base, e), nn.SiLU(), nn.Linear(e, e))
        self.class_embedding = nn.Embedding(c["num_classes"] + 1, e)   # the last row is "no class"
        self.input_conv = nn.Conv2d(INPUT_CHANNELS, base, 3, padding=1)
        widths = [base * m for m in mult]
        self.down_res, self.down_time, self.downsample = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i in range(self.levels):
            self.down_res.append(ResBlock(base if i == 0 else widths[i - 1], widths[i], e, g))
            self.down_time.append(TemporalAttention(widths[i], heads, g))
            if i < self.levels - 1:
                self.downsample.append(nn.Conv2d(widths[i], widths[i], 3, stride=2, padding=1))
        last = widths[-1]
        self.mid_res1 = ResBlock(last, last, e, g)
        self.mid_time = TemporalAttention(last, heads, g)
        self.mid_res2 = ResBlock(last, last, e, g)
        self.up_res, self.up_time, self.upsample = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(self.levels)):   # deepest level first
            below = last if i == self.levels - 1 else widths[i + 1]
            self.up_res.append(ResBlock(below + widths[i], widths[i], e, g))
            self.up_time.append(TemporalAttention(widths[i], heads, g))
            if i > 0:
                self.upsample.append(nn.Conv2d(widths[i], widths[i], 3, padding=1))
        self.out_norm = nn.GroupNorm(g, widths[0])
        self.out_conv = nn.Conv2d(widths[0], 1, 3, padding=1)

    def forward(self, x, t, labels):
        """x (B, T, 3, H, W), t (B), labels (B) -> epsilon (B, T, 1, H, W)."""
        b, frames, _, hgt, wid = x.shape
        emb = (self.time_mlp(sinusoid(t, self.base)) + self.class_embedding(labels)).repeat_interleave(frames, dim=0)
        h = self.input_conv(x.reshape(b * frames, INPUT_CHANNELS, hgt, wid))
        skips = []
        for i in range(self.levels):
            h = self.down_time[i](self.down_res[i](h, emb), frames)
            skips.append(h)
            if i < self.levels - 1:
                h = self.downsample[i](h)
        h = self.mid_res2(self.mid_time(self.mid_res1(h, emb), frames), emb)
        for k in range(self.levels):
            i = self.levels - 1 - k
            h = self.up_time[k](self.up_res[k](torch.cat([h, skips[i]], 1), emb), frames)
            if i > 0:
                h = self.upsample[k](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        eps = self.out_conv(F.silu(self.out_norm(h)))
        return eps.reshape(b, frames, 1, hgt, wid)


class SyntheticClips:
    """A fixed pool of uint8 clips and labels of the configured shape, cycled (the twin of GenSharp.Bench's SyntheticVideo)."""

    def __init__(self, batch, c, pool=8, seed=0):
        g = torch.Generator().manual_seed(seed)
        shape = (batch, c["frames"], 1, c["frame_size"], c["frame_size"])
        self.batches = [(torch.randint(0, 256, shape, generator=g, dtype=torch.uint8),
                         torch.randint(0, 10, (batch,), generator=g, dtype=torch.int64)) for _ in range(pool)]
        self.per_epoch = pool
        self.description = f"synthetic: {pool} batches of {batch} clips of {c['frames']} frames {c['frame_size']}x{c['frame_size']}"

    def get(self, step):
        return self.batches[step % len(self.batches)]


class VideoDiffusion:
    """VideoDiffusionModel.cs: TrainingMask, Loss and TrainStep, run as GenSharp's StepRunner runs them."""

    def __init__(self, c):
        self.config = c
        self.net = SpaceTimeUNet(c)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=c["learning_rate"])   # betas (0.9, 0.999), eps 1e-8, no decay
        self.abar = alphas_cumprod(c["schedule"], c["timesteps"])                    # float64, like NoiseSchedule

    def loader(self, batch):
        return SyntheticClips(batch, self.config)

    def training_mask(self, b):
        """(B, T) bool: first k frames known (k uniform in 1..T-1), first and last known (T >= 3), or none."""
        frames, p, q = self.config["frames"], self.config["predict_probability"], self.config["interpolate_probability"]
        u = torch.rand(b).unsqueeze(1)
        k = torch.randint(1, frames, (b, 1), dtype=torch.int64)
        index = torch.arange(frames).unsqueeze(0)
        prefix = index < k
        ends = ((index == 0) | (index == frames - 1)) & torch.tensor(frames >= 3)
        none = torch.zeros(b, frames, dtype=torch.bool)
        return torch.where(u < p, prefix, torch.where(u < p + q, ends.expand(b, frames), none))

    def predict(self, xt, t, labels, known, mask):
        m = mask.to(xt.dtype).reshape(mask.shape[0], mask.shape[1], 1, 1, 1).expand_as(xt)
        return self.net(torch.cat([xt, known * m, m], 2), t, labels)

    def loss(self, x0, labels, mask):
        b = x0.shape[0]
        t = torch.randint(self.config["timesteps"], (b,), dtype=torch.int64)
        noise = torch.randn_like(x0)
        ab = self.abar[t]                                                            # NoiseSchedule.AddNoise: float64 coefficients
        shape = (b,) + (1,) * (x0.dim() - 1)
        xt = ab.sqrt().to(x0.dtype).reshape(shape) * x0 + (1 - ab).sqrt().to(x0.dtype).reshape(shape) * noise
        drop = torch.rand(b) < self.config["label_dropout"]
        y = torch.where(drop, torch.full_like(labels, self.config["num_classes"]), labels)
        err = (self.predict(xt, t, y, x0, mask) - noise).square().mean(dim=(2, 3, 4))   # (B, T)
        unknown = (~mask).to(err.dtype)
        return (err * unknown).sum() / unknown.sum().clamp_min(1)

    def step_loss(self, clips, labels):
        x0 = clips.to(torch.float32) / 127.5 - 1
        return self.loss(x0, labels, self.training_mask(x0.shape[0]))

    def train_step(self, clips, labels):
        self.net.train()
        loss = self.step_loss(clips, labels)
        value = loss.detach().to(torch.float64).item()
        if not math.isfinite(value):
            raise RuntimeError(f"videodiffusion loss became {value}")
        self.opt.zero_grad()
        loss.backward()
        if self.config["grad_clip"] > 0:
            norm = nn.utils.clip_grad_norm_(self.net.parameters(), self.config["grad_clip"])
            if not math.isfinite(float(norm)):
                raise RuntimeError("videodiffusion gradient norm is not finite")
        self.opt.step()
        return {"loss": value}


def build(sets):
    return VideoDiffusion(parse_config(sets))


CHECK_SEED = 1234  # GenSharp.Bench --mode export seeds torch's generator with this right before the loss


def check(directory, sets):
    import json
    from safetensors.torch import load_file
    model = build(sets)
    model.net.load_state_dict(load_file(f"{directory}/weights.safetensors"), strict=True)
    batch = load_file(f"{directory}/batch.safetensors")
    want = json.load(open(f"{directory}/check.json"))
    model.net.train()
    torch.manual_seed(CHECK_SEED)
    loss = model.step_loss(batch["clips"], batch["labels"])
    loss.backward()
    norm = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in model.net.parameters() if p.grad is not None))
    params = sum(p.numel() for p in model.net.parameters())
    result = {"params": params, "gensharp_params": want["params"], "loss": loss.item(), "gensharp_loss": want["loss"],
              "loss_rel_diff": abs(loss.item() - want["loss"]) / abs(want["loss"]),
              "grad_norm": norm, "gensharp_grad_norm": want["grad_norm"], "grad_norm_rel_diff": abs(norm - want["grad_norm"]) / want["grad_norm"]}
    print(json.dumps(result))
    ok = params == want["params"] and result["loss_rel_diff"] < 1e-4 and result["grad_norm_rel_diff"] < 1e-3
    print("twin matches GenSharp" if ok else "TWIN DIFFERS FROM GENSHARP")
    return 0 if ok else 1


if __name__ == "__main__":
    import argparse
    import sys
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", metavar="DIR")
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    sets = dict(kv.split("=", 1) for kv in a.set)
    if not a.check:
        m = build(sets)
        print(sum(p.numel() for p in m.net.parameters()))
        sys.exit(0)
    sys.exit(check(a.check, sets))
