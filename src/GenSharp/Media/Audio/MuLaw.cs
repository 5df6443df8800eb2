namespace GenSharp.Media.Audio;

/// <summary>
/// μ-law companding and 8-bit quantisation, as WaveNet's output distribution uses it (van den Oord et al. 2016,
/// eq. 2, μ = 255): f(x) = sign(x)·ln(1 + μ|x|)/ln(1 + μ) on x ∈ [−1, 1], then 256 uniform levels over [−1, 1].
/// </summary>
public static class MuLaw
{
    /// <summary>μ for 8 bits.</summary>
    public const double Mu = 255;
    /// <summary>Number of quantisation levels.</summary>
    public const int Levels = 256;

    /// <summary>Codes 0…255 (int64, same shape and device) of audio in [−1, 1] (values outside are clipped).</summary>
    public static Tensor Encode(Tensor audio)
    {
        using var scope = torch.NewDisposeScope();
        // Scalars are held in locals for the whole call: a temporary one can be finalised while native code reads it.
        using var minusOne = (-1.0).ToScalar();
        using var one = 1.0.ToScalar();
        using var mu = Mu.ToScalar();
        using var norm = (1 / Math.Log(1 + Mu)).ToScalar();
        using var half = ((Levels - 1) / 2.0).ToScalar();
        using var zero = 0.0.ToScalar();
        using var top = (Levels - 1.0).ToScalar();
        var x = audio.to(ScalarType.Float64).clamp(minusOne, one);
        var companded = x.sign() * torch.log1p(x.abs() * mu) * norm;                               // f(x) ∈ [−1, 1]
        // (f + 1)/2 · 255 rounded: level k stands for f = 2k/255 − 1.
        return companded.add(one, AudioScalars.One).mul(half).round().clamp(zero, top).to(ScalarType.Int64).MoveToOuterDisposeScope();
    }

    /// <summary>The companded value f ∈ [−1, 1] a code stands for (float32), the network's view of a past sample.</summary>
    public static Tensor Companded(Tensor codes)
    {
        using var scope = torch.NewDisposeScope();
        using var step = (2.0 / (Levels - 1)).ToScalar();
        using var one = 1.0.ToScalar();
        return codes.to(ScalarType.Float32).mul(step).sub(one).MoveToOuterDisposeScope();
    }

    /// <summary>Audio in [−1, 1] (float32) of codes 0…255: the inverse f⁻¹(y) = sign(y)·((1 + μ)^|y| − 1)/μ.</summary>
    public static Tensor Decode(Tensor codes)
    {
        using var scope = torch.NewDisposeScope();
        using var step = (2.0 / (Levels - 1)).ToScalar();
        using var one = 1.0.ToScalar();
        using var logMu = Math.Log(1 + Mu).ToScalar();
        using var invMu = (1 / Mu).ToScalar();
        var y = codes.to(ScalarType.Float64).mul(step).sub(one);
        return (y.sign() * torch.expm1(y.abs() * logMu) * invMu).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
