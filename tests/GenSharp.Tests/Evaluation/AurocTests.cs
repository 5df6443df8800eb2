using GenSharp.Evaluation;
using Xunit;

namespace GenSharp.Tests;

public class AurocTests
{
    [Fact]
    public void HandComputedCase()
    {
        // Pairs (pos, neg): (0.35, 0.1) ✓, (0.35, 0.4) ✗, (0.8, 0.1) ✓, (0.8, 0.4) ✓ → 3/4.
        Assert.Equal(0.75, Auroc.Compute(new[] { 0.1, 0.4, 0.35, 0.8 }, new[] { false, false, true, true }), 12);
    }

    [Fact]
    public void TiesCountHalf()
    {
        // Pairs: (0.5 vs 0.5) ½, (0.5 vs 0.2) 1 → 1.5 / 2.
        Assert.Equal(0.75, Auroc.Compute(new[] { 0.5, 0.5, 0.2 }, new[] { true, false, false }), 12);
        Assert.Equal(1.0, Auroc.Compute(new[] { 2.0, 1.0 }, new[] { true, false }), 12);
        Assert.Equal(0.0, Auroc.Compute(new[] { 2.0, 1.0 }, new[] { false, true }), 12);
    }

    [Fact]
    public void MatchesBruteForcePairCounting()
    {
        var rng = new Random(5);
        var scores = Enumerable.Range(0, 300).Select(_ => Math.Round(rng.NextDouble() * 20) / 4).ToArray(); // many ties
        var pos = Enumerable.Range(0, 300).Select(i => rng.NextDouble() < 0.3 + 0.02 * scores[i]).ToArray();
        double wins = 0, pairs = 0;
        for (int i = 0; i < scores.Length; i++)
            for (int j = 0; j < scores.Length; j++)
                if (pos[i] && !pos[j]) { pairs++; wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0; }
        Assert.Equal(wins / pairs, Auroc.Compute(scores, pos), 12);
    }

    [Fact]
    public void RejectsSingleClass()
    {
        Assert.Throws<GenSharpException>(() => Auroc.Compute(new[] { 1.0, 2.0 }, new[] { true, true }));
    }
}
