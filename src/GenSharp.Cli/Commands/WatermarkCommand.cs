using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using GenSharp.Media;
using GenSharp.Watermarking;
using Spectre.Console.Cli;
using TorchSharp;

namespace GenSharp.Cli.Commands;

public sealed class WatermarkSettings : CliSettings
{
    [CommandArgument(0, "<ACTION>")]
    [Description("detect (IMAGE... : is each one watermarked?) or eval (robustness table on Fashion-MNIST test images)")]
    public string Action { get; init; } = "";

    [CommandArgument(1, "[IMAGES]")]
    [Description("detect: PNG files (a sample grid is checked as one image by the pixel watermark, cell by cell by Tree-Ring) or uint8 .npy arrays")]
    public string[] Images { get; init; } = Array.Empty<string>();

    [CommandOption("--watermark-key <FILE>")]
    [Description("the watermark key file (default: watermark.key in the user's config folder, $GENSHARP_CONFIG_DIR or ~/.config/gensharp)")]
    public string? WatermarkKey { get; init; }

    [CommandOption("--model <CKPT>")]
    [Description("detect: also look for the Tree-Ring mark by DDIM inversion with this ddpm checkpoint; eval: also measure Tree-Ring with it")]
    public string? Model { get; init; }

    [CommandOption("--canvas <WxH>")]
    [Description("detect: the images are crops of images this size; every placement is tried (pixel watermark)")]
    public string? Canvas { get; init; }

    [CommandOption("--data <PATH>")]
    [Description("eval: a Fashion-MNIST folder or 'embedded' (default: Debian's dataset-fashion-mnist)")]
    public string? Data { get; init; }

    [CommandOption("--limit <N>")]
    [Description("eval: the first N test images (default 1000)")]
    public int? Limit { get; init; }

    [CommandOption("--tree-ring-n <N>")]
    [Description("eval with --model: images drawn with and without the Tree-Ring mark (default 100)")]
    public int? TreeRingN { get; init; }

    [CommandOption("--steps <N>")]
    [Description("Tree-Ring: DDIM steps of sampling and inversion (default: the checkpoint's sampler_steps)")]
    public int? Steps { get; init; }

    [CommandOption("--seed <N>")]
    [Description("eval: seeds the noise attack and the Tree-Ring draws")]
    [DefaultValue(0L)]
    public long Seed { get; init; }
}

/// <summary>
/// <c>gensharp watermark detect|eval</c>. detect prints one line per image and exits 0 when every image carries the
/// watermark, 4 when at least one does not (1: bad input).
/// </summary>
public sealed class WatermarkCommand : Command<WatermarkSettings>
{
    /// <summary>Exit code of detect when at least one image carries no watermark.</summary>
    public const int NotWatermarked = 4;

    public override int Execute(CommandContext context, WatermarkSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        return s.Action switch
        {
            "detect" => Detect(s),
            "eval" => Eval(s),
            _ => throw new UsageException($"unknown action '{s.Action}'; use 'gensharp watermark detect IMAGE...' or 'gensharp watermark eval'"),
        };
    }

    static WatermarkKey Key(WatermarkSettings s) => s.WatermarkKey is { } path ? WatermarkKey.Load(path) : WatermarkKey.LoadOrCreate();

    static int Detect(WatermarkSettings s)
    {
        if (s.Images.Length == 0) throw new UsageException("'watermark detect' needs at least one image: gensharp watermark detect IMAGE.png ...");
        if (s.Limit is not null || s.Data is not null || s.TreeRingN is not null) throw new GenSharpException("--data/--limit/--tree-ring-n go with 'watermark eval'");
        var key = Key(s);
        var pixel = new PixelWatermark(key);
        (int, int)? canvas = s.Canvas is null ? null : ParseCanvas(s.Canvas);
        using var tree = s.Model is null ? null : TreeRingDetector.Open(s.Model, key, s.TorchDevice, s.Steps);
        bool all = true;
        foreach (var path in s.Images)
        {
            using var images = WatermarkImages.Load(path);                 // (N, C, H, W) uint8
            var scores = pixel.Detect(images, canvas);
            for (int i = 0; i < scores.Count; i++)
            {
                var name = scores.Count > 1 ? $"{path}[{i}]" : path;
                Console.WriteLine(Line(name, scores[i]));
                all &= scores[i].Watermarked;
            }
            if (tree is not null)
            {
                var cells = tree.Score(images, path);
                for (int i = 0; i < cells.Count; i++)
                {
                    Console.WriteLine(Line(cells.Count > 1 ? $"{path} cell {i}" : path, cells[i]));
                    all &= cells[i].Watermarked;
                }
            }
        }
        return all ? 0 : NotWatermarked;
    }

    static string Line(string name, WatermarkScore score) =>
        $"{name}: {(score.Watermarked ? "watermarked" : "not watermarked")} ({score.Method}, z = {score.Z.ToString("F2", CultureInfo.InvariantCulture)}, " +
        $"p = {(score.PValue < 1e-300 ? "< 1e-300" : score.PValue.ToString("G3", CultureInfo.InvariantCulture))}; {score.Detail})";

    static (int, int) ParseCanvas(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int w) || !int.TryParse(parts[1], out int h) || w < 1 || h < 1)
            throw new GenSharpException($"--canvas {text}: expected WxH, e.g. 28x28");
        return (h, w);
    }

    static int Eval(WatermarkSettings s)
    {
        if (s.Images.Length > 0) throw new UsageException("'watermark eval' takes no images; it reads the Fashion-MNIST test split (--data, --limit)");
        if (s.Canvas is not null) throw new GenSharpException("--canvas goes with 'watermark detect'");
        if (s.Model is { } sdFolder && Models.StableDiffusion.StableDiffusionPipeline.IsFolder(sdFolder))
            throw new GenSharpException(TreeRingDetector.StableDiffusionEvalRefusal);
        var key = Key(s);
        var pixel = new PixelWatermark(key);
        using var test = CliInputs.TestData(s.Data, s.Limit ?? 1000);
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"pixel watermark (QIM, K = {pixel.K}, Δ = {pixel.Step}, threshold p < {pixel.PValueThreshold}) on {test.Count} test images of {test.Source}, key {key.Id}");
        var (psnr, rows) = WatermarkRobustness.Run(pixel, test.Images, s.Seed,
            row => Console.WriteLine($"  {row.Attack,-26} detected {row.DetectionRate * 100,6:F1}%   false positives {row.FalsePositiveRate * 100,5:F2}%   mean z {row.MeanZ,6:F2}"));
        Console.WriteLine($"mean PSNR of marking {psnr:F1} dB ({clock.Elapsed.TotalSeconds:F0} s)");
        if (s.Model is { } model)
        {
            using var tree = TreeRingDetector.Open(model, key, s.TorchDevice, s.Steps);
            tree.Evaluate(s.TreeRingN ?? 100, s.Seed);
        }
        return 0;
    }
}
