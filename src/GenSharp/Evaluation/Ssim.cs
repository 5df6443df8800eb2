namespace GenSharp.Evaluation;

/// <summary>
/// Structural similarity (Wang, Bovik, Sheikh &amp; Simoncelli 2004, "Image Quality Assessment: From Error
/// Visibility to Structural Similarity", IEEE TIP 13(4)) with the paper's settings: an 11×11 Gaussian window of
/// σ = 1.5 (normalised to sum 1), K1 = 0.01, K2 = 0.03, C1 = (K1·L)², C2 = (K2·L)² for a data range L. Local
/// means, variances and the covariance are window-weighted moments (biased: E_w[x²] − μ², as in the paper's
/// eq. 14–16 with Gaussian weights); the map is eq. 13 evaluated where the window fits inside the image ("valid"
/// positions, as the authors' reference code does), and the SSIM of an image is the mean of its map over positions
/// and channels. The window moments are one depthwise <c>conv2d</c> each, in float64.
/// </summary>
public static class Ssim
{
    /// <summary>Side of the Gaussian window.</summary>
    public const int WindowSize = 11;
    /// <summary>σ of the Gaussian window, in pixels.</summary>
    public const double Sigma = 1.5;
    /// <summary>Luminance stabiliser: C1 = (K1·L)².</summary>
    public const double K1 = 0.01;
    /// <summary>Contrast stabiliser: C2 = (K2·L)².</summary>
    public const double K2 = 0.03;

    /// <summary>The normalised 11×11 Gaussian window (σ 1.5) as (11, 11) float64.</summary>
    public static Tensor Window()
    {
        using var scope = torch.NewDisposeScope();
        var offsets = torch.arange(WindowSize, dtype: ScalarType.Float64) - (WindowSize - 1) / 2.0;   // (11)
        var g = (-(offsets * offsets) / (2 * Sigma * Sigma)).exp();
        g = g / g.sum();
        return g.outer(g).MoveToOuterDisposeScope();                                                   // (11, 11), sums to 1
    }

    /// <summary>
    /// SSIM of each image pair: <paramref name="x"/> and <paramref name="y"/> are (N, C, H, W) with H, W ≥ 11, any
    /// float or integer dtype, values in [0, <paramref name="dataRange"/>]. Returns (N) float64 on the CPU; identical
    /// images give exactly 1.
    /// </summary>
    public static Tensor Compute(Tensor x, Tensor y, double dataRange = 1.0)
    {
        if (x.dim() != 4 || !x.shape.SequenceEqual(y.shape))
            throw new ArgumentException($"SSIM needs two (N, C, H, W) batches of one shape, got ({string.Join(", ", x.shape)}) and ({string.Join(", ", y.shape)})");
        if (x.shape[2] < WindowSize || x.shape[3] < WindowSize)
            throw new ArgumentException($"SSIM needs images of at least {WindowSize}×{WindowSize}, got {x.shape[2]}×{x.shape[3]}");
        if (!(dataRange > 0)) throw new ArgumentException($"data range must be > 0, got {dataRange}", nameof(dataRange));
        using var scope = torch.NewDisposeScope();
        long c = x.shape[1];
        var a = x.detach().cpu().to(ScalarType.Float64);
        var b = y.detach().cpu().to(ScalarType.Float64);
        var w = Window().reshape(1, 1, WindowSize, WindowSize).expand(c, 1, WindowSize, WindowSize).contiguous(); // (C, 1, 11, 11), one per channel
        Tensor Filter(Tensor t) => torch.nn.functional.conv2d(t, w, groups: c);                           // (N, C, H−10, W−10)
        var muA = Filter(a);
        var muB = Filter(b);
        var varA = Filter(a * a) - muA * muA;                                                             // σ_x², eq. 15 with window weights
        var varB = Filter(b * b) - muB * muB;
        var cov = Filter(a * b) - muA * muB;                                                              // σ_xy, eq. 16
        double c1 = K1 * dataRange * (K1 * dataRange), c2 = K2 * dataRange * (K2 * dataRange);
        var map = (2 * muA * muB + c1) * (2 * cov + c2) / ((muA * muA + muB * muB + c1) * (varA + varB + c2)); // eq. 13
        return map.mean(new long[] { 1, 2, 3 }).MoveToOuterDisposeScope();                               // (N)
    }
}
