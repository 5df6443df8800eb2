using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Runtime;

namespace GenSharp.Training;

/// <summary>
/// A training run from a <see cref="TrainRequest"/>: data, config, model and <see cref="Trainer"/> set up, or read back
/// from the run's <see cref="Checkpoint"/> on resume (its config, trainer settings and the data it was trained on).
/// </summary>
public static class TrainingRun
{
    /// <summary>
    /// Validates the request, trains, and returns the result. User mistakes throw <see cref="GenSharpException"/>; those
    /// about one request property throw a <see cref="ParameterException"/> naming it in snake_case (<c>exclude_class</c>).
    /// </summary>
    public static TrainResult Run(TrainRequest req, TrainingProgress progress, CancellationToken cancel = default)
    {
        var family = FamilyRegistry.Get(req.Family);
        var device = TorchRuntime.ParseDevice(req.Device);
        TorchRuntime.SetThreads(req.Threads);

        Checkpoint? saved = null;
        if (req.Resume)
        {
            if (!Checkpoint.Exists(req.OutDir))
                throw new ParameterException("resume", $"finds no checkpoint in {req.OutDir}; start a new run without it");
            if (req.Sets.Count > 0 || req.ConfigFile is not null)
                throw new ParameterException(req.Sets.Count > 0 ? "sets" : "config_file",
                    "cannot change the config of a resumed run, which continues the saved one; drop it, or start a new run in another folder");
            saved = Checkpoint.Open(req.OutDir);
            if (saved.Family.Name != family.Name)
                throw new ParameterException("family", $"must be {saved.Family.Name} to resume {req.OutDir}, which holds a {saved.Family.Name} run, not {family.Name}");
        }
        var state = saved?.ReadTrainerState();

        if (family is ITextFamily text) return RunText(req, text, saved, state, device, progress, cancel);
        if (family is IAudioFamily audio) return AudioTrainingRun.Run(req, audio, saved, state, device, progress, cancel);
        if (family is ISpeechFamily speech) return SpeechTrainingRun.Run(req, speech, saved, state, device, progress, cancel);
        if (family is IMusicFamily music) return MusicTrainingRun.Run(req, music, saved, state, device, progress, cancel);
        if (family is IVideoFamily video) return VideoTrainingRun.Run(req, video, saved, state, device, progress, cancel);

        // A resumed run continues on the data it was trained on unless Data names other data, which is refused below.
        var location = req.Data ?? saved?.Data.ImageLocation;
        using var train = FashionMnist.Load(location, train: true, req.Log);
        ImageDataset data = train;
        if (req.ExcludeClass is { } k)
        {
            if (k < 0 || k >= train.NumClasses)
                throw new ParameterException("exclude_class", $"must be in [0, {train.NumClasses - 1}], got {k}");
            data = train.WithoutClass(k);
        }
        if (req.Limit is { } limit)
        {
            if (limit < 1) throw new ParameterException("limit", $"must be ≥ 1, got {limit}");
            if (limit < data.Count) data = data.Take(limit);
        }

        req.Log?.Invoke($"data: {data.Source} ({data.Count} images, {data.Channels}×{data.Height}×{data.Width}, {train.NumClasses} classes)");
        if (saved?.Data.Source is { } before && before != data.Source)
            throw new ParameterException("data", $"differs from what {req.OutDir} was trained on: it was trained on {before}, not {data.Source}; " +
                                         "resume without it (and with the same limit and excluded class) to continue on the same data, or start a new run in another folder");

        FamilyConfig config;
        if (saved is not null) config = saved.Config;
        else
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

        long seed = req.Seed ?? state?.Seed ?? 0;
        int batch = req.BatchSize ?? state?.BatchSize ?? family.DefaultBatchSize;
        if (batch > data.Count)
            throw new ParameterException("batch_size", $"{batch} is larger than the training set ({data.Count} images); use a smaller batch");
        // A resumed run keeps its own setting; a new one takes the family's default (ddpm: 0.999) unless EmaDecay is given.
        double? ema = req.EmaDecay ?? (req.Resume ? state?.EmaDecay : family.DefaultEmaDecay);
        long? steps = req.Steps;
        if (steps is null && req.Epochs is null)
            steps = state?.TotalSteps ?? 2000;
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
        // The built model's config (latent ddpm embeds its VAE's).
        var manifest = Checkpoint.NewManifest(family, model.Config, RecordedData.Images(data, location, train.Source, req.ExcludeClass));
        var trainer = new Trainer(model.Trainable(), loader, options, req.OutDir, manifest, device, progress, parallel: req.Parallel);
        var result = trainer.Run(req.Resume, cancel);
        if (!result.Interrupted && model is IAutoencoder ae && (req.Parallel?.IsWriter ?? true))
            WriteAutoencoderPictures(ae, req);
        return result;
    }

    /// <summary>The saved run's config on resume; else the family's defaults, the config file and the <c>--set</c> overrides, read.</summary>
    internal static FamilyConfig ConfigFor(IFamily family, TrainRequest req, Checkpoint? saved)
    {
        if (saved is not null) return saved.Config;
        var json = StartConfig(family, req);
        ConfigJson.ApplyOverrides(json, family.DefaultConfig.GetType(), req.Sets);
        return family.ReadConfig(json);
    }

    /// <summary>
    /// Trainer options of a run that draws no sample grids (audio, speech, music, video): the request's steps or epochs,
    /// else the resumed run's total, else <paramref name="defaultSteps"/>; the request's EMA and checkpoint interval,
    /// else the resumed run's or the family's; validated.
    /// </summary>
    internal static TrainOptions NoSampleOptions(TrainRequest req, TrainerState? state, IFamily family, int batch, long seed,
        long defaultSteps, long checkpointEvery, long validateEvery)
    {
        long? steps = req.Steps;
        if (steps is null && req.Epochs is null) steps = state?.TotalSteps ?? defaultSteps;
        var options = new TrainOptions
        {
            Steps = steps,
            Epochs = steps is null ? req.Epochs : null,
            BatchSize = batch,
            Seed = seed,
            EmaDecay = req.EmaDecay ?? (req.Resume ? state?.EmaDecay : family.DefaultEmaDecay),
            CheckpointEvery = req.CheckpointEvery ?? checkpointEvery,
            SampleEvery = 0,
            ValidateEvery = validateEvery,
        };
        options.Validate();
        return options;
    }

    /// <summary>The family's defaults overlaid with the fields of the config file (a flat object or a checkpoint's config.json).</summary>
    internal static JsonObject StartConfig(IFamily family, TrainRequest req)
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
    static TrainResult RunText(TrainRequest req, ITextFamily family, Checkpoint? saved, TrainerState? state,
        TorchSharp.torch.Device device, TrainingProgress progress, CancellationToken cancel)
    {
        if (req.ExcludeClass is not null) throw new ParameterException("exclude_class", "applies to labelled image data, not to text; drop it");
        if (req.Limit is not null) throw new ParameterException("limit", "applies to image data; drop it and cut the text file instead");
        if (req.EmaDecay is not null) throw new ParameterException("ema_decay", "is not supported for text families; drop it");
        var recordedPath = saved?.Data.Source;
        var path = req.Data ?? recordedPath
            ?? throw new ParameterException("data", $"FILE.txt is needed: {family.Name} trains on a UTF-8 text file");
        var text = TextCorpus.ReadText(path);
        if (saved is not null && !saved.Data.IsSameText(path, text.Length))
            throw new ParameterException("data", $"differs from what {req.OutDir} was trained on: it was trained on {recordedPath}, not {path}; resume without it to continue on the same text, or start a new run in another folder");
        req.Log?.Invoke($"data: {path} ({text.Length:N0} characters)");

        long seed = req.Seed ?? state?.Seed ?? 0;
        long? steps = req.Steps;
        if (steps is null && req.Epochs is null)
            steps = state?.TotalSteps ?? 2000;

        FamilyConfig config;
        GenSharp.Text.ITokenizer tokenizer;
        if (saved is not null)
        {
            config = saved.Config;
            tokenizer = saved.ReadTokenizer();
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
        int batch = req.BatchSize ?? state?.BatchSize ?? family.DefaultBatchSize;
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
        if (saved is null) config = family.ForTraining(config, tokenizer, total);

        TorchRuntime.Seed(seed); // weights are initialised from this seed
        using var model = family.Build(config, device);
        var lm = (ITextLoss)model;
        options = options with { ValidateEvery = family.ValidationEvery(config) };
        var validation = new TextBatches(corpus.ValidationTokens, batch, context, seed);
        var manifest = Checkpoint.NewManifest(family, model.Config, RecordedData.Text(recordedPath ?? Path.GetFullPath(path), corpus));
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
        var trainer = new Trainer(model.Trainable(), batches, options, req.OutDir, manifest, device, progress, Validate, files, parallel: req.Parallel);
        return trainer.Run(req.Resume, cancel);
    }

    /// <summary>Reconstruction grid and interpolation strip from the test split, when the data has one.</summary>
    static void WriteAutoencoderPictures(IAutoencoder ae, TrainRequest req)
    {
        ImageDataset test;
        try { test = FashionMnist.Load(req.Data, train: false); }
        catch (GenSharpException) { return; } // a training folder without a test split: the run itself succeeded
        using (test)
        {
            AutoencoderPictures.WriteReconstructions(ae, test, Path.Combine(req.OutDir, "reconstructions.png"));
            AutoencoderPictures.WriteInterpolation(ae, test, Path.Combine(req.OutDir, "interpolation.png"));
        }
    }
}
