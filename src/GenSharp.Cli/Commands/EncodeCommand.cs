using System.ComponentModel;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Media;
using GenSharp.Pipelines;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class EncodeSettings : TestSplitSettings
{
    [CommandOption("--out <FILE>")]
    [Description("the code file to write (required)")]
    public string? Out { get; init; }

    [CommandOption("--bits <B>")]
    [Description("bits per latent coordinate (2^B equal-probability bins of the prior)")]
    [DefaultValue(8)]
    public int Bits { get; init; } = 8;
}

/// <summary><c>gensharp encode CKPT</c>: test images to quantised latent codes.</summary>
public sealed class EncodeCommand : Command<EncodeSettings>
{
    public override int Execute(CommandContext context, EncodeSettings s, CancellationToken cancel)
    {
        using var m = CliInputs.Load(s.Checkpoint, s);
        using var data = s.TestSplit("encode");
        var outPath = CliInputs.Output(s.Out, "encode");
        var ae = DecodeCommand.AsAutoencoder(m);
        var codes = LatentCoding.Encode(ae, data, s.Bits);
        ImageFiles.EnsureParent(outPath);
        codes.Save(outPath);
        using var decoded = LatentCoding.Decode(ae, codes);
        double psnr = LatentCoding.MeanPsnr(data, decoded);
        long bytes = new FileInfo(outPath).Length;
        Console.WriteLine($"wrote {codes.Count} codes to {outPath} ({bytes} bytes)");
        Console.WriteLine(new JsonObject
        {
            ["items"] = codes.Count, ["bits_per_image"] = codes.BitsPerImage,
            ["file_bits_per_image"] = Math.Round(bytes * 8.0 / codes.Count, 3),
            ["raw_bits_per_image"] = data.Channels * data.Height * data.Width * 8,
            ["psnr_db"] = Math.Round(psnr, 3),
        }.ToJsonString());
        return 0;
    }
}
