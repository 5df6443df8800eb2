namespace GenSharp.Evaluation;

/// <summary>
/// Spearman's rank correlation ρ: Pearson's correlation of the ranks, tied values sharing the mean of their ranks
/// (the form SentEval and the STS benchmarks report, ×100).
/// </summary>
public static class SpearmanCorrelation
{
    /// <summary>ρ of two equally long series (at least two values each, neither constant).</summary>
    public static double Compute(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"series of {x.Count} and {y.Count} values");
        if (x.Count < 2) throw new ArgumentException("at least two pairs are needed");
        var rx = Ranks(x);
        var ry = Ranks(y);
        double mx = rx.Average(), my = ry.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < rx.Length; i++)
        {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        if (sxx == 0 || syy == 0) throw new ArgumentException("a constant series has no rank correlation");
        return sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>1-based ranks; ties get the mean of the ranks they span.</summary>
    public static double[] Ranks(IReadOnlyList<double> v)
    {
        var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
        var ranks = new double[v.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && v[order[end + 1]] == v[order[start]]) end++;
            double mean = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = mean;
            start = end + 1;
        }
        return ranks;
    }
}
