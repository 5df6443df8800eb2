namespace GenSharp.Rag;

/// <summary>
/// Where RAG indexes live, and so which store opens them: SQLite files (<c>NAME.rag.sqlite</c>) in a folder — the
/// default, the current folder — or a PostgreSQL database with pgvector, named by an Npgsql connection string
/// (<c>"Host=127.0.0.1;Port=54329;Username=postgres;Database=gensharp"</c>), one schema per index. The CLI's
/// <c>--store</c> and the vector-store adapter both go through it.
/// </summary>
public sealed class RagStoreLocation
{
    RagStoreLocation(string? folder, string? connectionString) { Folder = folder; ConnectionString = connectionString; }

    /// <summary>The folder of SQLite indexes (null: the current folder, and index names may be paths).</summary>
    public string? Folder { get; }

    /// <summary>The PostgreSQL connection string, or null for SQLite.</summary>
    public string? ConnectionString { get; }

    /// <summary>True when indexes live in PostgreSQL.</summary>
    public bool IsPostgres => ConnectionString is not null;

    /// <summary>SQLite files; <paramref name="folder"/> null means index names are paths (relative to the current folder).</summary>
    public static RagStoreLocation Sqlite(string? folder = null) => new(folder, null);

    /// <summary>A PostgreSQL database.</summary>
    public static RagStoreLocation Postgres(string connectionString) => new(null, connectionString);

    /// <summary>
    /// What a user wrote: nothing → SQLite in the current folder; text with '=' (a connection string, e.g.
    /// <c>Host=...;Database=...</c>) → PostgreSQL; anything else → a folder of SQLite files.
    /// </summary>
    public static RagStoreLocation Parse(string? store) =>
        string.IsNullOrWhiteSpace(store) ? Sqlite() : store.Contains('=') ? Postgres(store) : Sqlite(store);

    /// <summary>The SQLite file of an index.</summary>
    public string PathOf(string index)
    {
        if (Folder is null) return RagIngest.StorePath(index);
        if (string.IsNullOrWhiteSpace(index) || index.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || index.Contains(".."))
            throw new ArgumentException($"'{index}' is not a collection name (a file name without a folder)", nameof(index));
        return Path.Combine(Folder, RagIngest.StorePath(index));
    }

    /// <summary>How messages name an index.</summary>
    public string Describe(string index) => IsPostgres ? $"PostgreSQL index {index}" : PathOf(index);

    /// <summary>Opens (or creates) an index for embeddings of <paramref name="embedder"/>; refuses one built with another.</summary>
    public IRagStore Open(string index, string embedder, int dimensions) =>
        IsPostgres ? PgvectorRagStore.Open(ConnectionString!, index, embedder, dimensions) : SqliteRagStore.Open(PathOf(index), embedder, dimensions);

    /// <summary>The embedder an index was built with, or null when there is no such index.</summary>
    public string? EmbedderOf(string index) =>
        IsPostgres ? PgvectorRagStore.EmbedderOf(ConnectionString!, index) : SqliteRagStore.EmbedderOf(PathOf(index));

    /// <summary>The indexes there, by name (SQLite: the files <c>*.rag.sqlite</c> of the folder).</summary>
    public List<string> Indexes()
    {
        if (IsPostgres) return PgvectorRagStore.Indexes(ConnectionString!);
        var folder = Folder ?? ".";
        if (!Directory.Exists(folder)) return new();
        return Directory.EnumerateFiles(folder, "*.rag.sqlite").Select(f => Path.GetFileName(f)[..^".rag.sqlite".Length]).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Deletes an index and everything stored with it.</summary>
    public void Delete(string index)
    {
        if (IsPostgres) { PgvectorRagStore.Delete(ConnectionString!, index); return; }
        var path = PathOf(index);
        foreach (var f in new[] { path, path + "-wal", path + "-shm", ApproximateIndex.PathFor(path) })
            if (File.Exists(f)) File.Delete(f);
    }
}
