namespace GenSharp.TextToImage;

/// <summary>
/// Where each measured attribute (see <see cref="ImageAttributes"/>) earns a word: below <c>Low</c> the low word
/// (dark, small, narrow, plain, low-contrast), above <c>High</c> the high word (light, large, wide, patterned,
/// high-contrast), in between none. <see cref="Default"/> holds the 1/3 and 2/3 quantiles of the 60,000 Fashion-MNIST
/// training images (<see cref="FromQuantiles"/> recomputes them), so each word describes about a third of the data.
/// </summary>
/// <param name="Low">Per attribute (indexed by <see cref="AttributeKind"/>): values below this get the low word.</param>
/// <param name="High">Per attribute: values above this get the high word.</param>
public sealed record CaptionThresholds(double[] Low, double[] High)
{
    /// <summary>
    /// Tertiles of the Fashion-MNIST training set (60,000 images), measured by <see cref="ImageAttributes.Measure"/>;
    /// docs/text-to-image.md lists them and the command that recomputes them.
    /// </summary>
    public static CaptionThresholds Default { get; } = new(
        new[] { BrightnessLow, AreaLow, AspectLow, TextureLow, ContrastLow },
        new[] { BrightnessHigh, AreaHigh, AspectHigh, TextureHigh, ContrastHigh });

    // Tertiles measured on the full training split (see docs/text-to-image.md).
    const double BrightnessLow = 0.56345, BrightnessHigh = 0.71934;   // mean foreground intensity
    const double AreaLow = 286.0 / 784, AreaHigh = 425.0 / 784;        // 0.36480, 0.54209 of the image
    const double AspectLow = 10.0 / 14, AspectHigh = 14.0 / 13;         // 0.71429, 1.07692 (bounding box width / height)
    const double TextureLow = 0.090627, TextureHigh = 0.121297;         // mean adjacent-pixel difference
    const double ContrastLow = 0.16760, ContrastHigh = 0.20141;         // foreground intensity standard deviation

    /// <summary>The low threshold of one attribute.</summary>
    public double LowOf(AttributeKind kind) => Low[(int)kind];

    /// <summary>The high threshold of one attribute.</summary>
    public double HighOf(AttributeKind kind) => High[(int)kind];

    /// <summary>
    /// The <paramref name="lower"/> and <paramref name="upper"/> quantiles of each attribute over the measured images
    /// (linear interpolation between order statistics, as numpy's default).
    /// </summary>
    /// <exception cref="GenSharpException">No images, or quantiles outside 0 &lt; lower ≤ upper &lt; 1.</exception>
    public static CaptionThresholds FromQuantiles(ImageAttributes measured, double lower = 1.0 / 3, double upper = 2.0 / 3)
    {
        if (measured.Count == 0) throw new GenSharpException("caption thresholds need at least one measured image");
        if (!(lower > 0 && lower <= upper && upper < 1)) throw new GenSharpException($"quantiles must satisfy 0 < lower ≤ upper < 1, got {lower}, {upper}");
        var kinds = Enum.GetValues<AttributeKind>();
        return new CaptionThresholds(
            kinds.Select(k => Quantile(measured.Of(k), lower)).ToArray(),
            kinds.Select(k => Quantile(measured.Of(k), upper)).ToArray());
    }

    /// <summary>The q-quantile of <paramref name="values"/>, interpolating linearly between order statistics.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        double pos = q * (sorted.Length - 1);
        int i = (int)Math.Floor(pos);
        if (i >= sorted.Length - 1) return sorted[^1];
        return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
    }
}
