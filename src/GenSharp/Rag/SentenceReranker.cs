using GenSharp.Models.Encoders;

namespace GenSharp.Rag;

/// <summary>
/// Re-ranks retrieved chunks by their single best sentence: each candidate's score is the largest cosine between the
/// query's embedding and the embeddings of the chunk's heading and its first <see cref="MaxSentences"/> sentences
/// (late interaction at sentence grain, with the same bi-encoder). A chunk embedded whole averages a long passage into
/// one vector; the one sentence that answers a question stands out better on its own. Costs one embedding per
/// sentence of every candidate, per query.
/// </summary>
public sealed class SentenceReranker(SentenceEncoder encoder)
{
    /// <summary>Sentences of a chunk scored (the rest of a long chunk is not looked at).</summary>
    public int MaxSentences { get; init; } = 8;

    /// <summary>The candidates, best sentence first; ties keep their given order. Scores become the best sentence cosines.</summary>
    public List<ScoredChunk> Rerank(string query, IReadOnlyList<ScoredChunk> candidates)
    {
        if (candidates.Count == 0) return new();
        var texts = new List<string> { query };
        var owner = new List<int>();
        for (int c = 0; c < candidates.Count; c++)
        {
            var chunk = candidates[c].Chunk;
            var pieces = AnswerSupport.Sentences(chunk.Text).Where(s => s.Length >= 12).Take(MaxSentences).ToList();
            if (chunk.Heading.Length > 0) pieces.Insert(0, chunk.Heading);
            if (pieces.Count == 0) pieces.Add(chunk.Text);
            foreach (var p in pieces) { texts.Add(p.Length > 600 ? p[..600] : p); owner.Add(c); }
        }
        var vectors = encoder.Embed(texts);
        var best = Enumerable.Repeat(double.NegativeInfinity, candidates.Count).ToArray();
        for (int i = 0; i < owner.Count; i++)
            best[owner[i]] = Math.Max(best[owner[i]], SqliteRagStore.Dot(vectors[0], vectors[i + 1]));
        return candidates.Select((c, i) => (c, i)).OrderByDescending(p => best[p.i]).ThenBy(p => p.i)
            .Select(p => p.c with { Score = best[p.i] }).ToList();
    }
}
