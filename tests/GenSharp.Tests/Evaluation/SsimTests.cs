using System.Text.Json.Nodes;
using GenSharp.Evaluation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Evaluation;

public class SsimTests
{
    /// <summary>SSIM of one grey image pair by the paper's formulas, a plain loop over window positions (no convolution).</summary>
    static double LoopSsim(double[,] x, double[,] y, double range)
    {
        int h = x.GetLength(0), w = x.GetLength(1), k = 11;
        var g = new double[k];
        double total = 0;
        for (int i = 0; i < k; i++) { g[i] = Math.Exp(-(i - 5.0) * (i - 5.0) / (2 * 1.5 * 1.5)); total += g[i]; }
        double c1 = Math.Pow(0.01 * range, 2), c2 = Math.Pow(0.03 * range, 2), sum = 0;
        int count = 0;
        for (int r = 0; r + k <= h; r++)
            for (int c = 0; c + k <= w; c++)
            {
                double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                    {
                        double wt = g[i] * g[j] / (total * total), a = x[r + i, c + j], b = y[r + i, c + j];
                        mx += wt * a; my += wt * b; xx += wt * a * a; yy += wt * b * b; xy += wt * a * b;
                    }
                double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
                sum += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                count++;
            }
        return sum / count;
    }

    static double[,] ToArray(Tensor t)
    {
        var a = new double[t.shape[0], t.shape[1]];
        var v = t.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) a[i, j] = v[i * a.GetLength(1) + j];
        return a;
    }

    [Fact]
    public void IdenticalImagesScoreOne()
    {
        var x = rand(new long[] { 3, 2, 20, 17 }, generator: new Generator(1));
        var s = Ssim.Compute(x, x);
        Assert.Equal(new long[] { 3 }, s.shape);
        foreach (var v in s.data<double>()) Assert.Equal(1.0, v, 12);
    }

    [Fact]
    public void WindowIsTheNormalisedGaussian()
    {
        var w = Ssim.Window();
        Assert.Equal(new long[] { 11, 11 }, w.shape);
        Assert.Equal(1.0, w.sum().item<double>(), 12);
        // Centre over a neighbour one pixel away: e^{1/(2σ²)}.
        Assert.Equal(Math.Exp(1 / (2 * 1.5 * 1.5)), w[5, 5].item<double>() / w[5, 6].item<double>(), 10);
    }

    [Fact]
    public void MatchesAPlainLoopOnRandomPairs()
    {
        var gen = new Generator(7);
        var x = rand(new long[] { 2, 1, 15, 18 }, generator: gen);
        var y = (x * 0.7 + rand(new long[] { 2, 1, 15, 18 }, generator: gen) * 0.3);
        var s = Ssim.Compute(x, y);
        for (int i = 0; i < 2; i++)
            Assert.Equal(LoopSsim(ToArray(x[i, 0]), ToArray(y[i, 0]), 1.0), s[i].item<double>(), 10);
    }

    [Fact]
    public void MatchesTheNumpyReferenceFixture()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Ssim", "ssim_reference.json")))!;
        var cases = json["cases"]!.AsArray();
        Assert.Equal(4, cases.Count);
        foreach (var c in cases)
        {
            int h = c!["h"]!.GetValue<int>(), w = c["w"]!.GetValue<int>();
            double range = c["data_range"]!.GetValue<double>();
            var x = tensor(c["x"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray(), new long[] { 1, 1, h, w });
            var y = tensor(c["y"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray(), new long[] { 1, 1, h, w });
            Assert.Equal(c["ssim"]!.GetValue<double>(), Ssim.Compute(x, y, range).item<double>(), 10);
        }
    }

    [Fact]
    public void RefusesSmallOrMismatchedImages()
    {
        Assert.Throws<ArgumentException>(() => Ssim.Compute(zeros(1, 1, 10, 20), zeros(1, 1, 10, 20)));
        Assert.Throws<ArgumentException>(() => Ssim.Compute(zeros(1, 1, 12, 12), zeros(2, 1, 12, 12)));
    }
}
