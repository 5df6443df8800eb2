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
        JsonObject? recordedData = null;
        FamilyConfig config;
        if (req.Resume)
        {
            if (!CheckpointFolder.Exists(req.OutDir))
                throw new GenSharpException($"--resume: no checkpoint in {req.OutDir}; start a new run without --resume");
            if (req.Sets.Count > 0 || req.ConfigFile is not null)
                throw new GenSharpException("--resume continues the saved config; drop --set/--config (start a new --out to change it)");
            var dir = CheckpointFolder.Resolve(req.OutDir);
            var (savedFamily, savedConfig, savedManifest) = ModelLoader.ReadManifest(dir);
            recordedData = savedManifest["data"] as JsonObject;
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

        if (family is ITextFamily text) return RunText(req, text, config, resumeState, recordedData, device, progress, cancel);

        // A resumed run continues on the data it was trained on unless --data names other data, which is refused below.
        var location = req.Data ?? (req.Resume ? RecordedLocation(recordedData) : null);
        using var train = FashionMnist.Load(location, train: true, req.Log);
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

        req.Log?.Invoke($"data: {data.Source} ({data.Count} images, {data.Channels}×{data.Height}×{data.Width}, {train.NumClasses} classes)");
        if (req.Resume && recordedData?["source"]?.GetValue<string>() is { } before && before != data.Source)
            throw new GenSharpException($"--resume: {req.OutDir} was trained on {before}, not {data.Source}; resume without --data " +
                                        "(and with the same --limit/--exclude-class) to continue on the same data, or start a new --out");

        if (!req.Resume)
        {
            var json = StartConfig(family, req);
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
                ["location"] = location is null ? RecordedLocation(new JsonObject { ["source"] = train.Source })
                    : string.Equals(location, FashionMnist.Embedded, StringComparison.OrdinalIgnoreCase) ? FashionMnist.Embedded : Path.GetFullPath(location),
                ["images"] = data.Count,
                ["exclude_class"] = req.ExcludeClass,
            },
        };
        var trainer = new Trainer(model.Trainable(), loader, options, req.OutDir, manifest, device, progress);
        var result = trainer.Run(req.Resume, cancel);
        if (!result.Interrupted && model is IAutoencoder ae)
            WriteAutoencoderPictures(ae, req);
        return result;
    }

    /// <summary>The family's defaults overlaid with the fields of --config (a flat object or a checkpoint's config.json).</summary>
    static JsonObject StartConfig(IFamily family, TrainRequest req)
    {
        var json = ConfigJson.ToJson(family.DefaultConfig);
        if (req.ConfigFile is { } file)
        {
            var fields = file["config"] as JsonObject ?? file;
            foreach (var (key, value) in fields)
                if (key is not ("family" or "step" or "gensharp_version" or "data")) json[key] = value?.DeepClone();
        }
        return json;
    }

    /// <summary>
    /// Training of a text family: the tokenizer is learned on the whole file (or read back from the
    /// checkpoint on resume) and saved with every checkpoint; batches are random token windows of the
    /// first 90% of the text; the last 10% gives the validation loss every eval_interval steps.
    /// </summary>
    static TrainResult RunText(TrainRequest req, ITextFamily family, FamilyConfig? saved, JsonObject? resumeState, JsonObject? recordedData,
        TorchSharp.torch.Device device, TrainingProgress progress, CancellationToken cancel)
    {
        if (req.ExcludeClass is not null) throw new GenSharpException("--exclude-class applies to labelled image data, not to text");
        if (req.Limit is not null) throw new GenSharpException("--limit applies to image data; cut the text file instead");
        if (req.EmaDecay is not null) throw new GenSharpException("--ema is not supported for text families");
        var recordedPath = recordedData?["source"]?.GetValue<string>();
        var path = req.Data ?? (req.Resume ? recordedPath : null)
            ?? throw new ParameterException("data", $"FILE.txt is needed: {family.Name} trains on a UTF-8 text file");
        var text = TextCorpus.ReadText(path);
        if (req.Resume && recordedPath is not null && !SameText(recordedPath, recordedData?["characters"]?.GetValue<long>(), path, text.Length))
            throw new GenSharpException($"--resume: {req.OutDir} was trained on {recordedPath}, not {path}; resume without --data to continue on the same text, or start a new --out");
        req.Log?.Invoke($"data: {path} ({text.Length:N0} characters)");

        long seed = req.Seed ?? resumeState?["seed"]?.GetValue<long>() ?? 0;
        long? steps = req.Steps;
        if (steps is null && req.Epochs is null)
            steps = resumeState?["total_steps"]?.GetValue<long>() ?? 2000;

        FamilyConfig config;
        GenSharp.Text.ITokenizer tokenizer;
        if (req.Resume)
        {
            config = saved!;
            tokenizer = GenSharp.Text.Tokenizers.Load(CheckpointFolder.Resolve(req.OutDir));
        }
        else
        {
            var json = StartConfig(family, req);
            ConfigJson.ApplyOverrides(json, family.DefaultConfig.GetType(), req.Sets);
            config = family.ReadConfig(json);
            tokenizer = family.CreateTokenizer(config, text);
        }
        var corpus = TextCorpus.FromText(path, text, tokenizer);
        int context = family.ContextLength(config);
        int batch = req.BatchSize ?? resumeState?["batch_size"]?.GetValue<int>() ?? family.DefaultBatchSize;
        var batches = new TextBatches(corpus.TrainTokens, batch, context, seed);
        if (corpus.ValidationTokens.Count < context + 1)
            throw new GenSharpException($"the validation part of {path} (last 10%, {corpus.ValidationTokens.Count} tokens) is shorter than one window of block_size {context} + 1; use a longer text or a smaller block_size");
        var options = new TrainOptions
        {
            Steps = steps,
            Epochs = steps is null ? req.Epochs : null,
            BatchSize = batch,
            Seed = seed,
            CheckpointEvery = req.CheckpointEvery ?? 1000,
            SampleEvery = 0,
        };
        options.Validate();
        long total = options.Steps ?? (long)options.Epochs!.Value * batches.BatchesPerEpoch;
        if (!req.Resume) config = family.ForTraining(config, tokenizer, total);

        TorchRuntime.Seed(seed); // weights are initialised from this seed
        using var model = family.Build(config, device);
        var lm = (ILanguageModel)model;
        options = options with { ValidateEvery = family.ValidationEvery(config) };
        var validation = new TextBatches(corpus.ValidationTokens, batch, context, seed);
        var manifest = new JsonObject
        {
            ["family"] = family.Name,
            ["config"] = ConfigJson.ToJson(model.Config),
            ["gensharp_version"] = TorchRuntime.GenSharpVersion,
            ["data"] = new JsonObject
            {
                ["source"] = recordedPath is not null && req.Resume ? recordedPath : Path.GetFullPath(path),
                ["characters"] = corpus.Characters,
                ["tokens"] = corpus.Tokens.Length,
                ["train_tokens"] = corpus.TrainTokens.Count,
                ["validation_tokens"] = corpus.ValidationTokens.Count,
            },
        };
        IReadOnlyDictionary<string, double> Validate()
        {
            double sum = 0;
            int n = 0;
            foreach (var (x, y) in validation.FixedBatches(family.ValidationBatches(config)))
            {
                using (x) using (y) sum += lm.Loss(x, y);
                n++;
            }
            return new Dictionary<string, double> { ["val_loss"] = sum / n };
        }
        var files = new Dictionary<string, string> { [GenSharp.Text.Tokenizers.FileName] = GenSharp.Text.Tokenizers.ToJsonText(tokenizer) };
        var trainer = new Trainer(model.Trainable(), batches, options, req.OutDir, manifest, device, progress, Validate, files);
        return trainer.Run(req.Resume, cancel);
    }

    /// <summary>
    /// Whether a resumed text run reads the text it was trained on: the same absolute path; runs written before paths
    /// were recorded absolute kept the path as typed, so for those the file name and the character count must match.
    /// </summary>
    static bool SameText(string recorded, long? recordedCharacters, string path, long characters) =>
        Path.IsPathRooted(recorded)
            ? Path.GetFullPath(recorded) == Path.GetFullPath(path)
            : Path.GetFileName(recorded) == Path.GetFileName(path) && (recordedCharacters is null || recordedCharacters == characters);

    /// <summary>
    /// Where a run's image data came from: the manifest's <c>location</c>, or for runs written before it was recorded,
    /// the folder named in its source ("Fashion-MNIST train from DIR[, ...]") or the embedded subset.
    /// </summary>
    static string? RecordedLocation(JsonObject? data)
    {
        if (data?["location"]?.GetValue<string>() is { } location) return location;
        var source = data?["source"]?.GetValue<string>();
        if (source is null) return null;
        if (source.Contains("(embedded subset)", StringComparison.Ordinal)) return FashionMnist.Embedded;
        int from = source.IndexOf(" from ", StringComparison.Ordinal);
        if (from < 0) return null;
        var rest = source[(from + 6)..];
        int cut = rest.IndexOfAny(new[] { ',', ' ' });
        return cut < 0 ? rest : rest[..cut];
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
