using GenSharp.Sampling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>The token filters against distributions computed by hand.</summary>
public class TokenSamplingTests
{
    static Tensor Logits(params double[] probs) => torch.tensor(probs.Select(p => Math.Log(p)).ToArray(), dtype: ScalarType.Float32).unsqueeze(0);

    static double[] Probs(Tensor logits) => logits.softmax(1).squeeze(0).to_type(ScalarType.Float64).data<double>().ToArray();

    static void Near(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-5, $"[{i}] {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void TopKKeepsTheKMostLikelyAndRenormalises()
    {
        // p = (.1, .4, .2, .3); k = 2 keeps .4 and .3 → (0, 4/7, 0, 3/7).
        Near(new[] { 0, 4 / 7.0, 0, 3 / 7.0 }, Probs(TokenSampling.TopK(Logits(.1, .4, .2, .3), 2)));
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // Sorted .4, .3, .2, .1; cumulative .4, .7, .9, 1. p = .6: {.4, .3} (.4 < .6 alone) → (0, 4/7, 0, 3/7).
        Near(new[] { 0, 4 / 7.0, 0, 3 / 7.0 }, Probs(TokenSampling.TopP(Logits(.1, .4, .2, .3), 0.6)));
        // p = .7 exactly: .4 + .3 reaches it, .2 is not needed.
        Near(new[] { 0, 4 / 7.0, 0, 3 / 7.0 }, Probs(TokenSampling.TopP(Logits(.1, .4, .2, .3), 0.7 - 1e-6)));
        // p = .75 needs the third token → (0, 4/9, 2/9, 3/9).
        Near(new[] { 0, 4 / 9.0, 2 / 9.0, 3 / 9.0 }, Probs(TokenSampling.TopP(Logits(.1, .4, .2, .3), 0.75)));
        // A tiny p still keeps the most likely token.
        Near(new[] { 0, 1.0, 0, 0 }, Probs(TokenSampling.TopP(Logits(.1, .4, .2, .3), 0.01)));
    }

    [Fact]
    public void MinPDropsTokensBelowAFractionOfTheTop()
    {
        // max p = .4; min_p = .6 → threshold .24: keep .4 and .3 → (0, 4/7, 0, 3/7).
        Near(new[] { 0, 4 / 7.0, 0, 3 / 7.0 }, Probs(TokenSampling.MinP(Logits(.1, .4, .2, .3), 0.6)));
        // min_p = .4 → threshold .16: keep .4, .3, .2.
        Near(new[] { 0, 4 / 9.0, 2 / 9.0, 3 / 9.0 }, Probs(TokenSampling.MinP(Logits(.1, .4, .2, .3), 0.4)));
    }

    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits()
    {
        var logits = torch.tensor(new float[] { 2, -1, 0.5f, 3 }).unsqueeze(0);
        var previous = torch.tensor(new long[] { 0, 1, 1 }).unsqueeze(0);   // token 1 twice: penalised once
        var r = TokenSampling.RepetitionPenalty(logits, previous, 2.0).squeeze(0).data<float>().ToArray();
        Assert.Equal(new float[] { 1, -2, 0.5f, 3 }, r);
    }

    [Fact]
    public void TemperatureScalesAndZeroIsGreedy()
    {
        var l = Logits(.1, .4, .2, .3);
        // T = 0.5 squares the probabilities before renormalising.
        double z = .01 + .16 + .04 + .09;
        Near(new[] { .01 / z, .16 / z, .04 / z, .09 / z }, Probs(TokenSampling.Temperature(l, 0.5)));
        var greedy = TokenSampling.Next(l, null, new GenerationOptions { Temperature = 0 }, null);
        Assert.Equal(1, greedy.item<long>());
    }

    [Fact]
    public void SamplingIsSeededAndFollowsTheFilteredDistribution()
    {
        var l = Logits(.1, .4, .2, .3).expand(4000, 4).contiguous();
        var o = new GenerationOptions { TopK = 2 };
        using var g1 = new Generator(7);
        using var g2 = new Generator(7);
        var a = TokenSampling.Next(l, null, o, g1);
        var b = TokenSampling.Next(l, null, o, g2);
        Assert.True(a.eq(b).all().item<bool>());
        var counts = torch.bincount(a, minlength: 4).data<long>().ToArray();
        Assert.Equal(0, counts[0] + counts[2]);                               // filtered out
        Assert.InRange(counts[1] / 4000.0, 4 / 7.0 - 0.04, 4 / 7.0 + 0.04);
    }
}
