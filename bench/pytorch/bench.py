#!/usr/bin/python3
"""PyTorch twin of bench/GenSharp.Bench: the same VAE and DCGAN, layer by layer, trained with the
same step (same losses, Adam settings, batch sizes, data) so images/s can be compared side by side.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/pytorch/bench.py vae|dcgan [--steps N] [--warmup W]
        [--batch-size B] [--threads T] [--conditional] [--mode train|forward|opcost|convcost]

Written for GenSharp; mirrors src/GenSharp/Models/Vae/{ConvVae,VaeModel,VaeMath}.cs and
src/GenSharp/Models/Gan/{DcganGenerator,DcganDiscriminator,DcganNetworks,DcganModel}.cs.
"""
import argparse
import gzip
import json
import math
import os
import resource
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
EMBEDDED = os.path.normpath(os.path.join(HERE, "..", "..", "src", "GenSharp", "Data", "Embedded"))

IMAGE_SIZE, IMAGE_CHANNELS, NUM_CLASSES = 28, 1, 10  # FamilyConfig defaults


# ---------------------------------------------------------------- data (embedded subset, IDX in gzip)
def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    assert zero == 0 and dtype == 0x08, f"{path}: not an unsigned-byte IDX file"
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8)
    return data.reshape(dims)


def load_train():
    images = read_idx(os.path.join(EMBEDDED, "train-images-idx3-ubyte.gz"))  # (N, 28, 28)
    labels = read_idx(os.path.join(EMBEDDED, "train-labels-idx1-ubyte.gz")).to(torch.int64)
    return images.unsqueeze(1).contiguous(), labels  # (N, 1, 28, 28) uint8, (N) int64


class Loader:
    """Batch for global step s: epoch s // batches_per_epoch, drop_last, fresh permutation per epoch
    (like GenSharp.Data.BatchLoader; the permutation generator differs, which does not affect speed)."""

    def __init__(self, images, labels, batch, seed=0):
        self.images, self.labels, self.batch, self.seed = images, labels, batch, seed
        self.per_epoch = images.shape[0] // batch
        self.epoch, self.order = -1, None

    def get(self, step):
        epoch, within = divmod(step, self.per_epoch)
        if epoch != self.epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self.order, self.epoch = torch.randperm(self.images.shape[0], generator=g), epoch
        index = self.order[within * self.batch:(within + 1) * self.batch]
        return self.images.index_select(0, index), self.labels.index_select(0, index)


def to_float(u8, minus_one_one):  # ImageTransforms.ToFloat
    x = u8.to(torch.float32)
    return x.mul(2.0 / 255.0).sub(1.0) if minus_one_one else x.div(255.0)


# ---------------------------------------------------------------- VAE (ConvVae + VaeModel + VaeMath)
class ConvVae(nn.Module):
    def __init__(self, latent=16, channels=32, hidden=256):
        super().__init__()
        s, c2 = IMAGE_SIZE // 4, 2 * channels
        self.encoder = nn.Sequential(
            nn.Conv2d(IMAGE_CHANNELS, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, c2, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(c2 * s * s, hidden), nn.ReLU())
        self.to_stats = nn.Linear(hidden, 2 * latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(),
            nn.Linear(hidden, c2 * s * s), nn.ReLU(),
            nn.Unflatten(1, (c2, s, s)),
            nn.ConvTranspose2d(c2, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(channels, IMAGE_CHANNELS, 4, stride=2, padding=1))

    def encode(self, x):
        mu, log_var = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mu, log_var


class Vae:
    def __init__(self):
        self.net = ConvVae()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.beta = 1.0

    def negative_elbo(self, x, beta):
        mu, log_var = self.net.encode(x)
        z = mu + (log_var * 0.5).exp() * torch.randn_like(mu)
        logits = self.net.decoder(z)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = (mu.pow(2) + log_var.exp() - 1 - log_var).sum(1) * 0.5
        return recon + beta * kl, recon, kl

    def x_of(self, images):
        return torch.bernoulli(to_float(images, False).clamp(0.0, 1.0))  # stochastic binarization

    def train_step(self, images, labels):
        self.net.train()
        loss, recon, kl = self.negative_elbo(self.x_of(images), self.beta)
        mean = loss.mean()
        self.opt.zero_grad()
        mean.backward()
        self.opt.step()
        return {"loss": mean.item(), "recon": recon.mean().item(), "kl": kl.mean().item()}

    def forward_only(self, images, labels):
        with torch.no_grad():
            self.net.train()
            loss, _, _ = self.negative_elbo(self.x_of(images), 1.0)
            return loss.mean().item()


# ---------------------------------------------------------------- DCGAN (Generator, Discriminator, Networks, Model)
class Generator(nn.Module):
    def __init__(self, latent=100, g=64, conditional=False, emb=32):
        super().__init__()
        s4 = IMAGE_SIZE // 4
        self.label_embedding = nn.Embedding(NUM_CLASSES, emb) if conditional else None
        inp = latent + (emb if conditional else 0)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(inp, 4 * g, s4, stride=1, padding=0, bias=False), nn.BatchNorm2d(4 * g), nn.ReLU(),
            nn.ConvTranspose2d(4 * g, 2 * g, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * g), nn.ReLU(),
            nn.ConvTranspose2d(2 * g, IMAGE_CHANNELS, 4, stride=2, padding=1), nn.Tanh())

    def forward(self, z, labels):
        h = z
        if self.label_embedding is not None:
            h = torch.cat([h, self.label_embedding(labels)], 1)
        return self.net(h.unsqueeze(-1).unsqueeze(-1))


class Discriminator(nn.Module):
    def __init__(self, d=64, conditional=False):
        super().__init__()
        s4 = IMAGE_SIZE // 4
        self.label_plane = nn.Embedding(NUM_CLASSES, IMAGE_SIZE * IMAGE_SIZE) if conditional else None
        inp = IMAGE_CHANNELS + (1 if conditional else 0)
        self.net = nn.Sequential(
            nn.Conv2d(inp, d, 4, stride=2, padding=1, bias=True), nn.LeakyReLU(0.2),
            nn.Conv2d(d, 2 * d, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * d, 1, s4, stride=1, padding=0, bias=True), nn.Flatten())

    def forward(self, x, labels):
        h = x
        if self.label_plane is not None:
            plane = self.label_plane(labels).view(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
            h = torch.cat([h, plane], 1)
        return self.net(h).squeeze(1)


class DcganNetworks(nn.Module):
    def __init__(self, conditional):
        super().__init__()
        self.generator = Generator(conditional=conditional)
        self.discriminator = Discriminator(conditional=conditional)
        # DcganNetworks.InitWeights: every multi-dim weight ~ N(0, 0.02) except embeddings,
        # 1-d weights (BatchNorm γ) ~ N(1, 0.02), every bias 0.
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("weight"):
                    if p.dim() == 1:
                        nn.init.normal_(p, 1.0, 0.02)
                    elif "label_" not in name:
                        nn.init.normal_(p, 0.0, 0.02)
                elif name.endswith("bias"):
                    p.zero_()


class Dcgan:
    def __init__(self, conditional):
        self.conditional = conditional
        self.net = DcganNetworks(conditional)
        self.opt_g = torch.optim.Adam(self.net.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.net.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.latent = 100

    def train_step(self, images, labels):
        G, D = self.net.generator, self.net.discriminator
        self.net.train()
        real = to_float(images, True)
        b = real.shape[0]
        y = labels if self.conditional else None
        z = torch.randn(b, self.latent)
        fake = G(z, y)
        ones, zeros = torch.ones(b), torch.zeros(b)

        d_real = D(real, y)
        d_fake = D(fake.detach(), y)
        loss_d = F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros)
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()

        d_fake_g = D(fake, y)
        loss_g = F.binary_cross_entropy_with_logits(d_fake_g, ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return {"g_loss": loss_g.item(), "d_loss": loss_d.item(),
                "d_real": torch.sigmoid(d_real).mean().item(), "d_fake": torch.sigmoid(d_fake).mean().item()}

    def forward_only(self, images, labels):
        G, D = self.net.generator, self.net.discriminator
        with torch.no_grad():
            self.net.train()
            real = to_float(images, True)
            b = real.shape[0]
            y = labels if self.conditional else None
            fake = G(torch.randn(b, self.latent), y)
            ones = torch.ones(b)
            d_real, d_fake, d_fake_g = D(real, y), D(fake, y), D(fake, y)
            loss_d = F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros(b))
            loss_g = F.binary_cross_entropy_with_logits(d_fake_g, ones)
            return (loss_d + loss_g).item()


# ---------------------------------------------------------------- driver
def rss_mb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024.0 * 1024.0)


def gemm(steps, threads):
    """float32 matrix products of the shapes the VAE, DCGAN and gpt steps multiply (BLAS alone), GFLOP/s."""
    result = {"impl": "pytorch", "mode": "gemm", "threads": threads}
    for m, k, n in ((128, 3136, 256), (3136, 128, 256), (128, 256, 3136), (768, 128, 384), (768, 128, 128), (1024, 1024, 1024)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        for _ in range(5):
            a.matmul(b)
        reps = max(steps, 1)
        t0 = time.perf_counter()
        for _ in range(reps):
            a.matmul(b)
        gflops = 2.0 * m * k * n * reps / (time.perf_counter() - t0) / 1e9
        print(f"{m}x{k} @ {k}x{n}: {gflops:.1f} GFLOP/s")
        result[f"{m}x{k}x{n}"] = round(gflops, 1)
    print(json.dumps(result))
    return 0


def op_cost(steps, threads):
    """Per-op dispatch cost: us for one add of two 1-element tensors (Python + dispatcher)."""
    x, y = torch.ones(1), torch.ones(1)
    n = max(steps, 1) * 1000
    for _ in range(10000):
        x.add(y)
    t0 = time.perf_counter()
    for _ in range(n):
        x.add(y)
    us = (time.perf_counter() - t0) * 1e6 / n
    print(f"opcost: {us:.2f} us per add of 1-element tensors ({n} ops)")
    print(json.dumps({"impl": "pytorch", "mode": "opcost", "threads": threads, "ops": n, "us_per_op": round(us, 3)}))


def conv_cost(steps):
    """fwd+bwd of Glow's level-1 coupling convolutions alone (as GenSharp.Bench --mode convcost)."""
    for ci, co in [(2, 64), (64, 4), (64, 64)]:
        x = torch.randn(64, ci, 14, 14, requires_grad=True)
        w = torch.randn(co, ci, 3, 3, requires_grad=True)
        for _ in range(20):
            F.conv2d(x, w, padding=1).sum().backward()
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(steps):
                F.conv2d(x, w, padding=1).sum().backward()
            print(f"conv3x3 {ci}->{co} @14: {1000 * (time.perf_counter() - t) / steps:.3f} ms fwd+bwd")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", help="vae, dcgan, or a family with its own twin module bench/pytorch/<family>.py")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conditional", action="store_true")
    ap.add_argument("--mode", choices=["train", "forward", "opcost", "convcost", "phases", "gemm"], default="train")
    ap.add_argument("--set", action="append", default=[], help="config override key=value, as for GenSharp.Bench")
    a = ap.parse_args()
    sets = dict(kv.split("=", 1) for kv in a.set)
    if a.conditional:
        sets["conditional"] = "true"
    twin = None
    if a.model not in ("vae", "dcgan"):
        # Twin modules expose DEFAULT_BATCH and build(sets) -> object with .net, .train_step(images, labels).
        sys.path.insert(0, HERE)
        twin = __import__(a.model)
        if a.mode == "forward":
            sys.exit("--mode forward is implemented for vae and dcgan")
    batch = a.batch_size or (128 if a.model == "vae" else twin.DEFAULT_BATCH if twin else 64)

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.mode == "opcost":
        return op_cost(a.steps, a.threads)
    if a.mode == "gemm":
        return gemm(a.steps, a.threads)
    if a.mode == "convcost":
        return conv_cost(a.steps)
    model = twin.build(sets) if twin else Vae() if a.model == "vae" else Dcgan(a.conditional)
    params = sum(p.numel() for p in model.net.parameters())
    if hasattr(model, "loader"):  # a twin with data of its own (wavenet: synthetic crops, as GenSharp.Bench)
        loader = model.loader(batch)
        data_line = f"data: {loader.description}"
    else:
        images, labels = load_train()
        loader = Loader(images, labels, batch)
        data_line = f"data: {EMBEDDED}, {images.shape[0]} images, {loader.per_epoch} batches/epoch"

    print(f"PyTorch {torch.__version__}, {torch.__config__.parallel_info().splitlines()[1].strip()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')} OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}")
    print(f"model={a.model}{' (conditional)' if a.conditional else ''} mode={a.mode} params={params} batch={batch} "
          f"threads={torch.get_num_threads()} (interop {torch.get_num_interop_threads()}) warmup={a.warmup} steps={a.steps}")
    print(data_line)

    if a.mode == "phases" and hasattr(model, "crop_loss"):  # WaveNet: the same four phases
        tf = tb = tc = ts = 0.0
        model.net.train()
        for s in range(a.warmup + a.steps):
            audio, mel = loader.get(s)
            t0 = time.perf_counter()
            loss = model.crop_loss(audio, mel)
            loss.detach().item()
            t1 = time.perf_counter()
            model.opt.zero_grad(); loss.backward()
            t2 = time.perf_counter()
            nn.utils.clip_grad_norm_(model.net.parameters(), 1.0)
            t3 = time.perf_counter()
            model.opt.step()
            t4 = time.perf_counter()
            if s >= a.warmup:
                tf += t1 - t0; tb += t2 - t1; tc += t3 - t2; ts += t4 - t3
        n = a.steps / 1000.0
        print(f"forward {tf / n:.1f} ms, backward {tb / n:.1f} ms, clip {tc / n:.1f} ms, step {ts / n:.1f} ms")
        return 0
    if a.mode == "phases":  # Glow: forward / backward / clip / optimizer step timed apart
        tf = tb = tc = ts = 0.0
        for s in range(a.warmup + a.steps):
            x, _ = loader.get(s)
            t0 = time.perf_counter()
            y = (x.to(torch.float32) + torch.rand(x.shape)) / 256.0
            loss = (-model.net.log_density(y - 0.5) + model.dims * math.log(256)).mean()
            t1 = time.perf_counter()
            model.opt.zero_grad(); loss.backward()
            t2 = time.perf_counter()
            nn.utils.clip_grad_norm_(model.net.parameters(), 50.0)
            t3 = time.perf_counter()
            model.opt.step()
            t4 = time.perf_counter()
            if s >= a.warmup:
                tf += t1 - t0; tb += t2 - t1; tc += t3 - t2; ts += t4 - t3
        n = a.steps / 1000.0
        print(f"forward {tf / n:.1f} ms, backward {tb / n:.1f} ms, clip {tc / n:.1f} ms, step {ts / n:.1f} ms")
        return 0
    step = model.train_step if a.mode == "train" else model.forward_only
    rss500 = rss2000 = None
    total = a.warmup + a.steps
    t0 = None
    last = None
    for s in range(total):
        if s == a.warmup:
            t0 = time.perf_counter()
        x, y = loader.get(s)
        last = step(x, y)
        done = s + 1
        if done == 500:
            rss500 = rss_mb(); print(f"step {done}: rss {rss500:.1f} MB")
        if done == 2000:
            rss2000 = rss_mb(); print(f"step {done}: rss {rss2000:.1f} MB")
    seconds = time.perf_counter() - t0
    ips = a.steps * batch / seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    last_v = next(iter(last.values())) if isinstance(last, dict) else last
    print(f"{a.steps} steps in {seconds:.2f} s: {ips:.1f} images/s ({1000 * seconds / a.steps:.2f} ms/step), last loss {last_v:.3f}")
    print(f"rss now {rss_mb():.1f} MB, peak {peak:.1f} MB")
    if rss500 and rss2000:
        print(f"rss growth 500→2000: {100 * (rss2000 - rss500) / rss500:+.2f}%")
    print(json.dumps({
        "impl": "pytorch", "model": a.model + ("-cond" if a.conditional else "") + "".join(f",{kv}" for kv in a.set), "mode": a.mode,
        "params": params, "batch": batch, "threads": a.threads, "warmup": a.warmup, "steps": a.steps,
        "seconds": round(seconds, 3), "images_per_s": round(ips, 1),
        "rss_mb_500": round(rss500, 1) if rss500 else None, "rss_mb_2000": round(rss2000, 1) if rss2000 else None,
        "peak_rss_mb": round(peak, 1), "versions": f"PyTorch {torch.__version__} (Debian python3-torch)",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }))


if __name__ == "__main__":
    sys.exit(main())
