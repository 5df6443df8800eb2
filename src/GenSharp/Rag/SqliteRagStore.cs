using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace GenSharp.Rag;

/// <summary>A chunk found by a search, with its score (cosine for vectors, −bm25 for keywords, fused rank score for hybrid).</summary>
public sealed record ScoredChunk(long Id, Chunk Chunk, double Score);

/// <summary>
/// The embedded document store: one SQLite file holding the chunks, their unit-length embeddings as float32 BLOBs
/// (searched exactly, a SIMD dot product per chunk) and an FTS5 index of their text (BM25 keyword search). The file
/// records which embedder built it and refuses another. Re-ingesting a file replaces exactly its chunks, in one
/// transaction; WAL mode lets queries run while an ingest writes.
/// </summary>
public sealed class SqliteRagStore : IDisposable
{
    readonly SqliteConnection _db;

    SqliteRagStore(SqliteConnection db, string path) { _db = db; Path = path; }

    /// <summary>The SQLite file.</summary>
    public string Path { get; }

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
            return new SqliteRagStore(db, path);
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
    public long Count()
    {
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT count(*) FROM chunks";
        return (long)c.ExecuteScalar()!;
    }

    /// <summary>Replaces the chunks of <paramref name="source"/> with <paramref name="chunks"/> (and their vectors) in one transaction.</summary>
    public void ReplaceSource(string source, string hash, IReadOnlyList<Chunk> chunks, IReadOnlyList<float[]> vectors)
    {
        if (chunks.Count != vectors.Count) throw new ArgumentException("one vector per chunk");
        using var tx = _db.BeginTransaction();
        DeleteSource(source, tx);
        foreach (var (chunk, vector) in chunks.Zip(vectors))
        {
            using var c = _db.CreateCommand();
            c.Transaction = tx;
            c.CommandText = """
                INSERT INTO chunks(path, start_line, end_line, heading, text, vector, unit) VALUES ($p, $s, $e, $h, $t, $v, $u);
                INSERT INTO chunks_fts(rowid, text, heading) VALUES (last_insert_rowid(), $t, $h);
                """;
            c.Parameters.AddWithValue("$p", source);
            c.Parameters.AddWithValue("$s", chunk.StartLine);
            c.Parameters.AddWithValue("$e", chunk.EndLine);
            c.Parameters.AddWithValue("$h", chunk.Heading);
            c.Parameters.AddWithValue("$t", chunk.Text);
            c.Parameters.AddWithValue("$u", chunk.Unit == SpanUnit.Page ? "page" : "line");
            c.Parameters.AddWithValue("$v", MemoryMarshal.AsBytes(vector.AsSpan()).ToArray());
            c.ExecuteNonQuery();
        }
        using (var f = _db.CreateCommand())
        {
            f.Transaction = tx;
            f.CommandText = "INSERT OR REPLACE INTO files(path, hash) VALUES ($p, $h)";
            f.Parameters.AddWithValue("$p", source);
            f.Parameters.AddWithValue("$h", hash);
            f.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Removes a source and its chunks.</summary>
    public void RemoveSource(string source)
    {
        using var tx = _db.BeginTransaction();
        DeleteSource(source, tx);
        using var f = _db.CreateCommand();
        f.Transaction = tx;
        f.CommandText = "DELETE FROM files WHERE path = $p";
        f.Parameters.AddWithValue("$p", source);
        f.ExecuteNonQuery();
        tx.Commit();
    }

    void DeleteSource(string source, SqliteTransaction tx)
    {
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        // An external-content FTS5 table is told which rows go, with their old text ('delete' command).
        c.CommandText = """
            INSERT INTO chunks_fts(chunks_fts, rowid, text, heading) SELECT 'delete', id, text, heading FROM chunks WHERE path = $p;
            DELETE FROM chunks WHERE path = $p;
            """;
        c.Parameters.AddWithValue("$p", source);
        c.ExecuteNonQuery();
    }

    /// <summary>The <paramref name="k"/> chunks whose vectors have the largest dot product (cosine, for unit vectors) with <paramref name="query"/>: exact search.</summary>
    public List<ScoredChunk> SearchVectors(float[] query, int k)
    {
        var best = new PriorityQueue<(long Id, double Score), double>();
        using (var c = _db.CreateCommand())
        {
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
        return top.Select(t => new ScoredChunk(t.Id, Get(t.Id), t.Score)).ToList();
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
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH $q ORDER BY s LIMIT $k";
        c.Parameters.AddWithValue("$q", match);
        c.Parameters.AddWithValue("$k", k);
        var found = new List<(long, double)>();
        using (var r = c.ExecuteReader())
            while (r.Read()) found.Add((r.GetInt64(0), -r.GetDouble(1)));   // FTS5's bm25 is lower-is-better
        return found.Select(f => new ScoredChunk(f.Item1, Get(f.Item1), f.Item2)).ToList();
    }

    /// <summary>A chunk by id.</summary>
    public Chunk Get(long id)
    {
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT path, start_line, end_line, heading, text, unit FROM chunks WHERE id = $i";
        c.Parameters.AddWithValue("$i", id);
        using var r = c.ExecuteReader();
        if (!r.Read()) throw new GenSharpException($"{Path}: no chunk {id}");
        return new Chunk(r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5) == "page" ? SpanUnit.Page : SpanUnit.Line);
    }

    public void Dispose() => _db.Dispose();
}
