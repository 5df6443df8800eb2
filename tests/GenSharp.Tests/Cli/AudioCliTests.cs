using GenSharp.Media.Audio;
using Xunit;

namespace GenSharp.Tests;

public sealed class AudioCliTests
{
    static readonly string[] Tiny = { "--set", "layers=3", "--set", "dilation_cycle=3", "--set", "residual_channels=8", "--set", "gate_channels=8",
        "--set", "skip_channels=16", "--set", "condition_channels=8", "--set", "sample_length=800", "--set", "eval_interval=2", "--set", "eval_batches=1" };

    [Fact]
    public void AudioCliTrainsWavenetAndSamplesWavWithSpectrogramAndDistances()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "wn");
        var t = CliTests.Run(new[] { "train", "wavenet", "--data", "allison", "--out", run, "--steps", "2", "--batch-size", "2" }.Concat(Tiny).ToArray());
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("Allison speech corpus", t.Out);
        var wav = Path.Combine(dir, "resynth.wav");
        var s = CliTests.Run("sample", run, "--out", wav, "--condition", "test:0", "--seconds", "0.05");
        Assert.True(s.Code == 0, s.Err);
        Assert.Contains("real-time factor", s.Out);
        Assert.Contains("log-spectral distance", s.Out);
        var w = WavFile.Read(wav);
        Assert.Equal(8000, w.SampleRate);
        Assert.Equal(400, w.Samples.Length);
        Assert.True(File.Exists(Path.ChangeExtension(wav, ".png")));
        // A vocoder needs something to resynthesise; a PNG is the wrong output.
        Assert.Contains("--condition", CliTests.Run("sample", run, "--out", wav).Err);
        Assert.Contains(".wav", CliTests.Run("sample", run, "--out", Path.Combine(dir, "x.png"), "--condition", "test:0").Err);
        Assert.Contains("test:K needs K", CliTests.Run("sample", run, "--out", wav, "--condition", "test:999").Err);
        // eval: the exact test NLL of the first two held-out utterances, one of them resynthesised and scored.
        var e = CliTests.Run("eval", run, "--limit", "2", "-n", "1");
        Assert.True(e.Code == 0, e.Err);
        var json = System.Text.Json.Nodes.JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!;
        Assert.InRange(json["test_bits_per_sample"]!.GetValue<double>(), 1.0, 8.5);
        Assert.Equal(2, json["test_utterances"]!.GetValue<int>());
        Assert.Equal(1, json["resynthesized"]!.GetValue<int>());
        Assert.True(json["lsd_db"]!.GetValue<double>() > 0 && json["mcd_db"]!.GetValue<double>() > 0);
        var corpus = GenSharp.Data.AllisonCorpus.Load();
        long samples = corpus.Test.Take(2).Sum(u => (long)GenSharp.Data.AllisonCorpus.ReadAudio(u).Samples.Length);
        Assert.Equal(samples, json["test_samples"]!.GetValue<long>());                        // every sample scored
        var bad = CliTests.Run("eval", run, "--classifier", run);
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("audio checkpoints", bad.Err);
    }
}
