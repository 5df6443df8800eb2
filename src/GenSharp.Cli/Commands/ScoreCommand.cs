using System.ComponentModel;
using System.Text.Json.Nodes;
using GenSharp.Workflows;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class ScoreSettings : CheckpointSettings
{
    [CommandOption("--data <PATH>")]
    [Description("a Fashion-MNIST folder or 'embedded'; its test split is scored (required)")]
    public string? Data { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("CSV to write: index,label,score (required)")]
    public string? Out { get; init; }

    [CommandOption("--anomaly-class <K>")]
    [Description("print the AUROC of class K (held out in training with --exclude-class) against the rest")]
    public int? AnomalyClass { get; init; }

    [CommandOption("--limit <N>")]
    [Description("score the first N test images only")]
    public int? Limit { get; init; }

    [CommandOption("--seed <N>")]
    [Description("seeds the stochastic parts of the score")]
    [DefaultValue(0L)]
    public long Seed { get; init; }
}

/// <summary><c>gensharp score CKPT</c>: per-item anomaly scores and their AUROC.</summary>
public sealed class ScoreCommand : Command<ScoreSettings>
{
    public override int Execute(CommandContext context, ScoreSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        using var m = CliInputs.Load(s.Checkpoint, s);
        if (s.Data is null) throw new UsageException("'score' needs --data; see 'gensharp score --help'");
        using var data = CliInputs.TestData(s.Data, s.Limit);
        var outPath = CliInputs.Output(s.Out, "score", ".csv");
        var scores = ImageWorkflows.Score(m.Model, data, outPath, s.Seed);
        Console.WriteLine($"wrote {scores.Length} scores to {outPath}");
        if (s.AnomalyClass is { } k)
        {
            if (k < 0 || k >= data.NumClasses) throw new GenSharpException($"--anomaly-class {k}: must be in [0, {data.NumClasses - 1}]");
            var auroc = ImageWorkflows.AnomalyAuroc(scores, data, k);
            Console.WriteLine(new JsonObject { ["anomaly_class"] = k, ["auroc"] = Math.Round(auroc, 5), ["items"] = scores.Length }.ToJsonString());
        }
        return 0;
    }
}
