using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Energy;
using GenSharp.Runtime;
using System.Text.Json.Nodes;
using TorchSharp;
using GenSharp.Training;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class EbmTests
{
    static EbmConfig Tiny => new()
    {
        Channels = 4, LangevinSteps = 3, ReplaySize = 32, SampleSteps = 3, DenoiseSteps = 2, LearningRate = 1e-3,
    };

    /// <summary>E(x) = Σᵢ (xᵢ − μᵢ)² / (2 vᵢ), per row of x (B, 2): the energy of N(μ, diag v).</summary>
    static Func<Tensor, Tensor> Gaussian(Tensor mu, Tensor var) => x => ((x - mu).square() / (2 * var)).sum(1);

    [Fact]
    public void LangevinWithNoiseSquaredEqualStepDrawsTheGaussian()
    {
        TorchRuntime.Seed(0);
        using var mu = torch.tensor(new[] { 1.0f, -2.0f });
        using var var = torch.tensor(new[] { 0.5f, 2.0f });
        const double eps = 0.02;
        using var start = torch.randn(4000, 2);
        // 3000 steps: the slowest coordinate relaxes at rate ε/(2v) = 0.005 per step, e^{-15} of the start is left.
        using var x = Langevin.Run(Gaussian(mu, var), start, 3000, eps, Math.Sqrt(eps));
        var mean = x.mean(new long[] { 0 }).data<float>().ToArray();
        var v = x.var(0).data<float>().ToArray();
        // Standard errors: mean √(v/n) ≤ 0.023, variance v·√(2/n) ≤ 2.2%; ULA's own bias is v·ε/(4v) ≲ 1%.
        Assert.InRange(mean[0], 1 - 0.06, 1 + 0.06);
        Assert.InRange(mean[1], -2 - 0.1, -2 + 0.1);
        Assert.InRange(v[0], 0.5 * 0.92, 0.5 * 1.08);
        Assert.InRange(v[1], 2.0 * 0.92, 2.0 * 1.08);

        // The other convention (σ² = 2ε with drift ε/2·∇E) targets a doubled variance: the test tells them apart.
        using var wrong = Langevin.Run(Gaussian(mu, var), start, 3000, eps, Math.Sqrt(2 * eps));
        Assert.InRange(wrong.var(0).data<float>()[0], 0.5 * 1.7, 0.5 * 2.3);
    }

    [Fact]
    public void ClampedLangevinKeepsKnownEntriesExactly()
    {
        TorchRuntime.Seed(1);
        using var mu = torch.zeros(2);
        using var var = torch.ones(2);
        using var start = torch.randn(100, 2);
        using var known = torch.full(100, 2, 3.25f);
        using var mask = torch.tensor(new[] { true, false }).view(1, 2);
        using var x = Langevin.Run(Gaussian(mu, var), start, 50, 0.1, Math.Sqrt(0.1), knownMask: mask, known: known);
        Assert.All(x.select(1, 0).data<float>().ToArray(), v => Assert.Equal(3.25f, v));
        Assert.True(x.select(1, 1).std().item<float>() > 0.5);   // the free coordinate moved
    }

    [Fact]
    public void InpaintingKeepsKnownPixelsOfTheInputExactly()
    {
        TorchRuntime.Seed(2);
        using var model = new EbmModel(Tiny, torch.CPU);
        using var images = torch.randint(0, 256, new long[] { 3, 1, 28, 28 }, dtype: ScalarType.Byte);
        using var mask = GenSharp.Pipelines.InpaintMasks.FromSpec("top", 28, 0);                 // (1, 1, 28, 28), top half known
        using var done = model.Inpaint(images, mask.expand(3, 1, 28, 28), steps: 4);
        Assert.Equal(new long[] { 3, 1, 28, 28 }, done.shape);
        using var original = ImageTransforms.ToFloat(images, PixelScale.ZeroOne);
        var m = mask.expand(3, 1, 28, 28);
        Assert.Equal(original.masked_select(m).data<float>().ToArray(), done.masked_select(m).data<float>().ToArray());
        Assert.True((done - original).abs().masked_select(m.logical_not()).mean().item<float>() > 0.05);   // unknown part is generated
        Assert.InRange(done.min().item<float>(), 0, 1);
        Assert.InRange(done.max().item<float>(), 0, 1);

        // With a generator the whole inpainting (start and Langevin noise) is drawn from it, not from the global RNG.
        Tensor Seeded(long globalSeed)
        {
            TorchRuntime.Seed(globalSeed);
            using var gen = new torch.Generator(11);
            return model.Inpaint(images, mask.expand(3, 1, 28, 28), steps: 3, gen: gen);
        }
        using Tensor a = Seeded(1), b = Seeded(2);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }

    [Fact]
    public void ReplayBufferMixesFreshNoiseAtTheConfiguredRate()
    {
        TorchRuntime.Seed(3);
        using var buffer = torch.full(new long[] { 500, 1, 2, 2 }, 5f);   // outside [-1, 1], so fresh starts are recognisable
        var (starts, indices, fresh) = ReplayBuffer.Draw(buffer, 20_000, 0.05);
        var isNoise = starts.flatten(1).abs().max(1).values <= 1;       // (n)
        Assert.Equal(fresh.data<bool>().ToArray(), isNoise.data<bool>().ToArray());
        double rate = fresh.to_type(ScalarType.Float32).mean().item<float>();
        Assert.InRange(rate, 0.05 - 0.0062, 0.05 + 0.0062);              // 4 standard errors (0.0015)
        Assert.InRange(indices.min().item<long>(), 0, 499);
        Assert.InRange(indices.max().item<long>(), 0, 499);
        Assert.True(indices.unique().Item1.shape[0] > 450);             // spread over the buffer
        using var some = torch.tensor(new long[] { 3, 7 });
        ReplayBuffer.Store(buffer, some, torch.zeros(2, 1, 2, 2));
        Assert.Equal(0f, buffer[3].abs().sum().item<float>());
        Assert.Equal(20f, buffer[4].sum().item<float>());
        var (none, _, f0) = ReplayBuffer.Draw(buffer, 100, 0.0);
        Assert.False(f0.any().item<bool>());
    }

    [Fact]
    public void TrainingLowersDataEnergyRelativeToNoise()
    {
        TorchRuntime.Seed(4);
        using var model = new EbmModel(Tiny with { SpectralNorm = false, EnergyPenalty = 0.1 }, torch.CPU);
        using var runner = new StepRunner(model);
        var (im, lb) = new BatchLoader(TestData.Train, 16, 0).GetBatch(0);
        using var noise = torch.rand(16, 1, 28, 28) * 2 - 1;
        double Gap()
        {
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            return (model.Energy(ImageTransforms.ToFloat(im, PixelScale.MinusOneOne)).mean() - model.Energy(noise).mean()).item<float>();
        }
        double before = Gap();
        var replayBefore = model.Network.Replay.clone();
        IReadOnlyDictionary<string, double> m = null!;
        for (int i = 0; i < 5; i++)
        {
            using var scope = torch.NewDisposeScope();
            m = runner.Step(im, lb);
        }
        double after = Gap();
        Assert.True(after < before - 1e-3, $"E(data) − E(noise) went from {before} to {after}");
        Assert.Equal(m["e_pos"] - m["e_neg"], m["cd"], 4);
        Assert.True(m.ContainsKey("grad_norm"));
        Assert.False(replayBefore.equal(model.Network.Replay).all().item<bool>());       // the chains' end points were written back
    }

    [Fact]
    public void SaveLoadSampleRoundTripKeepsWeightsAndReplayBuffer()
    {
        TorchRuntime.Seed(5);
        var config = Tiny;
        using var model = new EbmModel(config, torch.CPU);
        using var runner = new StepRunner(model);
        var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
        using (var scope = torch.NewDisposeScope()) runner.Step(im, lb);
        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "ebm", ["config"] = ConfigJson.ToJson(config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        Assert.Equal(config, loaded.Model.Config);
        var names = ModuleState.Collect(loaded.Model.Model).Keys.ToArray();
        Assert.Contains("replay", names);
        Assert.Contains("conv1.weight_orig", names);
        Assert.True(model.Network.Replay.equal(((EbmModel)loaded.Model).Network.Replay).all().item<bool>());
        torch.manual_seed(7);
        using var a = model.Sample(4, null)!;
        torch.manual_seed(7);
        using var b = ((IImageSampler)loaded.Model).Sample(4, null)!;
        Assert.Equal(new long[] { 4, 1, 28, 28 }, a.shape);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.InRange(a.min().item<float>(), 0, 1);
        Assert.InRange(a.max().item<float>(), 0, 1);
        using var x = ImageTransforms.ToFloat(im, PixelScale.MinusOneOne);
        using var scores = ((ILikelihoodModel)loaded.Model).NegativeLogLikelihood(im);
        using var e = model.Energy(x).detach();
        Assert.Equal(e.data<float>().ToArray(), scores.data<float>().ToArray());
        using var den = ((EbmModel)loaded.Model).Denoise(x.narrow(0, 0, 2) * 0.5 + 0.5);
        Assert.Equal(new long[] { 2, 1, 28, 28 }, den.shape);
    }

    [Theory]
    [InlineData("langevin_step", "0", "langevin_step")]
    [InlineData("langevin_steps", "0", "langevin_steps")]
    [InlineData("fresh_fraction", "1.5", "fresh_fraction")]
    [InlineData("replay_size", "0", "replay_size")]
    [InlineData("energy_penalty", "-1", "energy_penalty")]
    [InlineData("sample_init", "\"buf\"", "sample_init")]
    public void ConfigValidationNamesTheField(string field, string value, string expected)
    {
        var json = JsonNode.Parse($"{{\"{field}\": {value}}}")!.AsObject();
        var ex = Assert.Throws<GenSharpException>(() => FamilyRegistry.Get("ebm").ReadConfig(json));
        Assert.Contains(expected, ex.Message);
    }
}
