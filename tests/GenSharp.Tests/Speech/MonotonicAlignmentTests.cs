using GenSharp.Models.Speech;
using Xunit;

namespace GenSharp.Tests;

/// <summary>Monotonic alignment search against every monotonic alignment enumerated by brute force.</summary>
public class MonotonicAlignmentTests
{
    /// <summary>Every way to give N tokens ≥ 1 frame each, T in all (compositions of T into N parts).</summary>
    static IEnumerable<int[]> Compositions(int total, int parts)
    {
        if (parts == 1) { yield return new[] { total }; yield break; }
        for (int first = 1; first <= total - parts + 1; first++)
            foreach (var rest in Compositions(total - first, parts - 1))
                yield return new[] { first }.Concat(rest).ToArray();
    }

    static double Score(float[] l, int stride, int[] durations)
    {
        double s = 0;
        int j = 0;
        for (int i = 0; i < durations.Length; i++)
            for (int f = 0; f < durations[i]; f++, j++) s += l[i * stride + j];
        return s;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 6)]
    [InlineData(3, 3)]
    [InlineData(3, 8)]
    [InlineData(4, 9)]
    [InlineData(5, 11)]
    public void FindsTheBestOfAllMonotonicAlignments(int tokens, int frames)
    {
        var rng = new Random(tokens * 100 + frames);
        for (int trial = 0; trial < 20; trial++)
        {
            int stride = frames + 2;   // a padded row, as in a batch
            var l = Enumerable.Range(0, tokens * stride).Select(_ => (float)(rng.NextDouble() * 10 - 5)).ToArray();
            var best = Compositions(frames, tokens).Select(d => (d, s: Score(l, stride, d))).OrderByDescending(x => x.s).ToList();
            var found = MonotonicAlignment.Durations(l, tokens, frames, stride);
            Assert.Equal(frames, found.Sum());
            Assert.All(found, d => Assert.True(d >= 1));
            Assert.Equal(best[0].s, Score(l, stride, found), 4);
            if (best.Count == 1 || best[0].s - best[1].s > 1e-4) Assert.Equal(best[0].d, found);
        }
    }

    [Fact]
    public void FollowsAPlantedAlignment()
    {
        // Frames are drawn near one of 4 token means; the planted durations are the unique best alignment.
        int[] planted = { 3, 1, 5, 2 };
        int frames = planted.Sum(), tokens = planted.Length;
        var l = new float[tokens * frames];
        int j = 0;
        for (int i = 0; i < tokens; i++)
            for (int f = 0; f < planted[i]; f++, j++)
                for (int k = 0; k < tokens; k++) l[k * frames + j] = k == i ? 0 : -10;
        Assert.Equal(planted, MonotonicAlignment.Durations(l, tokens, frames, frames));
    }

    [Fact]
    public void RefusesFewerFramesThanTokens()
    {
        Assert.Throws<ArgumentException>(() => MonotonicAlignment.Durations(new float[12], 4, 3, 3));
        Assert.Throws<ArgumentException>(() => MonotonicAlignment.Durations(new float[5], 2, 3, 3));
    }
}
