using GenSharp.Models;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

public class LatentCodesTests
{
    [Fact]
    public void QuantizeRoundTripsThroughFileWithinBinWidth()
    {
        TorchRuntime.Seed(0);
        using var z = torch.randn(37, 5);
        var codes = LatentCodes.Quantize(z, 6, 1, 28, 28);
        var path = Path.Combine(TestData.TempDir(), "x.codes");
        codes.Save(path);
        Assert.Equal(20 + (37 * 5 * 6 + 7) / 8, new FileInfo(path).Length);
        var back = LatentCodes.Load(path);
        Assert.Equal(codes.Codes, back.Codes);
        Assert.Equal((5, 6, 28), (back.LatentDim, back.Bits, back.Height));
        using var zq = back.Dequantize();
        // Independent check: Φ(z) and Φ(ẑ) lie in the same bin of width 1/64.
        var u = z.data<float>().Select(v => Phi(v)).ToArray();
        var uq = zq.data<float>().Select(v => Phi(v)).ToArray();
        for (int i = 0; i < u.Length; i++) Assert.True(Math.Abs(u[i] - uq[i]) <= 0.5 / 64 + 1e-6, $"{u[i]} vs {uq[i]}");
    }

    static double Phi(double x)
    {
        // Standard normal CDF by numerical integration (independent of erf).
        double sum = 0, h = 1e-4;
        for (double t = -10; t < x; t += h) sum += Math.Exp(-0.5 * (t + h / 2) * (t + h / 2)) * h;
        return sum / Math.Sqrt(2 * Math.PI);
    }

    [Fact]
    public void RejectsCorruptFiles()
    {
        var dir = TestData.TempDir();
        var bad = Path.Combine(dir, "bad.codes");
        File.WriteAllBytes(bad, new byte[30]);
        Assert.Contains("bad magic", Assert.Throws<GenSharpException>(() => LatentCodes.Load(bad)).Message);
        TorchRuntime.EnsureReady();
        using var z = torch.zeros(3, 2);
        var good = Path.Combine(dir, "good.codes");
        LatentCodes.Quantize(z, 8, 1, 28, 28).Save(good);
        var bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(bad, bytes[..^1]);
        Assert.Contains("truncated", Assert.Throws<GenSharpException>(() => LatentCodes.Load(bad)).Message);
    }
}
