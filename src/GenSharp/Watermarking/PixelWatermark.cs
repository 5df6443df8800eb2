namespace GenSharp.Watermarking;

/// <summary>
/// An invisible, keyed pixel-domain watermark for images of any family: dither modulation (QIM, Chen &amp; Wornell 2001)
/// of K projections of the image's luminance onto smooth keyed patterns.
/// </summary>
/// <remarks>
/// <para>For an H×W image the key draws K Gaussian fields band-limited to 1 … <see cref="BandHigh"/> cycles per image
/// side (smooth patterns, which JPEG and resizing keep), orthonormalised (QR) into the columns of Q (HW × K), and K
/// dithers d_k ~ U[0, Δ). Embedding moves the projection p = Qᵀy of the luminance y to the nearest point of the
/// lattice d_k + ΔZ, adding Q·δ to every channel (rounded to 8 bits; repeated a few times so rounding and clipping
/// do not undo it). The change is the least one, weighted away from pixels near 0 and 255, that puts the projections on
/// the lattice, so a black background stays black and clipping does not undo the mark.</para>
/// <para>Detection: z = √(2/K) Σ_k cos(2π(p_k − d_k)/Δ). Without the watermark (p_k − d_k) mod Δ is uniform
/// (the dithers are uniform for a random key, and an image's projections spread far wider than Δ), each cosine has
/// mean 0 and variance ½, so z ≈ N(0, 1) whatever the image; a marked image has every cosine 1, z = √(2K). Because
/// the lattice removes the host image from the statistic (no host interference, unlike additive spread spectrum),
/// a 28×28 image needs only a change of a few grey levels.</para>
/// <para>What it does not survive: anything that changes the projections by ~Δ/4 or more — strong noise, a
/// brightness/contrast change (a gain on p; the detector tries a few gains), and cropping followed by resizing.
/// A crop without resizing is found again when the detector is told the original size (<c>canvas</c>): it searches
/// every placement of the crop on the canvas, padding with black, which only works when the cut-off border was
/// (near) black, as Fashion-MNIST's is. Every searched alignment is paid for with a Bonferroni factor on the p-value.</para>
/// </remarks>
public sealed class PixelWatermark
{
    readonly WatermarkKey _key;
    readonly Dictionary<(int, int), (Tensor Q, Tensor D)> _bases = new();

    /// <summary>A watermark for <paramref name="key"/>.</summary>
    /// <param name="key">The secret key.</param>
    /// <param name="step">Δ, the lattice step in grey levels (0–255): larger survives more noise but changes more.</param>
    /// <param name="projections">K, the number of projections carrying the mark.</param>
    /// <param name="pValue">Detection threshold: an image is called watermarked when its p-value is below this.</param>
    public PixelWatermark(WatermarkKey key, double step = 32, int projections = 64, double pValue = 1e-4)
    {
        if (!(step > 0 && step <= 128)) throw new ParameterException("step", $"must be in (0, 128] grey levels, got {step}");
        if (projections < 8 || projections > 80) throw new ParameterException("projections", $"must be in [8, 80], got {projections}");
        if (!(pValue > 0 && pValue < 1)) throw new ParameterException("p_value", $"must be in (0, 1), got {pValue}");
        _key = key;
        Step = step;
        K = projections;
        PValueThreshold = pValue;
    }

    /// <summary>Highest frequency of the patterns, in cycles per image side.</summary>
    public const double BandHigh = 4.0;
    /// <summary>Smallest side an image may have.</summary>
    public const int MinSide = 16;

    /// <summary>Δ in grey levels.</summary>
    public double Step { get; }
    /// <summary>K, the projections.</summary>
    public int K { get; }
    /// <summary>The p-value below which an image is called watermarked.</summary>
    public double PValueThreshold { get; }
    /// <summary>The key's public id.</summary>
    public string KeyId => _key.Id;
    /// <summary>
    /// Gains the detector tries (resizing, JPEG and contrast changes scale the projections a little): 0.80 to 1.05 in
    /// steps of 0.005. Each costs a Bonferroni factor on the p-value.
    /// </summary>
    public IReadOnlyList<double> Gains { get; init; } = Enumerable.Range(0, 16).Select(i => Math.Round(0.90 + 0.01 * i, 3)).ToArray();

    /// <summary>
    /// Blurs the detector undoes (σ of a Gaussian, pixels): resizing down and back, JPEG and soft filters act on the
    /// smooth patterns much like a small Gaussian blur, which shrinks each frequency by exp(−2π²σ²f²). The detector
    /// projects on the patterns divided by that response (at most ×4) for each σ. Each costs a Bonferroni factor.
    /// </summary>
    public IReadOnlyList<double> Blurs { get; init; } = new[] { 0.0, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.2 };

    /// <summary>Share of each side next to the border where the patterns are zero, so a crop that keeps the rest leaves every projection intact.</summary>
    public const double Margin = 0.15;

    /// <summary>Q with each pattern divided by a Gaussian blur's frequency response (capped at ×4): (HW, K).</summary>
    Tensor Deblurred(Tensor q, int h, int w, double sigma)
    {
        if (sigma == 0) return q;
        var fy = torch.fft.fftfreq(h, dtype: ScalarType.Float64).unsqueeze(1);                       // cycles per pixel
        var fx = torch.fft.fftfreq(w, dtype: ScalarType.Float64).unsqueeze(0);
        var gain = (torch.exp(-2 * Math.PI * Math.PI * sigma * sigma * (fy * fy + fx * fx))).clamp_min(0.25);
        var fields = q.t().reshape(K, h, w);
        return torch.fft.ifft2(torch.fft.fft2(fields) / gain).real.reshape(K, (long)h * w).t();
    }

    /// <summary>Q (HW, K) float64 with orthonormal columns and the dithers (K) for H×W images.</summary>
    (Tensor Q, Tensor D) Basis(int h, int w)
    {
        if (h < MinSide || w < MinSide)
            throw new GenSharpException($"a {w}×{h} image is too small to watermark; the pixel watermark needs at least {MinSide}×{MinSide}");
        lock (_bases)
        {
            if (_bases.TryGetValue((h, w), out var b)) return b;
            using var scope = torch.NewDisposeScope();
            using var gen = new Generator(_key.Seed($"pixel/{h}x{w}"));
            var g = torch.randn(new long[] { K, h, w }, ScalarType.Float64, generator: gen);              // (K, H, W)
            var fy = torch.fft.fftfreq(h, d: 1.0 / h, dtype: ScalarType.Float64).unsqueeze(1);         // cycles per image height
            var fx = torch.fft.fftfreq(w, d: 1.0 / w, dtype: ScalarType.Float64).unsqueeze(0);
            var radius = (fy * fy + fx * fx).sqrt();                                                  // (H, W)
            var band = ((radius >= 1.0) & (radius <= BandHigh)).to(ScalarType.Float64);
            var smooth = torch.fft.ifft2(torch.fft.fft2(g) * band).real;                               // (K, H, W), band-limited
            smooth = smooth * (Window(h).unsqueeze(1) * Window(w).unsqueeze(0));                        // zero near the border
            var (q, _) = torch.linalg.qr(smooth.reshape(K, (long)h * w).t());                          // (HW, K) orthonormal
            var d = torch.rand(new long[] { K }, ScalarType.Float64, generator: gen) * Step;
            b = (q.contiguous().DetachFromDisposeScope(), d.DetachFromDisposeScope());   // cached: owned by this object, not a scope
            _bases[(h, w)] = b;
            return b;
        }
    }

    /// <summary>1-D window over n pixels: 0 in the outer <see cref="Margin"/> of each end, a raised-cosine ramp of 3 pixels, then 1.</summary>
    static Tensor Window(int n)
    {
        int margin = (int)Math.Round(Margin * n);
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            int d = Math.Min(i, n - 1 - i) - margin;                  // pixels inside the margin's edge
            w[i] = d < 0 ? 0 : d >= 3 ? 1 : 0.5 - 0.5 * Math.Cos(Math.PI * (d + 1) / 4.0);
        }
        return torch.tensor(w, ScalarType.Float64);
    }

    /// <summary>Luminance (N, H·W) float64 of uint8 or [0,1]-float images (N, C, H, W): the channel mean in grey levels.</summary>
    static Tensor Luma(Tensor images)
    {
        var x = images.dtype == ScalarType.Byte ? images.to(ScalarType.Float64) : images.to(ScalarType.Float64) * 255;
        return x.mean(new long[] { 1 }).reshape(x.shape[0], -1);
    }

    /// <summary>
    /// Watermarks (N, C, H, W) or (C, H, W) images (C = 1 or 3; uint8, or floats in [0, 1]) and returns uint8 images
    /// of the same shape on the CPU.
    /// </summary>
    public Tensor Embed(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        bool single = images.dim() == 3;
        var x = single ? images.unsqueeze(0) : images;
        if (x.dim() != 4) throw new GenSharpException($"expected (N, C, H, W) images, got shape ({string.Join(", ", images.shape)})");
        x = x.cpu();
        x = x.dtype == ScalarType.Byte ? x.to(ScalarType.Float64) : (x.to(ScalarType.Float64).clamp(0, 1) * 255).round();
        var (q, d) = Basis((int)x.shape[2], (int)x.shape[3]);
        long n = x.shape[0];
        for (int round = 0; round < 6; round++)
        {
            var luma = x.mean(new long[] { 1 }).reshape(n, -1);                     // (N, HW) grey levels
            var p = luma.matmul(q);                                                  // (N, K): luminance projections
            var target = d + Step * ((p - d) / Step).round();                        // nearest lattice point d_k + Δ·m
            // The least weighted change with these projections: Δy = W Q (QᵀWQ)⁻¹ δ. The weights keep the change away
            // from pixels at 0 or 255 (black background stays black, clipping cannot undo the mark).
            var weight = (torch.minimum(luma, 255 - luma) / 16).clamp(0.3, 1.0);    // (N, HW)
            var wq = weight.unsqueeze(2) * q;                                        // (N, HW, K)
            var gram = q.t().matmul(wq);                                             // (N, K, K)
            var c = torch.linalg.solve(gram, (target - p).unsqueeze(2));             // (N, K, 1)
            var delta = wq.matmul(c).squeeze(2);                                     // (N, HW)
            x = (x + delta.reshape(n, 1, x.shape[2], x.shape[3])).round().clamp(0, 255);
        }
        var result = x.to(ScalarType.Byte);
        return (single ? result.squeeze(0) : result).MoveToOuterDisposeScope();
    }

    /// <summary>z for each of (N, C, H, W) images as they are (no search): N(0, 1) without the watermark. Returns (N) float64.</summary>
    public Tensor Z(Tensor images, double gain = 1.0)
    {
        using var scope = torch.NewDisposeScope();
        return ZOfLuma(Luma(images.cpu()), (int)images.shape[2], (int)images.shape[3], gain).MoveToOuterDisposeScope();
    }

    /// <summary>z of (N, H·W) luminance in grey levels.</summary>
    Tensor ZOfLuma(Tensor luma, int h, int w, double gain)
    {
        var (q, d) = Basis(h, w);
        var p = luma.matmul(q) / gain;                                   // (N, K)
        return torch.cos((p - d) * (2 * Math.PI / Step)).sum(1) * Math.Sqrt(2.0 / K);
    }

    /// <summary>
    /// Detects the watermark in each of (N, C, H, W) images. With <paramref name="canvas"/> larger than the images (a crop
    /// of an image of that size), every placement on the canvas is tried, the rest padded with black. The p-value is
    /// Bonferroni-corrected for every placement and gain tried.
    /// </summary>
    public IReadOnlyList<WatermarkScore> Detect(Tensor images, (int H, int W)? canvas = null)
    {
        using var scope = torch.NewDisposeScope();
        if (images.dim() == 3) images = images.unsqueeze(0);
        long n = images.shape[0], h = images.shape[2], w = images.shape[3];
        var (ch, cw) = canvas ?? ((int)h, (int)w);
        if (ch < h || cw < w) throw new GenSharpException($"the canvas {cw}×{ch} is smaller than the {w}×{h} image");
        var placements = new List<(int Y, int X)>();
        for (int y = 0; y <= ch - h; y++) for (int xo = 0; xo <= cw - w; xo++) placements.Add((y, xo));
        var best = torch.full(n, double.NegativeInfinity, ScalarType.Float64);
        var where = new string[n];
        var luma = Luma(images.cpu()).reshape(n, 1, h, w);              // grey levels
        var (q, d) = Basis(ch, cw);
        var bases = Blurs.Select(sigma => Deblurred(q, ch, cw, sigma)).ToList();
        var gains = torch.tensor(Gains.ToArray(), ScalarType.Float64).reshape(-1, 1, 1);      // (G, 1, 1)
        foreach (var (py, px) in placements)
        {
            // A scope per placement: a crop search tries hundreds of placements, and their (G, N, K) temporaries held to the
            // end of the method took a 1,000-image crop-50% evaluation past 23 GB.
            using var perPlacement = torch.NewDisposeScope();
            var placed = (ch == h && cw == w ? luma
                : nn.functional.pad(luma, new long[] { px, cw - w - px, py, ch - h - py })).reshape(n, -1);
            for (int b = 0; b < bases.Count; b++)
            {
                var p = placed.matmul(bases[b]).unsqueeze(0) / gains;                            // (G, N, K)
                var z = torch.cos((p - d) * (2 * Math.PI / Step)).sum(2) * Math.Sqrt(2.0 / K);    // (G, N)
                var (zBest, gBest) = z.max(0);
                var better = (zBest > best).data<bool>().ToArray();
                var gi = gBest.data<long>().ToArray();
                for (int i = 0; i < n; i++)
                    if (better[i]) where[i] = (placements.Count > 1 ? $"at ({px}, {py}) of {cw}×{ch}, " : "") + $"gain {Gains[(int)gi[i]]}, deblur σ {Blurs[b]}";
                best = torch.maximum(best, zBest).MoveToOuterDisposeScope();
            }
        }
        int tries = placements.Count * Gains.Count * Blurs.Count;
        var zs = best.data<double>().ToArray();
        return zs.Select((z, i) =>
        {
            double p = Math.Min(1.0, tries * WatermarkScore.UpperTail(z));
            return new WatermarkScore(p < PValueThreshold, z, p, "pixel", $"{where[i]}; {tries} alignments tried");
        }).ToList();
    }
}
