namespace GenSharp.Evaluation;

/// <summary>Area under the ROC curve.</summary>
public static class Auroc
{
    /// <summary>
    /// AUROC of <paramref name="scores"/> for telling positives (higher score = more positive) from
    /// negatives: the probability that a random positive outscores a random negative, ties counting
    /// one half (the Mann–Whitney U statistic divided by n₊·n₋), computed from average ranks in O(n log n).
    /// </summary>
    public static double Compute(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count)
            throw new ArgumentException($"{scores.Count} scores but {positive.Count} labels");
        if (scores.Any(s => double.IsNaN(s))) throw new GenSharpException("AUROC: a score is NaN");
        int n = scores.Count;
        long nPos = positive.Count(p => p), nNeg = n - nPos;
        if (nPos == 0 || nNeg == 0) throw new GenSharpException("AUROC needs at least one positive and one negative item");
        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ToArray();
        double rankSumPos = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) j++;
            double avgRank = (i + j) / 2.0 + 1; // ranks are 1-based; tied items share the mean rank
            for (int k = i; k <= j; k++) if (positive[order[k]]) rankSumPos += avgRank;
            i = j + 1;
        }
        double u = rankSumPos - nPos * (nPos + 1) / 2.0;
        return u / ((double)nPos * nNeg);
    }
}
