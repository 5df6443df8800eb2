using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace GenSharp.Rag;

/// <summary>
/// The embedded document store: one SQLite file holding the chunks, their unit-length embeddings as float32 BLOBs
/// (searched exactly, a SIMD dot product per chunk) and an FTS5 index of their text (BM25 keyword search). The file
/// records which embedder built it and refuses another. Re-ingesting a file replaces exactly its chunks, in one
/// transaction; WAL mode lets queries run while an ingest writes. Optionally (<see cref="UseApproximateIndex"/>) an HNSW
/// graph (<see cref="ApproximateIndex"/>) beside the file answers vector queries approximately; every change to the
/// chunks bumps the store's version, and the graph follows (incrementally in this process, rebuilt from the stored
/// vectors when it is found behind).
/// </summary>
public sealed class SqliteRagStore : IRagStore
{
    readonly SqliteConnection _db;
    readonly int _dimensions;
    ApproximateIndex? _ann;
    long _annVersion = -1;
    bool _annDirty;

    SqliteRagStore(SqliteConnection db, string path, int dimensions) { _db = db; Path = path; _dimensions = dimensions; }

    /// <summary>The SQLite file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public string Name => Path;

    /// <inheritdoc/>
    public int Dimensions => _dimensions;

    /// <summary>Opens (or creates) the store at <paramref name="path"/> for embeddings of <paramref name="embedder"/> with <paramref name="dimensions"/> values.</summary>
    public static SqliteRagStore Open(string path, string embedder, int dimensions)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            db.Open();
            Exec(db, """
                PRAGMA journal_mode = WAL;
                PRAGMA busy_timeout = 10000;
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, hash TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL,
                    end_line INTEGER NOT NULL, heading TEXT NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
                CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, heading, content='chunks', content_rowid='id');
                """);
            // Files from before PDF support have no unit column: every span there is in lines.
            if (!HasColumn(db, "chunks", "unit")) Exec(db, "ALTER TABLE chunks ADD COLUMN unit TEXT NOT NULL DEFAULT 'line'");
            var stored = Meta(db, "embedder");
            if (stored is null)
            {
                SetMeta(db, "embedder", embedder);
                SetMeta(db, "dimensions", dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else if (stored != embedder || Meta(db, "dimensions") != dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw new GenSharpException($"{path} was built with the embedder {stored} ({Meta(db, "dimensions")} dimensions), not {embedder} ({dimensions}); query it with {stored}, or ingest into a new index");
            var store = new SqliteRagStore(db, path, dimensions);
            if (Meta(db, "approximate") == "usearch") store.SyncApproximate();
            return store;
        }
        catch (SqliteException e)
        {
            db.Dispose();
            throw new GenSharpException($"{path}: not a usable index ({e.Message})");
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>The embedder a store file was built with, or null when the file holds no index.</summary>
    public static string? EmbedderOf(string path)
    {
        if (!File.Exists(path)) return null;
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();
        try { return Meta(db, "embedder"); } catch (SqliteException) { return null; }
    }

    static bool HasColumn(SqliteConnection db, string table, string column)
    {
        using var c = db.CreateCommand();
        c.CommandText = $"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = $c";
        c.Parameters.AddWithValue("$c", column);
        return (long)c.ExecuteScalar()! > 0;
    }

    static void Exec(SqliteConnection db, string sql)
    {
        using var c = db.CreateCommand();
        c.CommandText = sql;
        c.ExecuteNonQuery();
    }

    static string? Meta(SqliteConnection db, string key)
    {
        using var c = db.CreateCommand();
        c.CommandText = "SELECT value FROM meta WHERE key = $k";
        c.Parameters.AddWithValue("$k", key);
        return c.ExecuteScalar() as string;
    }

    static void SetMeta(SqliteConnection db, string key, string value)
    {
        using var c = db.CreateCommand();
        c.CommandText = "INSERT OR REPLACE INTO meta(key, value) VALUES ($k, $v)";
        c.Parameters.AddWithValue("$k", key);
        c.Parameters.AddWithValue("$v", value);
        c.ExecuteNonQuery();
    }

    /// <summary>The content hash recorded for a source, or null when it was never ingested.</summary>
    public string? FileHash(string source)
    {
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT hash FROM files WHERE path = $p";
        c.Parameters.AddWithValue("$p", source);
        return c.ExecuteScalar() as string;
    }

    /// <summary>Every source in the store.</summary>
    public List<string> Sources()
    {
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT path FROM files ORDER BY path";
        using var r = c.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    /// <summary>Number of chunks.</summary>
    public long Count() => Count(null);

    long Count(SqliteTransaction? tx)
    {
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        c.CommandText = "SELECT count(*) FROM chunks";
        return (long)c.ExecuteScalar()!;
    }

    /// <summary>Replaces the chunks of <paramref name="source"/> with <paramref name="chunks"/> (and their vectors) in one transaction.</summary>
    public void ReplaceSource(string source, string hash, IReadOnlyList<Chunk> chunks, IReadOnlyList<float[]> vectors)
    {
        if (chunks.Count != vectors.Count) throw new ArgumentException("one vector per chunk");
        var added = new List<long>();
        long before, after;
        List<long> removed;
        using (var tx = _db.BeginTransaction())
        {
            before = Version(tx);
            removed = DeleteSource(source, tx);
            foreach (var (chunk, vector) in chunks.Zip(vectors))
            {
                using var c = _db.CreateCommand();
                c.Transaction = tx;
                c.CommandText = "INSERT INTO chunks(path, start_line, end_line, heading, text, vector, unit) VALUES ($p, $s, $e, $h, $t, $v, $u) RETURNING id";
                c.Parameters.AddWithValue("$p", source);
                c.Parameters.AddWithValue("$s", chunk.StartLine);
                c.Parameters.AddWithValue("$e", chunk.EndLine);
                c.Parameters.AddWithValue("$h", chunk.Heading);
                c.Parameters.AddWithValue("$t", chunk.Text);
                c.Parameters.AddWithValue("$u", chunk.Unit == SpanUnit.Page ? "page" : "line");
                c.Parameters.AddWithValue("$v", MemoryMarshal.AsBytes(vector.AsSpan()).ToArray());
                long id = (long)c.ExecuteScalar()!;
                added.Add(id);
                using var f = _db.CreateCommand();
                f.Transaction = tx;
                f.CommandText = "INSERT INTO chunks_fts(rowid, text, heading) VALUES ($i, $t, $h)";
                f.Parameters.AddWithValue("$i", id);
                f.Parameters.AddWithValue("$t", chunk.Text);
                f.Parameters.AddWithValue("$h", chunk.Heading);
                f.ExecuteNonQuery();
            }
            using (var f = _db.CreateCommand())
            {
                f.Transaction = tx;
                f.CommandText = "INSERT OR REPLACE INTO files(path, hash) VALUES ($p, $h)";
                f.Parameters.AddWithValue("$p", source);
                f.Parameters.AddWithValue("$h", hash);
                f.ExecuteNonQuery();
            }
            after = BumpVersion(tx);
            tx.Commit();
        }
        FollowChange(before, after, removed, added.Zip(vectors, (id, v) => (id, v)));
    }

    /// <summary>Removes a source and its chunks.</summary>
    public void RemoveSource(string source)
    {
        long before, after;
        List<long> removed;
        using (var tx = _db.BeginTransaction())
        {
            before = Version(tx);
            removed = DeleteSource(source, tx);
            using var f = _db.CreateCommand();
            f.Transaction = tx;
            f.CommandText = "DELETE FROM files WHERE path = $p";
            f.Parameters.AddWithValue("$p", source);
            f.ExecuteNonQuery();
            after = BumpVersion(tx);
            tx.Commit();
        }
        FollowChange(before, after, removed, Array.Empty<(long, float[])>());
    }

    /// <summary>
    /// Writes one chunk: a new one when <paramref name="id"/> ≤ 0 (its id is returned), else the chunk with that id is
    /// replaced (or created with it). Used by the vector-store abstraction; ingest works per file.
    /// </summary>
    public long UpsertChunk(long id, Chunk chunk, float[] vector)
    {
        if (vector.Length != _dimensions) throw new GenSharpException($"{Path}: the index holds {_dimensions} values per vector, not {vector.Length}");
        long before, after, written;
        var removed = new List<long>();
        using (var tx = _db.BeginTransaction())
        {
            before = Version(tx);
            if (id > 0 && DeleteChunk(id, tx)) removed.Add(id);
            using (var c = _db.CreateCommand())
            {
                c.Transaction = tx;
                c.CommandText = "INSERT INTO chunks(id, path, start_line, end_line, heading, text, vector, unit) VALUES ($i, $p, $s, $e, $h, $t, $v, $u) RETURNING id";
                c.Parameters.AddWithValue("$i", id > 0 ? id : DBNull.Value);
                c.Parameters.AddWithValue("$p", chunk.Source);
                c.Parameters.AddWithValue("$s", chunk.StartLine);
                c.Parameters.AddWithValue("$e", chunk.EndLine);
                c.Parameters.AddWithValue("$h", chunk.Heading);
                c.Parameters.AddWithValue("$t", chunk.Text);
                c.Parameters.AddWithValue("$u", chunk.Unit == SpanUnit.Page ? "page" : "line");
                c.Parameters.AddWithValue("$v", MemoryMarshal.AsBytes(vector.AsSpan()).ToArray());
                written = (long)c.ExecuteScalar()!;
            }
            using (var f = _db.CreateCommand())
            {
                f.Transaction = tx;
                f.CommandText = "INSERT INTO chunks_fts(rowid, text, heading) VALUES ($i, $t, $h)";
                f.Parameters.AddWithValue("$i", written);
                f.Parameters.AddWithValue("$t", chunk.Text);
                f.Parameters.AddWithValue("$h", chunk.Heading);
                f.ExecuteNonQuery();
            }
            after = BumpVersion(tx);
            tx.Commit();
        }
        FollowChange(before, after, removed, new[] { (written, vector) });
        return written;
    }

    /// <summary>Deletes one chunk; false when there was none with that id.</summary>
    public bool DeleteChunk(long id)
    {
        long before, after;
        using (var tx = _db.BeginTransaction())
        {
            before = Version(tx);
            if (!DeleteChunk(id, tx)) return false;
            after = BumpVersion(tx);
            tx.Commit();
        }
        FollowChange(before, after, new List<long> { id }, Array.Empty<(long, float[])>());
        return true;
    }

    bool DeleteChunk(long id, SqliteTransaction tx)
    {
        using (var q = _db.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT count(*) FROM chunks WHERE id = $i";
            q.Parameters.AddWithValue("$i", id);
            if ((long)q.ExecuteScalar()! == 0) return false;
        }
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        c.CommandText = """
            INSERT INTO chunks_fts(chunks_fts, rowid, text, heading) SELECT 'delete', id, text, heading FROM chunks WHERE id = $i;
            DELETE FROM chunks WHERE id = $i;
            """;
        c.Parameters.AddWithValue("$i", id);
        c.ExecuteNonQuery();
        return true;
    }

    /// <summary>The stored vector of a chunk, or null.</summary>
    public float[]? VectorOf(long id)
    {
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT vector FROM chunks WHERE id = $i";
        c.Parameters.AddWithValue("$i", id);
        return c.ExecuteScalar() is byte[] blob ? MemoryMarshal.Cast<byte, float>(blob).ToArray() : null;
    }

    /// <summary>Every chunk with its id, in id order, that <paramref name="filter"/> (if any) accepts.</summary>
    public List<(long Id, Chunk Chunk)> Chunks(Func<Chunk, bool>? filter = null)
    {
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT id, path, start_line, end_line, heading, text, unit FROM chunks ORDER BY id";
        using var r = c.ExecuteReader();
        var list = new List<(long, Chunk)>();
        while (r.Read())
        {
            var chunk = ReadChunk(r, 1);
            if (filter is null || filter(chunk)) list.Add((r.GetInt64(0), chunk));
        }
        return list;
    }

    static Chunk ReadChunk(SqliteDataReader r, int at) =>
        new(r.GetString(at), r.GetInt32(at + 1), r.GetInt32(at + 2), r.GetString(at + 3), r.GetString(at + 4), r.GetString(at + 5) == "page" ? SpanUnit.Page : SpanUnit.Line);

    /// <summary>Exact search among the chunks <paramref name="filter"/> accepts (a metadata filter: source, heading, span).</summary>
    public List<ScoredChunk> SearchVectors(float[] query, int k, Func<Chunk, bool> filter)
    {
        var best = new PriorityQueue<ScoredChunk, double>();
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT id, vector, path, start_line, end_line, heading, text, unit FROM chunks";
        using var r = c.ExecuteReader();
        while (r.Read())
        {
            var chunk = ReadChunk(r, 2);
            if (!filter(chunk)) continue;
            var v = MemoryMarshal.Cast<byte, float>((byte[])r.GetValue(1));
            if (v.Length != query.Length) throw new GenSharpException($"{Path}: a stored vector has {v.Length} values, the query {query.Length}");
            double s = Dot(v, query);
            best.Enqueue(new ScoredChunk(r.GetInt64(0), chunk, s), s);
            if (best.Count > k) best.Dequeue();
        }
        var top = new List<ScoredChunk>();
        while (best.Count > 0) top.Add(best.Dequeue());
        top.Reverse();
        return top;
    }

    /// <summary>The store's version: how many changes its chunks have seen.</summary>
    public long Version(SqliteTransaction? tx = null)
    {
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        c.CommandText = "SELECT value FROM meta WHERE key = 'version'";
        return c.ExecuteScalar() is string v ? long.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    long BumpVersion(SqliteTransaction tx)
    {
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        c.CommandText = "INSERT INTO meta(key, value) VALUES ('version', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)";
        c.ExecuteNonQuery();
        return Version(tx);
    }

    /// <summary>Brings the graph along with a change: step by step when it was up to date before it, else rebuilt.</summary>
    void FollowChange(long before, long after, List<long> removed, IEnumerable<(long Id, float[] Vector)> added)
    {
        if (_ann is null) return;
        if (_annVersion != before) { SyncApproximate(); return; }
        foreach (var id in removed) _ann.Remove(id);
        foreach (var (id, v) in added) _ann.Add(id, v);
        _annVersion = after;
        _annDirty = true;
    }

    /// <summary>Whether vector queries go through the approximate (HNSW) index.</summary>
    public bool HasApproximateIndex => _ann is not null;

    /// <summary>
    /// Builds (or loads) the approximate index beside the file and keeps it from now on: this store and every later
    /// opening of the file answer <see cref="SearchNearest"/> through it.
    /// </summary>
    public void UseApproximateIndex()
    {
        if (_ann is not null) return;
        SetMeta(_db, "approximate", "usearch");
        SyncApproximate();
    }

    /// <summary>Makes the graph match the chunks: the saved file when it matches the store's version, else a rebuild from the stored vectors.</summary>
    void SyncApproximate()
    {
        // One read transaction: the version and the vectors come from the same snapshot.
        using var tx = _db.BeginTransaction(deferred: true);
        long version = Version(tx);
        if (_ann is not null && _annVersion == version) return;
        if (_ann is null && Meta(_db, "ann_version") == version.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            var loaded = ApproximateIndex.Load(ApproximateIndex.PathFor(Path), _dimensions);
            if (loaded is not null && loaded.Count == Count(tx)) { _ann = loaded; _annVersion = version; return; }
            loaded?.Dispose();
        }
        _ann?.Dispose();
        _ann = ApproximateIndex.Create(_dimensions);
        using (var c = _db.CreateCommand())
        {
            c.Transaction = tx;
            c.CommandText = "SELECT id, vector FROM chunks";
            using var r = c.ExecuteReader();
            while (r.Read()) _ann.Add(r.GetInt64(0), MemoryMarshal.Cast<byte, float>((byte[])r.GetValue(1)).ToArray());
        }
        tx.Commit();
        _annVersion = version;
        _annDirty = true;
        SaveApproximateIndex();
    }

    /// <inheritdoc/>
    public void Flush() => SaveApproximateIndex();

    /// <summary>Writes the approximate index beside the file when it changed (also done on <see cref="Dispose"/>).</summary>
    public void SaveApproximateIndex()
    {
        if (_ann is null || !_annDirty) return;
        _ann.Save(ApproximateIndex.PathFor(Path));
        SetMeta(_db, "ann_version", _annVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _annDirty = false;
    }

    /// <summary>
    /// The best <paramref name="k"/> chunks for a query vector: through the approximate index when the store has one
    /// (brought up to date first when another writer changed the file), else <see cref="SearchVectors(float[], int)"/>.
    /// </summary>
    public List<ScoredChunk> SearchNearest(float[] query, int k)
    {
        if (_ann is null) return SearchVectors(query, k);
        if (query.Length != _dimensions) throw new GenSharpException($"{Path}: the index holds {_dimensions} values per vector, the query {query.Length}");
        if (Version() != _annVersion) SyncApproximate();
        var found = new List<ScoredChunk>();
        foreach (var (id, cos) in _ann.Search(query, k))
            if (TryGet(id) is { } chunk) found.Add(new ScoredChunk(id, chunk, cos));
        return found;
    }

    List<long> DeleteSource(string source, SqliteTransaction tx)
    {
        var ids = new List<long>();
        using (var q = _db.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT id FROM chunks WHERE path = $p";
            q.Parameters.AddWithValue("$p", source);
            using var r = q.ExecuteReader();
            while (r.Read()) ids.Add(r.GetInt64(0));
        }
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        // An external-content FTS5 table is told which rows go, with their old text ('delete' command).
        c.CommandText = """
            INSERT INTO chunks_fts(chunks_fts, rowid, text, heading) SELECT 'delete', id, text, heading FROM chunks WHERE path = $p;
            DELETE FROM chunks WHERE path = $p;
            """;
        c.Parameters.AddWithValue("$p", source);
        c.ExecuteNonQuery();
        return ids;
    }

    /// <summary>The <paramref name="k"/> chunks whose vectors have the largest dot product (cosine, for unit vectors) with <paramref name="query"/>: exact search.</summary>
    public List<ScoredChunk> SearchVectors(float[] query, int k)
    {
        var best = new PriorityQueue<(long Id, double Score), double>();
        // One read transaction: the scan and the chunks it picks come from the same snapshot, whatever a writer commits meanwhile.
        using var tx = _db.BeginTransaction(deferred: true);
        using (var c = _db.CreateCommand())
        {
            c.Transaction = tx;
            c.CommandText = "SELECT id, vector FROM chunks";
            using var r = c.ExecuteReader();
            while (r.Read())
            {
                var blob = (byte[])r.GetValue(1);
                var v = MemoryMarshal.Cast<byte, float>(blob);
                if (v.Length != query.Length) throw new GenSharpException($"{Path}: a stored vector has {v.Length} values, the query {query.Length}");
                double s = Dot(v, query);
                best.Enqueue((r.GetInt64(0), s), s);
                if (best.Count > k) best.Dequeue();
            }
        }
        var top = new List<(long Id, double Score)>();
        while (best.Count > 0) top.Add(best.Dequeue());
        top.Reverse();
        return top.Select(t => new ScoredChunk(t.Id, TryGet(t.Id, tx) ?? throw new GenSharpException($"{Path}: no chunk {t.Id}"), t.Score)).ToList();
    }

    /// <summary>Dot product with <see cref="Vector{T}"/> lanes (SIMD), the tail added one by one.</summary>
    internal static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length, i = 0;
        var acc = Vector<float>.Zero;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        for (; i < va.Length; i++) acc += va[i] * vb[i];
        float sum = Vector.Sum(acc);
        for (i *= Vector<float>.Count; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>The <paramref name="k"/> best chunks by FTS5's BM25 for the words of <paramref name="text"/> (any of them).</summary>
    public List<ScoredChunk> SearchKeywords(string text, int k)
    {
        var words = System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), @"[\p{L}\p{N}_]+").Select(m => m.Value).Distinct().ToList();
        if (words.Count == 0) return new();
        var match = string.Join(" OR ", words.Select(w => "\"" + w + "\""));
        using var tx = _db.BeginTransaction(deferred: true);     // the ranking and the chunks from one snapshot
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        c.CommandText = "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH $q ORDER BY s LIMIT $k";
        c.Parameters.AddWithValue("$q", match);
        c.Parameters.AddWithValue("$k", k);
        var found = new List<(long, double)>();
        using (var r = c.ExecuteReader())
            while (r.Read()) found.Add((r.GetInt64(0), -r.GetDouble(1)));   // FTS5's bm25 is lower-is-better
        return found.Select(f => new ScoredChunk(f.Item1, TryGet(f.Item1, tx) ?? throw new GenSharpException($"{Path}: no chunk {f.Item1}"), f.Item2)).ToList();
    }

    /// <summary>A chunk by id.</summary>
    public Chunk Get(long id) => TryGet(id) ?? throw new GenSharpException($"{Path}: no chunk {id}");

    /// <summary>A chunk by id, or null when there is none (any more).</summary>
    public Chunk? TryGet(long id) => TryGet(id, null);

    Chunk? TryGet(long id, SqliteTransaction? tx)
    {
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        c.CommandText = "SELECT path, start_line, end_line, heading, text, unit FROM chunks WHERE id = $i";
        c.Parameters.AddWithValue("$i", id);
        using var r = c.ExecuteReader();
        return r.Read() ? ReadChunk(r, 0) : null;
    }

    public void Dispose()
    {
        try { SaveApproximateIndex(); }
        finally
        {
            _ann?.Dispose();
            _db.Dispose();
        }
    }
}
