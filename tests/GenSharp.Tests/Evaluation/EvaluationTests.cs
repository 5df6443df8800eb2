using GenSharp.Evaluation;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>Sample-quality metrics against closed forms and brute-force loops.</summary>
public class EvaluationTests
{
    static Tensor Randn(long seed, params long[] shape)
    {
        TorchRuntime.EnsureReady();
        using var g = new Generator((ulong)seed);
        return torch.randn(shape, dtype: ScalarType.Float64, generator: g);
    }

    // ---- Fréchet distance ----

    [Fact]
    public void FrechetDistanceOfASetWithItselfIsZero()
    {
        using var x = Randn(1, 500, 8) * 3 + 1;
        double fd = FrechetDistance.Compute(x, x);
        var (_, cov) = FrechetDistance.Statistics(x);
        double scale = cov.trace().item<double>();                   // ≈ 8 · 9
        Assert.True(fd <= 1e-6 * scale, $"FD(x, x) = {fd}");
        using var other = Randn(2, 500, 8) * 3 + 1;
        Assert.True(FrechetDistance.Compute(x, other) > 1e-3, "FD of two different samples must not be 0");
    }

    [Fact]
    public void FrechetDistanceIsSymmetric()
    {
        using var a = Randn(3, 300, 6);
        using var b = Randn(4, 200, 6) * 0.5 + 0.7;
        double ab = FrechetDistance.Compute(a, b), ba = FrechetDistance.Compute(b, a);
        Assert.True(ab > 0.1);
        Assert.Equal(ab, ba, 9);
    }

    [Fact]
    public void FrechetDistanceOfDiagonalGaussiansMatchesClosedForm()
    {
        // Commuting covariances: tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2}) = Σᵢ (√aᵢ − √bᵢ)².
        double[] m1 = { 0.5, -1, 2, 0 }, m2 = { 1, 1, 2, -0.5 }, a = { 1, 4, 0.25, 9 }, b = { 2, 1, 0.25, 0.01 };
        double expected = 0;
        for (int i = 0; i < 4; i++) expected += Math.Pow(m1[i] - m2[i], 2) + Math.Pow(Math.Sqrt(a[i]) - Math.Sqrt(b[i]), 2);
        TorchRuntime.EnsureReady();
        using var mu1 = torch.tensor(m1);
        using var mu2 = torch.tensor(m2);
        using var c1 = torch.diag(torch.tensor(a));
        using var c2 = torch.diag(torch.tensor(b));
        Assert.Equal(expected, FrechetDistance.Compute(mu1, c1, mu2, c2), 10);
    }

    [Fact]
    public void FrechetDistanceOfNonCommutingCovariancesMatchesTwoByTwoClosedForm()
    {
        // For a 2×2 PSD M: tr √M = √(tr M + 2√det M). With M = Σ₁^{1/2} Σ₂ Σ₁^{1/2}:
        // tr M = tr(Σ₁Σ₂), det M = det Σ₁ · det Σ₂ — computed here in plain doubles.
        double[,] s1 = { { 2.0, 0.9 }, { 0.9, 1.0 } }, s2 = { { 0.5, -0.4 }, { -0.4, 3.0 } };
        double trProd = s1[0, 0] * s2[0, 0] + s1[0, 1] * s2[1, 0] + s1[1, 0] * s2[0, 1] + s1[1, 1] * s2[1, 1];
        double det1 = s1[0, 0] * s1[1, 1] - s1[0, 1] * s1[1, 0], det2 = s2[0, 0] * s2[1, 1] - s2[0, 1] * s2[1, 0];
        double trSqrt = Math.Sqrt(trProd + 2 * Math.Sqrt(det1 * det2));
        double expected = Math.Pow(0.3 - (-0.2), 2) + Math.Pow(1.0 - 0.4, 2) + (s1[0, 0] + s1[1, 1]) + (s2[0, 0] + s2[1, 1]) - 2 * trSqrt;
        TorchRuntime.EnsureReady();
        using var mu1 = torch.tensor(new[] { 0.3, 1.0 });
        using var mu2 = torch.tensor(new[] { -0.2, 0.4 });
        using var c1 = torch.tensor(new[] { s1[0, 0], s1[0, 1], s1[1, 0], s1[1, 1] }).reshape(2, 2);
        using var c2 = torch.tensor(new[] { s2[0, 0], s2[0, 1], s2[1, 0], s2[1, 1] }).reshape(2, 2);
        Assert.Equal(expected, FrechetDistance.Compute(mu1, c1, mu2, c2), 10);
        Assert.Equal(expected, FrechetDistance.Compute(mu2, c2, mu1, c1), 10);
    }

    [Fact]
    public void FrechetDistanceIsStableForSingularCovariances()
    {
        // 20 vectors in 50 dimensions (rank ≤ 19) plus a dead unit (always 0), as ReLU features give.
        using var x = torch.cat(new[] { Randn(5, 20, 50), torch.zeros(20, 1, dtype: ScalarType.Float64) }, 1);
        using var y = torch.cat(new[] { Randn(6, 20, 50) + 0.1, torch.zeros(20, 1, dtype: ScalarType.Float64) }, 1);
        double self = FrechetDistance.Compute(x, x);
        double xy = FrechetDistance.Compute(x, y);
        Assert.True(self <= 1e-6 * 50, $"FD(x, x) = {self}");
        Assert.True(double.IsFinite(xy) && xy > 0);
        // At rank-deficient covariances √ turns rounding-level eigenvalues (~1e-15) into ~1e-8 terms, so
        // symmetry holds to ~1e-8 relative there rather than to machine precision.
        Assert.True(Math.Abs(xy - FrechetDistance.Compute(y, x)) <= 1e-7 * xy);
    }

    [Fact]
    public void SqrtPsdSquaresBack()
    {
        using var a = Randn(7, 6, 6);
        using var spd = a.matmul(a.t());
        using var r = FrechetDistance.SqrtPsd(spd);
        Assert.True(r.matmul(r).allclose(spd, rtol: 1e-9, atol: 1e-9));
    }

    // ---- precision / recall ----

    [Fact]
    public void PrecisionAndRecallAreOneForIdenticalSetsAndZeroForFarApartSets()
    {
        using var x = Randn(8, 200, 5);
        var (p, r) = PrecisionRecall.Compute(x, x.clone());
        Assert.Equal(1.0, p);
        Assert.Equal(1.0, r);
        using var far = x + 100;
        var (pf, rf) = PrecisionRecall.Compute(x, far);
        Assert.Equal(0.0, pf);
        Assert.Equal(0.0, rf);
    }

    [Fact]
    public void PrecisionAndRecallMatchBruteForce()
    {
        using var real = Randn(9, 60, 4);
        using var gen = Randn(10, 50, 4) * 0.5 + 1.0;      // narrower and shifted: precision < 1, recall < 1
        const int k = 3;
        double[][] R = Rows(real), G = Rows(gen);
        double[] Radii(double[][] set) => set.Select(p => set.Select(q => Dist(p, q)).OrderBy(d => d).ElementAt(k)).ToArray();
        var rr = Radii(R);
        var gr = Radii(G);
        double precision = G.Count(g => R.Select((r, j) => Dist(g, r) <= rr[j]).Any(b => b)) / (double)G.Length;
        double recall = R.Count(r => G.Select((g, j) => Dist(r, g) <= gr[j]).Any(b => b)) / (double)R.Length;
        var (p, rc) = PrecisionRecall.Compute(real, gen, k);
        Assert.Equal(precision, p, 12);
        Assert.Equal(recall, rc, 12);
        Assert.InRange(p, 0.05, 0.99);
        Assert.InRange(rc, 0.05, 0.99);
    }

    // ---- KID ----

    [Fact]
    public void KidUnbiasedMmdMatchesBruteForceDoubleLoop()
    {
        using var x = Randn(11, 5, 3);
        using var y = Randn(12, 5, 3) + 0.3;
        double[][] X = Rows(x), Y = Rows(y);
        int m = 5, d = 3;
        double K(double[] a, double[] b) => Math.Pow(a.Zip(b, (u, v) => u * v).Sum() / d + 1, 3);
        double xx = 0, yy = 0, xy = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                if (i != j) { xx += K(X[i], X[j]); yy += K(Y[i], Y[j]); }
                xy += K(X[i], Y[j]);
            }
        double expected = xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / (m * m);
        Assert.Equal(expected, Kid.UnbiasedMmd2(x, y), 12);
    }

    [Fact]
    public void KidIsZeroWithinErrorForOneDistributionAndPositiveForShifted()
    {
        using var a = Randn(13, 400, 8);
        using var b = Randn(14, 400, 8);
        var same = Kid.Compute(a, b, subsets: 50, subsetSize: 200, seed: 1);
        Assert.True(same.Std > 0);
        Assert.True(Math.Abs(same.Mean) <= 3 * same.Std, $"KID {same.Mean} ± {same.Std}");
        using var shifted = b + 0.5;
        var diff = Kid.Compute(a, shifted, subsets: 50, subsetSize: 200, seed: 1);
        Assert.True(diff.Mean > 5 * diff.Std && diff.Mean > 10 * Math.Abs(same.Mean), $"shifted KID {diff.Mean} ± {diff.Std}");
        Assert.Equal(50, diff.Subsets);
        Assert.Equal(200, diff.SubsetSize);
        Assert.Equal(diff.Std / Math.Sqrt(50), diff.StandardError, 12);
    }

    [Fact]
    public void KidDefaultsToTheLiteratureSubsetSize()
    {
        using var a = Randn(15, 30, 4);
        using var b = Randn(16, 40, 4);
        var r = Kid.Compute(a, b, subsets: 3);
        Assert.Equal(30, r.SubsetSize);                 // min(N₁, N₂, 1000)
    }

    // ---- class statistics ----

    [Fact]
    public void ClassStatsCountsEntropyAndAgreement()
    {
        TorchRuntime.EnsureReady();
        using var pred = torch.tensor(new long[] { 0, 0, 1, 2, 2, 2, 0, 1 });
        using var asked = torch.tensor(new long[] { 0, 0, 1, 1, 2, 2, 2, 1 });
        var s = ClassStats.Compute(pred, 4, asked);
        Assert.Equal(new long[] { 3, 2, 3, 0 }, s.Counts);
        double[] p = { 3 / 8.0, 2 / 8.0, 3 / 8.0 };
        double h = -p.Sum(v => v * Math.Log(v));
        Assert.Equal(h, s.Entropy, 12);
        Assert.Equal(h / Math.Log(4), s.NormalizedEntropy, 12);
        Assert.Equal(6 / 8.0, s.Agreement!.Value, 12);
        using var one = torch.zeros(10, dtype: ScalarType.Int64);
        var collapsed = ClassStats.Compute(one, 10);
        Assert.Equal(0.0, collapsed.Entropy);
        Assert.Null(collapsed.Agreement);
    }

    // ---- memorisation ----

    [Fact]
    public void NearestTrainingDistancesMatchBruteForceAcrossChunks()
    {
        TorchRuntime.EnsureReady();
        using var g = new Generator(17);
        using var train = torch.randint(0, 256, new long[] { 23, 1, 4, 4 }, dtype: ScalarType.Byte, generator: g);
        using var q = torch.rand(new long[] { 5, 1, 4, 4 }, dtype: ScalarType.Float32, generator: g);
        using var d = Memorisation.NearestTrainingDistances(q, train, trainChunk: 7);   // 4 blocks, the last partial
        var T = Rows(train.flatten(1).to(ScalarType.Float64) / 255.0);
        var Q = Rows(q.flatten(1).to(ScalarType.Float64));
        var got = d.data<double>().ToArray();
        for (int i = 0; i < Q.Length; i++)
            Assert.Equal(T.Min(t => Dist(Q[i], t)), got[i], 9);
    }

    [Fact]
    public void MemorisationFlagsAnExactTrainingCopy()
    {
        var train = TestData.Train.Images.narrow(0, 0, 300);
        var test = TestData.Test.Images.narrow(0, 0, 50);
        using var g = new Generator(18);
        // Samples: 19 noise images and one exact copy of training image 123.
        using var noise = torch.rand(new long[] { 19, 1, 28, 28 }, dtype: ScalarType.Float32, generator: g);
        using var copy = train.narrow(0, 123, 1).to(ScalarType.Float32) / 255.0;
        using var samples = torch.cat(new[] { noise, copy }, 0);
        using var sd = Memorisation.NearestTrainingDistances(samples, train);
        using var td = Memorisation.NearestTrainingDistances(test.to(ScalarType.Float32) / 255.0, train);
        Assert.True(sd[19].item<double>() < 1e-6, $"the copy's distance is {sd[19].item<double>()}");
        var report = Memorisation.Compare(sd, td);
        Assert.Equal(1, report.Flagged);
        Assert.Equal(1 / 20.0, report.FlaggedFraction, 12);
        Assert.True(report.Test.Min > 0.5);                       // honest test images stay well away
        Assert.Equal(report.Test.Min, report.Threshold);
        Assert.True(report.Samples.Min <= report.Samples.P01 && report.Samples.P01 <= report.Samples.P05 && report.Samples.P05 <= report.Samples.Median);
    }

    static double Dist(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (u, v) => (u - v) * (u - v)).Sum());

    static double[][] Rows(Tensor t)
    {
        using var c = t.to(ScalarType.Float64).contiguous();
        var flat = c.data<double>().ToArray();
        int n = (int)c.shape[0], d = (int)c.shape[1];
        return Enumerable.Range(0, n).Select(i => flat.AsSpan(i * d, d).ToArray()).ToArray();
    }
}
