using GenSharp.Media.Audio;

namespace GenSharp.Evaluation;

/// <summary>
/// Frame-wise distances between two recordings of the same length scale (e.g. an utterance and its vocoder
/// resynthesis). Both are compared over their common number of frames.
/// </summary>
public static class AudioDistance
{
    /// <summary>
    /// Log-spectral distance in dB: the mean over frames of √(mean over FFT bins of (10·log10 P₁ − 10·log10 P₂)²), with
    /// P = |STFT|² floored at 1e−10 (the settings' window and hop).
    /// </summary>
    public static double LogSpectral(Tensor reference, Tensor other, MelSettings s)
    {
        using var scope = torch.NewDisposeScope();
        using var two = 2.0.ToScalar();
        using var floor = 1e-10.ToScalar();
        using var ten = 10.0.ToScalar();
        var (p, q) = Common(Spectrogram.Magnitude(reference, s).pow(two), Spectrogram.Magnitude(other, s).pow(two));
        var d = p.clamp_min(floor).log10().sub(q.clamp_min(floor).log10()) * ten;     // (F, frames)
        return d.pow(two).mean(new long[] { 0 }).sqrt().mean().to(ScalarType.Float64).item<double>();
    }

    /// <summary>
    /// Mel-cepstral distortion in dB, computed on MFCCs: c = orthonormal DCT-II of the natural-log mel magnitudes
    /// (<see cref="Spectrogram.LogMel"/>), coefficients 1…<paramref name="coefficients"/> (c₀, the level, left out), and
    /// MCD = mean over frames of (10/ln 10)·√(2·Σ_d (c_d − c′_d)²) — the usual MCD formula (Kubichek 1993), on MFCCs
    /// rather than SPTK mel-cepstra, so values are comparable between our systems, not with papers.
    /// </summary>
    public static double MelCepstral(Tensor reference, Tensor other, MelSettings s, int coefficients = 12)
    {
        if (coefficients < 1 || coefficients >= s.Mels) throw new GenSharpException($"MCD coefficients must be in [1, {s.Mels - 1}], got {coefficients}");
        using var scope = torch.NewDisposeScope();
        var (a, b) = Common(Spectrogram.LogMel(reference, s), Spectrogram.LogMel(other, s));  // (Mels, frames)
        var dct = Dct(s.Mels).to(a.device);                                                  // (Mels, Mels)
        var diff = torch.matmul(dct, a.sub(b)).narrow(0, 1, coefficients);  // (D, frames)
        using var two = 2.0.ToScalar();
        using var db = (10 / Math.Log(10)).ToScalar();
        return ((diff.pow(two).sum(dim: 0) * two).sqrt() * db).mean().to(ScalarType.Float64).item<double>();
    }

    /// <summary>Orthonormal DCT-II matrix (N, N): row k = √(2/N)·cos(πk(n + ½)/N), row 0 scaled by 1/√2.</summary>
    public static Tensor Dct(int n)
    {
        var m = new float[n * n];
        for (int k = 0; k < n; k++)
            for (int i = 0; i < n; i++)
                m[k * n + i] = (float)(Math.Sqrt(2.0 / n) * Math.Cos(Math.PI * k * (i + 0.5) / n) * (k == 0 ? Math.Sqrt(0.5) : 1));
        return torch.tensor(m).view(n, n);
    }

    static (Tensor, Tensor) Common(Tensor a, Tensor b)
    {
        long frames = Math.Min(a.shape[^1], b.shape[^1]);
        return (a.narrow(-1, 0, frames), b.narrow(-1, 0, frames));
    }
}
