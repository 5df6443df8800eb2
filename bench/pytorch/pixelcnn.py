"""PyTorch twin of GenSharp's Gated PixelCNN, for bench/pytorch/bench.py (`bench.py pixelcnn`).

Mirrors src/GenSharp/Models/Autoregressive/{PixelCnnConfig,CausalConv2d,GatedPixelCnnBlock,
PixelCnnNetwork,PixelCnnModel}.cs layer by layer: the same shifted ("causal") convolutions, gated
blocks, skip sum and 1x1 head, the same parameter count, loss (nats per image, summed over pixels),
Adam and gradient-norm clipping.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_BATCH = 64  # PixelCnnFamily.DefaultBatchSize
IMAGE_CHANNELS, NUM_CLASSES = 1, 10

DEFAULTS = {  # PixelCnnConfig defaults, snake_case as in its JSON
    "layers": 8, "channels": 64, "first_kernel_size": 7, "kernel_size": 3, "output_hidden_channels": 128,
    "output": "softmax256", "conditional": False, "learning_rate": 1e-3, "grad_clip": 1.0,
}


def parse_config(sets):
    config = dict(DEFAULTS)
    for key, text in sets.items():
        if key not in config:
            raise SystemExit(f"--set {key}: unknown pixelcnn config field; known fields: {', '.join(config)}")
        default = DEFAULTS[key]
        if isinstance(default, bool):
            config[key] = text.strip().lower() == "true"
        elif isinstance(default, int):
            config[key] = int(text)
        elif isinstance(default, float):
            config[key] = float(text)
        else:
            config[key] = text
    if config["output"] not in ("softmax256", "bernoulli"):
        raise SystemExit("--set output: softmax256 or bernoulli")
    return config


class CausalConv2d(nn.Module):
    """Masked conv as a half-size kernel plus asymmetric zero padding (CausalConv2d.cs)."""

    def __init__(self, cin, cout, kernel, pad, drop_last_column):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel)
        self.pad, self.drop_last_column = pad, drop_last_column

    @staticmethod
    def vertical(cin, cout, n):
        return CausalConv2d(cin, cout, (n // 2 + 1, n), (n // 2, n // 2, n // 2, 0), False)

    @staticmethod
    def horizontal(cin, cout, n, type_a):
        if type_a:
            return CausalConv2d(cin, cout, (1, n // 2), (n // 2, 0, 0, 0), True)
        return CausalConv2d(cin, cout, (1, n // 2 + 1), (n // 2, 0, 0, 0), False)

    def forward(self, x):
        y = self.conv(F.pad(x, self.pad))
        return y[:, :, :, :x.shape[3]] if self.drop_last_column else y


def gate(x):
    f, g = x.chunk(2, 1)
    return torch.tanh(f) * torch.sigmoid(g)


class GatedBlock(nn.Module):
    def __init__(self, cin, p, n, first, last, classes):
        super().__init__()
        self.first, self.last = first, last
        self.vertical_conv = CausalConv2d.vertical(cin, 2 * p, n)
        self.horizontal_conv = CausalConv2d.horizontal(cin, 2 * p, n, type_a=first)
        self.vertical_to_horizontal = nn.Conv2d(2 * p, 2 * p, 1)
        self.horizontal_out = None if last else nn.Conv2d(p, p, 1)
        self.skip_out = nn.Conv2d(p, p, 1)
        self.vertical_class_bias = self.horizontal_class_bias = None
        if classes > 0:
            self.vertical_class_bias = nn.Embedding(classes, 2 * p)
            self.horizontal_class_bias = nn.Embedding(classes, 2 * p)
            nn.init.zeros_(self.vertical_class_bias.weight)
            nn.init.zeros_(self.horizontal_class_bias.weight)

    @staticmethod
    def class_bias(x, emb, labels):
        return x if emb is None else x + emb(labels)[:, :, None, None]

    def vertical(self, v, labels):
        f = self.class_bias(self.vertical_conv(v), self.vertical_class_bias, labels)
        return f, None if self.last else gate(f)

    def link(self, features):
        rows = features.shape[2]
        return self.vertical_to_horizontal(F.pad(features, (0, 0, 1, 0))[:, :, :rows])

    def horizontal(self, h, link, labels):
        g = gate(self.class_bias(self.horizontal_conv(h) + link, self.horizontal_class_bias, labels))
        out = None
        if self.horizontal_out is not None:
            r = self.horizontal_out(g)
            out = r if self.first else h + r
        return out, self.skip_out(g)


class PixelCnnNetwork(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.levels = 256 if c["output"] == "softmax256" else 1
        classes = NUM_CLASSES if c["conditional"] else 0
        p, L = c["channels"], c["layers"]
        self.blocks = nn.ModuleList(
            GatedBlock(IMAGE_CHANNELS if i == 0 else p, p, c["first_kernel_size"] if i == 0 else c["kernel_size"],
                       first=i == 0, last=i == L - 1, classes=classes) for i in range(L))
        self.output_hidden = nn.Conv2d(p, c["output_hidden_channels"], 1)
        self.output_logits = nn.Conv2d(c["output_hidden_channels"], self.levels * IMAGE_CHANNELS, 1)

    def forward(self, x, labels):
        links, v = [], x
        for block in self.blocks:
            features, v = block.vertical(v, labels)
            links.append(block.link(features))
        h, skips = x, None
        for block, link in zip(self.blocks, links):
            h, skip = block.horizontal(h, link, labels)
            skips = skip if skips is None else skips + skip
        return self.output_logits(F.relu(self.output_hidden(F.relu(skips))))


class PixelCnn:
    def __init__(self, config):
        self.config = config
        self.softmax = config["output"] == "softmax256"
        self.net = PixelCnnNetwork(config)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config["learning_rate"])

    def network_input(self, levels):
        return levels * (2.0 / 255.0) - 1.0 if self.softmax else levels * 2.0 - 1.0

    def nll(self, levels, labels):
        logits = self.net(self.network_input(levels), labels if self.config["conditional"] else None)
        b, c, h, w = levels.shape
        if self.softmax:
            per_pixel = F.cross_entropy(logits.view(b, 256, c, h, w), levels.long(), reduction="none")
        else:
            per_pixel = F.binary_cross_entropy_with_logits(logits, levels, reduction="none")
        return per_pixel.flatten(1).sum(1)

    def train_step(self, images, labels):
        self.net.train()
        if self.softmax:
            levels = images.to(torch.float32)
        else:
            levels = torch.bernoulli(images.to(torch.float32).div(255.0).clamp(0.0, 1.0))
        loss = self.nll(levels, labels).mean()
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"pixelcnn loss became {value}")
        self.opt.zero_grad()
        loss.backward()
        if self.config["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config["grad_clip"])
        self.opt.step()
        return {"loss": value, "bpd": value / (images[0].numel() * math.log(2))}


def build(sets):
    return PixelCnn(parse_config(sets))
