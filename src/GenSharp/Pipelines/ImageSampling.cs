using System.Diagnostics;
using GenSharp.Models;
using GenSharp.Watermarking;

namespace GenSharp.Pipelines;

/// <summary>What to draw from an image model.</summary>
public sealed record ImageSamplingOptions
{
    /// <summary>Images to draw (for a class grid: rounded down to whole rows, at least one per class).</summary>
    public int Count { get; init; } = 64;
    /// <summary>Seeds torch's global generator and the sampler's own generator.</summary>
    public long Seed { get; init; }
    /// <summary>Class of every image (conditional models); null = the model's choice, or one row per class with <see cref="ClassGrid"/>.</summary>
    public int? Class { get; init; }
    /// <summary>Conditional models without <see cref="Class"/>: lay the images out as one row per class.</summary>
    public bool ClassGrid { get; init; }
    /// <summary>The sampler's options; null = the model's defaults.</summary>
    public SamplerOptions? Sampler { get; init; }
    /// <summary>Iterative samplers: keep this many evenly spaced states from the start to the end (0 = none), e.g. a denoising strip.</summary>
    public int StripColumns { get; init; }
    /// <summary>Images of each strip column (the first ones drawn).</summary>
    public int StripRows { get; init; } = 8;
    /// <summary>Iterative samplers: keep up to this many evenly spaced states of all images (0 = none), e.g. an animation.</summary>
    public int Frames { get; init; }
    /// <summary>Diffusion models sampling with deterministic DDIM: write this key's Tree-Ring mark into x_T (null = none).</summary>
    public WatermarkKey? TreeRingKey { get; init; }
}

/// <summary>Images drawn by <see cref="ImageSampling.Run"/>; dispose to free the tensors.</summary>
/// <param name="Images">(N, C, H, W) floats in [0,1] on the CPU.</param>
/// <param name="Columns">Grid columns that suit them (one row per class for a class grid).</param>
/// <param name="Labels">The class of each image, when the model was asked for classes.</param>
/// <param name="Sampler">The sampler options used.</param>
/// <param name="ImagesPerSecond">Throughput of the sampling itself.</param>
/// <param name="Strip">Strip columns in order, each (rows, C, H, W) in [0,1].</param>
/// <param name="FrameImages">Animation frames in order, each (N, C, H, W) in [0,1].</param>
public sealed record ImageSamples(Tensor Images, int Columns, Tensor? Labels, SamplerOptions Sampler, double ImagesPerSecond,
                                  IReadOnlyList<Tensor> Strip, IReadOnlyList<Tensor> FrameImages) : IDisposable
{
    /// <summary>The Tree-Ring mark written into x_T, or null when none was (no key, not diffusion, or not deterministic DDIM).</summary>
    public TreeRingWatermark? TreeRing { get; init; }

    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
        foreach (var t in Strip) t.Dispose();
        foreach (var t in FrameImages) t.Dispose();
    }
}

/// <summary>Draws images from any <see cref="IImageSampler"/>: grids, class rows, sweeps and traces of iterative samplers.</summary>
public static class ImageSampling
{
    /// <summary>Most images one call draws.</summary>
    public const int MaxCount = 100_000;

    /// <summary>Draws images as <paramref name="options"/> say. Parameter errors name the option (count, class, strip_columns, ...).</summary>
    public static ImageSamples Run(IImageSampler model, ImageSamplingOptions options)
    {
        if (options.Count < 1 || options.Count > MaxCount) throw new ParameterException("count", $"must be in [1, {MaxCount}], got {options.Count}");
        var sampler = options.Sampler ?? model.DefaultSamplerOptions;
        sampler.Validate();
        int classes = model.ConditionalClasses;
        CheckClass(options.Class, classes);
        int? traceSteps = options.StripColumns > 0 || options.Frames > 0 ? model.TraceSteps(sampler) : null;
        if ((options.StripColumns > 0 || options.Frames > 0) && traceSteps is null)
            throw new ParameterException(options.StripColumns > 0 ? "strip_columns" : "frames", $"needs an iterative sampler (diffusion); {model.Family} draws in one go");

        torch.manual_seed(options.Seed);
        using var gen = new Generator((ulong)options.Seed);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        int n = options.Count, columns = (int)Math.Ceiling(Math.Sqrt(n));
        Tensor? labels = null;
        if (options.Class is { } k) labels = torch.full(n, k, dtype: ScalarType.Int64);
        else if (classes > 0 && options.ClassGrid)
        {
            int perClass = Math.Max(1, n / classes);
            n = perClass * classes;
            columns = perClass;
            labels = torch.arange(classes, dtype: ScalarType.Int64).repeat_interleave(perClass);  // (K·perClass), class-major
        }

        var strip = new List<Tensor>();
        var frames = new List<Tensor>();
        Action<int, Tensor>? onStep = null;
        if (traceSteps is { } total)
        {
            var stripAt = EvenlySpaced(total, options.StripColumns);
            var framesAt = EvenlySpaced(total, Math.Min(total + 1, options.Frames));
            int rows = Math.Min(n, options.StripRows);
            onStep = (i, x) =>
            {
                if (stripAt.Contains(i)) strip.Add(To01(x.narrow(0, 0, rows)).MoveToOuterDisposeScope());
                if (framesAt.Contains(i)) frames.Add(To01(x).MoveToOuterDisposeScope());
            };
        }
        var clock = Stopwatch.StartNew();
        TreeRingWatermark? treeRing = options.TreeRingKey is { } key && model is ITreeRingSampler ring && ring.CarriesTreeRing(sampler)
            ? new TreeRingWatermark(key, ring.NoiseShape) : null;
        if (treeRing is { Detectable: false }) treeRing = null;   // too few numbers in x_T to carry a mark that could be found
        var images = treeRing is null ? model.Sample(n, labels, sampler, gen, onStep)
            : ((ITreeRingSampler)model).Sample(n, labels, sampler, gen, onStep, treeRing.Mark);
        double perSecond = n / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        // The traced states were moved into this call's scope; hand them to the caller with the images.
        return new ImageSamples(images.MoveToOuterDisposeScope(), columns, labels?.MoveToOuterDisposeScope(), sampler, perSecond,
            strip.Select(t => t.MoveToOuterDisposeScope()).ToList(), frames.Select(t => t.MoveToOuterDisposeScope()).ToList()) { TreeRing = treeRing };
    }

    /// <summary>
    /// One row of <paramref name="perRow"/> images for each value of sampler option <paramref name="option"/>, every row
    /// from the same seed, so rows differ only by that option (e.g. a flow's temperature). Returns (rows·perRow, C, H, W).
    /// </summary>
    public static Tensor Sweep(IImageSampler model, string option, IReadOnlyList<string> values, int perRow, long seed, SamplerOptions? baseOptions = null)
    {
        if (perRow < 1 || perRow > 1000) throw new ParameterException("count", $"must be in [1, 1000] per row, got {perRow}");
        if (values.Count == 0) throw new ParameterException(option, "needs at least one value");
        if (model.ConditionalClasses > 0) throw new ParameterException(option, "sweeps are for unconditional models");
        var start = baseOptions ?? model.DefaultSamplerOptions;
        var rows = new List<Tensor>();
        foreach (var value in values)
        {
            var sampler = start.With(new Dictionary<string, string> { [option] = value }, model.Family);
            torch.manual_seed(seed);
            using var gen = new Generator((ulong)seed);
            using var _ = torch.no_grad();
            rows.Add(model.Sample(perRow, null, sampler, gen));
        }
        var all = torch.cat(rows, 0);
        foreach (var r in rows) r.Dispose();
        return all;
    }

    /// <summary>Rejects a class a model cannot take.</summary>
    public static void CheckClass(int? cls, int classes)
    {
        if (cls is not { } c) return;
        if (classes == 0) throw new ParameterException("class", "does not apply: this model is not class-conditional");
        if (c < 0 || c >= classes) throw new ParameterException("class", $"{c}: must be in [0, {classes - 1}]");
    }

    static Tensor To01(Tensor x) => ((x + 1) / 2).clamp(0, 1).cpu();

    /// <summary>0 (the start) plus <paramref name="count"/> − 1 indices spread over 1 … total, always including total (the end).</summary>
    static HashSet<int> EvenlySpaced(int total, int count)
    {
        if (count <= 0) return new HashSet<int>();
        var set = new HashSet<int> { 0, total };
        for (int j = 1; j < count; j++) set.Add((int)Math.Round((double)j * total / (count - 1)));
        return set;
    }
}
