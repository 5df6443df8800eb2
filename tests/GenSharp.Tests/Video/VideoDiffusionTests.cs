using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Models.Video;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Video;

public class VideoDiffusionTests
{
    static VideoDiffusionConfig Tiny => new()
    {
        Frames = 4, FrameSize = 32, BaseChannels = 8, ChannelMult = new[] { 1, 2 }, NormGroups = 4, AttentionHeads = 2,
        Timesteps = 50, SamplerSteps = 4,
    };

    [Fact]
    public void NetworkGivesOneEpsilonPerFrame()
    {
        torch.manual_seed(1);
        using var model = new VideoDiffusionModel(Tiny, CPU);
        var x = randn(new long[] { 2, 4, 1, 32, 32 });
        var eps = model.Predict(x, tensor(new long[] { 3, 40 }), tensor(new long[] { 1, 10 }), zeros_like(x), zeros(2, 4, dtype: ScalarType.Bool));
        Assert.Equal(new long[] { 2, 4, 1, 32, 32 }, eps.shape);
        Assert.True(eps.isfinite().all().item<bool>());
    }

    [Fact]
    public void TemporalAttentionMatchesAPerPositionComputation()
    {
        torch.manual_seed(2);
        var block = new TemporalAttention(4, 2, 2);
        foreach (var p in block.parameters()) using (no_grad()) p.copy_(randn_like(p) * 0.5);
        long b = 2, t = 3, c = 4, h = 2, w = 2;
        var x = randn(b * t, c, h, w);
        var y = block.Forward(x, t);
        // Independent computation: the same norm, then for every clip and pixel ordinary attention over its T frames.
        var state = block.state_dict();
        var normed = nn.functional.group_norm(x, 2, state["norm.weight"], state["norm.bias"]);   // (B·T, C, H, W)
        var pos = GenSharp.Models.Diffusion.TimeEmbedding.Sinusoidal(arange(t), (int)c);           // (T, C)
        var expected = x.clone();
        for (long bi = 0; bi < b; bi++)
            for (long i = 0; i < h; i++)
                for (long j = 0; j < w; j++)
                {
                    var seq = normed.narrow(0, bi * t, t)[.., .., i, j] + pos;                    // (T, C)
                    var qkv = seq.matmul(state["qkv.weight"].t()) + state["qkv.bias"];           // (T, 3C)
                    var heads = new List<Tensor>();
                    for (int hd = 0; hd < 2; hd++)
                    {
                        var q = qkv.narrow(1, hd * 2, 2);
                        var k = qkv.narrow(1, c + hd * 2, 2);
                        var v = qkv.narrow(1, 2 * c + hd * 2, 2);
                        var a = (q.matmul(k.t()) / Math.Sqrt(2)).softmax(1);                    // (T, T)
                        heads.Add(a.matmul(v));
                    }
                    var o = cat(heads, 1).matmul(state["proj.weight"].t()) + state["proj.bias"];  // (T, C)
                    expected.narrow(0, bi * t, t)[.., .., i, j].add_(o);
                }
        Assert.True(allclose(y, expected, 1e-4, 1e-5));
    }

    [Fact]
    public void FreshTemporalBlocksAreTheIdentity()
    {
        var block = new TemporalAttention(8, 2, 4);
        var x = randn(6, 8, 4, 4);
        Assert.True(block.Forward(x, 3).eq(x).all().item<bool>());
    }

    [Fact]
    public void TrainingMasksArePrefixesOrEnds()
    {
        torch.manual_seed(3);
        using (var pred = new VideoDiffusionModel(Tiny with { Frames = 6, PredictProbability = 1, InterpolateProbability = 0 }, CPU))
        {
            var m = pred.TrainingMask(200).to(ScalarType.Int64);                               // (200, 6)
            var k = m.sum(1);
            Assert.True(k.ge(1).all().item<bool>() && k.le(5).all().item<bool>());
            Assert.True(m.eq((arange(6).unsqueeze(0) < k.unsqueeze(1)).to(ScalarType.Int64)).all().item<bool>()); // a prefix of length k
            Assert.Equal(5, k.unique().Item1.shape[0]);                                         // every k occurs
        }
        using (var interp = new VideoDiffusionModel(Tiny with { Frames = 6, PredictProbability = 0, InterpolateProbability = 1 }, CPU))
        {
            var m = interp.TrainingMask(10).to(ScalarType.Int64);
            Assert.True(m.eq(tensor(new long[] { 1, 0, 0, 0, 0, 1 }).unsqueeze(0)).all().item<bool>());
        }
        using (var none = new VideoDiffusionModel(Tiny with { PredictProbability = 0, InterpolateProbability = 0 }, CPU))
            Assert.False(none.TrainingMask(10).any().item<bool>());
    }

    [Theory]
    [InlineData(GenSharp.Sampling.PredictionType.Epsilon)]
    [InlineData(GenSharp.Sampling.PredictionType.V)]
    public void LossIgnoresTheKnownFrames(GenSharp.Sampling.PredictionType prediction)
    {
        torch.manual_seed(4);
        using var model = new VideoDiffusionModel(Tiny with { Prediction = prediction }, CPU);
        var x0 = rand(new long[] { 2, 4, 1, 32, 32 }) * 2 - 1;
        var mask = tensor(new[] { true, true, false, false, true, false, false, false }).reshape(2, 4);
        torch.manual_seed(5);
        var a = model.Loss(x0, tensor(new long[] { 1, 2 }), mask).item<float>();
        // The same draws by hand: the loss is the mean of the per-frame ε errors of the unknown frames only.
        var y = tensor(new long[] { 1, 2 });
        torch.manual_seed(5);
        long b = 2;
        var t = randint(50, new[] { b }, dtype: ScalarType.Int64);
        var noise = randn_like(x0);
        var xt = model.Schedule.AddNoise(x0, noise, t);
        var drop = rand(b) < 0.1;
        var yy = where(drop, full_like(y, model.NullClass), y);
        // The target: ε, or v = √ᾱ_t ε − √(1 − ᾱ_t) x0 from the schedule's own ᾱ table (Salimans & Ho 2022, §4).
        var abar = tensor(model.Schedule.AlphasCumprod).to(ScalarType.Float32)[t].reshape(b, 1, 1, 1, 1);
        var target = prediction == GenSharp.Sampling.PredictionType.Epsilon ? noise : abar.sqrt() * noise - (1 - abar).sqrt() * x0;
        var err = (model.Predict(xt, t, yy, x0, mask) - target).square().mean(new long[] { 2, 3, 4 });  // (B, T)
        var expected = (err[0, 2] + err[0, 3] + err[1, 1] + err[1, 2] + err[1, 3]) / 5;
        Assert.Equal(expected.item<float>(), a, 5);
    }

    [Fact]
    public void AVPredictionCheckpointSamplesWithAVScheduler()
    {
        var dir = TestData.TempDir();
        var sets = new[] { "frames=4", "base_channels=8", "channel_mult=[1,2]", "norm_groups=4", "attention_heads=2", "timesteps=50", "sampler_steps=3", "prediction=v" };
        TrainingRun.Run(new TrainRequest { Family = "videodiffusion", OutDir = dir, Data = "moving-fashion-mnist:embedded", Steps = 2, BatchSize = 2, Seed = 7, Sets = sets }, TrainingProgress.Silent);
        using var loaded = Checkpoint.LoadModel(dir, CPU);
        var video = Assert.IsType<VideoDiffusionModel>(loaded.Model);
        foreach (var s in new[] { "ddim", "dpm++2m", "ddpm" })
            Assert.Equal(GenSharp.Sampling.PredictionType.V, video.CreateScheduler(new VideoGenerationOptions { Scheduler = s, Steps = 3 }).Prediction);
        var clip = video.Generate(new VideoGenerationOptions { Count = 1, Seed = 1, Labels = new long[] { 2 } });
        Assert.True(clip.ge(0).all().item<bool>() && clip.le(1).all().item<bool>());
    }

    [Fact]
    public void TrainSaveLoadSampleAndContinue()
    {
        var dir = TestData.TempDir();
        var sets = new[] { "frames=4", "base_channels=8", "channel_mult=[1,2]", "norm_groups=4", "attention_heads=2", "timesteps=50", "sampler_steps=3" };
        var r = TrainingRun.Run(new TrainRequest { Family = "videodiffusion", OutDir = dir, Data = "moving-fashion-mnist:embedded", Steps = 3, BatchSize = 2, Seed = 7, Sets = sets }, TrainingProgress.Silent);
        Assert.Equal(3, r.Step);
        using var loaded = Checkpoint.LoadModel(dir, CPU);
        var video = Assert.IsAssignableFrom<IVideoModel>(loaded.Model);
        Assert.Equal(4, video.Frames);
        var a = video.Generate(new VideoGenerationOptions { Count = 2, Seed = 3, Labels = new long[] { 3, 3 } });
        var b = video.Generate(new VideoGenerationOptions { Count = 2, Seed = 3, Labels = new long[] { 3, 3 } });
        Assert.Equal(new long[] { 2, 4, 1, 32, 32 }, a.shape);
        Assert.True(a.eq(b).all().item<bool>());
        Assert.True(a.ge(0).all().item<bool>() && a.le(1).all().item<bool>());
        // Continuation: the known frames come back unchanged, for both schedulers.
        var known = rand(new long[] { 1, 4, 1, 32, 32 });
        foreach (var s in new[] { "ddim", "dpm++2m" })
        {
            var c = video.Generate(new VideoGenerationOptions { Count = 1, Seed = 1, Labels = new long[] { 0 }, Known = known, KnownFrames = new[] { true, true, false, false }, Scheduler = s, GuidanceScale = 1.5 });
            Assert.True(c.narrow(1, 0, 2).eq(known.narrow(1, 0, 2)).all().item<bool>());
            Assert.False(c.narrow(1, 2, 2).eq(known.narrow(1, 2, 2)).all().item<bool>());
        }
        var e = Assert.Throws<ParameterException>(() => video.Generate(new VideoGenerationOptions { Labels = new long[] { 10 } }));
        Assert.Equal("class", e.Parameter);
    }

    [Fact]
    public void KnownFramesEnterAsTheForwardProcessNoisesThem()
    {
        using var model = new VideoDiffusionModel(Tiny, CPU);
        var x = randn(new long[] { 2, 4, 1, 32, 32 });
        var known = rand(new long[] { 2, 4, 1, 32, 32 }) * 2 - 1;
        var mask = tensor(new[] { true, true, false, false, true, false, false, false }).reshape(2, 4);
        var t = tensor(new long[] { 10, 35 });
        var y = model.NoiseKnownFrames(x, known, mask, t, new Generator(9));
        // Independently: the same noise from the same generator, x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε (Ho et al. 2020, eq. 4) on known frames only.
        var eps = randn(new long[] { 2, 4, 1, 32, 32 }, generator: new Generator(9));
        var ac = model.Schedule.AlphasCumprod;
        var abar = tensor(new[] { (float)ac[10], (float)ac[35] }).reshape(2, 1, 1, 1, 1);
        var expected = abar.sqrt() * known + (1 - abar).sqrt() * eps;
        var m = mask.reshape(2, 4, 1, 1, 1).expand_as(x);
        Assert.True(allclose(y.masked_select(m), expected.masked_select(m), 1e-5, 1e-6));
        Assert.True(y.masked_select(m.logical_not()).eq(x.masked_select(m.logical_not())).all().item<bool>());
    }

    [Fact]
    public void CarryingTheKnownFramesIsADifferentSamplerThatStillKeepsThem()
    {
        torch.manual_seed(11);
        using var model = new VideoDiffusionModel(Tiny, CPU);
        // Random temporal projections: a fresh model's frames do not see each other, so the two samplers would agree.
        using (no_grad()) foreach (var p in model.Network.parameters()) p.copy_(randn_like(p) * 0.2);
        var known = rand(new long[] { 1, 4, 1, 32, 32 });
        var flags = new[] { true, true, false, false };
        var o = new VideoGenerationOptions { Count = 1, Seed = 2, Labels = new long[] { 4 }, Known = known, KnownFrames = flags, GuidanceScale = 1 };
        var resampled = model.Generate(o);
        var carried = model.Generate(o with { CarryKnownFrames = true });
        Assert.True(resampled.narrow(1, 0, 2).eq(known.narrow(1, 0, 2)).all().item<bool>());
        Assert.True(carried.narrow(1, 0, 2).eq(known.narrow(1, 0, 2)).all().item<bool>());
        Assert.True((resampled.narrow(1, 2, 2) - carried.narrow(1, 2, 2)).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public void ConfigRefusesBadGeometry()
    {
        var e = Assert.Throws<GenSharpException>(() => (Tiny with { FrameSize = 40 }).Validate());
        Assert.Contains("frame_size", e.Message);
        e = Assert.Throws<GenSharpException>(() => (Tiny with { PredictProbability = 0.8, InterpolateProbability = 0.5 }).Validate());
        Assert.Contains("interpolate_probability", e.Message);
    }
}
