namespace GenSharp.Models.Pretrained;

/// <summary>
/// Rotary position embedding (Su et al. 2021, RoFormer Eq. 34) in the half-split layout of Hugging Face
/// Llama checkpoints: dimension i of a head pairs with dimension i + D/2 (not 2i with 2i + 1), so
/// x' = x·cos + rotate_half(x)·sin with rotate_half(x) = (−x₂, x₁) on the two halves.
/// </summary>
public sealed class RotaryEmbedding
{
    readonly double[] _invFreq;

    /// <param name="headDim">Head width D (even).</param>
    /// <param name="theta">Base θ: pair i turns at θ^(−2i/D) radians per position.</param>
    /// <param name="scaling">Llama-3 frequency scaling, or null.</param>
    public RotaryEmbedding(int headDim, double theta, Llama3RopeScaling? scaling = null)
    {
        _invFreq = new double[headDim / 2];
        for (int i = 0; i < _invFreq.Length; i++)
        {
            double f = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            _invFreq[i] = scaling?.Apply(f) ?? f;
        }
    }

    /// <summary>Radians per position of each rotary pair, (D/2).</summary>
    public IReadOnlyList<double> InverseFrequencies => _invFreq;

    /// <summary>cos and sin tables (T, D) for positions start … start + T − 1 (angles in float64, then float32).</summary>
    public (Tensor Cos, Tensor Sin) Tables(long start, long t, Device device)
    {
        using var positions = torch.arange(start, start + t, dtype: ScalarType.Int64);
        return Tables(positions, device);
    }

    /// <summary>
    /// cos and sin tables for int64 <paramref name="positions"/>: (T, D) for positions (T) shared by every row, or
    /// (B, 1, T, D) for rows at their own positions (B, T), ready to broadcast over the heads of (B, H, T, D).
    /// </summary>
    public (Tensor Cos, Tensor Sin) Tables(Tensor positions, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var pos = positions.cpu().to(ScalarType.Float64);                                         // (T) or (B, T)
        var inv = torch.tensor(_invFreq, dtype: ScalarType.Float64);                              // (D/2)
        var angles = pos.unsqueeze(-1) * inv;                                                     // (…, T, D/2)
        angles = torch.cat(new[] { angles, angles }, -1);                                         // (…, T, D): both halves share angles
        if (angles.dim() == 3) angles = angles.unsqueeze(1);                                      // (B, 1, T, D)
        var cos = angles.cos().to(ScalarType.Float32).to(device);
        var sin = angles.sin().to(ScalarType.Float32).to(device);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>Rotates x (B, H, T, D) by the tables (T, D).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[3] / 2;
        var x1 = x.narrow(3, 0, half);
        var x2 = x.narrow(3, half, half);
        var rotated = torch.cat(new[] { -x2, x1 }, 3);                                            // rotate_half
        return x * cos + rotated * sin;
    }
}
