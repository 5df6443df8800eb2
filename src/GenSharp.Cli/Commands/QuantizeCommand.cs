using System.ComponentModel;
using System.Globalization;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models.Quantization;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class QuantizeSettings : CliSettings
{
    [CommandArgument(0, "<MODEL>")]
    [Description("a gpt checkpoint (or its run folder) or a Hugging Face llama-family or gpt2 folder, in float weights")]
    public string Model { get; init; } = "";

    [CommandOption("--bits <BITS>")]
    [Description("8: int8, one scale per output channel; 4: int4 in groups along the input, a scale and an offset per group (required)")]
    public int? Bits { get; init; }

    [CommandOption("--group-size <N>")]
    [Description("weights per int4 group: 32, 64, 128 or 256 (default 32; 4 bits only)")]
    public int? GroupSize { get; init; }

    [CommandOption("--head-bits <BITS>")]
    [Description("bits of the head (lm_head, or the tied token embedding): 8 (default), or 4 for a 4-bit model")]
    public int? HeadBits { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("the quantized model folder to write; must not exist or be empty (required)")]
    public string? Out { get; init; }
}

/// <summary><c>gensharp quantize MODEL --bits 8|4 [--head-bits 8|4] --out DIR</c>: a text model's linear layers (and head) in int8 or int4.</summary>
public sealed class QuantizeCommand : Command<QuantizeSettings>
{
    public override int Execute(CommandContext context, QuantizeSettings s, CancellationToken cancel)
    {
        var outDir = CliInputs.Required(s.Out, "out", "quantize");
        int bits = s.Bits ?? throw new UsageException("'quantize' needs --bits 8 or --bits 4; see 'gensharp quantize --help'");
        var spec = QuantizationSpec.Create(bits, s.GroupSize, s.HeadBits);
        GenSharpCli.Prepare(s);
        if (s.TorchDevice.type != TorchSharp.DeviceType.CPU) throw new GenSharpException("quantization runs on the CPU, where its kernels are; leave --device at cpu");
        var report = QuantizedCheckpoint.Write(s.Model, outDir, spec);
        Console.WriteLine($"{spec.Describe()}: {report.Layers} layers quantized; weights {Mb(report.SourceBytes)} MB → {Mb(report.WrittenBytes)} MB in {outDir}");
        Console.WriteLine(new JsonObject
        {
            ["out"] = outDir, ["bits"] = spec.Bits, ["group_size"] = spec.GroupSize, ["head_bits"] = spec.ForHead.Bits, ["layers"] = report.Layers,
            ["source_bytes"] = report.SourceBytes, ["written_bytes"] = report.WrittenBytes,
        }.ToJsonString());
        return 0;
    }

    static string Mb(long bytes) => (bytes / 1e6).ToString("F1", CultureInfo.InvariantCulture);
}
