using System.ComponentModel;
using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Media;
using GenSharp.Pipelines;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class DecodeSettings : CheckpointSettings
{
    [CommandArgument(1, "<CODES>")]
    [Description("a code file written by 'gensharp encode'")]
    public string Codes { get; init; } = "";

    [CommandOption("--out <FILE>")]
    [Description("a .png grid or an N×C×H×W uint8 .npy (required)")]
    public string? Out { get; init; }
}

/// <summary><c>gensharp decode CKPT CODES</c>: latent codes back to images.</summary>
public sealed class DecodeCommand : Command<DecodeSettings>
{
    public override int Execute(CommandContext context, DecodeSettings s, CancellationToken cancel)
    {
        using var m = CliInputs.Load(s.Checkpoint, s);
        var codes = LatentCodes.Load(s.Codes);
        var outPath = CliInputs.Output(s.Out, "decode", ".png", ".npy");
        using var images = LatentCoding.Decode(AsAutoencoder(m), codes);
        ImageFiles.Save(images, outPath);
        Console.WriteLine($"decoded {codes.Count} images to {outPath}");
        return 0;
    }

    /// <summary>The model's encoder-decoder, or the one-line error when it has none.</summary>
    public static IAutoencoder AsAutoencoder(LoadedModel m) => m.Model as IAutoencoder
        ?? throw new GenSharpException($"{m.Family.Name} has no encoder; this command needs an autoencoder family such as vae (realnvp and glow encode too)");
}
