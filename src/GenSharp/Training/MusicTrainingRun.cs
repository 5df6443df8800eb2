using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Music;
using GenSharp.Runtime;

namespace GenSharp.Training;

/// <summary>
/// Training of a music family on the JSB Chorales (<c>--data jsb</c>, the default, or a folder of the same files):
/// batches are random windows of the training pieces' tokens; every eval_interval steps (and at the end) the whole valid
/// split is scored exactly: <c>val_loss</c> (nats per token), <c>val_nll_per_step</c> (nats per time step). Early
/// stopping by selection: whenever val_loss is the lowest so far, the weights are written to <c>OUT/best</c> (a checkpoint
/// to eval and sample from, without trainer state), its config.json recording the step and the val_loss.
/// </summary>
internal static class MusicTrainingRun
{
    public static TrainResult Run(TrainRequest req, IMusicFamily family, Checkpoint? saved, TrainerState? state,
        Device device, TrainingProgress progress, CancellationToken cancel)
    {
        if (req.ExcludeClass is not null) throw new ParameterException("exclude_class", "applies to labelled image data, not to music; drop it");
        if (req.Limit is not null) throw new ParameterException("limit", "applies to image data; drop it");
        var location = req.Data ?? saved?.Data.ImageLocation ?? JsbChorales.Name;
        var jsb = JsbChorales.Load(location);
        if (saved?.Data.Source is { } before && before != jsb.Source)
            throw new ParameterException("data", $"differs from what {req.OutDir} was trained on: it was trained on {before}, not {jsb.Source}; resume without it, or start a new run in another folder");
        req.Log?.Invoke($"data: {jsb.Source}");

        var config = TrainingRun.ConfigFor(family, req, saved);
        var c = (MusicConfig)config;
        long seed = req.Seed ?? state?.Seed ?? 0;
        int batch = req.BatchSize ?? state?.BatchSize ?? family.DefaultBatchSize;
        var forms = c.Encoding == MusicEncoding.Satb16 ? jsb.Satb : jsb.Roll;
        var pieces = forms["train"].Select(p => MusicTokens.Encode(p, c.Encoding)).ToList();
        var train = new MusicBatches(pieces, batch, c.BlockSize, c.Alignment, MusicTokens.Prefix(c.Encoding), seed);
        req.Log?.Invoke($"{c.Encoding.ToString().ToLowerInvariant()}: {pieces.Count} training pieces ({train.Tokens:N0} tokens), {forms["valid"].Count} valid pieces scored every {c.EvalInterval} steps");
        var options = TrainingRun.NoSampleOptions(req, state, family, batch, seed, defaultSteps: 2000, checkpointEvery: 1000, validateEvery: c.EvalInterval);
        long total = options.Steps ?? (long)options.Epochs!.Value * train.BatchesPerEpoch;
        if (saved is null) config = family.ForTraining(config, total);

        TorchRuntime.Seed(seed); // weights are initialised from this seed
        using var model = family.Build(config, device);
        var music = model as IMusicModel ?? throw new GenSharpException($"{family.Name} models are not music models");
        // The trainer validates at every multiple of eval_interval and at the last step; follow its step count from here.
        long validatedAt = state?.Step ?? 0;
        var bestDir = Path.Combine(req.OutDir, BestFolder);
        double best = saved is null ? double.PositiveInfinity : BestValLoss(bestDir);
        JsonObject? manifest = null;
        IReadOnlyDictionary<string, double> Validate()
        {
            validatedAt = Math.Min(total, (validatedAt / c.EvalInterval + 1) * c.EvalInterval);
            var s = music.Score(forms["valid"]);
            if (s.PerToken < best)
            {
                best = s.PerToken;
                var m = (JsonObject)manifest!.DeepClone();
                m["step"] = validatedAt;
                m[BestValLossKey] = s.PerToken;
                Checkpoint.Save(bestDir, m, ModuleState.Collect(model.Model));
                req.Log?.Invoke($"best so far: step {validatedAt}, val_loss {s.PerToken:G5} → {bestDir}");
            }
            return new Dictionary<string, double> { ["val_loss"] = s.PerToken, ["val_nll_per_step"] = s.PerStep };
        }
        var data = new JsonObject
        {
            ["source"] = jsb.Source,
            ["location"] = string.Equals(location, JsbChorales.Name, StringComparison.OrdinalIgnoreCase) ? JsbChorales.Name : Path.GetFullPath(location),
            ["train_pieces"] = forms["train"].Count,
            ["valid_pieces"] = forms["valid"].Count,
            ["test_pieces"] = forms["test"].Count,
        };
        manifest = Checkpoint.NewManifest(family, model.Config, data);
        var trainer = new Trainer(model.Trainable(), train, options, req.OutDir, manifest, device, progress, Validate, parallel: req.Parallel);
        return trainer.Run(req.Resume, cancel);
    }

    /// <summary>The run subfolder holding the weights of the lowest val_loss.</summary>
    public const string BestFolder = "best";
    /// <summary>The config.json key of that val_loss.</summary>
    public const string BestValLossKey = "best_val_loss";

    /// <summary>The val_loss of an earlier best checkpoint in this run folder (a resumed run keeps it), else +∞.</summary>
    static double BestValLoss(string bestDir)
    {
        var config = Path.Combine(bestDir, CheckpointFolder.ConfigFile);
        if (!File.Exists(config)) return double.PositiveInfinity;
        return JsonNode.Parse(File.ReadAllText(config))?[BestValLossKey]?.GetValue<double>() ?? double.PositiveInfinity;
    }
}
