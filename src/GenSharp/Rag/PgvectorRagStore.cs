using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;
using Pgvector;

namespace GenSharp.Rag;

/// <summary>
/// The RAG store for scale: one PostgreSQL schema per index (<c>rag_NAME</c>) holding the chunks with their embeddings in
/// a pgvector <c>vector(D)</c> column under an HNSW index (cosine, <c>vector_cosine_ops</c>), and a <c>tsvector</c> of
/// heading + text (English configuration) under a GIN index for keyword search. Keyword hits are ranked by PostgreSQL's
/// <c>ts_rank_cd</c> (cover density), which is not BM25: it knows no document frequencies, so scores differ from
/// <see cref="SqliteRagStore"/>'s and only the order within one query means anything. The schema records the embedder that
/// built it and refuses another; every ingested source has its content hash, and re-ingesting a source replaces its chunks
/// in one transaction that first locks the source's row, so concurrent writers of one file serialise and readers see the
/// old chunks or the new ones, never a mix. Each call takes its own pooled connection: the store is safe to share
/// between threads.
/// </summary>
public sealed class PgvectorRagStore : IRagStore
{
    /// <summary>HNSW graph degree (pgvector's <c>m</c>); the same as the SQLite store's USearch graph.</summary>
    public const int M = 16;
    /// <summary>Candidates kept while building (pgvector's <c>ef_construction</c>).</summary>
    public const int EfConstruction = 128;
    /// <summary>Candidates kept while searching (<c>hnsw.ef_search</c>; raised to k when k is larger).</summary>
    public const int EfSearch = 64;
    /// <summary>The text-search configuration of the keyword index.</summary>
    public const string TextConfig = "english";

    static readonly Regex IndexName = new("^[a-z0-9_]{1,48}$", RegexOptions.Compiled);

    readonly NpgsqlDataSource _source;
    readonly string _s;   // the schema, validated: safe to put into SQL

    PgvectorRagStore(NpgsqlDataSource source, string schema, string name, int dimensions)
    {
        _source = source;
        _s = schema;
        Name = name;
        Dimensions = dimensions;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int Dimensions { get; }

    /// <summary>The schema an index lives in; a one-line error for a name PostgreSQL identifiers cannot hold as it is.</summary>
    public static string SchemaOf(string index)
    {
        if (!IndexName.IsMatch(index))
            throw new GenSharpException($"'{index}' is not a PostgreSQL index name: use 1-48 lower-case letters, digits or _");
        return "rag_" + index;
    }

    static string Describe(string connectionString, string index)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            return $"postgres://{b.Host}:{b.Port}/{b.Database} index {index}";
        }
        catch (ArgumentException e)
        {
            throw new GenSharpException($"'{connectionString}' is not a PostgreSQL connection string ({e.Message}); write it as \"Host=...;Port=...;Username=...;Database=...\"");
        }
    }

    /// <summary>A one-line error for a server that cannot be reached or refuses us.</summary>
    static GenSharpException Unreachable(string where, Exception e) =>
        new($"{where}: {e.Message.Split('\n')[0]} (is the PostgreSQL server running and does the connection string name it? bench/pg_trixie.sh start runs one)");

    /// <summary>
    /// Opens (or creates) the index <paramref name="index"/> in the database of <paramref name="connectionString"/> (an
    /// Npgsql connection string) for embeddings of <paramref name="embedder"/> with <paramref name="dimensions"/> values.
    /// Creates the <c>vector</c> extension when it is missing (that needs a role allowed to).
    /// </summary>
    public static PgvectorRagStore Open(string connectionString, string index, string embedder, int dimensions)
    {
        var schema = SchemaOf(index);
        var where = Describe(connectionString, index);
        try
        {
            // Set-up on a plain connection: the vector type must exist before a data source maps it.
            using (var db = new NpgsqlConnection(connectionString))
            {
                db.Open();
                using var tx = db.BeginTransaction();
                // Concurrent openers of one index wait here: CREATE ... IF NOT EXISTS is not safe against a racing twin.
                Exec(db, tx, $"SELECT pg_advisory_xact_lock(hashtext('gensharp.{schema}'))");
                Exec(db, tx, "CREATE EXTENSION IF NOT EXISTS vector");
                Exec(db, tx, $"""
                    CREATE SCHEMA IF NOT EXISTS {schema};
                    CREATE TABLE IF NOT EXISTS {schema}.meta (key text PRIMARY KEY, value text NOT NULL);
                    CREATE TABLE IF NOT EXISTS {schema}.files (path text PRIMARY KEY, hash text NOT NULL);
                    """);
                var stored = Meta(db, tx, schema, "embedder");
                var dims = dimensions.ToString(CultureInfo.InvariantCulture);
                if (stored is null)
                {
                    Exec(db, tx, $"""
                        CREATE TABLE {schema}.chunks (
                            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                            path text NOT NULL, start_line integer NOT NULL, end_line integer NOT NULL,
                            heading text NOT NULL, text text NOT NULL, unit text NOT NULL DEFAULT 'line',
                            embedding vector({dims}) NOT NULL,
                            tsv tsvector GENERATED ALWAYS AS (to_tsvector('{TextConfig}', heading || ' ' || text)) STORED);
                        CREATE INDEX chunks_path ON {schema}.chunks (path);
                        CREATE INDEX chunks_tsv ON {schema}.chunks USING gin (tsv);
                        CREATE INDEX chunks_hnsw ON {schema}.chunks USING hnsw (embedding vector_cosine_ops) WITH (m = {M}, ef_construction = {EfConstruction});
                        INSERT INTO {schema}.meta (key, value) VALUES ('embedder', @e), ('dimensions', @d);
                        """, ("e", embedder), ("d", dims));
                }
                else if (stored != embedder || Meta(db, tx, schema, "dimensions") != dims)
                    throw new GenSharpException($"{where} was built with the embedder {stored} ({Meta(db, tx, schema, "dimensions")} dimensions), not {embedder} ({dimensions}); query it with {stored}, or ingest into a new index");
                tx.Commit();
            }
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            builder.UseVector();
            return new PgvectorRagStore(builder.Build(), schema, where, dimensions);
        }
        catch (Exception e) when (e is NpgsqlException or PostgresException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw Unreachable(where, e);
        }
    }

    /// <summary>The embedder an index was built with, or null when the database holds no such index.</summary>
    public static string? EmbedderOf(string connectionString, string index)
    {
        var schema = SchemaOf(index);
        var where = Describe(connectionString, index);
        try
        {
            using var db = new NpgsqlConnection(connectionString);
            db.Open();
            using var c = new NpgsqlCommand($"SELECT to_regclass('{schema}.meta') IS NOT NULL", db);
            if (!(bool)c.ExecuteScalar()!) return null;
            return Meta(db, null, schema, "embedder");
        }
        catch (Exception e) when (e is NpgsqlException or PostgresException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw Unreachable(where, e);
        }
    }

    /// <summary>The indexes in a database (schemas <c>rag_NAME</c> with a recorded embedder), by name.</summary>
    public static List<string> Indexes(string connectionString)
    {
        using var db = new NpgsqlConnection(connectionString);
        db.Open();
        using var c = new NpgsqlCommand("""
            SELECT substr(n.nspname, 5) FROM pg_namespace n JOIN pg_class t ON t.relnamespace = n.oid AND t.relname = 'meta'
            WHERE n.nspname LIKE 'rag\_%' ORDER BY 1
            """, db);
        using var r = c.ExecuteReader();
        var names = new List<string>();
        while (r.Read()) names.Add(r.GetString(0));
        return names;
    }

    /// <summary>Drops an index (its schema, with everything in it); nothing when there is none.</summary>
    public static void Delete(string connectionString, string index)
    {
        var schema = SchemaOf(index);
        using var db = new NpgsqlConnection(connectionString);
        db.Open();
        using var c = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", db);
        c.ExecuteNonQuery();
    }

    static void Exec(NpgsqlConnection db, NpgsqlTransaction? tx, string sql, params (string Name, object Value)[] args)
    {
        using var c = new NpgsqlCommand(sql, db, tx);
        foreach (var (n, v) in args) c.Parameters.AddWithValue(n, v);
        c.ExecuteNonQuery();
    }

    static string? Meta(NpgsqlConnection db, NpgsqlTransaction? tx, string schema, string key)
    {
        using var c = new NpgsqlCommand($"SELECT value FROM {schema}.meta WHERE key = @k", db, tx);
        c.Parameters.AddWithValue("k", key);
        return c.ExecuteScalar() as string;
    }

    /// <summary>PostgreSQL text cannot hold NUL characters; a chunk that has one loses it.</summary>
    static string Clean(string s) => s.Contains('\0') ? s.Replace("\0", "") : s;

    static string UnitName(SpanUnit u) => u == SpanUnit.Page ? "page" : "line";

    const string ChunkColumns = "path, start_line, end_line, heading, text, unit";

    static Chunk ReadChunk(NpgsqlDataReader r, int at) =>
        new(r.GetString(at), r.GetInt32(at + 1), r.GetInt32(at + 2), r.GetString(at + 3), r.GetString(at + 4), r.GetString(at + 5) == "page" ? SpanUnit.Page : SpanUnit.Line);

    void CheckDimensions(float[] v, string what)
    {
        if (v.Length != Dimensions) throw new GenSharpException($"{Name}: the index holds {Dimensions} values per vector, {what} {v.Length}");
    }

    /// <inheritdoc/>
    public string? FileHash(string source)
    {
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"SELECT hash FROM {_s}.files WHERE path = @p", db);
        c.Parameters.AddWithValue("p", source);
        return c.ExecuteScalar() as string;
    }

    /// <inheritdoc/>
    public List<string> Sources()
    {
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"SELECT path FROM {_s}.files ORDER BY path COLLATE \"C\"", db);
        using var r = c.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    /// <inheritdoc/>
    public long Count()
    {
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"SELECT count(*) FROM {_s}.chunks", db);
        return (long)c.ExecuteScalar()!;
    }

    /// <inheritdoc/>
    public void ReplaceSource(string source, string hash, IReadOnlyList<Chunk> chunks, IReadOnlyList<float[]> vectors)
    {
        if (chunks.Count != vectors.Count) throw new ArgumentException("one vector per chunk");
        foreach (var v in vectors) CheckDimensions(v, "a vector has");
        using var db = _source.OpenConnection();
        using var tx = db.BeginTransaction();
        // The upsert locks the source's row first: a concurrent writer of the same source waits for this commit, and its
        // DELETE then sees (and removes) these chunks.
        Exec(db, tx, $"INSERT INTO {_s}.files (path, hash) VALUES (@p, @h) ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash", ("p", source), ("h", hash));
        Exec(db, tx, $"DELETE FROM {_s}.chunks WHERE path = @p", ("p", source));
        if (chunks.Count > 0)
        {
            // Binary COPY: one stream for the whole file's chunks (ingest throughput), inside the transaction.
            using var w = db.BeginBinaryImport($"COPY {_s}.chunks ({ChunkColumns}, embedding) FROM STDIN (FORMAT BINARY)");
            for (int i = 0; i < chunks.Count; i++)
            {
                var c = chunks[i];
                w.StartRow();
                w.Write(Clean(source), NpgsqlDbType.Text);
                w.Write(c.StartLine, NpgsqlDbType.Integer);
                w.Write(c.EndLine, NpgsqlDbType.Integer);
                w.Write(Clean(c.Heading), NpgsqlDbType.Text);
                w.Write(Clean(c.Text), NpgsqlDbType.Text);
                w.Write(UnitName(c.Unit), NpgsqlDbType.Text);
                w.Write(new Vector(vectors[i]), "vector");
            }
            w.Complete();
        }
        tx.Commit();
    }

    /// <inheritdoc/>
    public void RemoveSource(string source)
    {
        using var db = _source.OpenConnection();
        using var tx = db.BeginTransaction();
        Exec(db, tx, $"SELECT 1 FROM {_s}.files WHERE path = @p FOR UPDATE", ("p", source));
        Exec(db, tx, $"DELETE FROM {_s}.chunks WHERE path = @p", ("p", source));
        Exec(db, tx, $"DELETE FROM {_s}.files WHERE path = @p", ("p", source));
        tx.Commit();
    }

    /// <inheritdoc/>
    public long UpsertChunk(long id, Chunk chunk, float[] vector)
    {
        CheckDimensions(vector, "not");
        using var db = _source.OpenConnection();
        using var tx = db.BeginTransaction();
        if (id > 0) Exec(db, tx, $"DELETE FROM {_s}.chunks WHERE id = @i", ("i", id));
        using var c = new NpgsqlCommand(id > 0
            ? $"INSERT INTO {_s}.chunks (id, {ChunkColumns}, embedding) VALUES (@i, @p, @s, @e, @h, @t, @u, @v) RETURNING id"
            : $"INSERT INTO {_s}.chunks ({ChunkColumns}, embedding) VALUES (@p, @s, @e, @h, @t, @u, @v) RETURNING id", db, tx);
        if (id > 0) c.Parameters.AddWithValue("i", id);
        c.Parameters.AddWithValue("p", Clean(chunk.Source));
        c.Parameters.AddWithValue("s", chunk.StartLine);
        c.Parameters.AddWithValue("e", chunk.EndLine);
        c.Parameters.AddWithValue("h", Clean(chunk.Heading));
        c.Parameters.AddWithValue("t", Clean(chunk.Text));
        c.Parameters.AddWithValue("u", UnitName(chunk.Unit));
        c.Parameters.AddWithValue("v", new Vector(vector));
        long written = (long)c.ExecuteScalar()!;
        // An explicit id may pass the identity's sequence: move it on so later generated ids do not collide.
        if (id > 0) Exec(db, tx, $"SELECT setval(pg_get_serial_sequence('{_s}.chunks', 'id'), GREATEST(@i, (SELECT last_value FROM {_s}.chunks_id_seq)))", ("i", id));
        tx.Commit();
        return written;
    }

    /// <inheritdoc/>
    public bool DeleteChunk(long id)
    {
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"DELETE FROM {_s}.chunks WHERE id = @i", db);
        c.Parameters.AddWithValue("i", id);
        return c.ExecuteNonQuery() > 0;
    }

    /// <inheritdoc/>
    public Chunk? TryGet(long id)
    {
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"SELECT {ChunkColumns} FROM {_s}.chunks WHERE id = @i", db);
        c.Parameters.AddWithValue("i", id);
        using var r = c.ExecuteReader();
        return r.Read() ? ReadChunk(r, 0) : null;
    }

    /// <summary>A chunk by id.</summary>
    public Chunk Get(long id) => TryGet(id) ?? throw new GenSharpException($"{Name}: no chunk {id}");

    /// <inheritdoc/>
    public float[]? VectorOf(long id)
    {
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"SELECT embedding FROM {_s}.chunks WHERE id = @i", db);
        c.Parameters.AddWithValue("i", id);
        return c.ExecuteScalar() is Vector v ? v.ToArray() : null;
    }

    /// <inheritdoc/>
    public List<(long Id, Chunk Chunk)> Chunks(Func<Chunk, bool>? filter = null)
    {
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"SELECT id, {ChunkColumns} FROM {_s}.chunks ORDER BY id", db);
        using var r = c.ExecuteReader();
        var list = new List<(long, Chunk)>();
        while (r.Read())
        {
            var chunk = ReadChunk(r, 1);
            if (filter is null || filter(chunk)) list.Add((r.GetInt64(0), chunk));
        }
        return list;
    }

    /// <summary>Runs a nearest-neighbour query with the planner settings <paramref name="settings"/> in force for it alone.</summary>
    List<ScoredChunk> Nearest(float[] query, int k, string settings)
    {
        CheckDimensions(query, "the query");
        if (k <= 0) return new();
        using var db = _source.OpenConnection();
        using var tx = db.BeginTransaction();
        Exec(db, tx, settings);
        // <=> is cosine distance; the stored vectors are unit length, so 1 − distance is their dot product with the query.
        using var c = new NpgsqlCommand($"SELECT id, {ChunkColumns}, 1 - (embedding <=> @q) FROM {_s}.chunks ORDER BY embedding <=> @q LIMIT @k", db, tx);
        c.Parameters.AddWithValue("q", new Vector(query));
        c.Parameters.AddWithValue("k", k);
        var found = new List<ScoredChunk>();
        using (var r = c.ExecuteReader())
            while (r.Read()) found.Add(new ScoredChunk(r.GetInt64(0), ReadChunk(r, 1), r.GetDouble(7)));
        tx.Commit();
        return found;
    }

    /// <summary>Exact search: the HNSW index is switched off for the query, so PostgreSQL scans every vector.</summary>
    public List<ScoredChunk> SearchVectors(float[] query, int k) =>
        Nearest(query, k, "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off");

    /// <inheritdoc/>
    public List<ScoredChunk> SearchVectors(float[] query, int k, Func<Chunk, bool> filter)
    {
        CheckDimensions(query, "the query");
        // The filter is a .NET test: every chunk comes over and is scored here (exact, like SqliteRagStore's).
        var best = new PriorityQueue<ScoredChunk, double>();
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"SELECT id, {ChunkColumns}, embedding FROM {_s}.chunks", db);
        using var r = c.ExecuteReader();
        while (r.Read())
        {
            var chunk = ReadChunk(r, 1);
            if (!filter(chunk)) continue;
            double s = SqliteRagStore.Dot(r.GetFieldValue<Vector>(7).Memory.Span, query);
            best.Enqueue(new ScoredChunk(r.GetInt64(0), chunk, s), s);
            if (best.Count > k) best.Dequeue();
        }
        var top = new List<ScoredChunk>();
        while (best.Count > 0) top.Add(best.Dequeue());
        top.Reverse();
        return top;
    }

    /// <summary>
    /// Approximate search through the HNSW index, with <c>hnsw.ef_search</c> = max(<see cref="EfSearch"/>, k). Replaced and
    /// deleted chunks stay in the graph as dead tuples until VACUUM; a plain index scan stops after ef_search candidates
    /// and, after much re-ingesting, can return fewer than k live chunks. pgvector's iterative scan (0.8) goes on until it
    /// has k, in distance order (strict_order). Even so, a scan that runs while other connections replace chunks can miss
    /// elements being rewired in the graph (pgvector issues #181, #239) and come back short; then, and only then, the
    /// query is answered exactly, so a caller asking for k gets k whenever the index holds that many.
    /// </summary>
    public List<ScoredChunk> SearchNearest(float[] query, int k)
    {
        var found = Nearest(query, k, $"SET LOCAL hnsw.ef_search = {Math.Max(EfSearch, k).ToString(CultureInfo.InvariantCulture)}; SET LOCAL hnsw.iterative_scan = strict_order");
        if (found.Count >= k) return found;
        var exact = SearchVectors(query, k);
        return exact.Count > found.Count ? exact : found;
    }

    /// <summary>
    /// The <paramref name="k"/> best chunks containing any word of <paramref name="text"/> (English stemming, stop words
    /// dropped), ranked by <c>ts_rank_cd</c> — PostgreSQL's cover-density rank, not BM25.
    /// </summary>
    public List<ScoredChunk> SearchKeywords(string text, int k)
    {
        var words = Regex.Matches(text.ToLowerInvariant(), @"[\p{L}\p{N}]+").Select(m => m.Value).Distinct().ToList();
        if (words.Count == 0 || k <= 0) return new();
        var query = string.Join(" | ", words.Select(w => "'" + w + "'"));
        using var db = _source.OpenConnection();
        using var c = new NpgsqlCommand($"""
            SELECT id, {ChunkColumns}, ts_rank_cd(tsv, q) AS s FROM {_s}.chunks, to_tsquery('{TextConfig}', @q) q
            WHERE tsv @@ q ORDER BY s DESC, id LIMIT @k
            """, db);
        c.Parameters.AddWithValue("q", query);
        c.Parameters.AddWithValue("k", k);
        using var r = c.ExecuteReader();
        var found = new List<ScoredChunk>();
        while (r.Read()) found.Add(new ScoredChunk(r.GetInt64(0), ReadChunk(r, 1), r.GetFloat(7)));
        return found;
    }

    /// <summary>Always: pgvector's HNSW index is part of the schema.</summary>
    public bool HasApproximateIndex => true;

    /// <summary>Nothing to do: the HNSW index is always there.</summary>
    public void UseApproximateIndex() { }

    /// <summary>Nothing to do: every write is committed when it returns.</summary>
    public void Flush() { }

    public void Dispose() => _source.Dispose();
}
