#!/usr/bin/python3
"""Reference SSIM values for src/GenSharp/Evaluation/Ssim.cs, checked by tests/GenSharp.Tests/Evaluation/SsimTests.cs.

SSIM as Wang, Bovik, Sheikh & Simoncelli (2004) define it: 11x11 Gaussian window with sigma 1.5 normalised to sum 1,
K1 = 0.01, K2 = 0.03, C1 = (K1 L)^2, C2 = (K2 L)^2, window-weighted (biased) moments, the map of eq. 13 at the
positions where the window fits inside the image, averaged. Written with numpy alone (an explicit sliding window, no
convolution routine) so it shares no code path with GenSharp's conv2d version. Pixel values are multiples of 1/255
(or integers for L = 255), exact in float64 on both sides.

Runs in the Debian sid chroot (bench/chroot.sh), never in tests:

    bench/chroot.sh run -- python3 bench/pytorch/ssim_fixture.py [OUT]
    (default OUT: tests/GenSharp.Tests/Fixtures/Ssim/ssim_reference.json)
"""
import json
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def window(size=11, sigma=1.5):
    o = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-o * o / (2 * sigma * sigma))
    g /= g.sum()
    return np.outer(g, g)


def ssim(x, y, data_range):
    w = window()
    px = sliding_window_view(x, w.shape)          # (H-10, W-10, 11, 11)
    py = sliding_window_view(y, w.shape)
    mx = (px * w).sum(axis=(2, 3))
    my = (py * w).sum(axis=(2, 3))
    vx = (px * px * w).sum(axis=(2, 3)) - mx * mx
    vy = (py * py * w).sum(axis=(2, 3)) - my * my
    cxy = (px * py * w).sum(axis=(2, 3)) - mx * my
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    m = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(m.mean())


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/repo/tests/GenSharp.Tests/Fixtures/Ssim/ssim_reference.json"
    rng = np.random.default_rng(20)
    cases = []

    def add(name, x, y, data_range):
        cases.append({"name": name, "h": x.shape[0], "w": x.shape[1], "data_range": data_range,
                      "x": x.ravel().tolist(), "y": y.ravel().tolist(), "ssim": ssim(x, y, data_range)})

    # Noise against noise: unrelated images.
    a = rng.integers(0, 256, (16, 16)) / 255.0
    b = rng.integers(0, 256, (16, 16)) / 255.0
    add("noise_vs_noise", a, b, 1.0)
    # A smooth blob against itself plus small noise.
    yy, xx = np.mgrid[0:20, 0:24]
    blob = np.round(255 * np.exp(-((xx - 11.0) ** 2 + (yy - 9.0) ** 2) / 30.0)) / 255.0
    noisy = np.clip(np.round(255 * blob + rng.normal(0, 12, blob.shape)), 0, 255) / 255.0
    add("blob_vs_noisy_blob", blob, noisy, 1.0)
    # A bright square moved by 3 pixels (what a copy-last prediction of a moving garment looks like).
    sq = np.zeros((32, 32)); sq[8:20, 6:18] = 200 / 255.0
    moved = np.zeros((32, 32)); moved[8:20, 9:21] = 200 / 255.0
    add("square_shifted", sq, moved, 1.0)
    # Integer pixels with data range 255, contrast halved.
    g = rng.integers(0, 256, (12, 12)).astype(np.float64)
    add("uint8_range_255", g, np.floor(g / 2), 255.0)
    with open(out, "w") as f:
        json.dump({"source": "bench/pytorch/ssim_fixture.py (numpy " + np.__version__ + ")", "cases": cases}, f)
        f.write("\n")
    for c in cases:
        print(c["name"], c["ssim"])


main()
