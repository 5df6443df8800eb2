using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Runtime;
using GenSharp.Training;

namespace GenSharp.Workflows;

/// <summary>Sets up data, config, model and trainer for a <see cref="TrainRequest"/> and runs it.</summary>
public static class TrainWorkflow
{
    /// <summary>Validates the request, trains, and returns the result. User mistakes throw <see cref="GenSharpException"/>.</summary>
    public static TrainResult Run(TrainRequest req, TrainingProgress progress, CancellationToken cancel = default)
    {
        var family = FamilyRegistry.Get(req.Family);
        var device = TorchRuntime.ParseDevice(req.Device);
        TorchRuntime.SetThreads(req.Threads);

        JsonObject? resumeState = null;
        FamilyConfig config;
        if (req.Resume)
        {
            if (!CheckpointFolder.Exists(req.OutDir))
                throw new GenSharpException($"--resume: no checkpoint in {req.OutDir}; start a new run without --resume");
            if (req.Sets.Count > 0 || req.ConfigFile is not null)
                throw new GenSharpException("--resume continues the saved config; drop --set/--config (start a new --out to change it)");
            var dir = CheckpointFolder.Resolve(req.OutDir);
            var (savedFamily, savedConfig, _) = ModelLoader.ReadManifest(dir);
            if (savedFamily.Name != family.Name)
                throw new GenSharpException($"--resume: {req.OutDir} holds a {savedFamily.Name} run, not {family.Name}");
            config = savedConfig;
            var statePath = Path.Combine(dir, CheckpointFolder.TrainerStateFile);
            if (File.Exists(statePath)) resumeState = JsonNode.Parse(File.ReadAllText(statePath))?.AsObject();
        }
        else
        {
            config = null!; // built after the data is known
        }

        using var train = FashionMnist.Load(req.Data, train: true);
        ImageDataset data = train;
        if (req.ExcludeClass is { } k)
        {
            if (k < 0 || k >= train.NumClasses)
                throw new GenSharpException($"--exclude-class {k}: must be in [0, {train.NumClasses - 1}]");
            data = train.WithoutClass(k);
        }
        if (req.Limit is { } limit)
        {
            if (limit < 1) throw new GenSharpException($"--limit must be ≥ 1, got {limit}");
            if (limit < data.Count) data = data.Take(limit);
        }

        if (!req.Resume)
        {
            var json = ConfigJson.ToJson(family.DefaultConfig);
            if (req.ConfigFile is { } file)
            {
                var fields = file["config"] as JsonObject ?? file;
                foreach (var (key, value) in fields)
                    if (key is not ("family" or "step" or "gensharp_version" or "data")) json[key] = value?.DeepClone();
            }
            // The data decides the image geometry.
            json["image_channels"] = data.Channels;
            json["image_size"] = data.Height;
            json["num_classes"] = train.NumClasses;
            if (data.Height != data.Width)
                throw new GenSharpException($"images must be square, got {data.Height}×{data.Width}");
            ConfigJson.ApplyOverrides(json, family.DefaultConfig.GetType(), req.Sets);
            config = family.ReadConfig(json);
        }

        long seed = req.Seed ?? resumeState?["seed"]?.GetValue<long>() ?? 0;
        int batch = req.BatchSize ?? resumeState?["batch_size"]?.GetValue<int>() ?? family.DefaultBatchSize;
        if (batch > data.Count)
            throw new GenSharpException($"--batch-size {batch} is larger than the training set ({data.Count} images); use a smaller batch");
        // A resumed run keeps its own setting; a new one takes the family's default (ddpm: 0.999) unless --ema is given.
        double? ema = req.EmaDecay ?? (req.Resume ? resumeState?["ema_decay"]?.GetValue<double?>() : family.DefaultEmaDecay);
        long? steps = req.Steps;
        if (steps is null && req.Epochs is null)
            steps = resumeState?["total_steps"]?.GetValue<long>() ?? 2000;
        var options = new TrainOptions
        {
            Steps = steps,
            Epochs = steps is null ? req.Epochs : null,
            BatchSize = batch,
            Seed = seed,
            EmaDecay = ema,
            CheckpointEvery = req.CheckpointEvery ?? 1000,
            SampleEvery = req.SampleEvery ?? 1000,
        };
        options.Validate();

        TorchRuntime.Seed(seed); // weights are initialised from this seed
        using var model = family.Build(config, device);
        var loader = new BatchLoader(data, batch, seed, shuffle: true, dropLast: true);
        var manifest = new JsonObject
        {
            ["family"] = family.Name,
            ["config"] = ConfigJson.ToJson(model.Config), // the built model's config (latent ddpm embeds its VAE's)
            ["gensharp_version"] = TorchRuntime.GenSharpVersion,
            ["data"] = new JsonObject
            {
                ["source"] = data.Source,
                ["images"] = data.Count,
                ["exclude_class"] = req.ExcludeClass,
            },
        };
        var trainer = new Trainer(model, loader, options, req.OutDir, manifest, device, progress);
        var result = trainer.Run(req.Resume, cancel);
        if (!result.Interrupted && model is IAutoencoder ae)
            WriteAutoencoderPictures(ae, req);
        return result;
    }

    /// <summary>Reconstruction grid and interpolation strip from the test split, when the data has one.</summary>
    static void WriteAutoencoderPictures(IAutoencoder ae, TrainRequest req)
    {
        ImageDataset test;
        try { test = FashionMnist.Load(req.Data, train: false); }
        catch (GenSharpException) { return; } // a training folder without a test split: the run itself succeeded
        using (test)
        {
            ImageWorkflows.WriteReconstructions(ae, test, Path.Combine(req.OutDir, "reconstructions.png"));
            ImageWorkflows.WriteInterpolation(ae, test, Path.Combine(req.OutDir, "interpolation.png"));
        }
    }
}
