using GenSharp.Evaluation;
using Xunit;

namespace GenSharp.Tests;

public class SpearmanTests
{
    [Fact]
    public void WithoutTiesItIsTheClosedForm()
    {
        // ρ = 1 − 6Σd²/(n(n² − 1)): d = (−1, 1, −1, 1, 0), Σd² = 4, n = 5 → 1 − 24/120 = 0.8.
        Assert.Equal(0.8, SpearmanCorrelation.Compute(new double[] { 1, 2, 3, 4, 5 }, new double[] { 2, 1, 4, 3, 5 }), 12);
        Assert.Equal(-1, SpearmanCorrelation.Compute(new double[] { 1, 2, 3 }, new double[] { 30, 20, 10 }), 12);
    }

    [Fact]
    public void TiesShareTheMeanOfTheirRanks()
    {
        Assert.Equal(new[] { 1.0, 2.5, 4, 5, 6.5, 6.5, 2.5 }, SpearmanCorrelation.Ranks(new double[] { 1, 2, 3, 4, 5, 5, 2 }));
        // scipy.stats.spearmanr([1,2,3,4,5,5,2], [5,6,7,8,7,9,1]) = 0.8348975218874901
        Assert.Equal(0.8348975218874901, SpearmanCorrelation.Compute(new double[] { 1, 2, 3, 4, 5, 5, 2 }, new double[] { 5, 6, 7, 8, 7, 9, 1 }), 12);
        Assert.Throws<ArgumentException>(() => SpearmanCorrelation.Compute(new double[] { 1, 1 }, new double[] { 1, 2 }));
    }
}
