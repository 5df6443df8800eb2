using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Diffusion;
using GenSharp.Models.Vae;
using GenSharp.Runtime;
using GenSharp.Sampling;
using TorchSharp;
using GenSharp.Training;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class DiffusionTests
{
    /// <summary>8×8 images, two levels (8 → 4), attention at 4×4, T = 20.</summary>
    static DdpmConfig Tiny => new()
    {
        ImageSize = 8, BaseChannels = 8, ChannelMult = new[] { 1, 2 }, ResBlocks = 1, AttentionResolutions = new[] { 4 },
        AttentionHeads = 2, NormGroups = 4, Timesteps = 20, SamplerSteps = 5, NumClasses = 3,
    };

    /// <summary>Moves every parameter away from its initialisation (the output conv starts at zero).</summary>
    static void Perturb(nn.Module module, double scale = 0.1)
    {
        using var _ = torch.no_grad();
        foreach (var p in module.parameters()) p.add_(torch.randn_like(p) * scale);
    }

    static Tensor RandomImages(long n, int size, int channels = 1) =>
        torch.randint(0, 256, new long[] { n, channels, size, size }, dtype: ScalarType.Byte);

    [Fact]
    public void UNetOutputHasTheInputShapeAtEveryGeometry()
    {
        TorchRuntime.Seed(1);
        using var scope = torch.NewDisposeScope();
        foreach (var c in new[]
                 {
                     Tiny,
                     Tiny with { ImageSize = 16, ImageChannels = 3, ChannelMult = new[] { 1, 2, 2 }, ResBlocks = 2, Conditional = true },
                     new DdpmConfig(),   // the default 28 → 14 → 7 UNet
                 })
        {
            // Prepared as DdpmModel runs it: a bare UNet with channels off oneDNN's 16-blocks takes its padded path, whose
            // reads of uninitialised padding can turn 0 · garbage into NaN (docs/benchmarks.md, "The oneDNN defect").
            using var net = ConvolutionLayout.Prepare(new DdpmUNet(c), blockedOnBlock: true);
            var x = torch.randn(2, c.ImageChannels, c.ImageSize, c.ImageSize);
            var y = net.Forward(x, torch.tensor(new long[] { 0, c.Timesteps - 1 }), c.Conditional ? torch.tensor(new long[] { 0, c.NumClasses }) : null);
            Assert.Equal(x.shape, y.shape);
            // The output conv is zero-initialised, so a fresh UNet predicts exactly 0.
            Assert.Equal(0f, y.abs().max().item<float>());
        }
    }

    [Fact]
    public void DefaultUNetKeysAndParameterCount()
    {
        using var net = new DdpmUNet(new DdpmConfig());
        var keys = net.state_dict().Keys.ToHashSet();
        foreach (var k in new[] { "time_mlp.0.weight", "time_mlp.2.weight", "conv_in.weight", "down.0.blocks.0.conv1.weight",
                                  "down.0.resample.weight", "down.2.attentions.0.qkv.weight", "mid_attention.proj.weight",
                                  "up.0.blocks.1.skip.weight", "up.1.resample.weight", "norm_out.weight", "conv_out.weight" })
            Assert.Contains(k, keys);
        Assert.DoesNotContain("down.2.resample.weight", keys);   // the deepest level does not downsample
        Assert.DoesNotContain("up.2.resample.weight", keys);     // nor does the shallowest upsample
        Assert.DoesNotContain("class_embedding.weight", keys);
        // Must match the PyTorch twin (bench/pytorch/ddpm.py).
        Assert.Equal(1_112_801L, net.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void GroupNormsStartAtIdentityAffine()
    {
        // TorchSharp 0.107 leaves GroupNorm's γ, β uninitialised; the UNet sets PyTorch's γ = 1, β = 0.
        using var net = new DdpmUNet(Tiny);
        foreach (var (name, p) in net.named_parameters().Where(kv => kv.name.Contains("norm")))
            Assert.True((p.detach() - (name.EndsWith("weight") ? 1f : 0f)).abs().max().item<float>() == 0, name);
    }

    [Fact]
    public void TimeEmbeddingMatchesTheClosedFormSinusoid()
    {
        var steps = new long[] { 0, 1, 7, 500, 999 };
        const int d = 16;
        using var emb = TimeEmbedding.Sinusoidal(torch.tensor(steps), d);
        Assert.Equal(new long[] { steps.Length, d }, emb.shape);
        var got = emb.data<float>().ToArray();
        for (int b = 0; b < steps.Length; b++)
            for (int i = 0; i < d / 2; i++)
            {
                double w = Math.Pow(10000, -(double)i / (d / 2));
                Assert.Equal(Math.Sin(steps[b] * w), got[b * d + i], 3);
                Assert.Equal(Math.Cos(steps[b] * w), got[b * d + d / 2 + i], 3);
            }
    }

    [Fact]
    public void TrainingStepsLowerTheLossOnAFixedBatch()
    {
        TorchRuntime.Seed(2);
        using var model = new DdpmModel(Tiny with { LearningRate = 2e-3 }, torch.CPU);
        using var runner = new StepRunner(model);
        // One image repeated: the clean image is learnable, so the ε-regression loss must fall quickly.
        var images = RandomImages(1, 8).expand(16, 1, 8, 8).contiguous();
        var labels = torch.zeros(16, dtype: ScalarType.Int64);
        double Eval()
        {
            // Same t and ε draws for both evaluations: seed, then the loss of Algorithm 1 averaged over repeats.
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            torch.manual_seed(123);
            var x0 = ImageTransforms.ToFloat(images, PixelScale.MinusOneOne);
            return Enumerable.Range(0, 8).Average(_ => model.Loss(x0, labels).item<float>());
        }
        double before = Eval();
        for (int s = 0; s < 30; s++)
        {
            using var scope = torch.NewDisposeScope();
            var m = runner.Step(images, labels);
            Assert.True(double.IsFinite(m["loss"]));
        }
        double after = Eval();
        Assert.True(after < 0.7 * before, $"loss before {before:F4}, after {after:F4}");
    }

    [Fact]
    public void VPredictionTrainsToo()
    {
        TorchRuntime.Seed(3);
        using var model = new DdpmModel(Tiny with { Prediction = PredictionType.V, Schedule = BetaSchedule.Cosine }, torch.CPU);
        using var runner = new StepRunner(model);
        using var scope = torch.NewDisposeScope();
        var m = runner.Step(RandomImages(8, 8), torch.zeros(8, dtype: ScalarType.Int64));
        Assert.True(m["loss"] > 0 && double.IsFinite(m["loss"]));
    }

    [Fact]
    public void GuidanceScaleZeroReproducesTheUnconditionalModel()
    {
        TorchRuntime.Seed(4);
        using var model = new DdpmModel(Tiny with { Conditional = true }, torch.CPU);
        Perturb(model.UNet!);
        var scheduler = model.CreateScheduler("ddim", 5);
        var classes = torch.tensor(new long[] { 0, 1, 2, 1 });
        var noClass = torch.full(4, model.NullClass, dtype: ScalarType.Int64);
        using var g1 = new Generator(9);
        var guided0 = model.Sample(4, classes, scheduler, 0.0, g1);
        using var g2 = new Generator(9);
        var unconditional = model.Sample(4, noClass, scheduler, 1.0, g2);
        Assert.Equal(unconditional.data<float>().ToArray(), guided0.data<float>().ToArray());
        // …and the labels do matter at w = 1, so the equality above is not vacuous.
        using var g3 = new Generator(9);
        var conditional = model.Sample(4, classes, scheduler, 1.0, g3);
        Assert.True((conditional - unconditional).abs().max().item<float>() > 1e-4);
    }

    [Fact]
    public void GuidedOutputIsTheCombinationOfSeparatePasses()
    {
        TorchRuntime.Seed(5);
        using var model = new DdpmModel(Tiny with { Conditional = true }, torch.CPU);
        Perturb(model.UNet!);
        model.UNet!.eval();
        using var _ = torch.no_grad();
        var x = torch.randn(3, 1, 8, 8);
        var y = torch.tensor(new long[] { 2, 0, 1 });
        var t = torch.full(3, 11L, dtype: ScalarType.Int64);
        var cond = model.Predict(x, t, y);
        var uncond = model.Predict(x, t, torch.full(3, model.NullClass, dtype: ScalarType.Int64));
        var expected = uncond + 2.5 * (cond - uncond);
        var got = model.Guided(x, 11, y, 2.5);   // one batched forward of 2n
        Assert.True((got - expected).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void InpaintingLeavesKnownPixelsUntouched()
    {
        TorchRuntime.Seed(6);
        using var model = new DdpmModel(Tiny, torch.CPU);
        Perturb(model.UNet!);
        var images = RandomImages(3, 8);
        var mask = GenSharp.Pipelines.InpaintMasks.FromSpec("center", 8, 0);                           // (1, 1, 8, 8), known outside the centre
        Assert.Equal(64 - 16, mask.sum().item<long>());
        using var gen = new Generator(1);
        var result = model.Inpaint(images, mask, null, model.CreateScheduler("ddpm", 20), gen);
        var expected = images.to(ScalarType.Float32) / 255;
        var known = mask.expand_as(result);
        Assert.Equal(expected.masked_select(known).data<float>().ToArray(), result.masked_select(known).data<float>().ToArray());
        // The unknown region is generated, not copied.
        Assert.True((result - expected).masked_select(known.logical_not()).abs().max().item<float>() > 0.05);
    }

    [Fact]
    public void RePaintResamplingKeepsKnownPixelsAndCostsResampleTimesTheCalls()
    {
        TorchRuntime.Seed(6);
        using var model = new DdpmModel(Tiny with { Conditional = false }, torch.CPU);
        Perturb(model.UNet!);
        var images = RandomImages(2, 8);
        var mask = GenSharp.Pipelines.InpaintMasks.FromSpec("left", 8, 0);
        var expected = images.to(ScalarType.Float32) / 255;
        var known = mask.expand_as(expected);
        CountingScheduler? counter = null;
        Tensor Run(int resample, int? jump)
        {
            counter = new CountingScheduler(model.CreateScheduler("ddpm", 6));
            using var gen = new Generator(3);
            return model.Inpaint(images, mask, null, counter, gen, resample, jump);
        }
        var plain = Run(1, null);
        Assert.Equal(6, counter!.Steps);
        var resampled = Run(3, 2);
        Assert.Equal(18, counter!.Steps);     // every 2-step segment three times
        Assert.Equal(expected.masked_select(known).data<float>().ToArray(), resampled.masked_select(known).data<float>().ToArray());
        Assert.True((plain - resampled).abs().max().item<float>() > 1e-3);
        Assert.Equal("jump", Assert.Throws<ParameterException>(() => Run(2, 7)).Parameter);
        Assert.Equal("resample", Assert.Throws<ParameterException>(() => Run(0, 2)).Parameter);
    }

    /// <summary>Delegates to a scheduler and counts its reverse steps (one per network call).</summary>
    sealed class CountingScheduler : DiffusionScheduler
    {
        readonly DiffusionScheduler _inner;
        public CountingScheduler(DiffusionScheduler inner) : base(inner.Schedule, inner.Prediction)
        {
            _inner = inner;
            UseTimesteps(inner.Timesteps);
        }
        public int Steps { get; private set; }
        public override string Name => _inner.Name;
        public override SchedulerStep Step(Tensor modelOutput, long t, Tensor sample, Generator? generator = null)
        {
            Steps++;
            return _inner.Step(modelOutput, t, sample, generator);
        }
    }

    static string SaveCheckpoint(DdpmModel model, DdpmConfig config)
    {
        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "ddpm", ["config"] = ConfigJson.ToJson(config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        return dir;
    }

    [Fact]
    public void SaveLoadSampleGivesIdenticalSamples()
    {
        TorchRuntime.Seed(7);
        var config = Tiny with { Conditional = true, Prediction = PredictionType.V };
        using var model = (DdpmModel)FamilyRegistry.Get("ddpm").Build(config, torch.CPU);
        Perturb(model.UNet!);
        var dir = SaveCheckpoint(model, config);
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        Assert.Equal(config, loaded.Model.Config);   // value equality, channel_mult and attention_resolutions included
        Assert.NotEqual(config, config with { ChannelMult = new[] { 1, 3 } });
        var sampler = Assert.IsAssignableFrom<IDiffusionSampler>(loaded.Model);
        var labels = torch.tensor(new long[] { 0, 1, 2, 0 });
        using var g1 = new Generator(3);
        var a = model.Sample(4, labels, model.CreateScheduler("ddim", 5, 0.5), 2.0, g1);
        using var g2 = new Generator(3);
        var b = sampler.Sample(4, labels, sampler.CreateScheduler("ddim", 5, 0.5), 2.0, g2);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.Equal(new long[] { 4, 1, 8, 8 }, b.shape);
    }

    [Fact]
    public void SchedulerSwapOnOneTrainedCheckpoint()
    {
        TorchRuntime.Seed(8);
        using var model = new DdpmModel(Tiny, torch.CPU);
        using var runner = new StepRunner(model);
        for (int s = 0; s < 5; s++)
        {
            using var scope = torch.NewDisposeScope();
            runner.Step(RandomImages(8, 8), torch.zeros(8, dtype: ScalarType.Int64));
        }
        var dir = SaveCheckpoint(model, Tiny);
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        var sampler = (IDiffusionSampler)loaded.Model;
        var seen = new List<int>();
        using var g1 = new Generator(4);
        var ddpm = sampler.Sample(2, null, sampler.CreateScheduler("ddpm", 20), 1, g1, (i, _) => seen.Add(i));
        Assert.Equal(Enumerable.Range(0, 21), seen);   // x_T, then one call per step
        using var g2 = new Generator(4);
        var ddim = sampler.Sample(2, null, sampler.CreateScheduler("ddim", 4), 1, g2);
        foreach (var x in new[] { ddpm, ddim })
        {
            Assert.Equal(new long[] { 2, 1, 8, 8 }, x.shape);
            Assert.True(x.min().item<float>() >= 0 && x.max().item<float>() <= 1);
        }
        Assert.True((ddpm - ddim).abs().max().item<float>() > 1e-3);
        Assert.Throws<ParameterException>(() => sampler.CreateScheduler("ddim", 21));
    }

    [Fact]
    public void LatentDdpmCheckpointIsSelfContained()
    {
        TorchRuntime.Seed(9);
        var vaeConfig = new VaeConfig { ImageSize = 8, LatentDim = 4, Channels = 4, Hidden = 16 };
        var vaeDir = Path.Combine(TestData.TempDir(), "vae");
        using (var vae = FamilyRegistry.Get("vae").Build(vaeConfig, torch.CPU))
        {
            Perturb(vae.Model);
            CheckpointFolder.Save(vaeDir, d =>
            {
                AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                    new JsonObject { ["family"] = "vae", ["config"] = ConfigJson.ToJson(vaeConfig) }.ToJsonString());
                Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(vae.Model));
            });
        }
        var config = Tiny with { LatentFrom = vaeDir, LatentHidden = 16, LatentBlocks = 2, Conditional = true };
        using var model = (DdpmModel)FamilyRegistry.Get("ddpm").Build(config, torch.CPU);
        using var runner = new StepRunner(model);
        Assert.NotNull(model.Latent);
        var images = RandomImages(8, 8);
        var vaeWeightsBefore = model.Latent!.Vae.parameters().Select(p => p.detach().clone()).ToList();
        for (int s = 0; s < 3; s++)
        {
            using var scope = torch.NewDisposeScope();
            Assert.True(double.IsFinite(runner.Step(images, torch.zeros(8, dtype: ScalarType.Int64))["loss"]));
        }
        // The VAE stays frozen, and the scale makes the first batch's latents unit-variance.
        foreach (var (before, after) in vaeWeightsBefore.Zip(model.Latent.Vae.parameters()))
            Assert.Equal(before.data<float>().ToArray(), after.detach().data<float>().ToArray());
        using (var _ = torch.no_grad())
        {
            var mu = model.Latent.Vae.Encode(ImageTransforms.ToFloat(images, PixelScale.ZeroOne)).Mu;
            Assert.Equal(1.0, (mu * model.Latent.LatentScale).std().item<float>(), 3);
        }
        Perturb(model.Latent.Denoiser);

        // Save with the model's config (which embeds the VAE's), then delete the VAE folder.
        var saved = (DdpmConfig)model.Config;
        Assert.NotNull(saved.LatentVae);
        var dir = SaveCheckpoint(model, saved);
        Directory.Delete(vaeDir, recursive: true);
        Assert.Contains("vae.encoder.0.weight", ModuleState.Collect(model.Model).Keys);
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        var sampler = (IDiffusionSampler)loaded.Model;
        var labels = torch.tensor(new long[] { 0, 2, 1 });
        using var g1 = new Generator(5);
        var a = model.Sample(3, labels, model.CreateScheduler("ddim", 4), 1.5, g1);
        using var g2 = new Generator(5);
        var b = sampler.Sample(3, labels, sampler.CreateScheduler("ddim", 4), 1.5, g2);
        Assert.Equal(new long[] { 3, 1, 8, 8 }, b.shape);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());

        // Latent inpainting (paste through the decoder) keeps the known pixels exactly, with and without resampling.
        var mask = GenSharp.Pipelines.InpaintMasks.FromSpec("top", 8, 0);
        var expected = images.to(ScalarType.Float32) / 255;
        var known = mask.expand_as(expected);
        foreach (int resample in new[] { 1, 2 })
        {
            using var g3 = new Generator(9);
            var filled = ((IInpainting)loaded.Model).Inpaint(images, mask, null, sampler.CreateScheduler("ddim", 4), g3, resample, 2);
            Assert.Equal(expected.shape, filled.shape);
            Assert.Equal(expected.masked_select(known).data<float>().ToArray(), filled.masked_select(known).data<float>().ToArray());
            Assert.True(filled.isfinite().all().item<bool>());
        }
    }

    [Fact]
    public void ConfigValidationNamesTheField()
    {
        Assert.Contains("channel_mult", Assert.Throws<GenSharpException>(() => (Tiny with { ChannelMult = new[] { 1, 2, 2, 2, 2 } }).Validate()).Message);
        Assert.Contains("norm_groups", Assert.Throws<GenSharpException>(() => (Tiny with { NormGroups = 3 }).Validate()).Message);
        Assert.Contains("sampler", Assert.Throws<GenSharpException>(() => (Tiny with { Sampler = "heun" }).Validate()).Message);
        Assert.Contains("label_dropout", Assert.Throws<GenSharpException>(() => (Tiny with { LabelDropout = 2 }).Validate()).Message);
        Assert.Equal(0.999, FamilyRegistry.Get("ddpm").DefaultEmaDecay);
        Assert.Null(FamilyRegistry.Get("vae").DefaultEmaDecay);
    }
}
