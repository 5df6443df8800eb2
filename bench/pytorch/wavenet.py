"""PyTorch twin of GenSharp's WaveNet, for bench/pytorch/bench.py (`bench.py wavenet`).

Mirrors src/GenSharp/Models/Audio/{WaveNetConfig,WaveNetLayer,WaveNetNetwork,WaveNetModel}.cs and
src/GenSharp/Media/Audio/MuLaw.cs layer by layer: the μ-law codes' embedding (a row lookup), the kernel-2 dilated
causal convolutions with left padding, the mel conditioning (kernel-3 conv over frames, tanh, a 1x1 projection per
layer, each frame repeated hop times), the gated units, residual and skip 1x1 convolutions, the ReLU-1x1-ReLU-1x1 head,
the loss (mean cross-entropy over the L-1 predicted samples of each crop), Adam and gradient-norm clipping; the same
parameter names and count.

    python3 bench/pytorch/wavenet.py --check DIR [--set key=value ...]
checks the twin against GenSharp: DIR is written by `GenSharp.Bench wavenet --mode export --data DIR` (GenSharp's
initial weights, one batch, GenSharp's loss and gradient norm on it); the twin loads the weights by name, recomputes
both and prints the differences.

    python3 bench/pytorch/wavenet.py --ops [--steps N]
times the model's operations alone, forward + backward, as `GenSharp.Bench wavenet --mode wnops` (one thread).

The data are synthetic on both sides (GenSharp.Bench does the same for an audio family): a pool of crops (B, L) drawn
uniformly in [-0.9, 0.9] and log-mel frames (B, Mels, L / hop) from N(0, 1). Computing a real spectrogram is the batch
source's work, outside the training step, and the values do not change the work of a step.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = 8  # WaveNetFamily.DefaultBatchSize
LEVELS, MU = 256, 255.0

DEFAULTS = {  # WaveNetConfig defaults, snake_case as in its JSON
    "layers": 16, "dilation_cycle": 8, "residual_channels": 32, "gate_channels": 32, "skip_channels": 64,
    "conditioning": "mel", "condition_channels": 64, "sample_rate": 8000, "mels": 40, "n_fft": 256, "hop": 80,
    "sample_length": 2400, "learning_rate": 1e-3, "grad_clip": 1.0, "eval_interval": 250, "eval_batches": 4,
}


def parse_config(sets):
    config = dict(DEFAULTS)
    for key, text in sets.items():
        if key not in config:
            raise SystemExit(f"--set {key}: unknown wavenet config field; known fields: {', '.join(config)}")
        default = DEFAULTS[key]
        config[key] = int(text) if isinstance(default, int) else float(text) if isinstance(default, float) else text.strip().lower()
    if config["conditioning"] not in ("mel", "none"):
        raise SystemExit("--set conditioning: mel or none")
    if config["sample_length"] % config["hop"] != 0 or config["sample_length"] < 2 * config["hop"]:
        raise SystemExit(f"--set sample_length: a multiple of hop ({config['hop']}), at least two frames")
    return config


def mu_law_encode(audio):
    """MuLaw.Encode: codes 0..255 (int64) of audio in [-1, 1], computed in float64."""
    x = audio.to(torch.float64).clamp(-1.0, 1.0)
    companded = x.sign() * torch.log1p(x.abs() * MU) * (1.0 / math.log(1.0 + MU))
    return companded.add(1.0).mul((LEVELS - 1) / 2.0).round().clamp(0.0, LEVELS - 1.0).to(torch.int64)


class WaveNetLayer(nn.Module):
    """WaveNetLayer.cs: dilated causal conv (kernel 2), conditioning projection, gate, skip and residual 1x1 convs."""

    def __init__(self, residual, gate, skip, condition, dilation):
        super().__init__()
        self.d, self.g = dilation, gate
        self.dilated = nn.Conv1d(residual, 2 * gate, 2, dilation=dilation)
        self.condition = nn.Conv1d(condition, 2 * gate, 1, bias=False) if condition > 0 else None
        self.skip = nn.Conv1d(gate, skip, 1)
        self.residual = nn.Conv1d(gate, residual, 1)

    def forward(self, x, condition_gates):
        h = self.dilated(F.pad(x, (self.d, 0)))                              # (B, 2G, T): left padding only
        if condition_gates is not None:
            h = h + condition_gates
        z = torch.tanh(h.narrow(1, 0, self.g)) * torch.sigmoid(h.narrow(1, self.g, self.g))   # (B, G, T)
        return x + self.residual(z), self.skip(z)


class WaveNetNetwork(nn.Module):
    """WaveNetNetwork.cs: embedding, conditioning input, residual layers, skip sum, head."""

    def __init__(self, c):
        super().__init__()
        self.hop = c["hop"]
        mel = c["conditioning"] == "mel"
        self.embed = nn.Embedding(LEVELS, c["residual_channels"])
        self.condition_in = nn.Conv1d(c["mels"], c["condition_channels"], 3, padding=1) if mel else None
        self.layers = nn.ModuleList(
            WaveNetLayer(c["residual_channels"], c["gate_channels"], c["skip_channels"], c["condition_channels"] if mel else 0,
                         1 << (i % c["dilation_cycle"]))
            for i in range(c["layers"]))
        self.head_hidden = nn.Conv1d(c["skip_channels"], c["skip_channels"], 1)
        self.head_out = nn.Conv1d(c["skip_channels"], LEVELS, 1)

    def frame_gates(self, mel):
        features = torch.tanh(self.condition_in(mel))                        # (B, C, frames)
        return [layer.condition(features) for layer in self.layers]         # (B, 2G, frames) each

    def forward(self, codes, mel, condition_offset):
        b, t = codes.shape
        x = self.embed.weight.index_select(0, codes.flatten()).view(b, t, -1).transpose(1, 2)   # (B, R, T)
        frame_gates = self.frame_gates(mel) if mel is not None else None
        skips = None
        for i, layer in enumerate(self.layers):
            gates = None
            if frame_gates is not None:
                g = frame_gates[i]                                            # (B, 2G, frames)
                up = g.unsqueeze(3).expand(g.shape[0], g.shape[1], g.shape[2], self.hop).reshape(g.shape[0], g.shape[1], g.shape[2] * self.hop)
                gates = up.narrow(2, condition_offset, t)                     # (B, 2G, T)
            x, skip = layer(x, gates)
            skips = skip if skips is None else skips + skip
        return self.head_out(F.relu(self.head_hidden(F.relu(skips))))      # (B, 256, T)


class SyntheticCrops:
    """A fixed pool of crops and mel frames of the configured shapes, cycled (the twin of GenSharp.Bench's pool)."""

    def __init__(self, batch, c, pool=8, seed=0):
        g = torch.Generator().manual_seed(seed)
        length, frames = c["sample_length"], c["sample_length"] // c["hop"]
        self.batches = [((torch.rand(batch, length, generator=g) * 1.8 - 0.9), torch.randn(batch, c["mels"], frames, generator=g))
                        for _ in range(pool)]
        self.per_epoch = pool
        self.description = f"synthetic: {pool} batches of {batch} crops of {length} samples with ({c['mels']}, {frames}) mel frames"

    def get(self, step):
        return self.batches[step % len(self.batches)]


class WaveNet:
    """WaveNetModel.cs: CropLoss and TrainStep through GenSharp's StepRunner (loss read, zero_grad, backward, clip, Adam)."""

    def __init__(self, c):
        self.config = c
        self.net = WaveNetNetwork(c)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=c["learning_rate"])

    def loader(self, batch):
        return SyntheticCrops(batch, self.config)

    def crop_loss(self, audio, mel):
        codes = mu_law_encode(audio)                                          # (B, L)
        l = codes.shape[1]
        mel = mel if self.config["conditioning"] == "mel" else None
        logits = self.net(codes.narrow(1, 0, l - 1), mel, 1)                 # (B, 256, L-1)
        return F.cross_entropy(logits, codes.narrow(1, 1, l - 1))

    def train_step(self, audio, mel):
        self.net.train()
        loss = self.crop_loss(audio, mel)
        value = loss.detach().to(torch.float64).item()
        if not math.isfinite(value):
            raise RuntimeError(f"wavenet loss became {value}")
        bits = (loss.detach() / math.log(2)).item()
        self.opt.zero_grad()
        loss.backward()
        if self.config["grad_clip"] > 0:
            norm = nn.utils.clip_grad_norm_(self.net.parameters(), self.config["grad_clip"])
            if not math.isfinite(float(norm)):
                raise RuntimeError("wavenet gradient norm is not finite")
        self.opt.step()
        return {"loss": value, "bits_per_sample": bits}


def build(sets):
    return WaveNet(parse_config(sets))


def check(directory, sets):
    import json
    from safetensors.torch import load_file
    model = build(sets)
    model.net.load_state_dict(load_file(f"{directory}/weights.safetensors"), strict=True)
    batch = load_file(f"{directory}/batch.safetensors")
    want = json.load(open(f"{directory}/check.json"))
    model.net.train()
    loss = model.crop_loss(batch["audio"], batch["mel"])
    loss.backward()
    # the last layer's residual output feeds nothing (only the skips reach the head): no gradient there, on both sides
    norm = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in model.net.parameters() if p.grad is not None))
    params = sum(p.numel() for p in model.net.parameters())
    result = {"params": params, "gensharp_params": want["params"], "loss": loss.item(), "gensharp_loss": want["loss"],
              "loss_rel_diff": abs(loss.item() - want["loss"]) / abs(want["loss"]),
              "grad_norm": norm, "gensharp_grad_norm": want["grad_norm"], "grad_norm_rel_diff": abs(norm - want["grad_norm"]) / want["grad_norm"]}
    print(json.dumps(result))
    ok = params == want["params"] and result["loss_rel_diff"] < 1e-5 and result["grad_norm_rel_diff"] < 1e-4
    print("twin matches GenSharp" if ok else "TWIN DIFFERS FROM GENSHARP")
    return 0 if ok else 1


def ops(steps):
    """WaveNet's operations alone, fwd+bwd, ms per call (GenSharp.Bench wavenet --mode wnops)."""
    import time
    torch.set_num_threads(1)
    weight = lambda o, i, k: (torch.randn(o, i, k) * 0.1).requires_grad_(True)
    bias = lambda o: torch.zeros(o).requires_grad_(True)
    w2, b64, w1, w32, wh, b256, wm = weight(64, 32, 2), bias(64), weight(64, 32, 1), weight(32, 32, 1), weight(256, 64, 1), bias(256), weight(64, 64, 1)
    table = [
        ("dilated conv k2 d16 32->64", (4, 32, 1615), lambda x: F.conv1d(x, w2, b64, dilation=16)),
        ("1x1 conv 32->64", (4, 32, 1599), lambda x: F.conv1d(x, w1, b64)),
        ("1x1 conv 32->32", (4, 32, 1599), lambda x: F.conv1d(x, w32, bias(32))),
        ("1x1 conv 64->256", (4, 64, 1599), lambda x: F.conv1d(x, wh, b256)),
        ("tanh*sigmoid 4x64x1599", (4, 64, 1599), lambda x: torch.tanh(x.narrow(1, 0, 32)) * torch.sigmoid(x.narrow(1, 32, 32))),
        ("tanh 4x32x1599", (4, 32, 1599), torch.tanh),
        ("sigmoid 4x32x1599", (4, 32, 1599), torch.sigmoid),
        ("mul 4x32x1599", (4, 32, 1599), lambda x: x * x),
        ("matmul (64,64)@(4,64,1599)", (4, 64, 1599), lambda x: torch.matmul(wm.squeeze(2), x)),
        ("cross_entropy 4x256x1599", (4, 256, 1599), lambda x: F.cross_entropy(x, torch.randint(0, 256, (4, 1599)))),
    ]
    for name, shape, op in table:
        x = torch.randn(*shape).requires_grad_(True)

        def once():
            op(x).sum().backward()
            x.grad.zero_()
        for _ in range(20):
            once()
        t = time.perf_counter()
        for _ in range(steps):
            once()
        print(f"{name}: {(time.perf_counter() - t) * 1000 / steps:.3f} ms fwd+bwd")
    return 0


if __name__ == "__main__":
    import argparse
    import sys
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", metavar="DIR")
    ap.add_argument("--ops", action="store_true")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    if a.ops:
        sys.exit(ops(a.steps))
    if not a.check:
        sys.exit("give --check DIR or --ops")
    sys.exit(check(a.check, dict(kv.split("=", 1) for kv in a.set)))
