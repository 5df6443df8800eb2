using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Media.Audio;
using GenSharp.Models;
using GenSharp.Models.Audio;
using GenSharp.Models.Speech;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The <c>tts</c> family: phonemes from espeak-ng, whole-utterance batches, training, speaking, the CLI.</summary>
public class TtsTests
{
    /// <summary>
    /// A folder of the Allison layout with the <paramref name="train"/> shortest training and <paramref name="test"/>
    /// shortest held-out utterances of the real corpus (copied WAVs and their transcripts).
    /// </summary>
    internal static string MiniCorpus(int train = 8, int test = 2)
    {
        var corpus = AllisonCorpus.Load();
        var pick = corpus.Train.OrderBy(u => new FileInfo(u.Path).Length).Take(train)
            .Concat(corpus.Test.OrderBy(u => new FileInfo(u.Path).Length).Take(test)).ToList();
        var dir = TestData.TempDir();
        foreach (var u in pick)
        {
            var target = Path.Combine(dir, u.Id + ".wav");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(u.Path, target);
        }
        File.WriteAllLines(Path.Combine(dir, "core-sounds-en.txt"), pick.Select(u => $"{u.Id}: {u.Transcript}"));
        return dir;
    }

    static readonly string[] Tiny = { "hidden=16", "encoder_conv_layers=1", "encoder_attention_layers=1", "heads=2", "decoder_layers=2",
                                      "postnet_layers=1", "eval_interval=2", "eval_utterances=2", "dropout=0" };

    [Fact]
    public void EspeakGivesFramedPhonemesWithPausesBetweenClauses()
    {
        var p = EspeakPhonemes.Phonemize("Please enter 42, or 8 to exit.");
        Assert.Equal(EspeakPhonemes.Start, p[0]);
        Assert.Equal(EspeakPhonemes.End, p[^1]);
        Assert.Equal(1, p.Count(t => t == EspeakPhonemes.Pause));            // the comma
        Assert.Contains("'i:", p);                                            // "please", stressed
        Assert.Contains("t'u:", string.Join("", p));                          // "two" of forty-two
        Assert.Equal(p, EspeakPhonemes.Phonemize("Please enter 42, or 8 to exit."));
    }

    [Fact]
    public void SpeechBatchesPadEveryUtteranceWithItsNormalisedFeatures()
    {
        var mel = new MelSettings();
        var rng = new Random(2);
        var utterances = new[] { 2400, 4000, 1600, 3200, 800 }.Select((n, i) =>
            (Ids: Enumerable.Range(1, 3 + i).Select(k => (long)k).ToArray(),
             Audio: new Waveform(Enumerable.Range(0, n).Select(_ => (short)rng.Next(-6000, 6000)).ToArray(), 8000))).ToList();
        using var batches = new SpeechBatches(utterances, mel, maxFrames: 45, batchSize: 2, seed: 1);
        Assert.Equal(4, batches.Count);            // 4000 samples = 51 frames > 45
        Assert.Equal(1, batches.Skipped);
        Assert.Equal(2, batches.BatchesPerEpoch);
        // One pass sees every kept utterance once; a step's batch is the same every call.
        var seen = new List<long>();
        for (int step = 0; step < 2; step++)
        {
            var (ids, frames) = batches.GetBatch(step);
            using (ids) using (frames)
            {
                for (int b = 0; b < 2; b++) seen.Add(ids[b].ne(0L).sum().item<long>());
                var (ids2, frames2) = batches.GetBatch(step);
                using (ids2) using (frames2) Assert.True(frames.equal(frames2).all().item<bool>());
            }
        }
        Assert.Equal(new long[] { 3, 5, 6, 7 }, seen.OrderBy(x => x).ToArray());
        // Utterance 0 (2400 samples, 31 frames): flag 1 on its frames, 0 after; features normalised by the statistics.
        var (x, f) = batches.Batch(new[] { 0, 1 });   // kept utterances 0 and 1 (the 2400- and 1600-sample ones)
        using (x) using (f)
        {
            Assert.Equal(31, f[0].select(1, 0).sum().item<float>());
            Assert.Equal(21, f[1].select(1, 0).sum().item<float>());
            Assert.Equal(0, f[1].narrow(0, 21, 10).abs().sum().item<float>());
            using var audio = utterances[0].Audio.ToTensor();
            using var logMel = Spectrogram.LogMel(audio, mel).t();
            var (mm, ms, _, _) = batches.Statistics;
            using var expected = (logMel - mm) / ms;
            Assert.True(torch.allclose(f[0].narrow(1, 1, 40), expected, rtol: 1e-4, atol: 1e-4));
            Assert.Equal(new long[] { 1, 2, 3, 0, 0 }, x[0].data<long>().ToArray());
        }
    }

    [Fact]
    public void TtsTrainsOnAFolderSavesResumesAndSpeaks()
    {
        var data = MiniCorpus();
        var dir = TestData.TempDir();
        var r = TrainingRun.Run(new TrainRequest { Family = "tts", OutDir = dir, Data = data, Steps = 4, BatchSize = 4, Seed = 3, Sets = Tiny }, TrainingProgress.Silent);
        Assert.Equal(4, r.Step);
        var lines = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"));
        Assert.Contains(lines, l => l.Contains("val_mel_l1"));
        Assert.Contains(lines, l => l.Contains("\"duration\""));
        using (var loaded = Checkpoint.LoadModel(dir, torch.CPU))
        {
            var tts = Assert.IsType<TtsModel>(loaded.Model);
            Assert.Contains("'i:", ((TtsConfig)tts.Config).PhonemeList);
            var (mm, ms, _, _) = tts.Network.Statistics;
            Assert.True(ms.min().item<float>() > 0 && mm.abs().sum().item<float>() > 0);   // the training set's statistics were saved
            using var a = tts.Speak("Thank you.", new SpeechOptions { Seed = 1, Iterations = 4 });
            using var b = tts.Speak("Thank you.", new SpeechOptions { Seed = 1, Iterations = 4 });
            Assert.Equal(8000, a.Audio.SampleRate);
            Assert.True(a.Audio.Samples.Length >= 80 * 4);
            Assert.Equal(a.Audio.Samples, b.Audio.Samples);
            var recording = AllisonCorpus.ReadAudio(AllisonCorpus.Load(data).Test[0]);
            using var again = tts.Resynthesize(recording, new SpeechOptions { Iterations = 2 });
            Assert.InRange(again.Audio.Samples.Length, recording.Samples.Length - 80, recording.Samples.Length);
            Assert.Throws<GenSharpException>(() => tts.Speak("   ", new SpeechOptions()));
            Assert.Throws<GenSharpException>(() => tts.Resynthesize(new Waveform(new short[1600], 16000), new SpeechOptions()));
        }
        var r2 = TrainingRun.Run(new TrainRequest { Family = "tts", OutDir = dir, Steps = 6, Resume = true }, TrainingProgress.Silent);
        Assert.Equal(6, r2.Step);
    }

    /// <summary>The four losses of the model in <paramref name="dir"/> on the training utterances of <paramref name="data"/>.</summary>
    static (float Prior, float Mel, float Linear, float Duration) TrainingLosses(string dir, string data)
    {
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        var tts = (TtsModel)loaded.Model;
        var corpus = AllisonCorpus.Load(data);
        var utterances = corpus.Train.Select(u => (tts.Ids(EspeakPhonemes.Phonemize(u.Transcript)).Ids, AllisonCorpus.ReadAudio(u))).ToList();
        var (mm, ms, lm, ls) = tts.Network.Statistics;
        using var batches = new SpeechBatches(utterances, tts.Mel, 100_000, utterances.Count, 0, (mm, ms, lm, ls));
        var (x, f) = batches.Batch(Enumerable.Range(0, utterances.Count).ToArray());
        using var _ = torch.no_grad();
        tts.Network.eval();
        using (x) using (f)
        {
            var (p, m, l, d) = tts.Losses(x, f);
            using (p) using (m) using (l) using (d) return (p.item<float>(), m.item<float>(), l.item<float>(), d.item<float>());
        }
    }

    [Fact]
    public void TtsLearnsItsFewUtterancesAndSpeaksAtTheAskedSpeed()
    {
        // Forty steps on four utterances: every loss must fall far (a broken alignment, or a decoder that ignores its input,
        // would not), and the learnt durations must scale with the speed.
        var data = MiniCorpus(train: 4, test: 1);
        var dir = TestData.TempDir();
        var sets = Tiny.Where(s => !s.StartsWith("hidden") && !s.StartsWith("eval_interval")).Concat(new[] { "hidden=32", "eval_interval=100", "learning_rate=0.003" }).ToArray();
        TrainingRun.Run(new TrainRequest { Family = "tts", OutDir = dir, Data = data, Steps = 1, BatchSize = 4, Seed = 1, Sets = sets }, TrainingProgress.Silent);
        var before = TrainingLosses(dir, data);
        TrainingRun.Run(new TrainRequest { Family = "tts", OutDir = dir, Steps = 60, Resume = true }, TrainingProgress.Silent);
        var after = TrainingLosses(dir, data);
        Assert.True(after.Mel < 0.7 * before.Mel, $"mel L1 {before.Mel:F3} → {after.Mel:F3}");
        Assert.True(after.Linear < 0.7 * before.Linear, $"log-magnitude L1 {before.Linear:F3} → {after.Linear:F3}");
        Assert.True(after.Prior < 0.7 * before.Prior, $"prior {before.Prior:F3} → {after.Prior:F3}");
        Assert.True(after.Duration < 0.5 * before.Duration, $"duration {before.Duration:F3} → {after.Duration:F3}");
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        var tts = (TtsModel)loaded.Model;
        var text = AllisonCorpus.Load(data).Train[0].Transcript;
        using var normal = tts.Speak(text, new SpeechOptions { Iterations = 1 });
        using var slow = tts.Speak(text, new SpeechOptions { Iterations = 1, Speed = 0.5 });
        Assert.InRange(slow.Audio.Samples.Length, 1.6 * normal.Audio.Samples.Length, 2.4 * normal.Audio.Samples.Length);
    }

    [Fact]
    public void SpeakCommandWritesWavFilesAndRefusesBadInput()
    {
        var dir = TestData.TempDir();
        TrainingRun.Run(new TrainRequest { Family = "tts", OutDir = dir, Data = MiniCorpus(), Steps = 1, BatchSize = 4, Seed = 3, Sets = Tiny }, TrainingProgress.Silent);
        var wav = Path.Combine(TestData.TempDir(), "hello.wav");
        var t = CliTests.Run("speak", dir, "Hello.", "--out", wav, "--iterations", "2");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("real-time factor", t.Out);
        Assert.Equal(8000, WavFile.Read(wav).SampleRate);
        Assert.True(File.Exists(Path.ChangeExtension(wav, ".png")));
        var list = Path.Combine(TestData.TempDir(), "lines.txt");
        File.WriteAllText(list, "one\tThank you.\n\nGoodbye.\n");
        var outDir = Path.Combine(TestData.TempDir(), "spoken");
        t = CliTests.Run("speak", dir, "--input-file", list, "--out", outDir, "--iterations", "2");
        Assert.True(t.Code == 0, t.Err);
        Assert.True(File.Exists(Path.Combine(outDir, "one.wav")) && File.Exists(Path.Combine(outDir, "line-3.wav")));
        foreach (var (args, expected) in new[]
        {
            (new[] { "speak", dir, "Hi.", "--out", wav, "--speed", "9" }, "--speed"),
            (new[] { "speak", dir, "--out", wav }, "exactly one of"),
            (new[] { "speak", dir, "Hi.", "--out", "x.mp3" }, ".wav"),
            (new[] { "speak", TestData.TempDir(), "Hi.", "--out", wav }, ""),
        })
        {
            var bad = CliTests.Run(args);
            Assert.NotEqual(0, bad.Code);
            Assert.Contains(expected, bad.Err);
            Assert.DoesNotContain("   at ", bad.Err);
        }
    }

    /// <summary>The same tiny vocoder as training settings (<c>gensharp train wavenet --set ...</c>).</summary>
    internal static readonly string[] TinyVocoderSets =
        { "layers=2", "dilation_cycle=2", "residual_channels=4", "gate_channels=4", "skip_channels=8", "condition_channels=4", "sample_length=800", "eval_interval=100" };

    /// <summary>A tiny mel vocoder at the tts defaults' spectrogram settings (8 kHz, n_fft 256, hop 80, 40 bands).</summary>
    static WaveNetConfig TinyVocoder() => new()
    {
        Layers = 2, DilationCycle = 2, ResidualChannels = 4, GateChannels = 4, SkipChannels = 8, ConditionChannels = 4,
        Conditioning = WaveNetConditioning.Mel, SampleLength = 800,
    };

    [Fact]
    public void TtsSpeaksThroughAWaveNetVocoderInBatches()
    {
        var dir = TestData.TempDir();
        var data = MiniCorpus();
        TrainingRun.Run(new TrainRequest { Family = "tts", OutDir = dir, Data = data, Steps = 1, BatchSize = 4, Seed = 3, Sets = Tiny }, TrainingProgress.Silent);
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        var tts = (TtsModel)loaded.Model;
        TorchRuntime.Seed(4);
        using var vocoder = new WaveNetModel(TinyVocoder(), torch.CPU);
        var options = new SpeechOptions { Vocoder = vocoder, Seed = 5, VocoderBatch = 2 };
        var texts = new[] { "Thank you.", "Please enter your password.", "Goodbye." };
        var all = tts.SpeakAll(texts, options);                                              // two batches: 2 + 1
        try
        {
            Assert.Equal(3, all.Count);
            foreach (var r in all)
            {
                Assert.Equal(8000, r.Audio.SampleRate);
                Assert.Equal(r.LogMel.shape[1] * 80, r.Audio.Samples.Length);              // each its own length, padding cut
                Assert.True(r.Audio.Samples.Distinct().Count() > 10);
            }
            Assert.True(all[1].Audio.Samples.Length > all[0].Audio.Samples.Length);
            // The acoustic model is deterministic: the same text gets the same spectrogram with either vocoder.
            using var griffin = tts.Speak(texts[0], new SpeechOptions { Iterations = 2 });
            Assert.Equal(griffin.LogMel.shape, all[0].LogMel.shape);
            Assert.Equal(0f, (griffin.LogMel - all[0].LogMel).abs().max().item<float>());
            using var again = tts.Speak(texts[0], options with { VocoderBatch = 16 });
            using var same = tts.Speak(texts[0], options with { VocoderBatch = 16 });
            Assert.Equal(again.Audio.Samples, same.Audio.Samples);                        // seeded
            var recording = AllisonCorpus.ReadAudio(AllisonCorpus.Load(data).Test[0]);
            using var resynthesized = tts.Resynthesize(recording, options);
            Assert.InRange(resynthesized.Audio.Samples.Length, recording.Samples.Length - 80, recording.Samples.Length + 80);
        }
        finally { foreach (var r in all) r.Dispose(); }
        using var otherHop = new WaveNetModel(TinyVocoder() with { Hop = 40 }, torch.CPU);
        var e = Assert.Throws<GenSharpException>(() => tts.Speak("Hi.", new SpeechOptions { Vocoder = otherHop }));
        Assert.Contains("hop", e.Message);
        using var unconditional = new WaveNetModel(TinyVocoder() with { Conditioning = WaveNetConditioning.None }, torch.CPU);
        Assert.Contains("mel-conditioned", Assert.Throws<GenSharpException>(() => tts.Speak("Hi.", new SpeechOptions { Vocoder = unconditional })).Message);
    }

    [Fact]
    public void SpeakCommandTakesAVocoderCheckpoint()
    {
        var data = MiniCorpus();
        var dir = TestData.TempDir();
        TrainingRun.Run(new TrainRequest { Family = "tts", OutDir = dir, Data = data, Steps = 1, BatchSize = 4, Seed = 3, Sets = Tiny }, TrainingProgress.Silent);
        var voc = TestData.TempDir();
        TrainingRun.Run(new TrainRequest
        {
            Family = "wavenet", OutDir = voc, Data = data, Steps = 1, BatchSize = 2, Seed = 3,
            Sets = TinyVocoderSets,
        }, TrainingProgress.Silent);
        var wav = Path.Combine(TestData.TempDir(), "hello.wav");
        var t = CliTests.Run("speak", dir, "Thank you.", "--out", wav, "--vocoder", voc, "--temperature", "0.8");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("vocoder", t.Out);
        Assert.Equal(8000, WavFile.Read(wav).SampleRate);
        var list = Path.Combine(TestData.TempDir(), "lines.txt");
        File.WriteAllText(list, "a\tThank you.\nb\tGoodbye.\nc\tPlease hold.\n");
        var outDir = Path.Combine(TestData.TempDir(), "spoken");
        t = CliTests.Run("speak", dir, "--input-file", list, "--out", outDir, "--vocoder", voc, "--vocoder-batch", "2");
        Assert.True(t.Code == 0, t.Err);
        Assert.All(new[] { "a", "b", "c" }, n => Assert.True(WavFile.Read(Path.Combine(outDir, n + ".wav")).Samples.Length > 80));
        foreach (var (args, expected) in new[]
        {
            (new[] { "speak", dir, "Hi.", "--out", wav, "--vocoder", dir }, "wavenet"),
            (new[] { "speak", dir, "Hi.", "--out", wav, "--temperature", "0.5" }, "--vocoder"),
            (new[] { "speak", dir, "Hi.", "--out", wav, "--vocoder", voc, "--vocoder-batch", "0" }, "--vocoder-batch"),
        })
        {
            var bad = CliTests.Run(args);
            Assert.NotEqual(0, bad.Code);
            Assert.Contains(expected, bad.Err);
            Assert.DoesNotContain("   at ", bad.Err);
        }
    }
}
