namespace GenSharp.Watermarking;

/// <summary>
/// Tree-Ring watermarking of diffusion samples (Wen, Kirchenbauer, Geiping &amp; Goldstein 2023,
/// https://arxiv.org/abs/2305.20030): a keyed pattern of concentric rings is written into the Fourier transform of
/// the initial noise x_T; a deterministic (DDIM) sampler carries it into the image without changing its pixels in
/// any visible way; detection inverts the image back to x_T with DDIM and measures how close its Fourier ring region
/// is to the key.
/// </summary>
/// <remarks>
/// <para>The mark lives in one plane of x_T: the last channel of a (C, H, W) pixel sample, or a latent vector of
/// D = s² values read as an s×s plane (1×D otherwise). In the orthonormal 2-D FFT of that plane, every frequency with
/// radius 1 ≤ ρ ≤ R (cycles per side; R = side/4, or every non-zero frequency of a latent) is set
/// to the key's value for its ring round(ρ), a real N(0, 1) number. A one-channel sample's plane is the whole image, and
/// fixing its lowest frequencies fixes every draw's global layout (a 28×28 ddpm then drew boots only), so there the
/// region is the annulus side/8 &lt; ρ ≤ side/4. Constant on rings and real, the key is an even real
/// spectrum, so the marked plane stays real; the frequencies outside the region keep their Gaussian noise.</para>
/// <para>Detection (the paper's distance, §3.3): let y be the FFT of the inverted plane over the region's independent
/// half (one of each ±k pair, self-conjugate frequencies left out), σ² = mean |y_i|² and η = Σ|k_i − y_i|² / σ².
/// With σ² taken from the same y, η = M + (Σk_i² − 2Σ Re(y_i)k_i)/σ², so η is small exactly when
/// z = Σ Re(y_i)k_i / √(σ²/2 · Σk_i²) is large. Without the mark y_i ~ CN(0, σ²) independently of the key: the
/// 2M numbers (Re y, Im y) point in a uniformly random direction and z/√(2M) is the cosine with a fixed one, whose
/// tails are lighter than N(0, 1)'s, so p = P(N(0,1) ≥ z) is slightly conservative (M = 56 for a 28×28 image).
/// A perfectly inverted marked image has z = √(2M).</para>
/// </remarks>
public sealed class TreeRingWatermark
{
    readonly long[] _sample;
    readonly long _h, _w;
    readonly Tensor _key;        // (h, w) float64: the full even key (0 outside the region)
    readonly Tensor _region;     // (h, w) bool: frequencies that are set
    readonly Tensor _half;       // (h, w) bool: the independent half of the region that is scored

    /// <summary>The watermark of <paramref name="key"/> for samples of shape <paramref name="sampleShape"/> ((C, H, W) or (D)).</summary>
    public TreeRingWatermark(WatermarkKey key, long[] sampleShape, double pValue = 1e-4)
    {
        if (sampleShape.Length is not (1 or 3)) throw new GenSharpException($"Tree-Ring marks (C, H, W) or (D) samples, got ({string.Join(", ", sampleShape)})");
        if (!(pValue > 0 && pValue < 1)) throw new ParameterException("p_value", $"must be in (0, 1), got {pValue}");
        _sample = (long[])sampleShape.Clone();
        PValueThreshold = pValue;
        if (sampleShape.Length == 3) (_h, _w) = (sampleShape[1], sampleShape[2]);
        else
        {
            long s = (long)Math.Round(Math.Sqrt(sampleShape[0]));
            (_h, _w) = s * s == sampleShape[0] ? (s, s) : (1, sampleShape[0]);
        }
        using var scope = torch.NewDisposeScope();
        var fy = torch.fft.fftfreq(_h, d: 1.0 / _h, dtype: ScalarType.Float64).unsqueeze(1);        // (h, 1) signed cycles
        var fx = torch.fft.fftfreq(_w, d: 1.0 / _w, dtype: ScalarType.Float64).unsqueeze(0);        // (1, w)
        var rho = (fy * fy + fx * fx).sqrt();
        // Pixel planes: the low-frequency disc of radius side/4, as in the paper; a latent vector: every frequency.
        double radius = sampleShape.Length == 3 && Math.Min(_h, _w) >= 8 ? Math.Max(_h, _w) / 4.0 : double.PositiveInfinity;
        // A one-channel plane is the whole image: fixing its lowest frequencies fixes every sample's global layout (all
        // draws of a 28×28 model came out as boots), so there the ring stops short of them (side/8 < ρ).
        double inner = sampleShape.Length == 3 && sampleShape[0] == 1 && Math.Min(_h, _w) >= 8 ? Math.Max(_h, _w) / 8.0 : 0;
        var region = (rho >= 1.0) & (rho > inner) & (rho <= radius);
        var rings = rho.round().to(ScalarType.Int64);                                                // ring index per frequency
        int maxRing = (int)rings.max().item<long>();
        using var gen = new Generator(key.Seed($"tree-ring/{string.Join("x", sampleShape)}"));
        var values = torch.randn(new long[] { maxRing + 1 }, ScalarType.Float64, generator: gen);
        var keyPlane = torch.where(region, values.index(rings.flatten()).reshape(_h, _w), torch.zeros(_h, _w, dtype: ScalarType.Float64));
        // One of each ±k pair: fy > 0, or fy = 0 and fx > 0; a self-conjugate frequency (its own negative) has no pair.
        var selfConjugate = ((fy == 0) | (fy == -_h / 2.0)) & ((fx == 0) | (fx == -_w / 2.0));
        var firstOfPair = (fy > 0) | ((fy == 0) & (fx > 0));
        var half = region & firstOfPair & ~selfConjugate;
        RegionSize = (int)half.sum().item<long>();
        if (RegionSize < 4) throw new GenSharpException($"a {_w}×{_h} plane has too few frequencies for a Tree-Ring mark");
        _key = keyPlane.DetachFromDisposeScope();      // owned by this object, not a scope
        _region = region.DetachFromDisposeScope();
        _half = half.DetachFromDisposeScope();
    }

    /// <summary>M: independent complex frequencies scored.</summary>
    public int RegionSize { get; }

    /// <summary>
    /// Whether a perfect inversion would clear the threshold with room to spare: a marked plane scores at most √(2M),
    /// so M ≥ 14 at p = 1e-4 (a 16-number latent has M = 6: it can carry no mark that could be found reliably).
    /// </summary>
    public bool Detectable => Math.Sqrt(2.0 * RegionSize) > WatermarkScore.ZFor(PValueThreshold) + 1.5;
    /// <summary>The p-value below which an image is called watermarked.</summary>
    public double PValueThreshold { get; }
    /// <summary>Shape of one sample.</summary>
    public IReadOnlyList<long> SampleShape => _sample;

    /// <summary>The plane that carries the mark, (n, h, w), as a view of samples (n, …).</summary>
    Tensor Plane(Tensor x)
    {
        long n = x.shape[0];
        return _sample.Length == 3 ? x.select(1, _sample[0] - 1) : x.reshape(n, _h, _w);
    }

    /// <summary>Returns a copy of initial noise (n, …sample shape) with the key written into the plane's ring region.</summary>
    public Tensor Mark(Tensor noise)
    {
        using var scope = torch.NewDisposeScope();
        var x = noise.clone();
        var plane = Plane(x);
        var spectrum = torch.fft.fft2(plane.to(ScalarType.Float64), norm: FFTNormType.Ortho);            // (n, h, w) complex
        var key = torch.complex(_key, torch.zeros_like(_key)).to(spectrum.device);
        spectrum = torch.where(_region.to(spectrum.device), key, spectrum);
        var marked = torch.fft.ifft2(spectrum, norm: FFTNormType.Ortho).real.to(noise.dtype);
        if (_sample.Length == 3) plane.copy_(marked);
        else x = marked.reshape(x.shape);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Scores inverted noise (n, …sample shape): z ≈ N(0, 1) without the mark, large with it.</summary>
    public IReadOnlyList<WatermarkScore> Score(Tensor inverted)
    {
        using var scope = torch.NewDisposeScope();
        var spectrum = torch.fft.fft2(Plane(inverted.cpu()).to(ScalarType.Float64), norm: FFTNormType.Ortho);
        var idx = _half.flatten().nonzero().squeeze(1);
        var y = spectrum.reshape(spectrum.shape[0], -1).index_select(1, idx);                            // (n, M) complex
        var k = _key.flatten().index_select(0, idx);                                                        // (M) real
        var sigma2 = y.abs().pow(2).mean(new long[] { 1 });                                                 // (n)
        // η = Σ|y − k|²/σ² = M + (Σk² − 2Σ Re(y)·k)/σ² with σ² the mean |y|²: η is small exactly when Σ Re(y)·k is large.
        var z = y.real.matmul(k) / (sigma2 / 2 * k.pow(2).sum()).sqrt();
        return z.data<double>().ToArray().Select(v =>
        {
            double p = WatermarkScore.UpperTail(v);
            return new WatermarkScore(p < PValueThreshold, v, p, "tree-ring", $"{RegionSize} frequencies");
        }).ToList();
    }
}
