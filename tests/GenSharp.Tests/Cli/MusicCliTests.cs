using GenSharp.Media.Audio;
using Xunit;

namespace GenSharp.Tests;

public sealed class MusicCliTests
{
    [Fact]
    public void MusicCliTrainsEvaluatesAndWritesMidiPianoRollAndWav()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "m");
        var t = CliTests.Run("train", "music", "--out", run, "--steps", "2", "--batch-size", "2", "--set", "n_layer=1", "--set", "n_embd=16",
            "--set", "n_head=2", "--set", "block_size=256", "--set", "eval_interval=1000");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("JSB Chorales", t.Out);
        var e = CliTests.Run("eval", run);
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("test: ", e.Out);
        Assert.Contains("nats per note", e.Out);
        var mid = Path.Combine(dir, "h.mid");
        var s = CliTests.Run("sample", run, "--out", mid, "--melody", "test:0", "--steps", "8");
        Assert.True(s.Code == 0, s.Err);
        Assert.Equal("MThd"u8.ToArray(), File.ReadAllBytes(mid)[..4]);
        Assert.True(File.Exists(Path.ChangeExtension(mid, ".png")));
        var wav = WavFile.Read(Path.ChangeExtension(mid, ".wav"));
        Assert.Equal(22050, wav.SampleRate);
        Assert.True(wav.Seconds > 8 * 60.0 / 80 / 4);                          // 8 sixteenths at 80 quarters a minute, plus the tail
        var low = Path.Combine(dir, "low.mid");
        Assert.True(CliTests.Run("sample", run, "--out", low, "--steps", "8", "--sample-rate", "8000").Code == 0);
        var lowWav = WavFile.Read(Path.ChangeExtension(low, ".wav"));
        Assert.Equal(8000, lowWav.SampleRate);
        Assert.InRange(lowWav.Seconds, 8 * 60.0 / 80 / 4, 10);
        Assert.Contains("8000 to 96000", CliTests.Run("sample", run, "--out", low, "--sample-rate", "4000").Err);
        Assert.Contains("test:K", CliTests.Run("sample", run, "--out", mid, "--melody", "chorale").Err);
        Assert.Contains("out of range", CliTests.Run("sample", run, "--out", mid, "--prime", "test:500").Err);
        Assert.Contains(".mid", CliTests.Run("sample", run, "--out", Path.Combine(dir, "x.png")).Err);
        Assert.Contains("draw one chorale", CliTests.Run("sample", run, "--out", mid, "--seconds", "2").Err);
    }

    [Fact]
    public void MusicTrainingKeepsTheWeightsOfTheLowestValLossInBest()
    {
        var run = Path.Combine(TestData.TempDir(), "m");
        var t = CliTests.Run("train", "music", "--out", run, "--steps", "6", "--batch-size", "2", "--set", "n_layer=1", "--set", "n_embd=16",
            "--set", "n_head=2", "--set", "block_size=64", "--set", "eval_interval=2", "--set", "learning_rate=0.03", "--set", "warmup_steps=0");
        Assert.True(t.Code == 0, t.Err);
        // Independent: the lowest val_loss the trainer logged, and its step.
        var vals = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!)
            .Where(n => n["val_loss"] is not null).Select(n => (Step: n["step"]!.GetValue<long>(), Loss: n["val_loss"]!.GetValue<double>())).ToList();
        Assert.Equal(new long[] { 2, 4, 6 }, vals.Select(v => v.Step));
        var min = vals.OrderBy(v => v.Loss).First();
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run, "best", "config.json")))!;
        Assert.Equal(min.Step, config["step"]!.GetValue<long>());
        Assert.Equal(min.Loss, config["best_val_loss"]!.GetValue<double>(), 12);
        // The saved weights score that val_loss again.
        var e = CliTests.Run("eval", Path.Combine(run, "best"));
        Assert.True(e.Code == 0, e.Err);
        var valid = System.Text.Json.Nodes.JsonNode.Parse(e.Out.Split('\n').Last(l => l.StartsWith('{')))!["valid"]!["nats_per_token"]!.GetValue<double>();
        Assert.Equal(min.Loss, valid, 6);
    }
}
