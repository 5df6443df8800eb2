using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Flows;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class GlowTests
{
    static GlowConfig Tiny => new() { Levels = 2, StepsPerLevel = 2, HiddenChannels = 8, WarmupSteps = 0 };

    /// <summary>Moves every parameter away from its (often identity) initialisation.</summary>
    static void Perturb(nn.Module module, double scale = 0.2)
    {
        using var _ = torch.no_grad();
        foreach (var p in module.parameters()) p.add_(torch.randn_like(p) * scale);
    }

    static Tensor Tiny64(params long[] shape) => torch.randn(shape, dtype: ScalarType.Float64);

    /// <summary>The whole multi-scale flow as one layer x → flatten(latents), for the brute-force checks.</summary>
    sealed class WholeFlow(GlowNetwork net) : FlowLayer("WholeGlow")
    {
        public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
        {
            var (latents, logDet, _) = net.Forward(x);
            return (GlowNetwork.Flatten(latents), logDet);
        }

        public override Tensor Inverse(Tensor y) => net.Inverse(net.Unflatten(y).Cast<Tensor?>().ToList(), y.shape[0], 1.0);
    }

    // ------------------------------------------------------------------ layers

    [Fact]
    public void ActNormDataDependentInitGivesZeroMeanUnitStd()
    {
        TorchRuntime.Seed(10);
        using var scope = torch.NewDisposeScope();
        var layer = new ActNorm(3);
        // Channels with very different offsets and spreads.
        var x = torch.randn(32, 3, 5, 5) * torch.tensor(new[] { 0.1f, 2f, 7f }).reshape(1, 3, 1, 1)
                + torch.tensor(new[] { -3f, 0.5f, 10f }).reshape(1, 3, 1, 1);
        Assert.False(layer.IsInitialized);
        layer.train();
        var (y, logDet) = layer.Forward(x);
        Assert.True(layer.IsInitialized);
        var dims = new long[] { 0, 2, 3 };
        Assert.True(y.mean(dims).abs().max().item<float>() < 1e-4f, $"means {y.mean(dims).str()}");
        var std = (y - y.mean(dims, keepdim: true)).square().mean(dims).sqrt();
        Assert.True((std - 1).abs().max().item<float>() < 1e-3f, $"stds {std.str()}");
        // log-det = H·W·Σ log s = −25 · Σ log std_c of the input.
        var inStd = (x - x.mean(dims, keepdim: true)).square().mean(dims).sqrt();
        Assert.Equal(-25 * inStd.log().sum().item<float>(), logDet[0].item<float>(), 2);

        // A second training batch does not re-initialise.
        var bias = layer.Bias.detach().clone();
        layer.Forward(x * 5 + 1);
        Assert.Equal(bias.data<float>().ToArray(), layer.Bias.detach().data<float>().ToArray());

        // Eval mode never initialises.
        var fresh = new ActNorm(3);
        fresh.eval();
        fresh.Forward(x);
        Assert.False(fresh.IsInitialized);
        Assert.Equal(0f, fresh.Bias.abs().max().item<float>());
    }

    [Fact]
    public void ActNormInvertsAndLogDetMatchesJacobian()
    {
        TorchRuntime.Seed(11);
        using var scope = torch.NewDisposeScope();
        var layer = new ActNorm(2);
        layer.to(ScalarType.Float64);
        layer.MarkInitialized();
        Perturb(layer, 0.5);
        FlowAssert.InvertsExactly(layer, Tiny64(4, 2, 3, 3), 1e-5);
        FlowAssert.LogDetMatchesJacobian(layer, Tiny64(2, 2, 2, 2));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InvertibleConvStartsAsRotationInvertsAndLogDetMatchesJacobian(bool lu)
    {
        TorchRuntime.Seed(12);
        using var scope = torch.NewDisposeScope();
        var layer = new InvertibleConv1x1(4, lu);
        layer.to(ScalarType.Float64);
        // The initial weight (for LU: P·L·(U + diag(s)) rebuilt from the factors) is a rotation: W Wᵀ = I.
        var w0 = layer.Weight().detach();
        Assert.True((w0.matmul(w0.t()) - torch.eye(4, dtype: ScalarType.Float64)).abs().max().item<double>() < 1e-6);
        Perturb(layer, 0.3);
        var w = layer.Weight().detach();
        Assert.True((w.matmul(w.t()) - torch.eye(4, dtype: ScalarType.Float64)).abs().max().item<double>() > 1e-2, "perturbation left W orthogonal");
        // Claimed log|det W| against slogdet of the assembled weight.
        Assert.Equal(torch.linalg.slogdet(w).Item2.item<double>(), layer.LogAbsDetWeight().item<double>(), 9);
        FlowAssert.InvertsExactly(layer, Tiny64(3, 4, 3, 2), 1e-5);
        FlowAssert.LogDetMatchesJacobian(layer, Tiny64(2, 4, 2, 2));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SingularInvertibleConvThrowsDiverged(bool lu)
    {
        TorchRuntime.Seed(13);
        using var scope = torch.NewDisposeScope();
        var layer = new InvertibleConv1x1(4, lu, "level 0, step 1");
        using (torch.no_grad())
        {
            foreach (var (name, p) in layer.named_parameters())
                if (name is "weight" or "log_s") p.fill_(lu ? double.NegativeInfinity : 0.0);
        }
        var e = Assert.Throws<TrainingDivergedException>(() => layer.Forward(torch.randn(2, 4, 3, 3)));
        Assert.Contains("level 0, step 1", e.Message);
        Assert.Contains("singular", e.Message);
        Assert.Contains("learning_rate", e.Message);
    }

    [Fact]
    public void CouplingStartsWithSigmoidTwoScaleAndChecksOutWhenPerturbed()
    {
        TorchRuntime.Seed(14);
        using var scope = torch.NewDisposeScope();
        var layer = new GlowCoupling(4, 6);
        var x = torch.randn(3, 4, 3, 3);
        var (y, logDet) = layer.Forward(x);
        // Zero-initialised last conv: t = 0, s = sigmoid(2) everywhere.
        double s = 1 / (1 + Math.Exp(-2));
        Assert.True((y.narrow(1, 0, 2) - x.narrow(1, 0, 2)).abs().max().item<float>() == 0);
        Assert.True((y.narrow(1, 2, 2) - x.narrow(1, 2, 2) * s).abs().max().item<float>() < 1e-6f);
        Assert.Equal(2 * 9 * Math.Log(s), logDet[0].item<float>(), 4);

        layer.to(ScalarType.Float64);
        Perturb(layer, 0.3);
        FlowAssert.InvertsExactly(layer, Tiny64(3, 4, 3, 3), 1e-5);
        FlowAssert.LogDetMatchesJacobian(layer, Tiny64(2, 4, 2, 2));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FlowStepInvertsAndLogDetMatchesJacobian(bool lu)
    {
        TorchRuntime.Seed(15);
        using var scope = torch.NewDisposeScope();
        var step = new GlowStep(4, 6, lu, "test");
        step.to(ScalarType.Float64);
        step.train();
        step.Forward(Tiny64(8, 4, 2, 2) * 3 + 1);                                 // data-dependent ActNorm init
        step.eval();
        Perturb(step, 0.3);
        FlowAssert.InvertsExactly(step, Tiny64(3, 4, 3, 3), 1e-5);
        FlowAssert.LogDetMatchesJacobian(step, Tiny64(2, 4, 2, 2));
    }

    [Fact]
    public void SplitPriorMatchesGaussianFormulaAndTemperature()
    {
        TorchRuntime.Seed(16);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var split = new GlowSplit(4);
        split.to(ScalarType.Float64);
        Perturb(split, 0.3);
        var h = Tiny64(2, 4, 3, 3);
        var (kept, z, logProb) = split.Forward(h);
        Assert.Equal(h.narrow(1, 0, 2).data<double>().ToArray(), kept.data<double>().ToArray());
        Assert.Equal(h.narrow(1, 2, 2).data<double>().ToArray(), z.data<double>().ToArray());
        // μ, log σ straight from the conv, then the Gaussian density element by element in C#.
        var stats = split.PriorConv.forward(kept);
        var zs = z.data<double>().ToArray();
        var mu = stats.narrow(1, 0, 2).contiguous().data<double>().ToArray();
        var ls = stats.narrow(1, 2, 2).contiguous().data<double>().ToArray();
        for (int b = 0; b < 2; b++)
        {
            double expected = 0;
            for (int i = b * 18; i < (b + 1) * 18; i++)
                expected += -0.5 * Math.Log(2 * Math.PI) - ls[i] - 0.5 * Math.Pow((zs[i] - mu[i]) / Math.Exp(ls[i]), 2);
            Assert.Equal(expected, logProb[b].item<double>(), 9);
        }
        Assert.Equal(h.data<double>().ToArray(), split.Inverse(kept, z, 1.0).data<double>().ToArray());
        // T = 0 gives the prior mean.
        var mode = split.Inverse(kept, null, 0.0).narrow(1, 2, 2).contiguous();
        Assert.True((mode - stats.narrow(1, 0, 2)).abs().max().item<double>() < 1e-12);
    }

    // ------------------------------------------------------------------ the whole flow

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WholeFlowInvertsAndLogDensityMatchesBruteForce(bool lu)
    {
        TorchRuntime.Seed(17);
        using var scope = torch.NewDisposeScope();
        var config = new GlowConfig { ImageSize = 8, Levels = 2, StepsPerLevel = 2, HiddenChannels = 6, LuDecomposed = lu };
        var net = new GlowNetwork(config);
        net.to(ScalarType.Float64);
        net.train();
        net.Forward(torch.rand(8, 1, 8, 8, dtype: ScalarType.Float64) - 0.5);    // ActNorm init on a batch
        net.eval();
        Perturb(net, 0.1);
        var flow = new WholeFlow(net);
        var x = torch.rand(2, 1, 8, 8, dtype: ScalarType.Float64) - 0.5;
        FlowAssert.InvertsExactly(flow, x, 1e-5);
        FlowAssert.LogDetMatchesJacobian(flow, x);

        // log p(x) = Σ log N(z_i; μ_i, σ_i) + log|det J|, with the priors recomputed by hand.
        using var _ = torch.no_grad();
        var (latents, logDet, logPrior) = net.Forward(x);
        Assert.Equal(new long[] { 2, 64 }, GlowNetwork.Flatten(latents).shape);
        var (kept, z0, _, _) = net.Levels[0].Forward(x);                        // level 1's factored half and what stays
        Assert.Equal(z0!.data<double>().ToArray(), latents[0].data<double>().ToArray());
        var stats = net.Levels[0].Split!.PriorConv.forward(kept);
        Tensor LogN(Tensor v, Tensor m, Tensor logS) =>
            (-0.5 * Math.Log(2 * Math.PI) - logS - 0.5 * ((v - m) / logS.exp()).square()).flatten(1).sum(1);
        var p = net.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        var expectedPrior = LogN(latents[0], stats.narrow(1, 0, 2), stats.narrow(1, 2, 2))
                          + LogN(latents[1], p["top_mean"], p["top_log_std"]);
        Assert.True((expectedPrior - logPrior).abs().max().item<double>() < 1e-9);
    }

    [Fact]
    public void ModelNllIsLogDensityPlusDequantizationAndBitsPerDim()
    {
        TorchRuntime.Seed(18);
        using var model = new GlowModel(Tiny, torch.CPU);
        using var runner = new StepRunner(model);
        using var scope = torch.NewDisposeScope();
        var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
        var metrics = runner.Step(im, lb);
        Assert.Equal(metrics["loss"] / (784 * Math.Log(2)), metrics["bpd"], 9);

        // NegativeLogLikelihood uses a generator seeded with 0: same noise as Dequantize(images, gen(0)).
        var nll = model.NegativeLogLikelihood(im);
        using var gen = new Generator(0);
        var y = ImageTransforms.Dequantize(im, gen);
        using (torch.no_grad())
        {
            model.Network.eval();
            var (_, logDet, logPrior) = model.Network.Forward(y - 0.5);
            var expected = -(logDet + logPrior) + 784 * Math.Log(256);
            Assert.True((expected - nll).abs().max().item<float>() < 1e-2f);
        }
        Assert.Equal(nll.data<float>().ToArray(), model.NegativeLogLikelihood(im).data<float>().ToArray()); // deterministic
        var sum = model.EvaluateBatch(im, new EvalSettings(Seed: 0))["nll"];
        Assert.Equal(nll.sum().item<float>(), sum, 0);
        Assert.Contains("upper bound", model.LikelihoodDescription);
    }

    [Fact]
    public void EncodeDecodeIsExactOnRealImages()
    {
        TorchRuntime.Seed(19);
        using var model = new GlowModel(Tiny with { StepsPerLevel = 3, HiddenChannels = 16 }, torch.CPU);
        using var runner = new StepRunner(model);
        var loader = new BatchLoader(TestData.Train, 16, 0);
        for (int s = 0; s < 3; s++)
        {
            using var stepScope = torch.NewDisposeScope();
            var (im0, lb0) = loader.GetBatch(s);
            runner.Step(im0, lb0);
        }
        using var scope = torch.NewDisposeScope();
        var (im, _) = new BatchLoader(TestData.Test, 8, 0, shuffle: false).GetBatch(0);
        Assert.Equal(784, model.LatentDim);
        var z = model.Encode(im);
        Assert.Equal(new long[] { 8, 784 }, z.shape);
        var back = model.Decode(z);
        var centres = (im.to_type(ScalarType.Float32) + 0.5) / 256;
        double err = (back - centres).abs().max().item<float>();
        Assert.True(err <= 1e-4, $"x → z → x max error {err:E2}");

        var images01 = ImageTransforms.ToFloat(im, PixelScale.ZeroOne) * 0.98 + 0.01;
        double recErr = (model.Reconstruct(images01) - images01).abs().max().item<float>();
        Assert.True(recErr <= 1e-4, $"Reconstruct max error {recErr:E2}");
    }

    [Fact]
    public void TemperatureZeroGivesThePriorModeDeterministically()
    {
        TorchRuntime.Seed(20);
        using var model = new GlowModel(Tiny, torch.CPU);
        using var runner = new StepRunner(model);
        using (var s0 = torch.NewDisposeScope())
        {
            var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
            runner.Step(im, lb);
        }
        using var scope = torch.NewDisposeScope();
        Perturb(model.Network, 0.05);                                            // non-trivial priors
        torch.manual_seed(1);
        var a = model.Sample(3, null, 0.0);
        torch.manual_seed(2);
        var b = model.Sample(3, null, 0.0);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.Equal(a[0].data<float>().ToArray(), a[2].data<float>().ToArray());
        // The mode is the decoded prior means: top mean, then each split's mean given what is above it.
        var modeByHand = model.Network.Inverse(null, 1, 0.0);
        using (torch.no_grad()) Assert.True(((modeByHand + 0.5).clamp(0, 1) - a[0]).abs().max().item<float>() < 1e-6f);
        // T = 1 draws differ.
        var c = model.Sample(3, null, 1.0);
        Assert.True((c[0] - c[1]).abs().max().item<float>() > 1e-3f);
        Assert.Equal(new long[] { 3, 1, 28, 28 }, c.shape);
        Assert.True(c.min().item<float>() >= 0 && c.max().item<float>() <= 1);
    }

    // ------------------------------------------------------------------ training, checkpoints, config

    [Fact]
    public void TrainingLowersTheLoss()
    {
        TorchRuntime.Seed(21);
        using var model = new GlowModel(Tiny with { HiddenChannels = 16, WarmupSteps = 5, LearningRate = 2e-3 }, torch.CPU);
        using var runner = new StepRunner(model);
        var loader = new BatchLoader(TestData.Train, 8, 0);
        var losses = new List<double>();
        for (int s = 0; s < 40; s++)
        {
            using var scope = torch.NewDisposeScope();
            var (im, lb) = loader.GetBatch(s);
            losses.Add(runner.Step(im, lb)["loss"]);
        }
        double start = losses.Take(5).Average(), end = losses.Skip(35).Average();
        Assert.True(end < start - 100, $"loss start {start:F1} end {end:F1} nats");
        Assert.Equal(40L, runner.StepsDone);
    }

    [Fact]
    public void SaveLoadSampleGivesIdenticalSamplesAndKeepsActNormInit()
    {
        TorchRuntime.Seed(22);
        var config = Tiny with { LuDecomposed = true };
        using var model = FamilyRegistry.Get("glow").Build(config, torch.CPU);
        using var runner = new StepRunner(model.Trainable());
        Assert.IsType<GlowModel>(model);
        var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
        using (var scope = torch.NewDisposeScope()) runner.Step(im, lb);

        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "glow", ["config"] = ConfigJson.ToJson(config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        Assert.Equal(config, loaded.Model.Config);

        torch.manual_seed(7);
        using var a = ((IImageSampler)model).Sample(4, null)!;
        torch.manual_seed(7);
        using var b = ((IImageSampler)loaded.Model).Sample(4, null)!;
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());

        // The loaded ActNorms are initialised: a training-mode pass on other data leaves them alone.
        var net = ((GlowModel)loaded.Model).Network;
        var first = net.Levels[0].Steps[0].ActNorm;
        Assert.True(first.IsInitialized);
        var before = first.Bias.detach().clone();
        using (torch.no_grad())
        {
            net.train();
            net.Forward(torch.rand(4, 1, 28, 28) * 0.2 - 0.4);
        }
        Assert.Equal(before.data<float>().ToArray(), first.Bias.detach().data<float>().ToArray());
        Assert.DoesNotContain("steps_done", ModuleState.Collect(net).Keys);   // the step counter lives in the trainer state
    }

    [Fact]
    public void ConfigRoundTripsThroughJsonWithOverrides()
    {
        var json = ConfigJson.ToJson(new GlowConfig());
        Assert.Equal(2, json["levels"]!.GetValue<int>());
        ConfigJson.ApplyOverrides(json, typeof(GlowConfig), new[] { "lu_decomposed=false", "steps_per_level=3", "hidden_channels=32", "grad_clip=0" });
        Assert.Equal(new GlowConfig { LuDecomposed = false, StepsPerLevel = 3, HiddenChannels = 32, GradClip = 0 }, ConfigJson.FromJson<GlowConfig>(json));
        Assert.Equal("glow", FamilyRegistry.Get("glow").Name);
    }

    [Fact]
    public void InvalidConfigNamesTheField()
    {
        (string Field, GlowConfig Config)[] bad =
        {
            ("levels", Tiny with { Levels = 0 }),
            ("image_size", Tiny with { Levels = 3 }),                              // 28 is not divisible by 8
            ("steps_per_level", Tiny with { StepsPerLevel = 0 }),
            ("hidden_channels", Tiny with { HiddenChannels = 0 }),
            ("learning_rate", Tiny with { LearningRate = 0 }),
            ("grad_clip", Tiny with { GradClip = -1 }),
            ("warmup_steps", Tiny with { WarmupSteps = -1 }),
        };
        foreach (var (field, config) in bad)
            Assert.Contains(field, Assert.Throws<GenSharpException>(() => config.Validate()).Message);
        (Tiny with { ImageSize = 32, Levels = 3 }).Validate();
        Tiny.Validate();
    }
}
