using GenSharp.Cli;
using Xunit;

namespace GenSharp.Tests;

[CollectionDefinition("Console", DisableParallelization = true)]
public class ConsoleCollection { }

/// <summary>Exit codes and one-line messages of the gensharp command, run in-process.</summary>
[Collection("Console")]
public class CliTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        // Drain the finaliser queue left by earlier tests before the command runs. TorchSharp 0.107 passes a temporary
        // Scalar's handle to native code without keeping the Scalar alive, so a GC that another thread triggers during
        // the call can let the finaliser free it mid-call (seen once as BatchNorm's `num_batches_tracked.add_(1)`
        // failing with "alpha must not be a floating point number"). A quiet finaliser thread narrows that window.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var (o, e) = (Console.Out, Console.Error);
        var (so, se) = (new StringWriter(), new StringWriter());
        Console.SetOut(so);
        Console.SetError(se);
        try { return (GenSharpCli.Run(args), so.ToString(), se.ToString()); }
        finally { Console.SetOut(o); Console.SetError(e); }
    }

    internal static void AssertOneLineError((int Code, string Out, string Err) r, int code, string fragment)
    {
        Assert.Equal(code, r.Code);
        var lines = r.Err.Trim().Split('\n');
        Assert.Single(lines);
        Assert.Contains(fragment, lines[0]);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
    }

    [Fact] public void UnknownCommand() => AssertOneLineError(Run("frobnicate"), 2, "unknown command 'frobnicate'");
    [Fact] public void UnknownFamily() => AssertOneLineError(Run("train", "nosuch", "--out", TestData.TempDir()), 1, "unknown family 'nosuch'");
    [Fact] public void UnknownFlag() => AssertOneLineError(Run("train", "vae", "--out", "x", "--bogus", "1"), 2, "unknown option --bogus");
    [Fact] public void MissingOut() => AssertOneLineError(Run("train", "vae"), 2, "needs --out");
    [Fact] public void BadNumber() => AssertOneLineError(Run("train", "vae", "--out", "x", "--steps", "ten"), 2, "--steps ten");
    [Fact] public void BadSetKey() => AssertOneLineError(Run("train", "vae", "--out", TestData.TempDir(), "--data", "embedded", "--set", "nope=1"), 1, "unknown config field");
    [Fact] public void ImpossibleHyperparameter() => AssertOneLineError(Run("train", "vae", "--out", TestData.TempDir(), "--data", "embedded", "--set", "learning_rate=-1"), 1, "learning_rate");
    [Fact] public void MissingCheckpoint() => AssertOneLineError(Run("sample", "/nonexistent/ckpt", "--out", "x.png"), 1, "does not exist");
    [Fact] public void MissingDataFolder() => AssertOneLineError(Run("train", "vae", "--out", TestData.TempDir(), "--data", "/nonexistent/fmnist"), 1, "/nonexistent/fmnist");
    [Fact] public void BadDevice() => AssertOneLineError(Run("train", "vae", "--out", TestData.TempDir(), "--data", "embedded", "--device", "tpu"), 1, "--device tpu");

    [Fact]
    public void CorruptCheckpoint()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), "{ not json");
        File.WriteAllText(Path.Combine(dir, "model.safetensors"), "x");
        AssertOneLineError(Run("sample", dir, "--out", Path.Combine(dir, "s.png")), 1, "config.json");
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"family\":\"vae\",\"config\":{}}");
        AssertOneLineError(Run("sample", dir, "--out", Path.Combine(dir, "s.png")), 1, "model.safetensors");
    }

    [Fact]
    public void EveryCommandsHelpRenders()
    {
        // Option descriptions are Spectre markup: an unescaped "[...]" in one crashed `finetune --help`.
        foreach (var command in GenSharp.Cli.GenSharpCli.Commands)
        {
            var h = Run(command.Name, "--help");
            Assert.True(h.Code == 0, $"{command.Name} --help exited {h.Code}: {h.Err}");
            Assert.Contains(command.Name, h.Out);
        }
    }

    [Fact]
    public void HelpAndListAndInfo()
    {
        var h = Run("train", "--help");
        Assert.Equal(0, h.Code);
        Assert.Contains("--resume", h.Out);
        var l = Run("list");
        Assert.Equal(0, l.Code);
        Assert.Contains("vae", l.Out);
        Assert.Contains("dcgan", l.Out);
        Assert.Contains("latent_dim", l.Out);
        var i = Run("info");
        Assert.Equal(0, i.Code);
        Assert.Contains("TorchSharp", i.Out);
        Assert.Contains("libtorch    2.10.0", i.Out);
    }

    [Fact]
    public void TrainSampleEvalScoreEncodeDecodeDenoiseEndToEnd()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "vae");
        var t = Run("train", "vae", "--out", run, "--data", "embedded", "--steps", "6", "--batch-size", "16",
                    "--set", "latent_dim=3", "--set", "channels=4", "--set", "hidden=16", "--exclude-class", "9", "--limit", "300");
        Assert.True(t.Code == 0, t.Err);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "reconstructions.png")));
        Assert.True(File.Exists(Path.Combine(run, "interpolation.png")));

        var again = Run("train", "vae", "--out", run, "--data", "embedded", "--steps", "6");
        Assert.Equal(1, again.Code);  // refuses to overwrite
        Assert.Contains("--resume", again.Err);
        var resumed = Run("train", "vae", "--out", run, "--data", "embedded", "--steps", "8", "--resume", "--exclude-class", "9", "--limit", "300");
        Assert.True(resumed.Code == 0, resumed.Err);

        var s = Run("sample", run, "--out", Path.Combine(dir, "s.npy"), "--n", "5");
        Assert.Equal(0, s.Code);
        var npy = GenSharp.Media.Npy.Load(Path.Combine(dir, "s.npy"));
        Assert.Equal(new long[] { 5, 1, 28, 28 }, npy.shape);

        var e = Run("eval", run, "--data", "embedded", "--limit", "20", "--k", "4");
        Assert.True(e.Code == 0, e.Err);
        var json = System.Text.Json.Nodes.JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!;
        Assert.True(json["iwae_nll"]!.GetValue<double>() > 0);
        Assert.True(json["iwae_nll_bpd"]!.GetValue<double>() > 0);

        var sc = Run("score", run, "--data", "embedded", "--out", Path.Combine(dir, "scores.csv"), "--limit", "200", "--anomaly-class", "9");
        Assert.True(sc.Code == 0, sc.Err);
        Assert.Equal(201, File.ReadAllLines(Path.Combine(dir, "scores.csv")).Length);
        Assert.Contains("auroc", sc.Out);

        var en = Run("encode", run, "--data", "embedded", "--out", Path.Combine(dir, "x.codes"), "--limit", "10", "--bits", "4");
        Assert.True(en.Code == 0, en.Err);
        Assert.Contains("\"bits_per_image\":12", en.Out);
        var de = Run("decode", run, Path.Combine(dir, "x.codes"), "--out", Path.Combine(dir, "x.png"));
        Assert.True(de.Code == 0, de.Err);
        Assert.True(File.Exists(Path.Combine(dir, "x.png")));

        var dn = Run("denoise", run, "--data", "embedded", "--noise", "gaussian:0.3", "--out", Path.Combine(dir, "d.png"), "--limit", "20");
        Assert.True(dn.Code == 0, dn.Err);
        Assert.Contains("psnr_denoised_db", dn.Out);
        AssertOneLineError(Run("denoise", run, "--data", "embedded", "--noise", "pink:3", "--out", "d.png"), 1, "--noise pink:3");

        var ip = Run("interpolate", run, "--data", "embedded", "--out", Path.Combine(dir, "i.png"), "--pairs", "2", "--steps", "5");
        Assert.True(ip.Code == 0, ip.Err);
        Assert.True(File.Exists(Path.Combine(dir, "i.png")));
        AssertOneLineError(Run("sample", run, "--out", Path.Combine(dir, "t.png"), "--temperature", "0.7"), 1, "no sampling temperature");
        AssertOneLineError(Run("sample", run, "--out", Path.Combine(dir, "c.png"), "--complete", "test:2", "--data", "embedded"), 1, "cannot complete images");
        AssertOneLineError(Run("sample", run, "--out", Path.Combine(dir, "c.png"), "--rows", "3"), 1, "--rows/--known-pixels go with --complete");
    }

    [Fact]
    public void PixelCnnTrainsSamplesCompletesEvaluatesAndScores()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "pcnn");
        var t = Run("train", "pixelcnn", "--out", run, "--data", "embedded", "--steps", "2", "--batch-size", "4",
                    "--set", "layers=2", "--set", "channels=4", "--set", "output_hidden_channels=8", "--sample-every", "1000");
        Assert.True(t.Code == 0, t.Err);
        var s = Run("sample", run, "--out", Path.Combine(dir, "s.npy"), "--n", "2");
        Assert.True(s.Code == 0, s.Err);
        // --no-watermark: the check is that completions keep the known rows bit for bit; the pixel mark would change
        // them (and the originals) by a few grey levels.
        var c = Run("sample", run, "--out", Path.Combine(dir, "c.npy"), "--complete", "test:2", "--data", "embedded", "--rows", "20", "--n", "3", "--no-watermark");
        Assert.True(c.Code == 0, c.Err);
        // Rows: known part, 3 completions, original; each completion keeps the first 20 rows exactly.
        using var grid = GenSharp.Media.Npy.Load(Path.Combine(dir, "c.npy"));
        Assert.Equal(new long[] { 10, 1, 28, 28 }, grid.shape);
        using var top = grid.narrow(2, 0, 20);
        for (int img = 0; img < 2; img++)
            for (int k = 1; k <= 3; k++)
                Assert.Equal(top[img * 5 + 4].data<byte>().ToArray(), top[img * 5 + k].data<byte>().ToArray());
        var e = Run("eval", run, "--data", "embedded", "--limit", "8");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("exact", e.Out);
        var json = System.Text.Json.Nodes.JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!;
        Assert.InRange(json["nll_bpd"]!.GetValue<double>(), 1.0, 9.0);
        var sc = Run("score", run, "--data", "embedded", "--out", Path.Combine(dir, "scores.csv"), "--limit", "30", "--anomaly-class", "1");
        Assert.True(sc.Code == 0, sc.Err);
        AssertOneLineError(Run("sample", run, "--out", Path.Combine(dir, "c.png"), "--complete", "test:1", "--data", "embedded", "--rows", "40"), 1, "known pixels must be in [0, 784]");
    }

    [Fact]
    public void ConditionalGanSamplesAClass()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "gan");
        var t = Run("train", "dcgan", "--out", run, "--data", "embedded", "--steps", "2", "--batch-size", "8",
                    "--set", "conditional=true", "--set", "generator_channels=4", "--set", "discriminator_channels=4");
        Assert.True(t.Code == 0, t.Err);
        Assert.Equal(0, Run("sample", run, "--out", Path.Combine(dir, "g.png"), "--n", "20").Code);
        Assert.Equal(0, Run("sample", run, "--out", Path.Combine(dir, "g3.png"), "--n", "4", "--class", "3").Code);
        AssertOneLineError(Run("sample", run, "--out", Path.Combine(dir, "g.png"), "--class", "12"), 1, "--class 12");
        AssertOneLineError(Run("eval", run, "--data", "embedded"), 1, "no likelihood");
    }

    [Fact]
    public void ClassifierTrainsEvaluatesAndScoresSamplesOfAVae()
    {
        var dir = TestData.TempDir();
        var cls = Path.Combine(dir, "cls");
        var t = Run("train", "classifier", "--out", cls, "--data", "embedded", "--steps", "3", "--batch-size", "16",
                    "--set", "channels=4", "--set", "feature_dim=16", "--set", "convs_per_stage=1", "--sample-every", "1");
        Assert.True(t.Code == 0, t.Err);
        Assert.False(Directory.Exists(Path.Combine(cls, "samples")));   // not generative: no sample grids
        var ce = Run("eval", cls, "--data", "embedded", "--limit", "50");
        Assert.True(ce.Code == 0, ce.Err);
        Assert.Contains("test accuracy", ce.Out);
        Assert.DoesNotContain("need --classifier", ce.Out);
        var cj = System.Text.Json.Nodes.JsonNode.Parse(ce.Out.Trim().Split('\n')[^1])!;
        Assert.InRange(cj["accuracy"]!.GetValue<double>(), 0, 1);
        Assert.Equal(50, cj["items"]!.GetValue<double>());

        var vae = Path.Combine(dir, "vae");
        var tv = Run("train", "vae", "--out", vae, "--data", "embedded", "--steps", "2", "--batch-size", "8",
                     "--set", "latent_dim=2", "--set", "channels=4", "--set", "hidden=8");
        Assert.True(tv.Code == 0, tv.Err);
        var plain = Run("eval", vae, "--data", "embedded", "--limit", "10", "--k", "2");
        Assert.True(plain.Code == 0, plain.Err);
        Assert.Contains("need --classifier", plain.Out);

        var e = Run("eval", vae, "--classifier", cls, "--n", "64", "--data", "embedded", "--limit", "10", "--k", "2", "--batch-size", "32");
        Assert.True(e.Code == 0, e.Err);
        var json = System.Text.Json.Nodes.JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!.AsObject();
        foreach (var key in new[] { "iwae_nll", "n", "fd_cls", "fd_cls_train_vs_test", "kid", "kid_stderr", "precision", "recall",
                                    "class_entropy", "class_share_0", "mem_sample_min", "mem_test_median", "mem_flagged", "sample_images_per_s" })
            Assert.True(json.ContainsKey(key), $"missing {key} in {json.ToJsonString()}");
        Assert.Equal(64, json["n"]!.GetValue<double>());
        Assert.False(json.ContainsKey("class_agreement"));              // unconditional

        // The same model's samples saved to .npy, scored without the checkpoint.
        Assert.Equal(0, Run("sample", vae, "--out", Path.Combine(dir, "s.npy"), "--n", "40").Code);
        var es = Run("eval", "--samples", Path.Combine(dir, "s.npy"), "--classifier", cls, "--data", "embedded", "--no-memorisation");
        Assert.True(es.Code == 0, es.Err);
        var sj = System.Text.Json.Nodes.JsonNode.Parse(es.Out.Trim().Split('\n')[^1])!.AsObject();
        Assert.Equal(40, sj["n"]!.GetValue<double>());
        Assert.True(sj.ContainsKey("fd_cls") && !sj.ContainsKey("mem_flagged"));

        AssertOneLineError(Run("eval", vae, "--n", "64", "--data", "embedded"), 1, "add --classifier");
        AssertOneLineError(Run("eval", vae, "--classifier", vae, "--data", "embedded", "--limit", "5", "--k", "2"), 1, "holds a vae checkpoint");
        AssertOneLineError(Run("eval", "--samples", Path.Combine(dir, "s.npy"), "--classifier", cls, "--data", "embedded", "--n", "400"), 1, "--n");
    }

    [Fact]
    public void ConditionalGanGetsClassAgreement()
    {
        var dir = TestData.TempDir();
        var cls = Path.Combine(dir, "cls");
        Assert.Equal(0, Run("train", "classifier", "--out", cls, "--data", "embedded", "--steps", "2", "--batch-size", "8",
                    "--set", "channels=4", "--set", "feature_dim=8", "--set", "convs_per_stage=1").Code);
        var gan = Path.Combine(dir, "gan");
        Assert.Equal(0, Run("train", "dcgan", "--out", gan, "--data", "embedded", "--steps", "2", "--batch-size", "8",
                    "--set", "conditional=true", "--set", "generator_channels=4", "--set", "discriminator_channels=4").Code);
        var e = Run("eval", gan, "--classifier", cls, "--n", "50", "--data", "embedded", "--no-memorisation");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("no likelihood", e.Out);
        var json = System.Text.Json.Nodes.JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!.AsObject();
        Assert.InRange(json["class_agreement"]!.GetValue<double>(), 0, 1);
    }
}
