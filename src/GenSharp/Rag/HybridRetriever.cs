using GenSharp.Models.Encoders;

namespace GenSharp.Rag;

/// <summary>
/// Vector search and BM25 keyword search over an <see cref="IRagStore"/>, optionally restricted by a metadata
/// <see cref="Filter"/>, fused by reciprocal-rank fusion
/// (Cormack, Clarke &amp; Büttcher 2009): score(d) = Σ over the two lists of 1 / (k + rank of d), k = 60. <see cref="Mode"/>
/// keeps one list alone (for comparing them); the best cosine is reported in every mode, since it decides "not found".
/// </summary>
public sealed class HybridRetriever(IRagStore store, SentenceEncoder encoder)
{
    /// <summary>RRF's constant.</summary>
    public const int RrfK = 60;

    /// <summary>Candidates each list contributes before fusion.</summary>
    public int Candidates { get; init; } = 50;

    /// <summary>Which lists are fused (both by default).</summary>
    public RetrievalMode Mode { get; init; } = RetrievalMode.Hybrid;

    /// <summary>When set, the first <see cref="RerankDepth"/> fused chunks are re-ordered by it before the top k are taken.</summary>
    public SentenceReranker? Reranker { get; init; }

    /// <summary>Fused chunks the <see cref="Reranker"/> re-orders.</summary>
    public int RerankDepth { get; init; } = 10;

    /// <summary>
    /// When set, only chunks it accepts are retrieved: the vector side searches them exactly (an HNSW graph cannot be
    /// restricted), the keyword side ranks the store's best <see cref="FilteredKeywordDepth"/> matches and keeps those
    /// that pass, and the best cosine (the "not found" test) is over the accepted chunks.
    /// </summary>
    public SourceFilter? Filter { get; init; }

    /// <summary>Keyword matches ranked before the <see cref="Filter"/> is applied to them.</summary>
    public int FilteredKeywordDepth { get; init; } = 2000;

    /// <summary>The <paramref name="k"/> best chunks for <paramref name="query"/>, and the best cosine of any chunk (how relevant the vector side found anything).</summary>
    public (List<ScoredChunk> Chunks, double BestCosine) Retrieve(string query, int k)
    {
        var q = encoder.Embed(new[] { query })[0];
        int vectorDepth = Mode == RetrievalMode.Keyword ? 1 : Candidates;
        var byVector = Filter is { } filter ? store.SearchVectors(q, vectorDepth, filter.Accepts) : store.SearchNearest(q, vectorDepth);
        List<ScoredChunk> Keywords() => Filter is { } f
            ? store.SearchKeywords(query, Math.Max(Candidates, FilteredKeywordDepth)).Where(c => f.Accepts(c.Chunk)).Take(Candidates).ToList()
            : store.SearchKeywords(query, Candidates);
        var lists = Mode switch
        {
            RetrievalMode.Vector => new[] { byVector },
            RetrievalMode.Keyword => new[] { Keywords() },
            _ => new[] { byVector, Keywords() },
        };
        var fused = new Dictionary<long, (ScoredChunk Chunk, double Score)>();
        foreach (var list in lists)
            for (int rank = 0; rank < list.Count; rank++)
            {
                var c = list[rank];
                double add = 1.0 / (RrfK + rank + 1);
                fused[c.Id] = fused.TryGetValue(c.Id, out var f) ? (f.Chunk, f.Score + add) : (c, add);
            }
        var top = fused.Values.OrderByDescending(f => f.Score).ThenBy(f => f.Chunk.Id).Take(Reranker is null ? k : Math.Max(k, RerankDepth))
            .Select(f => f.Chunk with { Score = f.Score }).ToList();
        if (Reranker is not null)
        {
            var head = Reranker.Rerank(query, top.Take(RerankDepth).ToList());
            top = head.Concat(top.Skip(RerankDepth)).Take(k).ToList();
        }
        return (top, byVector.Count > 0 ? byVector[0].Score : 0);
    }
}
