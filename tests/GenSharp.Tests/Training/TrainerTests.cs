using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>A tiny trainable whose loss depends on weights, Adam state, data order and libtorch's RNG.</summary>
sealed class ToyTrainable : ITrainable, IDisposable
{
    readonly nn.Module<Tensor, Tensor> _net = nn.Sequential(nn.Flatten(), nn.Linear(784, 4), nn.Tanh(), nn.Linear(4, 1));
    /// <summary>Calls of <see cref="TrainStep"/> (1-based) whose loss is poisoned with NaN.</summary>
    public Func<int, bool> NanAt = _ => false;
    public int Calls;

    public nn.Module Model => _net;
    public IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[] { OptimizerSpec.Single("toy", OptimizerAlgorithm.Adam, _net.parameters(), 0.01) };
    public IReadOnlyCollection<string> LossMetrics => new[] { "loss" };
    public int ConditionalClasses => 0;

    public IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        Calls++;
        var x = images.to(ScalarType.Float32) / 255;
        x = x + 0.1 * torch.randn_like(x); // consumes RNG, so resume must restore it
        var loss = (_net.forward(x).squeeze(1) - labels.to(ScalarType.Float32) / 9).pow(2).mean();
        if (NanAt(Calls)) loss = loss * double.NaN;
        ctx.Log("loss", loss);
        ctx.Log("label_mean", labels.to(ScalarType.Float32).mean());   // not a loss: goes to metrics.png
        yield return new LossTerm(0, loss);
    }

    public Tensor? Sample(int n, Tensor? labels) => torch.rand(n, 1, 4, 4); // exercises the grid path
    public void Dispose() => _net.Dispose();
}

public class TrainerTests
{
    static ImageDataset Data => TestData.Train.Take(256);

    static TrainResult Train(string dir, long steps, bool resume = false, CancellationToken cancel = default, int? nanAt = null, long ckptEvery = 0)
    {
        TorchRuntime.Seed(11);
        using var toy = new ToyTrainable { NanAt = call => call == nanAt };
        var options = new TrainOptions { Steps = steps, BatchSize = 32, Seed = 11, CheckpointEvery = ckptEvery, SampleEvery = 0, LogEvery = 2, SampleCount = 4 };
        var trainer = new Trainer(toy, new BatchLoader(Data, 32, 11), options, dir, new JsonObject { ["family"] = "toy" }, torch.CPU);
        return trainer.Run(resume, cancel);
    }

    [Fact]
    public void ResumeGivesTheSameLossesAsAnUninterruptedRun()
    {
        var full = Train(TestData.TempDir(), 12);
        var dir = TestData.TempDir();
        var first = Train(dir, 5);
        var second = Train(dir, 12, resume: true);
        Assert.Equal(5, first.Step);
        Assert.Equal(12, second.Step);
        Assert.Equal(full.Losses, first.Losses.Concat(second.Losses)); // bit-exact
        // The metrics log continues rather than restarting.
        var steps = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!["step"]!.GetValue<long>()).ToList();
        Assert.Equal(steps.OrderBy(s => s).Distinct(), steps);
        Assert.True(File.Exists(Path.Combine(dir, "loss.png")));
    }

    [Fact]
    public void LossPlotHoldsTheLossesAndTheOtherMetricsGetTheirOwnPlot()
    {
        var dir = TestData.TempDir();
        Train(dir, 4);
        Assert.True(File.Exists(Path.Combine(dir, Trainer.LossPlotFile)));
        Assert.True(File.Exists(Path.Combine(dir, Trainer.MetricsPlotFile)));   // label_mean
        // A GAN's log: D(x) and D(G(z)) are probabilities, lr is a rate; only the declared losses (and their val_) are losses.
        var lines = new[]
        {
            "{\"step\":1,\"g_loss\":1.5,\"d_loss\":0.5,\"d_real\":0.7,\"d_fake\":0.2,\"it_per_s\":3.0,\"rss_mb\":100.0,\"time\":\"2026-01-01\"}",
            "{\"step\":2,\"g_loss\":1.25,\"val_g_loss\":2.0,\"lr\":0.1,\"skipped_steps\":0}",
        };
        var (losses, others) = Trainer.SplitSeries(lines, new[] { "g_loss", "d_loss" });
        Assert.Equal(new[] { "g_loss", "d_loss", "val_g_loss" }, losses.Select(s => s.Name));
        Assert.Equal(new[] { "d_real", "d_fake", "lr", "skipped_steps" }, others.Select(s => s.Name));
        Assert.Equal(new[] { 1.5, 1.25 }, losses[0].Y);
        Assert.Equal(new[] { 1.0, 2.0 }, losses[0].X);
    }

    [Fact]
    public void NanStopsWithoutTouchingTheLastGoodCheckpoint()
    {
        var dir = TestData.TempDir();
        var e = Assert.Throws<TrainingDivergedException>(() => Train(dir, 10, nanAt: 7, ckptEvery: 3));
        Assert.Contains("step 7", e.Message);
        Assert.Contains("step 6", e.Message); // last good checkpoint named
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "checkpoint", "config.json")))!;
        Assert.Equal(6, config["step"]!.GetValue<long>());
    }

    [Fact]
    public void CancellationSavesACheckpointThatResumes()
    {
        var dir = TestData.TempDir();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var r = Train(dir, 8, cancel: cts.Token);
        Assert.True(r.Interrupted);
        Assert.Equal(0, r.Step);
        Assert.True(CheckpointFolder.Exists(dir));
        var resumed = Train(dir, 8, resume: true);
        Assert.Equal(8, resumed.Step);
        Assert.False(resumed.Interrupted);
    }

    [Fact]
    public void ExistingRunIsNotOverwrittenWithoutResume()
    {
        var dir = TestData.TempDir();
        Train(dir, 2);
        var before = File.ReadAllBytes(Path.Combine(dir, "checkpoint", "model.safetensors"));
        var e = Assert.Throws<ParameterException>(() => Train(dir, 2));
        Assert.Equal("resume", e.Parameter);   // the CLI prints it as --resume (CliTests.TrainSampleEvalScoreEncodeDecodeDenoiseEndToEnd)
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, "checkpoint", "model.safetensors")));
    }

    [Fact]
    public void FailedCheckpointWriteKeepsThePreviousOne()
    {
        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            File.WriteAllText(Path.Combine(d, "config.json"), "{\"v\":1}");
            File.WriteAllText(Path.Combine(d, "model.safetensors"), "old");
        });
        Assert.Throws<IOException>(() => CheckpointFolder.Save(dir, d =>
        {
            File.WriteAllText(Path.Combine(d, "config.json"), "{\"v\":2}");
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal("{\"v\":1}", File.ReadAllText(Path.Combine(dir, "config.json")));
        Assert.Equal("old", File.ReadAllText(Path.Combine(dir, "model.safetensors")));
        Assert.Single(Directory.GetDirectories(Path.GetDirectoryName(dir)!)); // no temp folder left behind
    }

    [Fact]
    public void CrashBetweenRenamesFallsBackToOldCopy()
    {
        var root = TestData.TempDir();
        var old = Path.Combine(root, "checkpoint.old");
        Directory.CreateDirectory(old);
        File.WriteAllText(Path.Combine(old, "config.json"), "{}");
        Assert.Equal(old, CheckpointFolder.Resolve(root));
    }

    [Fact]
    public void EmaFollowsTheClosedForm()
    {
        TorchRuntime.EnsureReady();
        using var lin = nn.Linear(1, 1, hasBias: false);
        using (torch.no_grad()) lin.weight!.fill_(0);
        using var ema = new Ema(lin, 0.9);
        for (int t = 1; t <= 5; t++)
        {
            using (torch.no_grad()) lin.weight!.fill_(t);
            ema.Update(t);
        }
        // The first update copies the weights (data-dependent init happens in step 1), then
        // shadow_t = d_t shadow_{t-1} + (1 − d_t) t with the warm-up d_t = min(0.9, (1 + t)/(10 + t)).
        double s = 1;
        for (int t = 2; t <= 5; t++) { double d = Math.Min(0.9, (1.0 + t) / (10.0 + t)); s = d * s + (1 - d) * t; }
        Assert.Equal(s, ema.Shadow["weight"].item<float>(), 5);
        Assert.Equal(0.25, ema.DecayAt(2), 12);
        Assert.Equal(0.9, ema.DecayAt(1_000), 12);
        Assert.Throws<GenSharpException>(() => new Ema(lin, 1.0));
    }
}
