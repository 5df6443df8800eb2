using System.Diagnostics;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Models.Classifier;
using GenSharp.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Workflows;

/// <summary>Sampling with a chosen diffusion scheduler: grids, denoising strips, GIFs of the reverse process, inpainting.</summary>
public static class DiffusionWorkflows
{
    /// <summary>Columns of a denoising strip: x_T, eight intermediate samples, x_0.</summary>
    public const int StripColumns = 10;
    /// <summary>Samples (rows) shown in a denoising strip.</summary>
    public const int StripRows = 8;
    /// <summary>Most frames written to a GIF (long schedules are subsampled evenly).</summary>
    public const int MaxGifFrames = 100;

    /// <summary>The model as a diffusion sampler, or a one-line error naming the flags that need one.</summary>
    public static IDiffusionSampler AsDiffusion(IGenerativeModel model, string flags) =>
        model as IDiffusionSampler
        ?? throw new GenSharpException($"{flags} apply to diffusion checkpoints (ddpm); {model.Family} samples without a scheduler");

    /// <summary>Rejects a guidance scale that is negative or not finite, naming the flag.</summary>
    public static void CheckGuidanceScale(double guidanceScale)
    {
        if (!(guidanceScale >= 0 && double.IsFinite(guidanceScale)))
            throw new GenSharpException($"--guidance-scale must be a finite number ≥ 0, got {guidanceScale}");
    }

    /// <summary>
    /// Draws <paramref name="n"/> samples with scheduler <paramref name="schedulerName"/> over <paramref name="steps"/>
    /// steps and writes them to <paramref name="outPath"/> (PNG grid or .npy); optionally a denoising strip
    /// (one row per sample, x_T … x_0) and an animated GIF of the whole grid through the reverse process.
    /// Conditional models without <paramref name="classLabel"/> cycle through the classes (one column per class).
    /// Returns images per second of the sampling itself.
    /// </summary>
    public static double Sample(IGenerativeModel model, string outPath, int n, long seed, int? classLabel,
        string schedulerName, int steps, double eta, double guidanceScale, string? stripPath = null, string? gifPath = null)
    {
        var diffusion = AsDiffusion(model, "--scheduler/--steps/--eta/--guidance-scale/--strip/--gif");
        if (n < 1 || n > 100_000) throw new GenSharpException($"--n must be in [1, 100000], got {n}");
        CheckGuidanceScale(guidanceScale);
        int classes = model.ConditionalClasses;
        if (classLabel is { } c && (classes == 0 || c < 0 || c >= classes))
            throw new GenSharpException(classes == 0 ? "--class: this model is not class-conditional" : $"--class {c}: must be in [0, {classes - 1}]");
        var scheduler = diffusion.CreateScheduler(schedulerName, steps, eta);
        int total = scheduler.Timesteps.Count;

        using var gen = new Generator((ulong)seed);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        Tensor? labels = classes == 0 ? null
            : classLabel is { } k ? torch.full(n, k, dtype: ScalarType.Int64)
            : torch.arange(n, dtype: ScalarType.Int64) % classes;
        int stripRows = Math.Min(n, StripRows);
        // onStep indices: 0 = x_T, i = after step i; both pictures start at x_T and end at x_0.
        var stripSteps = EvenlySpaced(total, StripColumns - 1);
        var gifSteps = EvenlySpaced(total, Math.Min(total, MaxGifFrames - 1));
        var strip = new List<Tensor>();
        var frames = new List<Tensor>();
        Action<int, Tensor>? onStep = null;
        if (stripPath is not null || gifPath is not null)
            onStep = (i, x) =>
            {
                if (stripPath is not null && stripSteps.Contains(i)) strip.Add(To01(x.narrow(0, 0, stripRows)).MoveToOuterDisposeScope());
                if (gifPath is not null && gifSteps.Contains(i)) frames.Add(To01(x).MoveToOuterDisposeScope());
            };
        var clock = Stopwatch.StartNew();
        var images = diffusion.Sample(n, labels, scheduler, guidanceScale, gen, onStep);
        double perSecond = n / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        ImageWorkflows.SaveImages(images, outPath, classes > 0 && classLabel is null ? classes : (int)Math.Ceiling(Math.Sqrt(n)));
        if (stripPath is not null)
        {
            var rows = Enumerable.Range(0, stripRows).Select(r => torch.cat(strip.Select(col => col.narrow(0, r, 1)).ToArray(), 0)).ToList();
            ImageGrid.SaveRows(rows, stripPath);
        }
        if (gifPath is not null)
            GifEncoder.WriteGrids(gifPath, frames, delayCentiseconds: 8, columns: classes > 0 && classLabel is null ? classes : null);
        return perSecond;
    }

    /// <summary>
    /// Inpaints each input image <paramref name="perImage"/> times: pixels where <paramref name="knownMask"/>
    /// (1, 1, H, W) or (B, 1, H, W) is true are kept, the rest generated. Writes one row per input: the known
    /// part (unknown pixels mid-grey), the inpaintings, the original. Returns images per second.
    /// </summary>
    public static double Inpaint(IGenerativeModel model, Tensor images, Tensor knownMask, int perImage, string outPath,
        long seed, int? classLabel, string schedulerName, int steps, double eta, int resample = 1, int? jump = null)
    {
        var diffusion = AsDiffusion(model, "--inpaint");
        var inpainting = model as IInpainting ?? throw new GenSharpException($"{model.Family} cannot inpaint");
        var cfg = ImageFamilyConfig.Of(model);
        if (perImage < 1 || perImage > 64) throw new GenSharpException($"--n must be in [1, 64] inpaintings per image, got {perImage}");
        if (images.shape[0] > 64) throw new GenSharpException($"at most 64 images to inpaint at once, got {images.shape[0]}");
        if (images.shape[1] != cfg.ImageChannels || images.shape[2] != cfg.ImageSize || images.shape[3] != cfg.ImageSize)
            throw new GenSharpException($"the model works on {cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize} images, got ({string.Join("×", images.shape.Skip(1))})");
        if (knownMask.shape[0] != 1 && knownMask.shape[0] != images.shape[0])
            throw new GenSharpException($"--mask holds {knownMask.shape[0]} masks for {images.shape[0]} images; give one mask or one per image");
        int classes = model.ConditionalClasses;
        if (classLabel is { } c && (classes == 0 || c < 0 || c >= classes))
            throw new GenSharpException(classes == 0 ? "--class: this model is not class-conditional" : $"--class {c}: must be in [0, {classes - 1}]");
        var scheduler = diffusion.CreateScheduler(schedulerName, steps, eta);

        using var gen = new Generator((ulong)seed);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long n = images.shape[0];
        var mask = knownMask.to(ScalarType.Bool).expand(n, 1, cfg.ImageSize, cfg.ImageSize);
        var repeated = images.repeat_interleave(perImage, 0);                              // (n·k, C, H, W), image-major
        var repeatedMask = mask.repeat_interleave(perImage, 0);
        Tensor? labels = classLabel is { } cls ? torch.full(repeated.shape[0], cls, dtype: ScalarType.Int64) : null;
        var clock = Stopwatch.StartNew();
        var done = inpainting.Inpaint(repeated, repeatedMask, labels, scheduler, gen, resample, jump)
            .reshape(n, perImage, cfg.ImageChannels, cfg.ImageSize, cfg.ImageSize);
        double perSecond = repeated.shape[0] / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        var original = ImageTransforms.ToFloat(images.cpu(), PixelScale.ZeroOne);
        var shown = torch.where(mask.expand_as(original), original, torch.full_like(original, 0.5));
        var rows = new List<Tensor>();
        for (long i = 0; i < n; i++)
            rows.Add(torch.cat(new[] { shown.narrow(0, i, 1), done[i], original.narrow(0, i, 1) }, 0));
        ImageWorkflows.SaveImages(torch.cat(rows, 0), outPath, perImage + 2);
        return perSecond;
    }

    /// <summary>
    /// A known-pixel mask (true = keep) from a preset — <c>top</c>, <c>bottom</c>, <c>left</c>, <c>right</c> (that half
    /// known), <c>center</c> (all but a central square of half the side known), <c>random</c> (each pixel known with
    /// probability ½, seeded) — or an image file (white = known, black = generate; one tile for all images or one per
    /// image). Returns (1 or N, 1, size, size) bool.
    /// </summary>
    public static Tensor Mask(string spec, int size, long seed)
    {
        var rows = torch.arange(size).reshape(1, 1, size, 1);
        var cols = torch.arange(size).reshape(1, 1, 1, size);
        int half = size / 2, q = size / 4;
        switch (spec)
        {
            case "top": return (rows < half).expand(1, 1, size, size).clone();
            case "bottom": return (rows >= half).expand(1, 1, size, size).clone();
            case "left": return (cols < half).expand(1, 1, size, size).clone();
            case "right": return (cols >= half).expand(1, 1, size, size).clone();
            case "center": return ((rows >= q) & (rows < q + half) & (cols >= q) & (cols < q + half)).logical_not();
            case "random":
                using (var gen = new Generator((ulong)seed))
                    return torch.rand(new long[] { 1, 1, size, size }, generator: gen) < 0.5;
        }
        if (!File.Exists(spec))
            throw new GenSharpException($"--mask {spec}: not a file; give a PNG/.npy mask (white = known) or one of top, bottom, left, right, center, random");
        return ImageInput.Load(spec, 1, size) > 127;
    }

    static Tensor To01(Tensor x) => ((x + 1) / 2).clamp(0, 1).cpu();

    static HashSet<int> EvenlySpaced(int total, int count)
    {
        // 0 (x_T) plus `count` indices spread over 1..total, always including total (x_0).
        var set = new HashSet<int> { 0, total };
        for (int j = 1; j <= count; j++) set.Add((int)Math.Round((double)j * total / count));
        return set;
    }
}
