using System.ComponentModel;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Evaluation;
using GenSharp.Media;
using GenSharp.Pipelines;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class DenoiseSettings : TestSplitSettings
{
    [CommandOption("--noise <KIND:LEVEL>")]
    [Description("gaussian:SIGMA (pixels in [[0,1]]) or saltpepper:FRACTION (required)")]
    public string? Noise { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("the PNG to write: rows clean, noisy, denoised (required)")]
    public string? Out { get; init; }

    [CommandOption("--seed <N>")]
    [Description("seeds the noise")]
    [DefaultValue(0L)]
    public long Seed { get; init; }
}

/// <summary><c>gensharp denoise CKPT</c>: corrupt test images, reconstruct them, report PSNR before and after.</summary>
public sealed class DenoiseCommand : Command<DenoiseSettings>
{
    public override int Execute(CommandContext context, DenoiseSettings s, CancellationToken cancel)
    {
        using var m = CliInputs.Load(s.Checkpoint, s);
        using var data = s.TestSplit("denoise");
        var noise = ImageNoise.Parse(CliInputs.Required(s.Noise, "noise", "denoise"));
        var outPath = CliInputs.Output(s.Out, "denoise", ".png");
        using var r = Denoising.Run(m.Model, data, noise, s.Seed);
        ImageFiles.SaveRows(new[] { r.Clean, r.Noisy, r.Denoised }, outPath);
        var (before, after) = (r.NoisyPsnr, r.DenoisedPsnr);
        Console.WriteLine($"wrote {outPath} (rows: clean, noisy, denoised)");
        Console.WriteLine(new JsonObject
        {
            ["noise"] = noise.ToString(), ["items"] = data.Count,
            ["psnr_noisy_db"] = Math.Round(before, 3), ["psnr_denoised_db"] = Math.Round(after, 3),
        }.ToJsonString());
        return 0;
    }
}
