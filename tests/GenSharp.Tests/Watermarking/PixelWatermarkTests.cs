using GenSharp.Watermarking;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;
using Xunit.Abstractions;

namespace GenSharp.Tests;

public sealed class PixelWatermarkTests(ITestOutputHelper output)
{
    static readonly WatermarkKey Key = WatermarkKey.FromSecret("tests");

    static Tensor RandomImages(int n, int size, long seed)
    {
        using var g = new Generator((ulong)seed);
        return (torch.rand(new long[] { n, 1, size, size }, generator: g) * 255).round().to(ScalarType.Byte);
    }

    [Fact]
    public void MarkedImagesScoreSqrt2KAndChangeLittle()
    {
        var wm = new PixelWatermark(Key);
        using var images = TestData.Test.Images.narrow(0, 0, 64);
        using var marked = wm.Embed(images);
        Assert.Equal(images.shape, marked.shape);
        Assert.Equal(ScalarType.Byte, marked.dtype);
        using var z = wm.Z(marked);
        double minZ = z.min().item<double>(), ideal = Math.Sqrt(2.0 * wm.K);
        output.WriteLine($"mean z {z.mean().item<double>():F2}, min z {minZ:F2} (ideal {ideal:F2}), PSNR {ImageAttacks.Psnr(images, marked).mean().item<double>():F1} dB");
        Assert.True(minZ > 0.7 * ideal && z.mean().item<double>() > 0.9 * ideal, $"min z {minZ}, mean z {z.mean().item<double>()}");
        Assert.All(wm.Detect(marked), s => Assert.True(s.Watermarked));
        using var psnr = ImageAttacks.Psnr(images, marked);
        Assert.True(psnr.min().item<double>() > 34, $"PSNR {psnr.min().item<double>()}");
        // Another key sees nothing.
        var other = new PixelWatermark(WatermarkKey.FromSecret("someone else"));
        Assert.True(other.Detect(marked).Count(s => s.Watermarked) <= 1);
    }

    [Fact]
    public void ZOnUnmarkedImagesIsStandardNormalAndTheFalsePositiveRateMatchesTheThreshold()
    {
        // For a fixed image and a random key the phases are uniform, so z is a sum of K cosines of uniform angles:
        // mean 0, variance 1. Check over 4,000 random images (a fixed key) and 400 keys (a fixed image).
        var wm = new PixelWatermark(Key);
        using var images = RandomImages(4000, 28, 1);
        using var z = wm.Z(images);
        double mean = z.mean().item<double>(), std = z.std().item<double>();
        // One-sided rate above z = 1.645 (5%) and 2.326 (1%): binomial standard errors 0.34% and 0.16%.
        double above5 = (z > 1.6449).to(ScalarType.Float64).mean().item<double>();
        double above1 = (z > 2.3263).to(ScalarType.Float64).mean().item<double>();
        output.WriteLine($"random images: mean {mean:F3}, std {std:F3}, P(z>1.645) {above5:P2}, P(z>2.326) {above1:P2}");
        Assert.InRange(mean, -0.05, 0.05);
        Assert.InRange(std, 0.95, 1.05);
        Assert.InRange(above5, 0.05 - 0.012, 0.05 + 0.012);
        Assert.InRange(above1, 0.01 - 0.006, 0.01 + 0.006);

        using var one = TestData.Test.Images.narrow(0, 1, 1);
        var zs = Enumerable.Range(0, 400).Select(k => new PixelWatermark(WatermarkKey.FromSecret($"key {k}")).Z(one).item<double>()).ToArray();
        double km = zs.Average(), ks = Math.Sqrt(zs.Select(v => (v - km) * (v - km)).Sum() / (zs.Length - 1));
        output.WriteLine($"one image, 400 keys: mean {km:F3}, std {ks:F3}");
        Assert.InRange(km, -0.2, 0.2);
        Assert.InRange(ks, 0.85, 1.15);

        // The detector's decision (with its gain search) stays below its nominal false-positive rate: 1e-4 per image,
        // so none of 4,000 (the chance of one or more is 33%, of three or more 0.8%).
        int fp = wm.Detect(images).Count(s => s.Watermarked);
        output.WriteLine($"false positives {fp}/4000 at p < {wm.PValueThreshold}");
        Assert.True(fp <= 2);
    }

    [Fact]
    public void UpperTailAndZForAreInverse()
    {
        Assert.Equal(0.5, WatermarkScore.UpperTail(0), 12);
        Assert.Equal(0.0227501319481792, WatermarkScore.UpperTail(2), 12);        // 1 − Φ(2)
        Assert.Equal(3.71901648545568, WatermarkScore.ZFor(1e-4), 6);
        Assert.True(WatermarkScore.UpperTail(12) is > 0 and < 1e-32);
    }

    [Fact]
    public void SurvivesCropsThatKeepTheCentreWhenGivenTheCanvas()
    {
        var wm = new PixelWatermark(Key);
        using var images = TestData.Test.Images.narrow(0, 0, 16);
        using var marked = wm.Embed(images);
        using var crop = ImageAttacks.CenterCrop(marked, 0.8);
        Assert.Equal(22, crop.shape[2]);
        var found = wm.Detect(crop, (28, 28));
        output.WriteLine(string.Join("\n", found.Select(s => $"{s.Z:F2} {s.PValue:G3} {s.Detail}")));
        Assert.All(found, s => Assert.True(s.Watermarked, s.Detail));
        Assert.All(found, s => Assert.Contains("at (3, 3)", s.Detail));
        using var plainCrop = ImageAttacks.CenterCrop(images, 0.8);
        Assert.True(wm.Detect(plainCrop, (28, 28)).Count(s => s.Watermarked) == 0);
    }

    [Fact]
    public void ResizeRoundTripIsNearlyIdentityAtTwice()
    {
        using var images = TestData.Test.Images.narrow(0, 0, 8);
        using var back = ImageAttacks.ResizeRoundTrip(images, 2.0);
        double psnr = ImageAttacks.Psnr(images, back).mean().item<double>();
        output.WriteLine($"resize ×2 and back: PSNR {psnr:F1} dB");
        var wm = new PixelWatermark(Key);
        using var marked = wm.Embed(images);
        using var mb = ImageAttacks.ResizeRoundTrip(marked, 2.0);
        output.WriteLine(string.Join("\n", wm.Detect(mb).Select(s => $"{s.Z:F2} {s.Detail}")));
        using var zm = wm.Z(marked); using var zb = wm.Z(mb);
        output.WriteLine($"z before {zm.mean().item<double>():F2} after {zb.mean().item<double>():F2}");
    }
}
