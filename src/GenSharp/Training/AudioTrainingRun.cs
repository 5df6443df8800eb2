using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Runtime;

namespace GenSharp.Training;

/// <summary>
/// Training of an audio family on the Allison speech corpus (<c>--data allison</c>, the default, or a folder of the
/// same layout): batches are random frame-aligned crops of the training utterances; fixed crops of the held-out test
/// utterances give <c>val_loss</c> (nats per sample) and <c>val_bits_per_sample</c> every eval_interval steps.
/// </summary>
internal static class AudioTrainingRun
{
    /// <summary>Seed of the fixed held-out crops (the same for every run, so runs compare).</summary>
    const long ValidationSeed = 20_161_209;

    public static TrainResult Run(TrainRequest req, IAudioFamily family, Checkpoint? saved, TrainerState? state,
        Device device, TrainingProgress progress, CancellationToken cancel)
    {
        if (req.ExcludeClass is not null) throw new ParameterException("exclude_class", "applies to labelled image data, not to audio; drop it");
        if (req.Limit is not null) throw new ParameterException("limit", "applies to image data; drop it");
        var recorded = saved?.Data.ImageLocation;
        var location = req.Data ?? recorded ?? AllisonCorpus.Name;
        var corpus = AllisonCorpus.Load(location);
        if (saved?.Data.Source is { } before && before != corpus.Source)
            throw new ParameterException("data", $"differs from what {req.OutDir} was trained on: it was trained on {before}, not {corpus.Source}; resume without it, or start a new run in another folder");
        req.Log?.Invoke($"data: {corpus.Source}");

        var config = TrainingRun.ConfigFor(family, req, saved);
        long seed = req.Seed ?? state?.Seed ?? 0;
        int batch = req.BatchSize ?? state?.BatchSize ?? family.DefaultBatchSize;
        var mel = family.Mel(config);
        int crop = family.CropSamples(config);
        using var train = new AudioBatches(corpus.Train.Select(AllisonCorpus.ReadAudio), mel, crop, batch, seed);
        using var test = new AudioBatches(corpus.Test.Select(AllisonCorpus.ReadAudio), mel, crop, batch, ValidationSeed);
        req.Log?.Invoke($"crops: {crop} samples ({crop / (double)mel.SampleRate:F2} s) from {train.Recordings} training utterances " +
                        $"({train.Samples / (double)mel.SampleRate / 60:F1} min); held-out crops from {test.Recordings} test utterances");
        var options = TrainingRun.NoSampleOptions(req, state, family, batch, seed, defaultSteps: 2000, checkpointEvery: 1000, validateEvery: family.ValidationEvery(config));

        TorchRuntime.Seed(seed); // weights are initialised from this seed
        using var model = family.Build(config, device);
        var audio = model as IAudioModel
            ?? throw new GenSharpException($"{family.Name} models are not audio models");
        int validationBatches = family.ValidationBatches(config);
        IReadOnlyDictionary<string, double> Validate()
        {
            double sum = 0;
            foreach (var (x, m) in test.FixedBatches(validationBatches))
            {
                using (x) using (m) sum += audio.CropLoss(x, m).to(ScalarType.Float64).item<double>();
            }
            double nats = sum / validationBatches;
            return new Dictionary<string, double> { ["val_loss"] = nats, ["val_bits_per_sample"] = nats / Math.Log(2) };
        }
        var data = new JsonObject
        {
            ["source"] = corpus.Source,
            ["location"] = string.Equals(location, AllisonCorpus.Name, StringComparison.OrdinalIgnoreCase) ? AllisonCorpus.Name : Path.GetFullPath(location),
            ["utterances"] = corpus.Utterances.Count,
            ["train_utterances"] = corpus.Train.Count,
            ["test_utterances"] = corpus.Test.Count,
        };
        var manifest = Checkpoint.NewManifest(family, model.Config, data);
        var trainer = new Trainer(model.Trainable(), train, options, req.OutDir, manifest, device, progress, Validate, parallel: req.Parallel);
        return trainer.Run(req.Resume, cancel);
    }
}
