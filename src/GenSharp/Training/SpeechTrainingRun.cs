using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Media.Audio;
using GenSharp.Models;
using GenSharp.Models.Speech;
using GenSharp.Runtime;

namespace GenSharp.Training;

/// <summary>
/// Training of a text-to-speech family on the Allison corpus (<c>--data allison</c>, the default, or a folder of the
/// same layout): every transcript is turned into phonemes by espeak-ng once, a new run takes its phoneme vocabulary from
/// the whole corpus, and batches are whole training utterances. Every eval_interval steps (and at the end) the first
/// eval_utterances held-out utterances give the same four losses (<c>val_loss</c>, <c>val_mel_l1</c>, …).
/// </summary>
internal static class SpeechTrainingRun
{
    public static TrainResult Run(TrainRequest req, ISpeechFamily family, Checkpoint? saved, TrainerState? state,
        Device device, TrainingProgress progress, CancellationToken cancel)
    {
        if (req.ExcludeClass is not null) throw new ParameterException("exclude_class", "applies to labelled image data, not to speech; drop it");
        if (req.Limit is not null) throw new ParameterException("limit", "applies to image data; drop it");
        var location = req.Data ?? saved?.Data.ImageLocation ?? AllisonCorpus.Name;
        var corpus = AllisonCorpus.Load(location);
        if (saved?.Data.Source is { } before && before != corpus.Source)
            throw new ParameterException("data", $"differs from what {req.OutDir} was trained on: it was trained on {before}, not {corpus.Source}; resume without it, or start a new run in another folder");
        req.Log?.Invoke($"data: {corpus.Source}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var phonemes = EspeakPhonemes.PhonemizeAll(corpus.Utterances.Select(u => u.Transcript).ToList());
        var byId = corpus.Utterances.Select((u, i) => (u.Id, P: phonemes[i])).ToDictionary(x => x.Id, x => x.P);
        req.Log?.Invoke($"phonemes: espeak-ng ({EspeakPhonemes.Voice}) for {phonemes.Count} transcripts in {clock.Elapsed.TotalSeconds:F1} s");

        var config = TrainingRun.ConfigFor(family, req, saved);
        if (saved is null)
        {
            var vocabulary = phonemes.SelectMany(p => p).Distinct().OrderBy(p => p, StringComparer.Ordinal).ToList();
            config = family.WithPhonemes(config, vocabulary);
        }
        long seed = req.Seed ?? state?.Seed ?? 0;
        int batch = req.BatchSize ?? state?.BatchSize ?? family.DefaultBatchSize;
        var mel = family.Mel(config);
        var known = family.Phonemes(config).Select((p, i) => (p, i)).ToDictionary(x => x.p, x => (long)x.i + 1, StringComparer.Ordinal);
        long[] Ids(AllisonUtterance u)
        {
            var missing = byId[u.Id].Where(p => !known.ContainsKey(p)).Distinct().ToList();
            if (missing.Count > 0)
                throw new GenSharpException($"{u.Id}: phonemes {string.Join(" ", missing)} are not in the model's vocabulary (another espeak-ng version?); start a new run");
            return byId[u.Id].Select(p => known[p]).ToArray();
        }
        int maxFrames = family.MaxFrames(config);
        using var train = new SpeechBatches(corpus.Train.Select(u => (Ids(u), AllisonCorpus.ReadAudio(u))), mel, maxFrames, batch, seed);
        using var test = new SpeechBatches(corpus.Test.Select(u => (Ids(u), AllisonCorpus.ReadAudio(u))), mel, int.MaxValue, batch, seed, train.Statistics);
        req.Log?.Invoke($"utterances: {train.Count} for training ({train.Frames / 100.0 / 60:F1} min; {train.Skipped} longer than {maxFrames} frames left out), " +
                        $"{test.Count} held out; {family.Phonemes(config).Count} phoneme tokens");
        var options = TrainingRun.NoSampleOptions(req, state, family, batch, seed, defaultSteps: 4000, checkpointEvery: 500, validateEvery: family.ValidationEvery(config));

        TorchRuntime.Seed(seed); // weights are initialised from this seed
        using var model = family.Build(config, device);
        var tts = model as TtsModel ?? throw new GenSharpException($"{family.Name} models are not text-to-speech models");
        if (saved is null)
        {
            var (a, b, c, d) = train.Statistics;
            tts.Network.SetStatistics(a, b, c, d);
        }
        int validation = family.ValidationUtterances(config);
        IReadOnlyDictionary<string, double> Validate()
        {
            double prior = 0, melL1 = 0, linL1 = 0, duration = 0;
            int batches = 0;
            using var _ = torch.no_grad();
            tts.Network.eval();
            foreach (var (x, f) in test.InOrder(validation))
            {
                using (x) using (f)
                {
                    var (p, m, l, d) = tts.Losses(x, f);
                    using (p) using (m) using (l) using (d)
                    {
                        prior += p.item<float>(); melL1 += m.item<float>(); linL1 += l.item<float>(); duration += d.item<float>();
                    }
                }
                batches++;
            }
            prior /= batches; melL1 /= batches; linL1 /= batches; duration /= batches;
            return new Dictionary<string, double>
            {
                ["val_loss"] = prior + melL1 + linL1 + duration, ["val_prior"] = prior, ["val_mel_l1"] = melL1,
                ["val_linear_l1"] = linL1, ["val_duration"] = duration,
            };
        }
        var data = new JsonObject
        {
            ["source"] = corpus.Source,
            ["location"] = string.Equals(location, AllisonCorpus.Name, StringComparison.OrdinalIgnoreCase) ? AllisonCorpus.Name : Path.GetFullPath(location),
            ["utterances"] = corpus.Utterances.Count,
            ["train_utterances"] = train.Count,
            ["test_utterances"] = test.Count,
        };
        var manifest = Checkpoint.NewManifest(family, model.Config, data);
        var trainer = new Trainer(model.Trainable(), train, options, req.OutDir, manifest, device, progress, Validate, parallel: req.Parallel);
        return trainer.Run(req.Resume, cancel);
    }
}
