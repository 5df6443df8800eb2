using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Globalization;
using System.Text;
using GenSharp.Checkpoints;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Pipelines;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class ScoreSettings : TestSplitSettings
{
    [CommandOption("--out <FILE>")]
    [Description("CSV to write: index,label,score (required)")]
    public string? Out { get; init; }

    [CommandOption("--anomaly-class <K>")]
    [Description("print the AUROC of class K (held out in training with --exclude-class) against the rest")]
    public int? AnomalyClass { get; init; }

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
        using var m = CliInputs.Load(s.Checkpoint, s);
        using var data = s.TestSplit("score");
        var outPath = CliInputs.Output(s.Out, "score", ".csv");
        var likelihood = m.Model as ILikelihoodModel
            ?? throw new GenSharpException($"{m.Family.Name} gives no likelihood to score with; use a likelihood family such as vae");
        var scores = Scoring.Run(likelihood, data, s.Seed);
        var labels = data.Labels.data<long>().ToArray();
        var csv = new StringBuilder("index,label,score\n");
        for (int i = 0; i < scores.Length; i++) csv.Append(CultureInfo.InvariantCulture, $"{i},{labels[i]},{scores[i]:R}\n");
        ImageFiles.EnsureParent(outPath);
        AtomicFile.WriteAllText(outPath, csv.ToString());
        Console.WriteLine($"wrote {scores.Length} scores to {outPath}");
        if (s.AnomalyClass is { } k)
        {
            var auroc = Scoring.AnomalyAuroc(scores, data, k);
            Console.WriteLine(new JsonObject { ["anomaly_class"] = k, ["auroc"] = Math.Round(auroc, 5), ["items"] = scores.Length }.ToJsonString());
        }
        return 0;
    }
}
