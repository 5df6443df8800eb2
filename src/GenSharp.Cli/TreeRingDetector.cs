using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Watermarking;
using TorchSharp;

namespace GenSharp.Cli;

/// <summary>A ddpm checkpoint opened for Tree-Ring detection by <c>gensharp watermark</c>.</summary>
sealed class TreeRingDetector : IDisposable
{
    readonly LoadedModel _loaded;
    readonly ITreeRingSampler _ring;
    readonly IImageSampler _sampler;
    readonly WatermarkKey _key;
    readonly int? _steps;

    TreeRingDetector(LoadedModel loaded, ITreeRingSampler ring, IImageSampler sampler, WatermarkKey key, int? steps)
    {
        (_loaded, _ring, _sampler, _key, _steps) = (loaded, ring, sampler, key, steps);
    }

    public static TreeRingDetector Open(string path, WatermarkKey key, torch.Device device, int? steps)
    {
        var loaded = Checkpoint.LoadModel(path, device);
        if (loaded.Model is not (ITreeRingSampler ring and IImageSampler sampler))
        {
            loaded.Dispose();
            throw new GenSharpException($"--model {path}: a {loaded.Family.Name} checkpoint carries no Tree-Ring mark; give the ddpm checkpoint that drew the images");
        }
        if (steps is < 1) { loaded.Dispose(); throw new GenSharpException($"--steps must be ≥ 1, got {steps}"); }
        return new TreeRingDetector(loaded, ring, sampler, key, steps);
    }

    int Steps => _steps ?? _ring.InversionSteps(_sampler.DefaultSamplerOptions);

    /// <summary>Scores every model-sized cell of (N, C, H, W) uint8 images.</summary>
    public IReadOnlyList<WatermarkScore> Score(torch.Tensor images)
    {
        var cfg = ImageFamilyConfig.Of(_sampler);
        var all = new List<WatermarkScore>();
        for (long i = 0; i < images.shape[0]; i++)
        {
            using var one = images.narrow(0, i, 1);
            using var cells = WatermarkImages.Cells(one, cfg.ImageSize, cfg.ImageChannels);
            all.AddRange(TreeRingDetection.Detect(_ring, _key, cells, Steps));
        }
        return all;
    }

    /// <summary>Prints the Tree-Ring robustness rows.</summary>
    public void Evaluate(int n, long seed)
    {
        if (n < 1 || n > 10_000) throw new GenSharpException($"--tree-ring-n must be in [1, 10000], got {n}");
        Console.WriteLine($"Tree-Ring with {_loaded.Path} ({_sampler.Family}, DDIM {Steps} steps for sampling and inversion): {n} marked and {n} unmarked samples");
        TreeRingDetection.Robustness(_sampler, _key, n, seed, _steps,
            row => Console.WriteLine($"  {row.Attack,-26} detected {row.DetectionRate * 100,6:F1}%   false positives {row.FalsePositiveRate * 100,5:F2}%   mean z {row.MeanZ,6:F2}"));
    }

    public void Dispose() => _loaded.Dispose();
}
