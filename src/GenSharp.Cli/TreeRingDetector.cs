using System.Globalization;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Models.StableDiffusion;
using GenSharp.Provenance;
using GenSharp.Watermarking;
using TorchSharp;

namespace GenSharp.Cli;

/// <summary>A ddpm checkpoint or a Stable Diffusion folder opened for Tree-Ring detection by <c>gensharp watermark</c>.</summary>
sealed class TreeRingDetector : IDisposable
{
    readonly LoadedModel? _loaded;
    readonly StableDiffusionPipeline? _sd;
    readonly WatermarkKey _key;
    readonly int? _steps;

    TreeRingDetector(LoadedModel? loaded, StableDiffusionPipeline? sd, WatermarkKey key, int? steps)
    {
        (_loaded, _sd, _key, _steps) = (loaded, sd, key, steps);
    }

    /// <summary>Why 'watermark eval --model' refuses a Stable Diffusion folder.</summary>
    public const string StableDiffusionEvalRefusal =
        "'watermark eval --model' measures Tree-Ring robustness with a ddpm checkpoint; a Stable Diffusion folder is detected with 'watermark detect IMAGE --model DIR'";

    public static TreeRingDetector Open(string path, WatermarkKey key, torch.Device device, int? steps)
    {
        if (steps is < 1) throw new GenSharpException($"--steps must be ≥ 1, got {steps}");
        if (StableDiffusionPipeline.IsFolder(path)) return new TreeRingDetector(null, StableDiffusionPipeline.Load(path, device), key, steps);
        var loaded = Checkpoint.LoadModel(path, device);
        if (loaded.Model is not (ITreeRingSampler and IImageSampler))
        {
            loaded.Dispose();
            throw new GenSharpException($"--model {path}: a {loaded.Family.Name} checkpoint carries no Tree-Ring mark; give the ddpm checkpoint or Stable Diffusion folder that drew the images");
        }
        return new TreeRingDetector(loaded, null, key, steps);
    }

    /// <summary>Scores every image of a file: each model-sized cell of a ddpm grid, each image of a Stable Diffusion file.</summary>
    /// <param name="images">The file's images, (N, C, H, W) uint8.</param>
    /// <param name="path">The file, whose provenance sidecar (when present) gives a Stable Diffusion image's size and steps.</param>
    public IReadOnlyList<WatermarkScore> Score(torch.Tensor images, string path)
    {
        if (_sd is not null) return ScoreStableDiffusion(images, path);
        var (ring, sampler) = ((ITreeRingSampler)_loaded!.Model, (IImageSampler)_loaded.Model);
        int steps = _steps ?? ring.InversionSteps(sampler.DefaultSamplerOptions);
        var cfg = ImageFamilyConfig.Of(sampler);
        var all = new List<WatermarkScore>();
        for (long i = 0; i < images.shape[0]; i++)
        {
            using var one = images.narrow(0, i, 1);
            using var cells = WatermarkImages.Cells(one, cfg.ImageSize, cfg.ImageChannels);
            all.AddRange(TreeRingDetection.Detect(ring, _key, cells, steps));
        }
        return all;
    }

    /// <summary>
    /// Stable Diffusion: the images of a file are cut at the width and height its provenance sidecar records (a grid of
    /// them is 2 pixels apart, as 'gensharp sample' writes it), else the file is one image; each is inverted with the
    /// sidecar's step count (else --steps, else 25) and its x_T scored against the key's mark for that latent size.
    /// </summary>
    IReadOnlyList<WatermarkScore> ScoreStableDiffusion(torch.Tensor images, string path)
    {
        var settings = SidecarSettings(path);
        int steps = _steps ?? (settings.TryGetValue("steps", out var st) ? int.Parse(st, CultureInfo.InvariantCulture) : 25);
        long h = images.shape[2], w = images.shape[3];
        long ch = settings.TryGetValue("height", out var hs) ? long.Parse(hs, CultureInfo.InvariantCulture) : h;
        long cw = settings.TryGetValue("width", out var ws) ? long.Parse(ws, CultureInfo.InvariantCulture) : w;
        if (images.shape[1] != 3) throw new GenSharpException($"{path}: Stable Diffusion images are RGB; this one has {images.shape[1]} channels");
        if ((h + 2) % (ch + 2) != 0 || (w + 2) % (cw + 2) != 0)
            throw new GenSharpException($"{path} is {w}×{h}: neither one {cw}×{ch} image nor a grid of them");
        long rows = (h + 2) / (ch + 2), cols = (w + 2) / (cw + 2);
        var all = new List<WatermarkScore>();
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
            {
                using var scope = torch.NewDisposeScope();
                var cell = images.narrow(2, r * (ch + 2), ch).narrow(3, c * (cw + 2), cw).to(torch.ScalarType.Float32) / 255;
                if (rows * cols > 1 && cell.max().item<float>() == 0) continue;                  // an empty slot of the last grid row
                var mark = new TreeRingWatermark(_key, _sd!.NoiseShape((int)cw, (int)ch));
                all.AddRange(mark.Score(_sd.InvertToNoise(cell, steps)));
            }
        return all;
    }

    static Dictionary<string, string> SidecarSettings(string path)
    {
        var sidecar = ProvenanceManifest.SidecarOf(path);
        if (!File.Exists(sidecar)) return new();
        try
        {
            return JsonNode.Parse(File.ReadAllText(sidecar))?["settings"] is JsonObject settings
                ? settings.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!.ToString()) : new();
        }
        catch (System.Text.Json.JsonException) { return new(); }
    }

    /// <summary>Prints the Tree-Ring robustness rows.</summary>
    public void Evaluate(int n, long seed)
    {
        if (n < 1 || n > 10_000) throw new GenSharpException($"--tree-ring-n must be in [1, 10000], got {n}");
        if (_loaded is null) throw new GenSharpException(StableDiffusionEvalRefusal);
        var (ring, sampler) = ((ITreeRingSampler)_loaded.Model, (IImageSampler)_loaded.Model);
        Console.WriteLine($"Tree-Ring with {_loaded.Path} ({sampler.Family}, DDIM {_steps ?? ring.InversionSteps(sampler.DefaultSamplerOptions)} steps for sampling and inversion): {n} marked and {n} unmarked samples");
        TreeRingDetection.Robustness(sampler, _key, n, seed, _steps,
            row => Console.WriteLine($"  {row.Attack,-26} detected {row.DetectionRate * 100,6:F1}%   false positives {row.FalsePositiveRate * 100,5:F2}%   mean z {row.MeanZ,6:F2}"));
    }

    public void Dispose()
    {
        _loaded?.Dispose();
        _sd?.Dispose();
    }
}
