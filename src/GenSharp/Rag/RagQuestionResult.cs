namespace GenSharp.Rag;

/// <summary>One question's outcome: rank of the first hit (0 = none), the best cosine, whether it was answered, the answer and its scores.</summary>
public sealed record RagQuestionResult(string Id, bool Answerable, int FirstHit, double BestCosine, bool Found, string? Answer,
    double? Faithfulness, int Citations, int CorrectCitations);
