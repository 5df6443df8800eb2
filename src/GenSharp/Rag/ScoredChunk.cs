namespace GenSharp.Rag;

/// <summary>
/// A chunk found by a search, with its score: cosine for vectors; for keywords the store's own rank (SQLite: −bm25,
/// PostgreSQL: ts_rank_cd, higher is better in both); the fused rank score for hybrid retrieval.
/// </summary>
public sealed record ScoredChunk(long Id, Chunk Chunk, double Score);
