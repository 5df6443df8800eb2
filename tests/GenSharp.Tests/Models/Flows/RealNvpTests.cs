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

public class RealNvpTests
{
    /// <summary>28×28, three scales, two-channel conditioners: builds and trains in well under a second per step.</summary>
    static RealNvpConfig Tiny => new() { CouplingChannels = 4, ResidualBlocks = 1 };

    /// <summary>8×8×1, two scales (8 → 4): 64 dimensions, small enough for a brute-force Jacobian of the whole flow.</summary>
    static RealNvpConfig Small8 => new() { ImageSize = 8, Scales = 2, CouplingChannels = 4, ResidualBlocks = 1 };

    /// <summary>Moves every parameter and buffer away from its identity initialisation (variances stay positive).</summary>
    static void Randomize(nn.Module m, double std = 0.3)
    {
        using var _ = torch.no_grad();
        foreach (var (_, p) in m.named_parameters()) p.copy_(torch.randn_like(p) * std);
        foreach (var (name, b) in m.named_buffers())
        {
            if (name.EndsWith("running_var")) b.copy_(torch.rand_like(b) + 0.5);
            else if (name.EndsWith("running_mean")) b.copy_(torch.randn_like(b) * 0.5);
        }
    }

    static Tensor X64(params long[] shape) => torch.rand(shape, dtype: ScalarType.Float64);

    [Theory]
    [InlineData(0.05)]
    [InlineData(1e-6)]
    public void LogitTransformInvertsAndItsLogDetIsTheJacobians(double alpha)
    {
        TorchRuntime.Seed(10);
        using var layer = new LogitTransform(alpha);
        FlowAssert.InvertsExactly(layer, X64(3, 2, 4, 4) * 0.98 + 0.01, 1e-9);
        FlowAssert.LogDetMatchesJacobian(layer, X64(2, 1, 3, 3));
        // By hand: x = 0 maps to logit(α), x → 1 to logit(1 − α).
        using var y = layer.Forward(torch.zeros(1, 1, 1, 1, dtype: ScalarType.Float64)).Y;
        Assert.Equal(Math.Log(alpha / (1 - alpha)), y.item<double>(), 9);
    }

    [Theory]
    [InlineData(AffineCoupling.MaskKind.Checkerboard, 0, 1)]
    [InlineData(AffineCoupling.MaskKind.Checkerboard, 1, 2)]
    [InlineData(AffineCoupling.MaskKind.Channel, 0, 4)]
    [InlineData(AffineCoupling.MaskKind.Channel, 1, 4)]
    public void AffineCouplingInvertsAndItsLogDetIsTheJacobians(AffineCoupling.MaskKind kind, int parity, int channels)
    {
        TorchRuntime.Seed(11);
        using var layer = new AffineCoupling(channels, kind, parity, width: 3, residualBlocks: 1);
        layer.to(ScalarType.Float64);
        Randomize(layer);
        var x = torch.randn(3, channels, 4, 4, dtype: ScalarType.Float64);
        FlowAssert.InvertsExactly(layer, x, 1e-9);
        FlowAssert.LogDetMatchesJacobian(layer, torch.randn(2, channels, 2, 4, dtype: ScalarType.Float64));

        // The entries with b = 1 pass unchanged, every other entry changes, and the two parities split the entries.
        using var _ = torch.no_grad();
        var (y, _) = layer.Forward(x);
        var b = layer.Mask(4, 4, ScalarType.Float64, torch.CPU).expand_as(x);
        Assert.Equal(0.0, ((y - x) * b).abs().max().item<double>());
        Assert.True(((y - x).abs() + b).min().item<double>() > 0, "an entry with b = 0 was left unchanged");
        using var other = new AffineCoupling(channels, kind, 1 - parity, 3, 1);
        var b2 = other.Mask(4, 4, ScalarType.Float64, torch.CPU).expand_as(x);
        Assert.Equal(1.0, (b + b2).min().item<double>());
        Assert.Equal(1.0, (b + b2).max().item<double>());
    }

    [Fact]
    public void NewCouplingLayersAreTheIdentity()
    {
        TorchRuntime.Seed(12);
        using var layer = new AffineCoupling(4, AffineCoupling.MaskKind.Channel, 0, 8, 2);
        using var _ = torch.no_grad();
        var x = torch.randn(2, 4, 6, 6);
        var (y, logDet) = layer.Forward(x);
        Assert.Equal(0.0, (y - x).abs().max().item<float>());
        Assert.Equal(0.0, logDet.abs().max().item<float>());
    }

    [Fact]
    public void BatchNormFlowInEvalModeInvertsAndItsLogDetIsTheJacobians()
    {
        TorchRuntime.Seed(13);
        using var layer = new BatchNormFlow(3);
        layer.to(ScalarType.Float64);
        Randomize(layer);
        layer.eval();
        FlowAssert.InvertsExactly(layer, torch.randn(4, 3, 3, 3, dtype: ScalarType.Float64), 1e-9);
        FlowAssert.LogDetMatchesJacobian(layer, torch.randn(2, 3, 2, 2, dtype: ScalarType.Float64));
    }

    [Fact]
    public void BatchNormFlowInTrainingUsesBatchStatisticsAndUpdatesTheRunningAverages()
    {
        TorchRuntime.Seed(14);
        using var layer = new BatchNormFlow(2, momentum: 0.05, eps: 1e-4);
        layer.to(ScalarType.Float64);
        Randomize(layer);
        using var _ = torch.no_grad();
        var rm0 = layer.RunningMean.clone();
        var rv0 = layer.RunningVar.clone();
        var x = torch.randn(5, 2, 3, 3, dtype: ScalarType.Float64) * 2 + 1;
        layer.train();
        var (yTrain, ldTrain) = layer.Forward(x);

        // Statistics computed independently, per channel, from the flattened values.
        var perChannel = x.transpose(0, 1).reshape(2, -1);                   // (C, B·H·W)
        var mean = perChannel.mean(new long[] { 1 });
        var variance = perChannel.var(1, unbiased: false);
        Assert.True((layer.RunningMean - (rm0 * 0.95 + mean * 0.05)).abs().max().item<double>() < 1e-12);
        Assert.True((layer.RunningVar - (rv0 * 0.95 + variance * 0.05)).abs().max().item<double>() < 1e-12);

        // The train-mode map with its statistics held fixed is the eval-mode map of a layer whose running
        // averages are those statistics: same output, same log-det, and that log-det is the Jacobian's.
        using var frozen = new BatchNormFlow(2, eps: 1e-4);
        frozen.to(ScalarType.Float64);
        frozen.LogGamma.copy_(layer.LogGamma);
        frozen.Beta.copy_(layer.Beta);
        frozen.RunningMean.copy_(mean);
        frozen.RunningVar.copy_(variance);
        frozen.eval();
        var (yFrozen, ldFrozen) = frozen.Forward(x);
        Assert.True((yTrain - yFrozen).abs().max().item<double>() < 1e-12);
        Assert.True((ldTrain - ldFrozen).abs().max().item<double>() < 1e-9);
        using (torch.enable_grad()) FlowAssert.LogDetMatchesJacobian(frozen, x.narrow(0, 0, 2));
        // Batch normalisation: each channel of the train-mode output has mean β and standard deviation ≈ γ.
        var outMean = yTrain.transpose(0, 1).reshape(2, -1).mean(new long[] { 1 });
        Assert.True((outMean - layer.Beta).abs().max().item<double>() < 1e-9);
    }

    [Fact]
    public void RealNvpActNormInvertsAndItsLogDetIsTheJacobians()
    {
        TorchRuntime.Seed(15);
        using var layer = new RealNvpActNorm(3);
        layer.to(ScalarType.Float64);
        Randomize(layer);
        FlowAssert.InvertsExactly(layer, torch.randn(2, 3, 4, 4, dtype: ScalarType.Float64), 1e-9);
        FlowAssert.LogDetMatchesJacobian(layer, torch.randn(2, 3, 2, 2, dtype: ScalarType.Float64));
    }

    [Theory]
    [InlineData(false, RealNvpNorm.Batchnorm)]
    [InlineData(true, RealNvpNorm.Batchnorm)]
    [InlineData(false, RealNvpNorm.Actnorm)]
    [InlineData(true, RealNvpNorm.None)]
    public void AScaleInvertsAndItsLogDetIsTheJacobians(bool final, RealNvpNorm norm)
    {
        TorchRuntime.Seed(16);
        using var scale = new RealNvpScale(2, final, Small8 with { CouplingChannels = 3, Norm = norm });
        scale.to(ScalarType.Float64);
        Randomize(scale, 0.2);
        scale.eval();
        int couplings = scale.Layers.Count(l => l is AffineCoupling), norms = scale.Layers.Count(l => l is BatchNormFlow or RealNvpActNorm);
        Assert.Equal(final ? 4 : 6, couplings);
        Assert.Equal(norm == RealNvpNorm.None ? 0 : couplings, norms);
        Assert.Equal(final ? 0 : 1, scale.Layers.Count(l => l is Squeeze));
        FlowAssert.InvertsExactly(scale, torch.randn(3, 2, 4, 4, dtype: ScalarType.Float64), 1e-8);
        FlowAssert.LogDetMatchesJacobian(scale, torch.randn(2, 2, 4, 4, dtype: ScalarType.Float64), 1e-6);
    }

    [Fact]
    public void TheWholeFlowsLogDensityIsTheChangeOfVariablesByBruteForce()
    {
        TorchRuntime.Seed(17);
        using var flow = new RealNvpFlow(Small8);
        flow.to(ScalarType.Float64);
        Randomize(flow, 0.2);
        flow.eval();
        Assert.Equal(new[] { (2L, 4L, 4L), (2L, 4L, 4L) }, flow.LatentShapes.Select(s => (s.C, s.H, s.W)).ToArray());
        var x = X64(2, 1, 8, 8) * 0.98 + 0.01;
        var logp = flow.LogProb(x).detach();
        for (long i = 0; i < 2; i++)
        {
            // Independent: the Jacobian of x ↦ (all latents, concatenated) from autograd, one row per output.
            var xi = x.narrow(0, i, 1).detach().clone().requires_grad_(true);
            var z = RealNvpFlow.Flatten(flow.Forward(xi).Latents).flatten();   // (64)
            var rows = Enumerable.Range(0, 64).Select(k =>
                torch.autograd.grad(new[] { z[k] }, new[] { xi }, retain_graph: true)[0].flatten()).ToArray();
            var (_, logAbsDet) = torch.linalg.slogdet(torch.stack(rows));
            var zd = z.detach();
            double logN = -0.5 * zd.square().sum().item<double>() - 32 * Math.Log(2 * Math.PI);
            Assert.Equal(logN + logAbsDet.item<double>(), logp[i].item<double>(), 6);
        }
        // And the inverse of the whole multi-scale flow is exact.
        using var _ = torch.no_grad();
        var back = flow.Inverse(flow.Forward(x).Latents);
        Assert.True((back - x).abs().max().item<double>() < 1e-9);
    }

    static (Tensor Images, Tensor Labels) Batch(int n, int index = 0) => new BatchLoader(TestData.Train, n, 0).GetBatch(index);

    static void Train(RealNvpModel model, int steps, int batch = 8)
    {
        var loader = new BatchLoader(TestData.Train, batch, 0);
        using var runner = new StepRunner(model);
        for (int s = 0; s < steps; s++)
        {
            using var scope = torch.NewDisposeScope();
            var (im, lb) = loader.GetBatch(s);
            runner.Step(im, lb);
        }
    }

    [Fact]
    public void EncodeDecodeIsExactOnRealImagesAndShapesAreRight()
    {
        TorchRuntime.Seed(18);
        using var model = new RealNvpModel(Tiny, torch.CPU);
        Train(model, 3);   // weights and running statistics move away from their initial values
        using var scope = torch.NewDisposeScope();
        var (im, _) = Batch(16);
        var z = model.Encode(im);
        Assert.Equal(new long[] { 16, 784 }, z.shape);
        Assert.Equal(784, model.LatentDim);
        Assert.Equal(new[] { 392L, 196, 196 }, model.Flow.LatentShapes.Select(s => s.C * s.H * s.W).ToArray());
        var x = model.Decode(z);
        var centres = (im.to(ScalarType.Float32) + 0.5) / 256;
        double err = (x - centres).abs().max().item<float>();
        Assert.True(err <= 1e-4, $"max |decode(encode(x)) − x| = {err}");
        // Reconstruct works on intensities in [0,1] and returns them.
        var x01 = ImageTransforms.ToFloat(im, PixelScale.ZeroOne);
        Assert.True((model.Reconstruct(x01) - x01).abs().max().item<float>() <= 1e-4);
        var s = model.Sample(5, null)!;
        Assert.Equal(new long[] { 5, 1, 28, 28 }, s.shape);
        Assert.True(s.min().item<float>() >= 0 && s.max().item<float>() <= 1);
    }

    [Fact]
    public void LikelihoodBookkeepingAgreesWithItsParts()
    {
        TorchRuntime.Seed(19);
        using var model = new RealNvpModel(Tiny, torch.CPU);
        Train(model, 3);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var (im, _) = Batch(6);
        model.Flow.eval();

        // NegativeLogLikelihood = −(Σ log N(z_i) + Σ log-dets) + D·log 256 on the same dequantized images (seed 0),
        // with the sum of log-dets collected layer by layer.
        using (var gen = new Generator(0))
        {
            var y = ImageTransforms.Dequantize(im, gen);
            double layerLogDets = 0;
            var seen = new List<string>();
            var (latents, logDet) = model.Flow.Forward(y, (name, _, ld) => { seen.Add(name); layerLogDets += ld[0].item<float>(); });
            Assert.Equal(1 + 2 * (6 + 6 + 1) + (4 + 4), seen.Count);   // logit, 2 middle scales (6 couplings, 6 norms, a squeeze), final (4 couplings, 4 norms)
            Assert.Equal(logDet[0].item<float>(), layerLogDets, 1);
            double prior = latents.Sum(z => (-0.5 * z[0].square().sum().item<float>()) - 0.5 * z[0].numel() * Math.Log(2 * Math.PI));
            double expected = -(prior + logDet[0].item<float>()) + 784 * Math.Log(256);
            Assert.Equal(expected, model.NegativeLogLikelihood(im)[0].item<float>(), 0);
        }
        // EvaluateBatch sums the same numbers over the batch when seeded alike; items are scored independently
        // of their batch in eval mode.
        var nll = model.NegativeLogLikelihood(im);
        Assert.Equal(nll.sum().item<float>(), model.EvaluateBatch(im, new EvalSettings(Seed: 0))["nll"], 0);
        var alone = model.NegativeLogLikelihood(im.narrow(0, 0, 1));
        Assert.Equal(nll[0].item<float>(), alone[0].item<float>(), 1);
    }

    [Fact]
    public void TrainingLowersTheLossAndReportsBitsPerDim()
    {
        TorchRuntime.Seed(20);
        using var model = new RealNvpModel(Tiny with { LearningRate = 3e-3 }, torch.CPU);
        using var runner = new StepRunner(model);
        var loader = new BatchLoader(TestData.Train, 8, 0);
        var losses = new List<double>();
        for (int s = 0; s < 30; s++)
        {
            using var scope = torch.NewDisposeScope();
            var (im, lb) = loader.GetBatch(s);
            var m = runner.Step(im, lb);
            Assert.Equal(m["loss"] / (784 * Math.Log(2)), m["bpd"], 9);
            losses.Add(m["loss"]);
        }
        Assert.True(losses.Skip(25).Average() < losses.Take(3).Average() - 200,
            $"loss start {losses.Take(3).Average():F1} end {losses.Skip(25).Average():F1} nats");
    }

    [Fact]
    public void TemperatureZeroGivesThePriorModeDeterministically()
    {
        TorchRuntime.Seed(21);
        using var model = new RealNvpModel(Tiny, torch.CPU);
        Train(model, 2);
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        var a = model.Sample(3, null, 0.0);
        torch.manual_seed(2);
        var b = model.Sample(3, null, 0.0);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        var mode = model.Decode(torch.zeros(3, 784)).cpu();
        Assert.True((a - mode).abs().max().item<float>() < 1e-6);
        // Temperature matters: T = 1 draws differ from the mode.
        torch.manual_seed(1);
        Assert.True((model.Sample(3, null, 1.0) - a).abs().max().item<float>() > 1e-3);
    }

    [Theory]
    [InlineData(RealNvpNorm.Batchnorm)]
    [InlineData(RealNvpNorm.Actnorm)]
    public void SaveLoadSampleGivesIdenticalSamples(RealNvpNorm norm)
    {
        TorchRuntime.Seed(22);
        var config = Tiny with { Norm = norm };
        var family = FamilyRegistry.Get("realnvp");
        using var model = family.Build(config, torch.CPU);
        using var runner = new StepRunner(model.Trainable());
        var (im, lb) = Batch(8);
        using (var scope = torch.NewDisposeScope()) runner.Step(im, lb);

        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "realnvp", ["config"] = ConfigJson.ToJson(config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        var names = ModuleState.Collect(model.Model).Keys.ToList();
        Assert.Contains("scales.0.layers.0.conditioner.out_conv.weight", names);
        Assert.Contains("scales.0.layers.0.scale", names);
        if (norm == RealNvpNorm.Batchnorm) Assert.Contains("scales.0.layers.1.running_var", names);
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        Assert.Equal(config, loaded.Model.Config);
        torch.manual_seed(7);
        using var a = ((IImageSampler)model).Sample(4, null)!;
        torch.manual_seed(7);
        using var b = ((IImageSampler)loaded.Model).Sample(4, null)!;
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }

    [Fact]
    public void ANonFiniteLossStopsTrainingAndNamesTheLayer()
    {
        TorchRuntime.Seed(23);
        using var model = new RealNvpModel(Tiny, torch.CPU);
        using var runner = new StepRunner(model);
        using (torch.no_grad())
        {
            var p = model.Flow.named_parameters().First(p => p.name == "scales.1.layers.2.scale").parameter;
            p.fill_(double.NaN);
        }
        var (im, lb) = Batch(8);
        var e = Assert.Throws<TrainingDivergedException>(() => runner.Step(im, lb));
        Assert.Contains("scales.1.layers.2", e.Message);
        Assert.Contains("learning_rate", e.Message);
    }

    [Fact]
    public void InvalidConfigNamesTheField()
    {
        Assert.Contains("image_size", Assert.Throws<GenSharpException>(() => new RealNvpConfig { ImageSize = 12, Scales = 4 }.Validate()).Message);
        new RealNvpConfig { ImageSize = 12, Scales = 3 }.Validate();
        Assert.Contains("scales", Assert.Throws<GenSharpException>(() => new RealNvpConfig { Scales = 0 }.Validate()).Message);
        Assert.Contains("coupling_channels", Assert.Throws<GenSharpException>(() => new RealNvpConfig { CouplingChannels = 0 }.Validate()).Message);
        Assert.Contains("residual_blocks", Assert.Throws<GenSharpException>(() => new RealNvpConfig { ResidualBlocks = -1 }.Validate()).Message);
        Assert.Contains("logit_alpha", Assert.Throws<GenSharpException>(() => new RealNvpConfig { LogitAlpha = 0.5 }.Validate()).Message);
        Assert.Contains("grad_clip", Assert.Throws<GenSharpException>(() => new RealNvpConfig { GradClip = -1 }.Validate()).Message);
        Assert.Contains("weight_decay", Assert.Throws<GenSharpException>(() => new RealNvpConfig { WeightDecay = -1 }.Validate()).Message);
        Assert.Contains("learning_rate", Assert.Throws<GenSharpException>(() => new RealNvpConfig { LearningRate = 0 }.Validate()).Message);
        var family = FamilyRegistry.Get("realnvp");
        Assert.Contains("norm", Assert.Throws<GenSharpException>(() => family.ReadConfig(new JsonObject { ["norm"] = "layernorm" })).Message);
        var json = ConfigJson.ToJson(new RealNvpConfig { Norm = RealNvpNorm.Actnorm });
        Assert.Equal("actnorm", json["norm"]!.GetValue<string>());
        Assert.Equal(new RealNvpConfig { Norm = RealNvpNorm.Actnorm }, family.ReadConfig(json));
    }
}
