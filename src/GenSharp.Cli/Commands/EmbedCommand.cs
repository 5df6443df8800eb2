using System.ComponentModel;
using System.Text.Json.Nodes;
using GenSharp.Media;
using GenSharp.Models.Encoders;
using GenSharp.Pipelines;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class EmbedSettings : CliSettings
{
    [CommandArgument(0, "<MODEL>")]
    [Description("'minilm' (the built-in all-MiniLM-L6-v2, no download) or a Hugging Face BERT / sentence-transformers folder")]
    public string Model { get; init; } = "";

    [CommandOption("--data <FILE>")]
    [Description("UTF-8 text file, one text per non-empty line (required)")]
    public string? Data { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("where to write the N×D float32 embeddings (.npy, required)")]
    public string? Out { get; init; }

    [CommandOption("--batch-size <N>")]
    [Description("texts per forward pass")]
    [DefaultValue(32)]
    public int BatchSize { get; init; } = 32;

    [CommandOption("--max-length <N>")]
    [Description("tokens per text at most, [[CLS]] and [[SEP]] included (default: the model's)")]
    public int? MaxLength { get; init; }
}

/// <summary><c>gensharp embed MODEL --data FILE --out X.npy</c>: sentence embeddings of every line of a file.</summary>
public sealed class EmbedCommand : Command<EmbedSettings>
{
    public override int Execute(CommandContext context, EmbedSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        var data = CliInputs.Required(s.Data, "data", "embed");
        var outPath = CliInputs.Output(s.Out, "embed", ".npy");
        if (s.BatchSize < 1) throw new GenSharpException($"--batch-size must be ≥ 1, got {s.BatchSize}");
        if (s.MaxLength is < 2) throw new GenSharpException($"--max-length must be ≥ 2, got {s.MaxLength}");
        var texts = TextEmbedding.ReadLines(data);
        using var encoder = SentenceEncoders.Load(s.Model, s.TorchDevice, s.MaxLength);
        var r = TextEmbedding.Run(encoder, texts, s.BatchSize);
        ImageFiles.EnsureParent(outPath);
        using (var t = r.ToTensor()) Npy.Save(outPath, t);
        Console.WriteLine($"wrote {r.Vectors.Length} × {r.Dimensions} embeddings of {encoder.Name} to {outPath} " +
                          $"({encoder.Pooling.ToString().ToLowerInvariant()} pooling{(encoder.Normalize ? ", unit length" : "")}; {r.TextsPerSecond:F1} texts/s)");
        Console.WriteLine(new JsonObject
        {
            ["model"] = encoder.Name, ["texts"] = r.Vectors.Length, ["dimensions"] = r.Dimensions, ["out"] = outPath,
            ["pooling"] = encoder.Pooling.ToString().ToLowerInvariant(), ["normalized"] = encoder.Normalize,
            ["max_length"] = encoder.MaxLength, ["texts_per_s"] = Math.Round(r.TextsPerSecond, 2),
        }.ToJsonString());
        return 0;
    }
}
