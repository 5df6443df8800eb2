using GenSharp.Models.StableDiffusion;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The Stable Diffusion pipeline on the tiny random folder: shapes, seeds, CFG, image-to-image, inpainting, tiled decoding, errors.</summary>
public class StableDiffusionPipelineTests
{
    static bool Same(torch.Tensor a, torch.Tensor b) => a.shape.SequenceEqual(b.shape) && (a - b).abs().max().item<float>() == 0;

    static string Folder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "StableDiffusion", "tiny-sd");

    [Fact]
    public void TextToImageIsSeededAndShaped()
    {
        using var sd = StableDiffusionPipeline.Load(Folder);
        var o = new StableDiffusionOptions { Prompt = "a photo of a cat", Count = 2, Steps = 4, Seed = 3 };
        using var a = sd.Generate(o);
        using var b = sd.Generate(o);
        using var c = sd.Generate(o with { Seed = 4 });
        Assert.Equal(new long[] { 2, 3, 16, 16 }, a.shape);                     // sample_size 8 latent cells × the VAE's factor 2
        Assert.True(a.min().item<float>() >= 0 && a.max().item<float>() <= 1);
        Assert.True(Same(a, b));
        Assert.False(Same(a, c));
        using var wide = sd.Generate(o with { Count = 1, Width = 32, Height = 16 });
        Assert.Equal(new long[] { 1, 3, 16, 32 }, wide.shape);
    }

    [Fact]
    public void TreeRingMarksTheSeededNoiseAndDdimInversionThroughTheUnetFindsIt()
    {
        using var sd = StableDiffusionPipeline.Load(Folder);
        var key = GenSharp.Watermarking.WatermarkKey.FromSecret("sd tree-ring tests");
        var o = new StableDiffusionOptions { Prompt = "a cat", Count = 2, Steps = 10, Seed = 9, Width = 64, Height = 64, Scheduler = "ddim", GuidanceScale = 1 };
        var shape = sd.NoiseShape(64, 64);
        Assert.Equal(new long[] { 4, 32, 32 }, shape);
        // The seeded noise is the pipeline's own first draw.
        using (var plain = sd.Generate(o))
        using (var seeded = StableDiffusionPipeline.SeededNoise(9, 2, shape))
        using (var same = sd.Generate(o with { InitialNoise = seeded }))
            Assert.True(Same(plain, same));
        var (marked, did) = GenSharp.Watermarking.StableDiffusionTreeRing.Apply(sd, o, key);
        Assert.True(did);
        var ring = new GenSharp.Watermarking.TreeRingWatermark(key, shape);
        using (var expected = ring.Mark(StableDiffusionPipeline.SeededNoise(9, 2, shape)))
            Assert.True(Same(marked.InitialNoise!, expected));
        Assert.False(GenSharp.Watermarking.StableDiffusionTreeRing.Apply(sd, o with { Scheduler = "euler-a" }, key).Marked);   // stochastic
        Assert.False(GenSharp.Watermarking.StableDiffusionTreeRing.Apply(sd, o with { Init = torch.zeros(1, 3, 64, 64) }, key).Marked);
        Assert.False(GenSharp.Watermarking.StableDiffusionTreeRing.Apply(sd, o with { Width = 16, Height = 16 }, key).Marked);  // 8×8: too few frequencies

        // Sampling the latents with DDIM under the empty prompt and inverting them with the same UNet recovers the mark
        // (the VAE of this random folder is not an autoencoder, so the pixel round trip is not part of this check).
        using var _ = torch.no_grad();
        var empty = sd.EncodePrompts(new[] { "" }).expand(2, -1, -1);
        torch.Tensor Eps(torch.Tensor x, long t) => sd.Unet.Forward(x, torch.full(2, t, dtype: torch.ScalarType.Int64), empty);
        torch.Tensor SampleLatents(torch.Tensor xT)
        {
            var ddim = GenSharp.Sampling.Schedulers.Create("ddim", sd.Schedule, sd.Prediction, clipSample: false);
            ddim.SetTimesteps(10);
            var x = xT;
            foreach (long t in ddim.Timesteps) x = ddim.Step(Eps(x, t), t, x, null).PrevSample;
            return x;
        }
        var fromMarked = GenSharp.Sampling.DdimInversion.Invert(SampleLatents(marked.InitialNoise!), 10, sd.Schedule, sd.Prediction, Eps);
        var fromPlain = GenSharp.Sampling.DdimInversion.Invert(SampleLatents(StableDiffusionPipeline.SeededNoise(10, 2, shape)), 10, sd.Schedule, sd.Prediction, Eps);
        var hits = ring.Score(fromMarked);
        var misses = ring.Score(fromPlain);
        Assert.All(hits, h => Assert.True(h.Watermarked, $"marked latents scored z = {h.Z:F2}"));
        Assert.All(misses, m => Assert.False(m.Watermarked, $"unmarked latents scored z = {m.Z:F2}"));
        // The pixel-level inversion runs end to end and refuses sizes the model cannot draw.
        using var images = sd.Generate(marked);
        using var xT = sd.InvertToNoise(images, 10);
        Assert.Equal(new long[] { 2, 4, 32, 32 }, xT.shape);
        Assert.Contains("multiples of", Assert.Throws<GenSharpException>(() => sd.InvertToNoise(torch.zeros(1, 3, 30, 30), 10)).Message);
    }

    [Fact]
    public void GuidanceCombinesTheTwoPredictions()
    {
        // With the prompt equal to the negative prompt, every guidance scale gives the same images (ε(neg) + w·0).
        using var sd = StableDiffusionPipeline.Load(Folder);
        var o = new StableDiffusionOptions { Prompt = "the sea", NegativePrompt = "the sea", Steps = 3, Seed = 1, Width = 16, Height = 16 };
        using var w1 = sd.Generate(o with { GuidanceScale = 1 });
        using var w7 = sd.Generate(o with { GuidanceScale = 7.5 });
        Assert.True(torch.allclose(w1, w7, 1e-5, 1e-5));
        using var other = sd.Generate(o with { NegativePrompt = "", GuidanceScale = 7.5 });
        Assert.False(torch.allclose(w1, other, 1e-4, 1e-4));
    }

    [Fact]
    public void ImageToImageStrengthEnds()
    {
        using var sd = StableDiffusionPipeline.Load(Folder);
        using var gen = new torch.Generator(5);
        using var init = torch.rand(new long[] { 1, 3, 16, 16 }, generator: gen);
        var o = new StableDiffusionOptions { Prompt = "a cat", Steps = 5, Seed = 2, Width = 16, Height = 16 };
        using var zero = sd.Generate(o with { Init = init, Strength = 0 });
        Assert.True(Same(zero, init));
        using var full = sd.Generate(o with { Init = init, Strength = 1 });
        using var txt = sd.Generate(o);
        Assert.True(torch.allclose(full, txt, 1e-6, 1e-6));
        using var half = sd.Generate(o with { Init = init, Strength = 0.4 });
        Assert.False(torch.allclose(half, txt, 1e-3, 1e-3));
    }

    [Fact]
    public void InpaintingKeepsTheKnownPixels()
    {
        using var sd = StableDiffusionPipeline.Load(Folder);
        using var gen = new torch.Generator(6);
        using var init = torch.rand(new long[] { 1, 3, 32, 32 }, generator: gen);
        using var mask = torch.zeros(1, 1, 32, 32);
        mask.narrow(3, 16, 16).fill_(1);                                                   // redraw the right half
        using var r = sd.Generate(new StableDiffusionOptions { Prompt = "a boat", Steps = 4, Seed = 1, Init = init, Mask = mask, Count = 2 });
        Assert.Equal(new long[] { 2, 3, 32, 32 }, r.shape);
        Assert.True(Same(r.narrow(3, 0, 16), init.narrow(3, 0, 16).expand(2, -1, -1, -1)));
        Assert.False(torch.allclose(r.narrow(3, 16, 16), init.narrow(3, 16, 16).expand(2, -1, -1, -1), 1e-3, 1e-3));
    }

    [Fact]
    public void TiledDecodeBlendsTiles()
    {
        using var sd = StableDiffusionPipeline.Load(Folder);
        using var gen = new torch.Generator(7);
        using var z = torch.randn(new long[] { 1, 4, 24, 20 }, generator: gen);
        using var whole = sd.DecodeLatents(z);
        using var big = sd.DecodeLatents(z, tile: 32);
        Assert.True(Same(whole, big));                                              // a tile that covers all is one decode
        using var tiled = sd.DecodeLatents(z, tile: 12, overlap: 4);
        Assert.Equal(whole.shape, tiled.shape);
        // Away from the seams, a tile's interior equals the whole decode up to the tile's own GroupNorm statistics;
        // check the blend is a convex combination of tile decodes: the first tile alone fills the top-left corner.
        using var corner = sd.Vae.Decode(z.narrow(2, 0, 12).narrow(3, 0, 12) / sd.Vae.Config.ScalingFactor);
        Assert.True(torch.allclose(tiled.narrow(2, 0, 16).narrow(3, 0, 16), corner.narrow(2, 0, 16).narrow(3, 0, 16), 1e-5, 1e-5));
        double diff = (tiled - whole).abs().mean().item<float>(), scale = whole.abs().mean().item<float>();
        Assert.True(diff < 0.5 * scale, $"tiled decode far from whole decode: mean |Δ| {diff} vs mean |x| {scale}");
        Assert.Throws<GenSharpException>(() => sd.DecodeLatents(z, tile: 8, overlap: 8));
    }

    [Fact]
    public void BadInputsGiveOneLineErrors()
    {
        using var sd = StableDiffusionPipeline.Load(Folder);
        var o = new StableDiffusionOptions { Prompt = "x", Steps = 2 };
        Assert.Contains("multiples of 4", Assert.Throws<GenSharpException>(() => sd.Generate(o with { Width = 18 })).Message);
        Assert.Contains("strength", Assert.Throws<GenSharpException>(() => sd.Generate(o with { Strength = 2 })).Message);
        Assert.Contains("unknown scheduler", Assert.Throws<GenSharpException>(() => sd.Generate(o with { Scheduler = "pndm" })).Message);
        using var m = torch.ones(1, 1, 16, 16);
        Assert.Contains("image to inpaint", Assert.Throws<GenSharpException>(() => sd.Generate(o with { Mask = m })).Message);
        Assert.False(StableDiffusionPipeline.IsFolder(Path.Combine(Folder, "unet")));
        Assert.True(StableDiffusionPipeline.IsFolder(Folder));
    }
}
