using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Clip;
using GenSharp.Models.TextDiffusion;
using GenSharp.Models.Vae;
using GenSharp.Runtime;
using GenSharp.Sampling;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>Tiny vae + clip checkpoints trained for two steps, then txt2img wired on top of them.</summary>
public class TextDiffusionTests
{
    public TextDiffusionTests() => TorchRuntime.EnsureReady();

    static readonly object Gate = new();
    static (string Vae, string Clip)? _parts;

    /// <summary>Trains (once per test run) a tiny vae and a tiny clip and returns their checkpoint folders.</summary>
    static (string Vae, string Clip) Parts()
    {
        lock (Gate)
        {
            if (_parts is { } p) return p;
            TorchRuntime.Seed(11);
            var dir = TestData.TempDir();
            var vaeConfig = new VaeConfig { LatentDim = 4, Channels = 4, Hidden = 16 };
            using (var vae = FamilyRegistry.Get("vae").Build(vaeConfig, torch.CPU))
                new Trainer(vae.Trainable(), new BatchLoader(TestData.Train, 16, 0), new TrainOptions { Steps = 2, BatchSize = 16, SampleEvery = 0 },
                    Path.Combine(dir, "vae"), new JsonObject { ["family"] = "vae", ["config"] = ConfigJson.ToJson(vaeConfig) }, torch.CPU).Run();
            var clipConfig = new ClipConfig { EmbedDim = 8, TextWidth = 16, TextLayers = 1, TextHeads = 2, ContextLength = 12, ImageWidth = 8, NormGroups = 4 };
            using (var clip = new ClipModel(clipConfig, torch.CPU))
                new Trainer(clip, new BatchLoader(TestData.Train, 16, 0), new TrainOptions { Steps = 2, BatchSize = 16, SampleEvery = 0 },
                    Path.Combine(dir, "clip"), new JsonObject { ["family"] = "clip", ["config"] = ConfigJson.ToJson(clipConfig) }, torch.CPU).Run();
            _parts = (Path.Combine(dir, "vae", "checkpoint"), Path.Combine(dir, "clip", "checkpoint"));
            return _parts.Value;
        }
    }

    static TextDiffusionConfig Tiny()
    {
        var (vae, clip) = Parts();
        return new TextDiffusionConfig
        {
            LatentFrom = vae, TextFrom = clip, Hidden = 16, Blocks = 2, QueryTokens = 2, AttentionWidth = 8, AttentionHeads = 2,
            TimeFeatures = 8, Timesteps = 50, SamplerSteps = 4,
        };
    }

    /// <summary>Moves every parameter of the denoiser away from its (partly zero) initialisation.</summary>
    static void Perturb(TextDiffusionModel model)
    {
        // One training step measures the latent scale.
        var (im, lb) = new BatchLoader(TestData.Train, 16, 0).GetBatch(0);
        using (var runner = new StepRunner(model)) runner.Step(im, lb);
        using var _ = torch.no_grad();
        foreach (var p in model.Network.Denoiser.parameters()) p.add_(torch.randn_like(p) * 0.2);
    }

    static TextDiffusionSamplerOptions Opt(TextDiffusionModel m, string? prompt, string? negative = null, double w = 3, string scheduler = "dpm++2m") =>
        (TextDiffusionSamplerOptions)m.DefaultSamplerOptions.With(new Dictionary<string, string>(), "txt2img") with
        { Prompt = prompt, NegativePrompt = negative, GuidanceScale = w, Scheduler = scheduler };

    static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Fact]
    public void TrainsEmbedsItsPartsAndRoundTripsThroughACheckpoint()
    {
        TorchRuntime.Seed(1);
        var config = Tiny();
        using var model = new TextDiffusionModel(config, torch.CPU);
        var saved = (TextDiffusionConfig)model.Config;
        Assert.NotNull(saved.LatentVae);
        Assert.NotNull(saved.TextClip);
        // Only the denoiser trains.
        Assert.All(model.Network.Vae.parameters(), p => Assert.False(p.requires_grad));
        Assert.All(model.Network.Clip.parameters(), p => Assert.False(p.requires_grad));
        var dir = TestData.TempDir();
        var r = new Trainer(model, new BatchLoader(TestData.Train, 16, 0), new TrainOptions { Steps = 3, BatchSize = 16, SampleEvery = 3 },
            dir, new JsonObject { ["family"] = "txt2img", ["config"] = ConfigJson.ToJson(config) }, torch.CPU).Run();
        Assert.Equal(3, r.Step);
        Perturb(model);
        CheckpointFolder.Save(Path.Combine(dir, "perturbed"), d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "txt2img", ["config"] = ConfigJson.ToJson(model.Config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        using var loaded = Checkpoint.LoadModel(Path.Combine(dir, "perturbed"), torch.CPU);
        var other = Assert.IsType<TextDiffusionModel>(loaded.Model);
        var o = Opt(model, "a dark patterned shirt", "a light bag");
        using var g1 = new Generator(5); using var g2 = new Generator(5);
        using var a = model.Sample(3, null, o, g1);
        using var b = other.Sample(3, null, o, g2);
        Assert.Equal(new long[] { 3, 1, 28, 28 }, a.shape);
        Assert.True(MaxDiff(a, b) < 1e-5);
        Assert.InRange(a.min().item<float>(), 0, 1);
        Assert.InRange(a.max().item<float>(), 0, 1);
        // Captions: same step, same captions; some are dropped to the empty prompt at prompt_dropout = 1.
        var (im, lb) = new BatchLoader(TestData.Train, 16, 0).GetBatch(0);
        Assert.Equal(model.TrainingCaptions(im, lb, 2), model.TrainingCaptions(im, lb, 2));
        using var dropAll = new TextDiffusionModel(saved with { PromptDropout = 1 }, torch.CPU);
        Assert.All(dropAll.TrainingCaptions(im, lb, 2), c => Assert.Equal("", c));
    }

    [Fact]
    public void GuidanceAndNegativePromptsCombineAsClassifierFreeGuidanceSays()
    {
        TorchRuntime.Seed(2);
        using var model = new TextDiffusionModel(Tiny() with { Prediction = PredictionType.Epsilon }, torch.CPU);
        Perturb(model);
        Tensor Draw(string? prompt, string? negative, double w, string scheduler = "ddim")
        {
            using var g = new Generator(9);
            return model.Sample(2, null, Opt(model, prompt, negative, w, scheduler), g);
        }
        // w = 0 is the negative prompt alone: the same as drawing the negative prompt unguided (w = 1).
        using var zero = Draw("a dark shirt", "a wide bag", 0);
        using var negOnly = Draw("a wide bag", null, 1);
        Assert.True(MaxDiff(zero, negOnly) < 1e-5, $"w0 {MaxDiff(zero, negOnly)} same-run {MaxDiff(Draw("a wide bag", null, 1), negOnly)}");
        // w = 1 ignores the negative prompt.
        using var one = Draw("a dark shirt", "a wide bag", 1);
        using var oneNoNeg = Draw("a dark shirt", null, 1);
        Assert.True(MaxDiff(one, oneNoNeg) < 1e-5);
        // w = 3 with a negative prompt differs from w = 3 against the empty prompt, and from w = 1.
        using var three = Draw("a dark shirt", "a wide bag", 3);
        using var threeEmpty = Draw("a dark shirt", null, 3);
        Assert.True(MaxDiff(three, threeEmpty) > 1e-4);
        Assert.True(MaxDiff(three, one) > 1e-4);
        // Guidance against itself is no guidance: prompt = negative gives the unguided draw at any w.
        using var same = Draw("a dark shirt", "a dark shirt", 5);
        Assert.True(MaxDiff(same, oneNoNeg) < 1e-4);
        // Independent check of one guided step: ε̂ = ε(neg) + w(ε(prompt) − ε(neg)) with a one-step DDIM from noise.
        using var g0 = new Generator(9);
        var denoiser = model.Network.Denoiser;
        using var x = torch.randn(new long[] { 2, 4 }, generator: g0);
        var (cs, cm) = model.Network.Text(new[] { "a dark shirt", "a dark shirt" }, torch.CPU);
        var (us, um) = model.Network.Text(new[] { "a wide bag", "a wide bag" }, torch.CPU);
        var sched = new DdimScheduler(model.Schedule, clipSample: false);
        sched.SetTimesteps(1);
        long t = sched.Timesteps[0];
        using var tt = torch.full(2, t, dtype: ScalarType.Int64);
        Tensor eps;
        using (torch.no_grad()) { model.Network.eval(); var ec = denoiser.Forward(x, tt, cs, cm); var eu = denoiser.Forward(x, tt, us, um); eps = eu + 2.5 * (ec - eu); }
        var expected = model.Network.Decode(sched.Step(eps, t, x).PrevSample);
        using var g3 = new Generator(9);
        using var got = model.Generate(new[] { "a dark shirt", "a dark shirt" }, new[] { "a wide bag", "a wide bag" }, sched, 2.5, g3);
        Assert.True(MaxDiff(expected, got) < 1e-5);
    }

    [Fact]
    public void ImageToImageKeepsTheInitAtStrengthZeroAndIgnoresItAtOne()
    {
        TorchRuntime.Seed(3);
        using var model = new TextDiffusionModel(Tiny(), torch.CPU);
        Perturb(model);
        using var init = ImageTransforms.ToFloat(TestData.Test.Images.narrow(0, 2, 2), PixelScale.ZeroOne);
        var o = Opt(model, "a small sandal");
        using (var g = new Generator(4))
        using (var kept = model.ImageToImage(init, o with { Strength = 0 }, g))
            Assert.Equal(0, MaxDiff(kept, init));
        using var g1 = new Generator(4); using var g2 = new Generator(4);
        using var ignored = model.ImageToImage(init, o with { Strength = 1 }, g1);
        using var fresh = model.Sample(2, null, o, g2);
        Assert.True(MaxDiff(ignored, fresh) < 1e-6, $"{MaxDiff(ignored, fresh)}");
        // In between, the output depends on the init: other init images, other outputs.
        using var g3 = new Generator(4); using var g4 = new Generator(4);
        using var half = model.ImageToImage(init, o with { Strength = 0.5 }, g3);
        using var flipped = model.ImageToImage(init.flip(0), o with { Strength = 0.5 }, g4);
        Assert.True(MaxDiff(half, flipped) > 1e-5, $"flip {MaxDiff(half, flipped)} fresh {MaxDiff(half, fresh)}");
        Assert.True(MaxDiff(half, fresh) > 1e-3);
        Assert.Throws<ParameterException>(() => o.With(new Dictionary<string, string> { ["strength"] = "1.5" }, "txt2img"));
    }

    [Fact]
    public void InpaintingKeepsTheKnownPixelsAndRectifiesEachStep()
    {
        TorchRuntime.Seed(5);
        using var model = new TextDiffusionModel(Tiny() with { Prediction = PredictionType.Epsilon }, torch.CPU);
        Perturb(model);
        using var images = TestData.Test.Images.narrow(0, 3, 2);                                        // (2, 1, 28, 28) uint8
        using var known = images.to(ScalarType.Float32) / 255;
        // Known: the top 6 rows. (The prompt's effect on the fill is not asserted: the 2-step VAE's encoder maps every
        // composite to nearly the same latent, so two prompts differ by ~1e-7 here; the one-step check below checks the rectification.)
        using var mask = torch.arange(28).view(1, 1, 28, 1).lt(6).expand(1, 1, 28, 28).contiguous();
        var o = Opt(model, "a dark patterned shirt", w: 1, scheduler: "ddim");
        Tensor Fill(TextDiffusionSamplerOptions opt, ulong seed) { using var g = new Generator(seed); return model.Inpaint(images, mask, null, opt, g); }

        using var a = Fill(o, 6);
        Assert.Equal(new long[] { 2, 1, 28, 28 }, a.shape);
        using var keep = mask.expand(2, 1, 28, 28);
        Assert.Equal(0, MaxDiff(a.masked_select(keep), known.masked_select(keep)));                  // known pixels exactly x/255
        using var free = keep.logical_not();
        Assert.True(MaxDiff(a.masked_select(free), known.masked_select(free)) > 1e-2);                  // the rest is drawn
        using (var again = Fill(o, 6)) Assert.Equal(0, MaxDiff(a, again));

        // Independent check with one DDIM step from x_T (the step lands on ᾱ = 1, so x₀ is the rectified estimate):
        // ẑ₀ = (x_T − √(1−ᾱ)ε)/√ᾱ, z₀' = E(known ⊙ m + D(ẑ₀) ⊙ (1−m)), image = known ⊙ m + D(z₀') ⊙ (1−m).
        using var g0 = new Generator(7);
        using var x = torch.randn(new long[] { 2, 4 }, generator: g0);
        var sched = new DdimScheduler(model.Schedule, clipSample: false);
        sched.SetTimesteps(1);
        long t = sched.Timesteps[0];
        Tensor expected;
        using (torch.no_grad())
        {
            model.Network.eval();
            var (cs, cm) = model.Network.Text(new[] { "a dark patterned shirt", "a dark patterned shirt" }, torch.CPU);
            var eps = model.Network.Denoiser.Forward(x, torch.full(2, t, dtype: ScalarType.Int64), cs, cm);
            double ab = model.Schedule.AlphasCumprod[t];
            var z0 = (x - Math.Sqrt(1 - ab) * eps) / Math.Sqrt(ab);
            var z0Fixed = model.Network.Encode(torch.where(keep, known, model.Network.Decode(z0)));
            expected = torch.where(keep, known, model.Network.Decode(z0Fixed));
        }
        using (var got = Fill(o with { Steps = 1 }, 7))
            Assert.True(MaxDiff(expected, got) < 1e-4, $"one rectified step: {MaxDiff(expected, got)}");
    }

    [Fact]
    public void InterpolationStripEndsAreTheTwoPromptsSamples()
    {
        TorchRuntime.Seed(6);
        using var model = new TextDiffusionModel(Tiny(), torch.CPU);
        Perturb(model);
        foreach (var scheduler in new[] { "ddim", "dpm++2m" })
        {
            var o = Opt(model, null, "a wide bag", 3, scheduler);
            using var g = new Generator(12);
            using var strip = model.InterpolatePrompts("a dark shirt", "a bright sandal", 5, o, g);
            Assert.Equal(new long[] { 5, 1, 28, 28 }, strip.shape);
            using var ga = new Generator(12); using var gb = new Generator(12);
            using var first = model.Sample(1, null, o with { Prompt = "a dark shirt" }, ga);
            using var last = model.Sample(1, null, o with { Prompt = "a bright sandal" }, gb);
            Assert.True(MaxDiff(strip.narrow(0, 0, 1), first) < 1e-5, $"{scheduler} start {MaxDiff(strip.narrow(0, 0, 1), first)}");
            Assert.True(MaxDiff(strip.narrow(0, 4, 1), last) < 1e-5, $"{scheduler} end {MaxDiff(strip.narrow(0, 4, 1), last)}");
            Assert.True(MaxDiff(strip.narrow(0, 2, 1), first) > 1e-4 && MaxDiff(strip.narrow(0, 2, 1), last) > 1e-4, "the middle is one of the ends");
        }
        Assert.Throws<ParameterException>(() => model.InterpolatePrompts("a", "b", 1, Opt(model, null), null));
    }

    [Fact]
    public void PromptAlignmentCountsWhatTheImagesShow()
    {
        TorchRuntime.Seed(7);
        using var model = new TextDiffusionModel(Tiny(), torch.CPU);
        Perturb(model);
        using var loaded = Checkpoint.LoadModel(Parts().Clip, torch.CPU);
        var judge = (ClipModel)loaded.Model;
        var o = Opt(model, null, null, 3, "ddim");
        var options = new TextToImage.PromptAlignmentOptions(PerPrompt: 3, Seed: 5);
        var r = TextToImage.PromptAlignment.Evaluate(model, o, judge, null, options);
        Assert.Equal((10 + 2 * 100) * 3, r["prompt_images"]);
        foreach (var (k, v) in r)
            if (k != "prompt_images" && !k.Contains("clip_score")) Assert.InRange(v, 0, 1);

        // The same draws by hand: image j of every prompt starts from the j-th row of one seeded noise tensor.
        Tensor Draw(string prompt, string negative)
        {
            using var g = new Generator(5);
            using var xT = torch.randn(new long[] { 3, model.LatentDim }, generator: g);
            var scheduler = model.CreateScheduler(o);
            using var gen = new Generator(6);
            return model.GenerateFrom(new[] { prompt, prompt, prompt }, new[] { negative, negative, negative }, scheduler, 3, xT, gen);
        }
        var t = TextToImage.CaptionThresholds.Default;
        double pairs = 0, lowHits = 0, baseHigh = 0, negPairs = 0, score = 0;
        for (int k = 0; k < 10; k++)
        {
            string dark = TextToImage.PromptAlignment.AttributePrompt(k, TextToImage.AttributeKind.Brightness, false);
            string light = TextToImage.PromptAlignment.AttributePrompt(k, TextToImage.AttributeKind.Brightness, true);
            Assert.StartsWith("a dark ", dark);
            using var a = Draw(dark, ""); using var b = Draw(light, "");
            using var na = Draw(dark, light); using var nb = Draw(light, dark);
            using var plain = Draw(TextToImage.PromptAlignment.PlainPrompt(k), "");
            var (va, vb) = (TextToImage.ImageAttributes.Measure(a).Brightness, TextToImage.ImageAttributes.Measure(b).Brightness);
            var (vna, vnb) = (TextToImage.ImageAttributes.Measure(na).Brightness, TextToImage.ImageAttributes.Measure(nb).Brightness);
            var vp = TextToImage.ImageAttributes.Measure(plain).Brightness;
            using var s = judge.Score(plain, Enumerable.Repeat(TextToImage.PromptAlignment.PlainPrompt(k), 3).ToArray());
            score += s.sum().item<float>();
            for (int j = 0; j < 3; j++)
            {
                pairs += vb[j] > va[j] ? 1 : vb[j] == va[j] ? 0.5 : 0;
                negPairs += vnb[j] > vna[j] ? 1 : vnb[j] == vna[j] ? 0.5 : 0;
                if (va[j] < t.LowOf(TextToImage.AttributeKind.Brightness)) lowHits++;
                if (vp[j] > t.HighOf(TextToImage.AttributeKind.Brightness)) baseHigh++;
            }
        }
        Assert.Equal(pairs / 30, r["attr_brightness_paired"], 9);
        Assert.Equal(negPairs / 30, r["neg_attr_brightness_paired"], 9);
        Assert.Equal(lowHits / 30, r["attr_brightness_low_hit"], 9);
        Assert.Equal(baseHigh / 30, r["attr_brightness_high_base"], 9);
        Assert.Equal(score / 30, r["clip_score_plain"], 4);
        // The negative prompt changes the draws.
        Assert.NotEqual(r["attribute_paired"], r["neg_attribute_paired"]);
        var again = TextToImage.PromptAlignment.Evaluate(model, o, judge, null, options);
        Assert.Equal(r, again);

        // The reconstruction ceiling: of the test images measured dark, the share whose VAE round trip is still dark.
        var test = TestData.Test;
        var ceiling = TextToImage.PromptAlignment.ReconstructionCeiling(model, test, limit: 40, batch: 16);
        using var x = test.Images.narrow(0, 0, 40).to(ScalarType.Float32) / 255;
        using var z = model.Network.Vae.Encode(x).Mu;
        using var back = torch.sigmoid(model.Network.Vae.DecodeLogits(z));
        var before = TextToImage.ImageAttributes.Measure(x).Brightness;
        var after = TextToImage.ImageAttributes.Measure(back).Brightness;
        double low = t.LowOf(TextToImage.AttributeKind.Brightness);
        int darkImages = before.Count(v => v < low), kept = Enumerable.Range(0, 40).Count(i => before[i] < low && after[i] < low);
        Assert.True(darkImages > 0, "the first 40 embedded test images hold no dark garment");
        Assert.Equal((double)kept / darkImages, ceiling["attr_brightness_low_ceiling"], 9);
        Assert.Equal(40, ceiling["ceiling_images"]);
    }

    [Fact]
    public void ConfigNeedsBothParts()
    {
        Assert.Contains("latent_from", Assert.Throws<GenSharpException>(() => new TextDiffusionConfig { TextFrom = "x" }.Validate()).Message);
        Assert.Contains("text_from", Assert.Throws<GenSharpException>(() => new TextDiffusionConfig { LatentFrom = "x" }.Validate()).Message);
        var missing = Assert.Throws<GenSharpException>(() => new TextDiffusionModel(new TextDiffusionConfig { LatentFrom = "/nonexistent", TextFrom = "/nonexistent" }, torch.CPU));
        Assert.Contains("latent_from", missing.Message);
        var (vae, _) = Parts();
        var wrong = Assert.Throws<GenSharpException>(() => new TextDiffusionModel(new TextDiffusionConfig { LatentFrom = vae, TextFrom = vae }, torch.CPU));
        Assert.Contains("needs a clip", wrong.Message);
    }
}
