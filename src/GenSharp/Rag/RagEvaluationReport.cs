namespace GenSharp.Rag;

/// <summary>The aggregate figures of a <see cref="RagEvaluation"/> run (NaN where no question qualifies).</summary>
public sealed record RagEvaluationReport(IReadOnlyList<RagQuestionResult> Results, int TopK, int RecallDepth, double Threshold)
{
    IEnumerable<RagQuestionResult> Answerable => Results.Where(r => r.Answerable);
    IEnumerable<RagQuestionResult> Unanswerable => Results.Where(r => !r.Answerable);

    /// <summary>Share of answerable questions with a hit in the first <paramref name="k"/> chunks.</summary>
    public double RecallAt(int k) => Mean(Answerable.Select(r => r.FirstHit >= 1 && r.FirstHit <= k ? 1.0 : 0.0));

    /// <summary>Mean reciprocal rank of the first hit within the recall depth.</summary>
    public double Mrr => Mean(Answerable.Select(r => r.FirstHit >= 1 ? 1.0 / r.FirstHit : 0.0));

    /// <summary>Share of unanswerable questions declined.</summary>
    public double NotFoundAccuracy => Mean(Unanswerable.Select(r => r.Found ? 0.0 : 1.0));

    /// <summary>Share of answerable questions declined.</summary>
    public double FalseNotFound => Mean(Answerable.Select(r => r.Found ? 0.0 : 1.0));

    /// <summary>Mean faithfulness over answered questions that have one.</summary>
    public double Faithfulness => Mean(Results.Where(r => r.Faithfulness.HasValue).Select(r => r.Faithfulness!.Value));

    /// <summary>Correct citations over all citations in answers to answerable questions.</summary>
    public double CitationPrecision
    {
        get
        {
            int all = Results.Sum(r => r.Citations);
            return all == 0 ? double.NaN : (double)Results.Sum(r => r.CorrectCitations) / all;
        }
    }

    /// <summary>(threshold, not-found accuracy, false not-found) at each of <paramref name="thresholds"/>, from the stored best cosines.</summary>
    public List<(double Threshold, double NotFoundAccuracy, double FalseNotFound)> Sweep(IEnumerable<double> thresholds) =>
        thresholds.Select(t => (t, Mean(Unanswerable.Select(r => r.BestCosine < t ? 1.0 : 0.0)), Mean(Answerable.Select(r => r.BestCosine < t ? 1.0 : 0.0)))).ToList();

    static double Mean(IEnumerable<double> xs)
    {
        var list = xs.ToList();
        return list.Count == 0 ? double.NaN : list.Average();
    }
}
