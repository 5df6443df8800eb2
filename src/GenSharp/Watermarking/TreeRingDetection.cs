using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Pipelines;

namespace GenSharp.Watermarking;

/// <summary>Detects Tree-Ring marks with a diffusion model (DDIM inversion) and measures their robustness.</summary>
public static class TreeRingDetection
{
    /// <summary>Scores images (N, C, H, W) in [0, 1] of the model's size: inverts them with <paramref name="steps"/> DDIM steps and compares x_T's rings to the key.</summary>
    public static IReadOnlyList<WatermarkScore> Detect(ITreeRingSampler model, WatermarkKey key, Tensor images01, int steps, int batch = 64)
    {
        var mark = new TreeRingWatermark(key, model.NoiseShape);
        var scores = new List<WatermarkScore>();
        for (long i = 0; i < images01.shape[0]; i += batch)
        {
            using var scope = torch.NewDisposeScope();
            var chunk = images01.narrow(0, i, Math.Min(batch, images01.shape[0] - i));
            scores.AddRange(mark.Score(model.InvertToNoise(chunk, steps)));
        }
        return scores;
    }

    /// <summary>
    /// Draws <paramref name="n"/> images with the mark and <paramref name="n"/> without (deterministic DDIM, the model's
    /// defaults otherwise), applies each attack of <see cref="WatermarkRobustness.Attacks"/> and detects. Crops are
    /// padded back to the model's size with black, centred. Returns the rows as <see cref="WatermarkRobustness.Row"/>s.
    /// </summary>
    public static IReadOnlyList<WatermarkRobustness.Row> Robustness(IImageSampler model, WatermarkKey key, int n, long seed, int? steps, Action<WatermarkRobustness.Row>? onRow = null)
    {
        var ring = model as ITreeRingSampler ?? throw new GenSharpException($"{model.Family} checkpoints carry no Tree-Ring mark; give a ddpm checkpoint");
        var values = new Dictionary<string, string> { ["scheduler"] = "ddim", ["eta"] = "0" };
        if (steps is { } s) values["steps"] = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var options = model.DefaultSamplerOptions.With(values, model.Family);
        int inversion = ring.InversionSteps(options);
        using var marked = ImageSampling.Run(model, new ImageSamplingOptions { Count = n, Seed = seed, Sampler = options, TreeRingKey = key });
        using var plain = ImageSampling.Run(model, new ImageSamplingOptions { Count = n, Seed = seed + 1, Sampler = options });
        using var marked8 = ImageGrid.ToUint8(marked.Images);
        using var plain8 = ImageGrid.ToUint8(plain.Images);
        long h = marked8.shape[2], w = marked8.shape[3];
        var rows = new List<WatermarkRobustness.Row>();
        foreach (var (name, apply, crops) in WatermarkRobustness.Attacks(seed))
        {
            using var scope = torch.NewDisposeScope();
            Tensor Prepare(Tensor x)
            {
                var a = apply(x);
                if (crops)
                {
                    long ch = a.shape[2], cw = a.shape[3];
                    a = nn.functional.pad(a, new long[] { (w - cw) / 2, w - cw - (w - cw) / 2, (h - ch) / 2, h - ch - (h - ch) / 2 });
                }
                return a.to(ScalarType.Float32) / 255;
            }
            var m = Detect(ring, key, Prepare(marked8), inversion);
            var o = Detect(ring, key, Prepare(plain8), inversion);
            var row = new WatermarkRobustness.Row(name, m.Count(x => x.Watermarked) / (double)n, o.Count(x => x.Watermarked) / (double)n, m.Average(x => x.Z));
            rows.Add(row);
            onRow?.Invoke(row);
        }
        return rows;
    }
}
