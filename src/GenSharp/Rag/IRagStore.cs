namespace GenSharp.Rag;

/// <summary>
/// A RAG document store: chunks (source path, span, heading, text) with their unit-length embeddings, keyword search
/// over their text, and the content hash of every ingested source, so that re-ingesting replaces exactly a changed
/// file's chunks. A store records the embedder that built it and refuses to open for another. Two implementations:
/// <see cref="SqliteRagStore"/> (one embedded file, exact or USearch HNSW vector search, FTS5 BM25) and
/// <see cref="PgvectorRagStore"/> (PostgreSQL + pgvector HNSW, full-text search); <see cref="RagStoreLocation"/> opens
/// either by name. Implementations are safe to use from several threads and processes at once.
/// </summary>
public interface IRagStore : IDisposable
{
    /// <summary>Where the store is, for messages: a file path or a PostgreSQL database and index name.</summary>
    string Name { get; }

    /// <summary>Values per vector.</summary>
    int Dimensions { get; }

    /// <summary>The content hash recorded for a source, or null when it was never ingested.</summary>
    string? FileHash(string source);

    /// <summary>Every source in the store, in ordinal order.</summary>
    List<string> Sources();

    /// <summary>Number of chunks.</summary>
    long Count();

    /// <summary>Replaces the chunks of <paramref name="source"/> with <paramref name="chunks"/> (one vector each) and records its hash, in one transaction.</summary>
    void ReplaceSource(string source, string hash, IReadOnlyList<Chunk> chunks, IReadOnlyList<float[]> vectors);

    /// <summary>Removes a source and its chunks.</summary>
    void RemoveSource(string source);

    /// <summary>Writes one chunk: a new one when <paramref name="id"/> ≤ 0 (its id is returned), else the chunk with that id is replaced (or created with it).</summary>
    long UpsertChunk(long id, Chunk chunk, float[] vector);

    /// <summary>Deletes one chunk; false when there was none with that id.</summary>
    bool DeleteChunk(long id);

    /// <summary>A chunk by id, or null when there is none (any more).</summary>
    Chunk? TryGet(long id);

    /// <summary>The stored vector of a chunk, or null.</summary>
    float[]? VectorOf(long id);

    /// <summary>Every chunk with its id, in id order, that <paramref name="filter"/> (if any) accepts.</summary>
    List<(long Id, Chunk Chunk)> Chunks(Func<Chunk, bool>? filter = null);

    /// <summary>The <paramref name="k"/> chunks of largest cosine with <paramref name="query"/>, by exact search.</summary>
    List<ScoredChunk> SearchVectors(float[] query, int k);

    /// <summary>Exact search among the chunks <paramref name="filter"/> accepts (a metadata filter: source, heading, span).</summary>
    List<ScoredChunk> SearchVectors(float[] query, int k, Func<Chunk, bool> filter);

    /// <summary>The best <paramref name="k"/> chunks for a query vector: through the approximate (HNSW) index when the store has one, else exact.</summary>
    List<ScoredChunk> SearchNearest(float[] query, int k);

    /// <summary>The <paramref name="k"/> best chunks for any of the words of <paramref name="text"/> by the store's full-text ranking.</summary>
    List<ScoredChunk> SearchKeywords(string text, int k);

    /// <summary>Whether <see cref="SearchNearest"/> goes through an approximate index.</summary>
    bool HasApproximateIndex { get; }

    /// <summary>Makes vector queries approximate (HNSW) from now on; a store that always has its index does nothing.</summary>
    void UseApproximateIndex();

    /// <summary>Writes what the store keeps in memory (SQLite: the HNSW graph beside the file); also done on dispose.</summary>
    void Flush();
}
