using GenSharp.Models.Diffusion;
using GenSharp.Pipelines;
using GenSharp.Runtime;
using GenSharp.Watermarking;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public sealed class TreeRingTests(ITestOutputHelper output)
{
    static readonly WatermarkKey Key = WatermarkKey.FromSecret("tree-ring tests");

    [Fact]
    public void MarkWritesAnEvenRealRingKeyAndLeavesTheRestOfTheSpectrum()
    {
        var mark = new TreeRingWatermark(Key, new long[] { 1, 28, 28 });
        using var gen = new Generator(3);
        using var noise = torch.randn(new long[] { 4, 1, 28, 28 }, generator: gen);
        using var marked = mark.Mark(noise);
        Assert.Equal(noise.shape, marked.shape);
        using var a = torch.fft.fft2(noise.squeeze(1).to(ScalarType.Float64), norm: FFTNormType.Ortho);
        using var b = torch.fft.fft2(marked.squeeze(1).to(ScalarType.Float64), norm: FFTNormType.Ortho);
        // Independent check of the region: radius (cycles per side) in (3.5, 7] — a one-channel plane is the image, so the
        // lowest frequencies (its global layout) stay free.
        var f = Enumerable.Range(0, 28).Select(i => i < 14 ? i : i - 28).ToArray();
        int inside = 0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                double r = Math.Sqrt(f[y] * f[y] + f[x] * f[x]);
                var vb = b[0, y, x];
                if (r > 3.5 && r <= 7)
                {
                    inside++;
                    Assert.True(Math.Abs(vb.imag.item<double>()) < 1e-5);                     // real key
                    // Constant on each ring (same value as the ring's point on the x axis), and the same for every image.
                    int ring = (int)Math.Round(r);
                    Assert.Equal(b[0, 0, ring].real.item<double>(), vb.real.item<double>(), 4);
                    Assert.Equal(vb.real.item<double>(), b[3, y, x].real.item<double>(), 4);
                }
                else Assert.True((a[0, y, x] - vb).abs().item<double>() < 1e-4);              // untouched outside
            }
        Assert.True(inside > 100);
        Assert.Equal(56, mark.RegionSize);
        // A multi-channel plane (Stable Diffusion's latent) keeps the whole disc 1 ≤ ρ ≤ side/4.
        Assert.Equal(398, new TreeRingWatermark(Key, new long[] { 4, 64, 64 }).RegionSize);
        Assert.True(mark.Detectable);
        Assert.False(new TreeRingWatermark(Key, new long[] { 16 }).Detectable);               // a 16-number latent cannot carry one
    }

    [Fact]
    public void ScoreIsStandardNormalOnGaussianNoiseAndLargeOnMarkedNoise()
    {
        var mark = new TreeRingWatermark(Key, new long[] { 1, 28, 28 });
        using var gen = new Generator(5);
        using var noise = torch.randn(new long[] { 4000, 1, 28, 28 }, generator: gen);
        var z = mark.Score(noise).Select(s => s.Z).ToArray();
        double mean = z.Average(), std = Math.Sqrt(z.Select(v => (v - mean) * (v - mean)).Sum() / (z.Length - 1));
        double above5 = z.Count(v => v > 1.6449) / (double)z.Length, above1 = z.Count(v => v > 2.3263) / (double)z.Length;
        output.WriteLine($"unmarked noise: mean {mean:F3}, std {std:F3}, P(z>1.645) {above5:P2}, P(z>2.326) {above1:P2}");
        Assert.InRange(mean, -0.06, 0.06);
        Assert.InRange(std, 0.93, 1.07);
        Assert.InRange(above5, 0.05 - 0.012, 0.05 + 0.012);
        Assert.InRange(above1, 0.01 - 0.006, 0.01 + 0.006);
        Assert.True(mark.Score(noise).Count(s => s.Watermarked) <= 2);                        // p < 1e-4: ~0.4 expected in 4,000

        using var marked = mark.Mark(noise.narrow(0, 0, 100));
        var zm = mark.Score(marked);
        output.WriteLine($"marked noise: min z {zm.Min(s => s.Z):F2}");
        Assert.All(zm, s => Assert.True(s.Watermarked));
        using var noisy = marked + 0.5 * torch.randn(marked.shape, generator: gen);          // an imperfect inversion
        Assert.True(mark.Score(noisy).Count(s => s.Watermarked) >= 95);
        // Another key's rings are not found.
        Assert.True(new TreeRingWatermark(WatermarkKey.FromSecret("other"), new long[] { 1, 28, 28 }).Score(marked).Count(s => s.Watermarked) <= 1);
    }

    [Fact]
    public void DdimSamplesOfATinyDdpmCarryTheMarkAndUnmarkedOnesDoNot()
    {
        TorchRuntime.Seed(7);
        var config = new DdpmConfig
        {
            ImageSize = 28, BaseChannels = 8, ChannelMult = new[] { 1, 2 }, ResBlocks = 1, AttentionResolutions = new[] { 7 },
            AttentionHeads = 2, NormGroups = 4, Timesteps = 50, SamplerSteps = 5,
        };
        using var model = new DdpmModel(config, torch.CPU);
        using (torch.no_grad()) foreach (var p in model.UNet!.parameters()) p.add_(torch.randn_like(p) * 0.05);   // a random but non-zero network
        var options = model.DefaultSamplerOptions;
        Assert.True(model.CarriesTreeRing(options));
        using var marked = ImageSampling.Run(model, new ImageSamplingOptions { Count = 8, Seed = 1, Sampler = options, TreeRingKey = Key });
        using var plain = ImageSampling.Run(model, new ImageSamplingOptions { Count = 8, Seed = 2, Sampler = options });
        Assert.NotNull(marked.TreeRing);
        Assert.Null(plain.TreeRing);
        // Through 8-bit pixels, as in a PNG.
        using var m8 = ImageGrid8(marked.Images);
        using var p8 = ImageGrid8(plain.Images);
        var zm = TreeRingDetection.Detect(model, Key, m8, 5);
        var zp = TreeRingDetection.Detect(model, Key, p8, 5);
        output.WriteLine($"marked: min z {zm.Min(s => s.Z):F2} mean {zm.Average(s => s.Z):F2}; unmarked: max z {zp.Max(s => s.Z):F2} mean {zp.Average(s => s.Z):F2}");
        Assert.True(zm.Count(s => s.Watermarked) >= 7, $"{zm.Count(s => s.Watermarked)} of 8 marked samples detected");
        Assert.True(zp.Count(s => s.Watermarked) == 0);
        // Stochastic samplers cannot carry it: ddpm ancestral sampling draws no mark.
        var ancestral = options.With(new Dictionary<string, string> { ["scheduler"] = "ddpm" }, "ddpm");
        Assert.False(model.CarriesTreeRing(ancestral));
    }

    static Tensor ImageGrid8(Tensor images01) => GenSharp.Media.ImageGrid.ToUint8(images01).to(ScalarType.Float32) / 255;
}
