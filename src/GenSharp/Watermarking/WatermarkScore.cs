namespace GenSharp.Watermarking;

/// <summary>What a detector says about one image.</summary>
/// <param name="Watermarked">The p-value is below the detector's threshold.</param>
/// <param name="Z">The detection statistic, N(0, 1) on images without this key's watermark (larger = more evidence).</param>
/// <param name="PValue">Chance of a z this large without the watermark (corrected for every alignment searched).</param>
/// <param name="Method">"pixel" or "tree-ring".</param>
/// <param name="Detail">How it was found (alignment, gain), for people.</param>
public sealed record WatermarkScore(bool Watermarked, double Z, double PValue, string Method, string Detail)
{
    /// <summary>P(N(0,1) ≥ z), accurate far into the tail (via erfc).</summary>
    public static double UpperTail(double z)
    {
        using var t = torch.tensor(z / Math.Sqrt(2), ScalarType.Float64);
        using var e = torch.special.erfc(t);
        return 0.5 * e.item<double>();
    }

    /// <summary>The z with P(N(0,1) ≥ z) = <paramref name="p"/>.</summary>
    public static double ZFor(double p)
    {
        using var t = torch.tensor(1 - 2 * p, ScalarType.Float64);
        using var e = t.erfinv();
        return Math.Sqrt(2) * e.item<double>();
    }
}
