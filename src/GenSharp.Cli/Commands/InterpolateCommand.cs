using System.ComponentModel;
using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Training;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class InterpolateSettings : CheckpointSettings
{
    [CommandOption("--data <PATH>")]
    [Description("where the test images come from: a Fashion-MNIST folder or 'embedded' (required)")]
    public string? Data { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("the PNG to write, one row per pair (required)")]
    public string? Out { get; init; }

    [CommandOption("--pairs <N>")]
    [Description("pairs of test images of different classes, 1 … 64")]
    [DefaultValue(4)]
    public int Pairs { get; init; } = 4;

    [CommandOption("--steps <N>")]
    [Description("images per row, 2 … 64")]
    [DefaultValue(10)]
    public int Steps { get; init; } = 10;
}

/// <summary><c>gensharp interpolate CKPT</c>: straight lines in latent space between test images.</summary>
public sealed class InterpolateCommand : Command<InterpolateSettings>
{
    public override int Execute(CommandContext context, InterpolateSettings s, CancellationToken cancel)
    {
        using var m = CliInputs.Load(s.Checkpoint, s);
        if (m.Model is not IAutoencoder ae) throw new GenSharpException($"{m.Family.Name} has no encoder; interpolate needs vae, realnvp or glow");
        var location = CliInputs.Required(s.Data, "data", "interpolate");
        var outPath = CliInputs.Output(s.Out, "interpolate", ".png");
        if (s.Pairs < 1 || s.Pairs > 64) throw new GenSharpException($"--pairs must be in [1, 64], got {s.Pairs}");
        if (s.Steps < 2 || s.Steps > 64) throw new GenSharpException($"--steps must be in [2, 64], got {s.Steps}");
        using var data = CliInputs.TestData(location, null);
        AutoencoderPictures.WriteInterpolation(ae, data, outPath, s.Pairs, s.Steps);
        Console.WriteLine($"wrote {outPath} ({s.Pairs} pairs × {s.Steps} steps)");
        return 0;
    }
}
