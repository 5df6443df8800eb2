namespace GenSharp.Rag;

/// <summary>Which searches a <see cref="HybridRetriever"/> fuses.</summary>
public enum RetrievalMode
{
    /// <summary>Vector and BM25 keyword search, fused by reciprocal rank.</summary>
    Hybrid,
    /// <summary>Vector search only (cosine of the embeddings).</summary>
    Vector,
    /// <summary>BM25 keyword search only.</summary>
    Keyword,
}
