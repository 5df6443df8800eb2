using System.ComponentModel;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Training;
using Spectre.Console.Cli;
using TorchSharp;

namespace GenSharp.Cli.Commands;

public sealed class QuickstartSettings : CliSettings
{
    [CommandOption("--out <DIR>")]
    [Description("where the two runs and the pictures go")]
    [DefaultValue("runs/quickstart")]
    public string Out { get; init; } = Path.Combine("runs", "quickstart");

    [CommandOption("--steps <N>", IsHidden = true)]
    [Description("training steps of each model (tests use a few)")]
    [DefaultValue(1500L)]
    public long Steps { get; init; } = 1500;
}

/// <summary><c>gensharp quickstart</c>: a small VAE and a small conditional DCGAN on the embedded subset, with pictures.</summary>
public sealed class QuickstartCommand : Command<QuickstartSettings>
{
    public override int Execute(CommandContext context, QuickstartSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        var outDir = s.Out;
        if (s.Steps < 1) throw new GenSharpException($"--steps must be ≥ 1, got {s.Steps}");
        foreach (var sub in new[] { "vae", "dcgan" })
            if (GenSharp.Checkpoints.Checkpoint.Exists(Path.Combine(outDir, sub)))
                throw new GenSharpException($"{outDir}/{sub} already holds a run; pass another --out or delete it");
        var progress = ConsoleProgress.Create();
        long every = Math.Max(1, s.Steps / 3);
        Console.WriteLine($"GenSharp quickstart → {outDir} (embedded Fashion-MNIST subset, CPU)");
        var vae = TrainingRun.Run(new TrainRequest
        {
            Family = "vae", OutDir = Path.Combine(outDir, "vae"), Data = "embedded", Steps = s.Steps, BatchSize = 64, Seed = 0,
            CheckpointEvery = every, SampleEvery = every,
        }, progress);
        var gan = TrainingRun.Run(new TrainRequest
        {
            Family = "dcgan", OutDir = Path.Combine(outDir, "dcgan"), Data = "embedded", Steps = s.Steps, BatchSize = 64, Seed = 0,
            CheckpointEvery = every, SampleEvery = every, Sets = new[] { "conditional=true", "generator_channels=32", "discriminator_channels=32" },
        }, progress);
        using var m = Checkpoint.LoadModel(vae.CheckpointPath, torch.CPU);
        using var test = FashionMnist.Load("embedded", train: false);
        var r = Pipelines.Evaluation.Run(m.Model, test, new GenSharp.Models.EvalSettings(100, 0));
        using (var samples = ImageSampling.Run((IImageSampler)m.Model, new ImageSamplingOptions { Count = 64, ClassGrid = true }))
            ImageFiles.Save(samples.Images, Path.Combine(outDir, "vae_samples.png"), samples.Columns);
        using var g = Checkpoint.LoadModel(gan.CheckpointPath, torch.CPU);
        using (var samples = ImageSampling.Run((IImageSampler)g.Model, new ImageSamplingOptions { Count = 100, ClassGrid = true }))
            ImageFiles.Save(samples.Images, Path.Combine(outDir, "dcgan_samples.png"), samples.Columns);
        Console.WriteLine($"VAE  : {vae.Step} steps, {vae.Seconds:F0}s; test NLL (IWAE, k=100) {r["iwae_nll"]:F2} nats = {r["iwae_nll_bpd"]:F4} bits/dim; neg. ELBO {r["neg_elbo"]:F2} nats");
        Console.WriteLine($"DCGAN: {gan.Step} steps, {gan.Seconds:F0}s; conditional, one row per class");
        Console.WriteLine($"pictures: {outDir}/vae_samples.png, {outDir}/dcgan_samples.png, {outDir}/vae/reconstructions.png, {outDir}/vae/interpolation.png, */loss.png");
        Console.WriteLine(new JsonObject
        {
            ["vae_iwae_nll"] = Math.Round(r["iwae_nll"], 4), ["vae_iwae_bpd"] = Math.Round(r["iwae_nll_bpd"], 5), ["vae_neg_elbo"] = Math.Round(r["neg_elbo"], 4),
        }.ToJsonString());
        return 0;
    }
}
