namespace GenSharp.Rag;

/// <summary>
/// Scores retrieval and grounded answers against a QA set with gold spans (<see cref="RagQuestion"/>).
/// <list type="bullet">
/// <item>Retrieval: a retrieved chunk is a hit when it overlaps a gold span (same file, shared lines). recall@k = share
/// of answerable questions with a hit among the first k chunks; MRR = mean of 1 / rank of the first hit within
/// <see cref="RecallDepth"/> (0 when none).</item>
/// <item>"Not found": a question is declined when the best cosine of any chunk is below <see cref="Threshold"/> (as
/// <see cref="RagAnswer"/> does). Accuracy on unanswerable questions = share declined; the false-decline rate = share of
/// answerable ones declined. <see cref="RagEvaluationReport.Sweep"/> gives both at other thresholds.</item>
/// <item>Answers (when a responder is given): faithfulness by <see cref="AnswerSupport"/>; citation precision = share
/// of [n] markers in answers to answerable questions that name a chunk overlapping a gold span (a marker past the
/// last source counts as wrong).</item>
/// </list>
/// </summary>
public sealed class RagEvaluation(HybridRetriever retriever)
{
    /// <summary>Chunks a responder is given (and recall@k's middle k).</summary>
    public int TopK { get; init; } = 4;

    /// <summary>Deepest rank searched for a hit (recall@k's largest k, MRR's cut-off).</summary>
    public int RecallDepth { get; init; } = 10;

    /// <summary>Best-cosine threshold under which the question is declined as "not found".</summary>
    public double Threshold { get; init; } = 0.3;

    /// <summary>Answers a question from its numbered sources; null = retrieval only.</summary>
    public Func<string, IReadOnlyList<Chunk>, string>? Responder { get; init; }

    /// <summary>Called after each question (for progress).</summary>
    public Action<int, int>? Progress { get; init; }

    /// <summary>Runs every question.</summary>
    public RagEvaluationReport Run(IReadOnlyList<RagQuestion> questions)
    {
        if (TopK < 1 || RecallDepth < TopK) throw new ParameterException("TopK", $"need 1 ≤ top-k ≤ recall depth, got {TopK} and {RecallDepth}");
        var results = new List<RagQuestionResult>();
        for (int i = 0; i < questions.Count; i++)
        {
            var q = questions[i];
            var (chunks, best) = retriever.Retrieve(q.Question, RecallDepth);
            int rank = 0;
            for (int r = 0; r < chunks.Count && rank == 0; r++)
                if (q.Gold.Any(g => g.Overlaps(chunks[r].Chunk))) rank = r + 1;
            bool found = chunks.Count > 0 && best >= Threshold;
            string? answer = null;
            double? faithfulness = null;
            int cites = 0, correct = 0;
            if (Responder is not null)
            {
                var sources = chunks.Take(TopK).Select(c => c.Chunk).ToList();
                answer = found ? Responder(q.Question, sources) : RagAnswer.NotFound;
                if (found)
                {
                    faithfulness = AnswerSupport.Faithfulness(answer, sources);
                    if (q.Answerable)
                        foreach (var n in AnswerSupport.Citations(answer).Distinct())
                        {
                            cites++;
                            if (n >= 1 && n <= sources.Count && q.Gold.Any(g => g.Overlaps(sources[n - 1]))) correct++;
                        }
                }
            }
            results.Add(new RagQuestionResult(q.Id, q.Answerable, rank, best, found, answer, faithfulness, cites, correct));
            Progress?.Invoke(i + 1, questions.Count);
        }
        return new RagEvaluationReport(results, TopK, RecallDepth, Threshold);
    }
}
