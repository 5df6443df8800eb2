using System.Text.Json.Nodes;
using Xunit;
using static GenSharp.Tests.CliTests;

namespace GenSharp.Tests;

/// <summary>train → sample → eval → score for rbm and dbn through the CLI, on the embedded subset.</summary>
[Collection("Console")]
public class EnergyCliTests
{
    [Fact]
    public void RbmTrainsSamplesEvaluatesWithAisAndScores()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "rbm");
        var t = Run("train", "rbm", "--out", run, "--data", "embedded", "--steps", "4", "--batch-size", "8",
                    "--set", "hidden=10", "--set", "persistent=true", "--set", "persistent_chains=8", "--set", "sample_steps=5",
                    "--sample-every", "1000", "--exclude-class", "1");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("recon_error", t.Out);
        var png = Path.Combine(dir, "s.png");
        var s = Run("sample", run, "--out", png, "--n", "4");
        Assert.True(s.Code == 0, s.Err);
        Assert.True(File.Exists(png));
        var e = Run("eval", run, "--data", "embedded", "--limit", "10", "--ais-chains", "20", "--ais-betas", "100", "--ais-runs", "3");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("annealed importance sampling", e.Out);
        Assert.Contains("AIS: log Z", e.Out);
        var json = JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!;
        Assert.Equal(3, json["ais_runs"]!.GetValue<double>());
        Assert.Equal(100, json["ais_betas"]!.GetValue<double>());
        double nll = json["nll"]!.GetValue<double>(), f = json["free_energy"]!.GetValue<double>(), logZ = json["log_z"]!.GetValue<double>();
        Assert.Equal(f + logZ, nll, 2);
        Assert.InRange(nll, 100, 784 * Math.Log(2) + 5);   // about the uniform model's 543 nats after 4 tiny steps
        Assert.True(json["log_z_std"] is not null);
        var sc = Run("score", run, "--data", "embedded", "--out", Path.Combine(dir, "scores.csv"), "--limit", "40", "--anomaly-class", "1");
        Assert.True(sc.Code == 0, sc.Err);
        Assert.Contains("\"auroc\"", sc.Out);
        AssertOneLineError(Run("eval", run, "--data", "embedded", "--ais-runs", "0"), 1, "--ais-runs");
    }

    [Fact]
    public void DbnTrainsSamplesAndEvaluatesItsBound()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "dbn");
        var t = Run("train", "dbn", "--out", run, "--data", "embedded", "--steps", "4", "--batch-size", "8",
                    "--set", "hidden_layers=[10,6]", "--set", "layer_steps=2", "--set", "sample_steps=5", "--sample-every", "1000");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("layer 1", t.Out);
        var s = Run("sample", run, "--out", Path.Combine(dir, "s.npy"), "--n", "3");
        Assert.True(s.Code == 0, s.Err);
        using (var arr = GenSharp.Media.Npy.Load(Path.Combine(dir, "s.npy")))
            Assert.Equal(new long[] { 3, 1, 28, 28 }, arr.shape);
        var e = Run("eval", run, "--data", "embedded", "--limit", "6", "--k", "5", "--ais-chains", "10", "--ais-betas", "50", "--ais-runs", "2");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("variational lower bound", e.Out);
        var json = JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!;
        Assert.True(json["bound_nll"]!.GetValue<double>() > 0);
        Assert.Equal(5, json["bound_samples"]!.GetValue<double>());
        var sc = Run("score", run, "--data", "embedded", "--out", Path.Combine(dir, "scores.csv"), "--limit", "20");
        Assert.True(sc.Code == 0, sc.Err);
    }

    [Fact]
    public void EbmTrainsSamplesInpaintsEvaluatesAndScores()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "ebm");
        var t = Run("train", "ebm", "--out", run, "--data", "embedded", "--steps", "3", "--batch-size", "8",
                    "--set", "channels=4", "--set", "langevin_steps=3", "--set", "replay_size=32", "--set", "sample_steps=3",
                    "--sample-every", "1000", "--exclude-class", "1");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("e_pos", t.Out);
        var s = Run("sample", run, "--out", Path.Combine(dir, "s.npy"), "--n", "3", "--steps", "2", "--init", "buffer");
        Assert.True(s.Code == 0, s.Err);
        using (var arr = GenSharp.Media.Npy.Load(Path.Combine(dir, "s.npy")))
            Assert.Equal(new long[] { 3, 1, 28, 28 }, arr.shape);
        var png = Path.Combine(dir, "inpaint.png");
        var ip = Run("sample", run, "--out", png, "--inpaint", "test:2", "--mask", "bottom", "--data", "embedded", "--n", "2", "--steps", "2");
        Assert.True(ip.Code == 0, ip.Err);
        Assert.True(File.Exists(png));
        // eval --inpaint-mask: clamped Langevin on N test images, scored by a tiny classifier.
        var cls = Path.Combine(dir, "cls");
        Assert.Equal(0, Run("train", "classifier", "--out", cls, "--data", "embedded", "--steps", "2", "--batch-size", "8",
            "--set", "channels=4", "--set", "feature_dim=8", "--set", "convs_per_stage=1").Code);
        var ei = Run("eval", run, "--classifier", cls, "--n", "6", "--data", "embedded", "--inpaint-mask", "left", "--steps", "2", "--batch-size", "4");
        Assert.True(ei.Code == 0, ei.Err);
        Assert.Contains("Langevin 2 steps", ei.Out);
        var ji = JsonNode.Parse(ei.Out.Trim().Split('\n')[^1])!;
        Assert.Equal(6, ji["n"]!.GetValue<double>());
        Assert.Equal(0.5, ji["known_fraction"]!.GetValue<double>(), 6);
        Assert.Equal(2, ji["langevin_steps"]!.GetValue<double>());
        Assert.True(ji["inpaint_rmse"]!.GetValue<double>() > 0);
        AssertOneLineError(Run("eval", run, "--classifier", cls, "--n", "6", "--data", "embedded", "--inpaint-mask", "left", "--resample", "2"), 1, "--resample");
        var eq = Run("eval", run, "--classifier", cls, "--n", "10", "--data", "embedded", "--quality-only", "--no-memorisation", "--steps", "2", "--init", "buffer");
        Assert.True(eq.Code == 0, eq.Err);
        var jq = JsonNode.Parse(eq.Out.Trim().Split('\n')[^1])!;
        Assert.Equal("buffer", jq["init"]!.GetValue<string>());
        Assert.Equal(2, jq["langevin_steps"]!.GetValue<double>());
        Assert.True(jq["fd_cls"]!.GetValue<double>() > 0);
        AssertOneLineError(Run("eval", run, "--classifier", cls, "--n", "6", "--data", "embedded", "--init", "middle"), 1, "--init");
        var e = Run("eval", run, "--data", "embedded", "--limit", "10");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("energy E(x)", e.Out);
        var json = JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!;
        Assert.True(json["energy_test"] is not null && json["energy_samples"] is not null && json["energy_test_std"] is not null);
        Assert.Null(json["energy_test_sq"]);
        var sc = Run("score", run, "--data", "embedded", "--out", Path.Combine(dir, "scores.csv"), "--limit", "40", "--anomaly-class", "1");
        Assert.True(sc.Code == 0, sc.Err);
        Assert.Contains("\"auroc\"", sc.Out);
        var d = Run("denoise", run, "--data", "embedded", "--limit", "4", "--noise", "gaussian:0.3", "--out", Path.Combine(dir, "d.png"));
        Assert.True(d.Code == 0, d.Err);
        AssertOneLineError(Run("sample", run, "--out", png, "--init", "middle"), 1, "--init");
        AssertOneLineError(Run("sample", run, "--out", png, "--scheduler", "ddim"), 1, "--scheduler");
        AssertOneLineError(Run("train", "ebm", "--out", Path.Combine(dir, "bad"), "--data", "embedded", "--steps", "1", "--set", "fresh_fraction=2"), 1, "fresh_fraction");
    }

    /// <summary>
    /// Stopping and resuming gives the same weights as one uninterrupted run: the rbm's persistent chains, the dbn's
    /// layer schedule (the stop falls inside the first layer, the run ends in the second) and the ebm's replay buffer
    /// are all restored from the checkpoint.
    /// </summary>
    [Theory]
    [InlineData("rbm", 3, 6, new[] { "hidden=10", "persistent=true", "persistent_chains=8" })]
    [InlineData("dbn", 2, 6, new[] { "hidden_layers=[10,6]", "layer_steps=3", "persistent=true", "persistent_chains=8" })]
    [InlineData("ebm", 2, 4, new[] { "channels=4", "langevin_steps=3", "replay_size=32" })]
    public void ResumeGivesTheSameWeightsAsAnUninterruptedRun(string family, int stopAt, int steps, string[] sets)
    {
        var dir = TestData.TempDir();
        string[] Args(string run, int n, bool resume)
        {
            var args = new List<string> { "train", family, "--out", run, "--data", "embedded", "--steps", n.ToString(), "--batch-size", "8",
                                          "--sample-every", "1000", "--seed", "3" };
            if (resume) args.Add("--resume");
            else foreach (var kv in sets) { args.Add("--set"); args.Add(kv); }
            return args.ToArray();
        }
        string whole = Path.Combine(dir, "whole"), split = Path.Combine(dir, "split");
        var w = Run(Args(whole, steps, false));
        Assert.True(w.Code == 0, w.Err);
        var first = Run(Args(split, stopAt, false));
        Assert.True(first.Code == 0, first.Err);
        var firstWeights = File.ReadAllBytes(Path.Combine(split, "checkpoint", "model.safetensors"));
        var second = Run(Args(split, steps, true));
        Assert.True(second.Code == 0, second.Err);
        var a = File.ReadAllBytes(Path.Combine(whole, "checkpoint", "model.safetensors"));
        var b = File.ReadAllBytes(Path.Combine(split, "checkpoint", "model.safetensors"));
        Assert.NotEqual(firstWeights, b);   // the second leg trained
        Assert.Equal(a, b);
    }
}
