namespace GenSharp.Watermarking;

/// <summary>
/// Measures a <see cref="PixelWatermark"/> on real images: invisibility (PSNR of marked against original), the
/// false-positive rate on the unmarked originals, and the detection rate after each attack of <see cref="ImageAttacks"/>.
/// </summary>
public static class WatermarkRobustness
{
    /// <summary>One row of the robustness table.</summary>
    /// <param name="Attack">What was done to the images.</param>
    /// <param name="DetectionRate">Share of marked images still detected.</param>
    /// <param name="FalsePositiveRate">Share of unmarked images (attacked the same way) called watermarked.</param>
    /// <param name="MeanZ">Mean z of the marked images.</param>
    public sealed record Row(string Attack, double DetectionRate, double FalsePositiveRate, double MeanZ);

    /// <summary>The attacks of the table, by name.</summary>
    public static IReadOnlyList<(string Name, Func<Tensor, Tensor> Apply, bool Crops)> Attacks(long seed)
    {
        var list = new List<(string, Func<Tensor, Tensor>, bool)> { ("none", x => x.clone(), false) };
        foreach (int q in new[] { 90, 75, 50 }) list.Add(($"jpeg q{q}", x => ImageAttacks.Jpeg(x, q), false));
        foreach (double f in new[] { 0.5, 0.75, 1.5, 2.0 }) list.Add(($"resize ×{f} and back", x => ImageAttacks.ResizeRoundTrip(x, f), false));
        foreach (double f in new[] { 0.9 }) list.Add(($"crop {f * 100:0}% + resize back", x => ImageAttacks.CropAndResize(x, f), false));
        foreach (double s in new[] { 2.0, 5.0, 10.0 })
            list.Add(($"gaussian noise σ={s}", x => { using var g = new Generator((ulong)(seed + (long)(s * 1000))); return ImageAttacks.GaussianNoise(x, s, g); }, false));
        // Crops last: the detector tries every placement on the canvas, which makes them the slow rows.
        foreach (double f in new[] { 0.9, 0.8, 0.7, 0.5 }) list.Add(($"crop {f * 100:0}%", x => ImageAttacks.CenterCrop(x, f), true));
        return list;
    }

    /// <summary>
    /// Marks <paramref name="images"/> (uint8 (N, C, H, W)), and for every attack detects the mark in the attacked marked
    /// images and in the attacked originals. Crops are detected with the original size as the canvas.
    /// Returns the mean PSNR (dB) of marking and the rows.
    /// </summary>
    public static (double Psnr, IReadOnlyList<Row> Rows) Run(PixelWatermark watermark, Tensor images, long seed, Action<Row>? onRow = null)
    {
        using var scope = torch.NewDisposeScope();
        var original = images.cpu();
        var marked = watermark.Embed(original);
        double psnr = ImageAttacks.Psnr(original, marked).mean().item<double>();
        var canvas = ((int)original.shape[2], (int)original.shape[3]);
        var rows = new List<Row>();
        foreach (var (name, apply, crops) in Attacks(seed))
        {
            using var inner = torch.NewDisposeScope();
            var m = watermark.Detect(apply(marked), crops ? canvas : null);
            var o = watermark.Detect(apply(original), crops ? canvas : null);
            var row = new Row(name, m.Count(s => s.Watermarked) / (double)m.Count, o.Count(s => s.Watermarked) / (double)o.Count, m.Average(s => s.Z));
            rows.Add(row);
            onRow?.Invoke(row);
        }
        return (psnr, rows);
    }
}
